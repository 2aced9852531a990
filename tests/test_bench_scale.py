"""The scale benchmark at a tiny size: the data it makes has the promised shape, and DuckDB's diff and the
plan agree on it, for a first sync and for a steady night."""

from __future__ import annotations

from pathlib import Path

import polars as pl
from bench._scale_diff import duckdb_diff, floor_join
from bench._scale_fields import CHANGEABLE, KEY
from bench._scale_world import data_file, first_sync, in_sync, night, read_side, write_project, write_sides
from bench.scale import check, plan_counts
from typer.testing import CliRunner

from reconcile.cli.main import app

N = 200
runner = CliRunner()


def _cli(*args: str) -> Path:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return Path([line for line in result.output.splitlines() if line.startswith("report: ")][-1][8:])


def _changed_cells(source: pl.DataFrame, target: pl.DataFrame) -> pl.Series:
    """Per record both sides hold, the number of properties that differ."""
    both = source.join(target, on=KEY, suffix="_t")
    return both.select(pl.sum_horizontal(pl.col(c).ne_missing(pl.col(f"{c}_t")) for c in CHANGEABLE))["Name"]


def test_a_first_sync_has_the_promised_shape_and_duckdb_and_the_plan_agree(tmp_path: Path) -> None:
    source, target, truth = first_sync(N)
    assert source.height == target.height == N
    assert len(source.columns) == len(target.columns) == 16  # Id, the customer number and 14 more
    keys, other = set(source[KEY]), set(target[KEY])
    assert len(keys - other) == len(other - keys) == N // 20 == truth.source_only == truth.target_only
    cells = _changed_cells(source, target)
    changed = cells.filter(cells > 0)
    assert changed.len() == N // 20 == truth.changed_records and changed.is_between(1, 3).all()
    assert changed.sum() == truth.changed_cells
    assert target["Id"].min() == 50_000_001 and source["Id"].to_list() == list(range(1, N + 1))

    flow = write_project(tmp_path)
    write_sides(tmp_path, source, target)
    stored = pl.read_parquet(data_file(tmp_path, "ledger"))
    assert stored.schema["Address"] == pl.Struct({"Street": pl.String, "City": pl.String, "Zip": pl.String})
    assert read_side(tmp_path, "ledger").equals(target)
    duck = duckdb_diff(data_file(tmp_path, "crm"), data_file(tmp_path, "ledger"), tmp_path / "duck")
    cell_rows = pl.read_parquet(tmp_path / "duck" / "cells.parquet")
    assert cell_rows.columns == ["key", "field", "old", "new"] and cell_rows.height == truth.changed_cells
    assert (cell_rows["old"] != cell_rows["new"]).all()
    assert floor_join(data_file(tmp_path, "crm"), data_file(tmp_path, "ledger")) == N + N // 20

    folder = _cli("plan", str(flow), "--state", str(tmp_path / "state"), "--report-dir", str(tmp_path / "runs"))
    counts = plan_counts(folder)
    assert counts["create"] == counts["update_target"] == N // 20 and counts["delete"] == 0
    check(N, "first", truth, duck, counts)


def test_a_steady_night_seeded_by_a_run_and_duckdb_and_the_plan_agree(tmp_path: Path) -> None:
    flow = write_project(tmp_path)
    where = ["--state", str(tmp_path / "state"), "--report-dir", str(tmp_path / "runs")]
    source, target = in_sync(N)
    write_sides(tmp_path, source, target)
    _cli("run", str(flow), *where, "--first-sync", "--force", "--no-workbook")
    source, target, truth = night(source, target)
    assert source.height == N - N // 100 + N // 20 and target.height == N + N // 20
    write_sides(tmp_path, source, target)
    duck = duckdb_diff(data_file(tmp_path, "crm"), data_file(tmp_path, "ledger"), tmp_path / "duck")
    counts = plan_counts(_cli("plan", str(flow), *where, "--no-workbook"))
    assert counts["update_target"] + counts["update_source"] == N // 20 and counts["update_source"] > 0
    assert counts["delete"] == N // 100 and counts["create"] == N // 20
    check(N, "steady", truth, duck, counts)
