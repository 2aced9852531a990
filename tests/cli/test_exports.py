"""Files a person opens: a CSV export never hands a spreadsheet program a formula to run."""

from __future__ import annotations

import csv
from pathlib import Path

import polars as pl
from typer.testing import CliRunner

from reconcile.cli.main import app
from reconcile.state.store import open_state

runner = CliRunner()

FORMULAS = ['=HYPERLINK("http://x","y")', "+1", "-2", "@SUM(A1)", "\t=1+1", "\r=1"]


def test_a_links_export_escapes_every_id_that_a_spreadsheet_would_read_as_a_formula(tmp_path: Path) -> None:
    state = tmp_path / "state"
    with open_state(state) as store, store.transaction() as db:
        rows = [("customers", f"s{n}", formula) for n, formula in enumerate(FORMULAS)]
        rows += [("orders", formula, f"t{n}") for n, formula in enumerate(FORMULAS)]
        store.add_links(db, "f", [*rows, ("plain", "a b", " =not a formula")])
    out = tmp_path / "links.csv"
    result = runner.invoke(app, ["links", "export", str(out), "--state", str(state)])
    assert result.exit_code == 0, result.output
    with out.open(newline="", encoding="utf-8") as handle:
        read = list(csv.DictReader(handle))
    targets = {r["source_id"]: r["target_id"] for r in read if r["mapping"] == "customers"}
    sources = {r["target_id"]: r["source_id"] for r in read if r["mapping"] == "orders"}
    for n, formula in enumerate(FORMULAS):
        assert targets[f"s{n}"] == f"'{formula}", formula
        assert sources[f"t{n}"] == f"'{formula}", formula
    plain = next(r for r in read if r["mapping"] == "plain")
    assert (plain["flow"], plain["source_id"], plain["target_id"]) == ("f", "a b", " =not a formula")


def test_a_parquet_export_keeps_the_ids_as_they_are(tmp_path: Path) -> None:
    state = tmp_path / "state"
    with open_state(state) as store, store.transaction() as db:
        store.add_links(db, "f", [("customers", "=1+1", "-2")])
    out = tmp_path / "links.parquet"
    assert runner.invoke(app, ["links", "export", str(out), "--state", str(state)]).exit_code == 0
    assert pl.read_parquet(out).select("source_id", "target_id").rows() == [("=1+1", "-2")]
