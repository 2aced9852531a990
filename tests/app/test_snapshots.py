"""Reads that still fail after the connector's retries: only the mappings that need the entity are skipped.

The small world of :mod:`tests.cli.world`: ``customers`` (Customer -> Account) and ``orders`` (Order ->
Invoice, referring to customers). A read fails as a system's 500 would, through the files system's ``read``.
"""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from reconcile.app.snapshots import skipped_mappings
from reconcile.cli.main import app
from reconcile.config.catalogue import parse_catalogue
from reconcile.config.flow import load_flow
from reconcile.errors import RemoteError
from reconcile.report.runfolder import write_parquet
from reconcile.systems.files.connector import FileSystem
from tests.cli.world import make_world, read

runner = CliRunner()


def _failing(monkeypatch: pytest.MonkeyPatch, entity: str) -> None:
    real = FileSystem.read

    def read_or_fail(self: FileSystem, name: str) -> pl.DataFrame:
        if self.name == "shop" and name == entity:
            raise RemoteError("shop", f"reading {name}: 500 Internal Server Error", 500)
        return real(self, name)

    monkeypatch.setattr(FileSystem, "read", read_or_fail)


def test_a_read_that_still_fails_skips_only_the_mappings_that_need_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    flow = make_world(tmp_path)
    _failing(monkeypatch, "Order")
    state, reports = tmp_path / "state", tmp_path / "reports"
    result = runner.invoke(app, ["run", str(flow), "--state", str(state), "--report-dir", str(reports)])
    assert result.exit_code == 4, result.output
    assert "skipped 1 mapping (orders) because a read failed" in result.output
    assert "shop Order could not be read" in result.output
    assert len(read(tmp_path, state, "ledger", "Account")) == 12  # customers ran
    assert read(tmp_path, state, "ledger", "Invoice") == []
    folder = Path(result.output.split("report: ")[-1].strip())
    assert "mapping orders is skipped" in (folder / "run.log").read_text()
    assert "skipped 1 mapping (orders)" in json.loads((folder / "plan.json").read_text())["outcome"]


def test_a_mapping_that_refers_to_a_skipped_one_is_skipped_too(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    flow = make_world(tmp_path)
    _failing(monkeypatch, "Customer")
    state, reports = tmp_path / "state", tmp_path / "reports"
    result = runner.invoke(app, ["run", str(flow), "--state", str(state), "--report-dir", str(reports)])
    assert result.exit_code == 4, result.output
    assert "reading Customer: 500 Internal Server Error" in result.output  # nothing left to run
    assert len(read(tmp_path, state, "ledger", "Account")) == 1 and read(tmp_path, state, "ledger", "Invoice") == []


SHOP = {
    "system": "shop",
    "entities": {
        "Order": {"key": "id", "fields": {"id": {}, "customer": {}}},
        "Line": {"key": "id", "fields": {"id": {}, "order": {"ref": "Order"}, "qty": {"type": "float"}}},
        "Note": {"key": "id", "fields": {"id": {}, "text": {}}},
    },
}
LEDGER = {
    "system": "ledger",
    "entities": {
        "Invoice": {
            "key": "ID",
            "embedded": {"entity": "InvoiceLine", "parent_field": "Invoice", "field": "Lines"},
            "fields": {"ID": {"read_only": True}, "Customer": {}},
        },
        "InvoiceLine": {
            "key": "ID",
            "fields": {"ID": {"read_only": True}, "Invoice": {"ref": "Invoice"}, "Quantity": {"type": "float"}},
        },
        "Memo": {"key": "ID", "fields": {"ID": {"read_only": True}, "Text": {}}},
    },
}
FLOW = """
name = "orders"
source = "shop"
target = "ledger"
[[mapping]]
name = "orders"
source = "Order"
target = "Invoice"
properties = [{ source = "customer", target = "Customer" }]
[[mapping]]
name = "lines"
source = "Line"
target = "InvoiceLine"
properties = [{ source = "order", target = "Invoice", ref = "orders" }, { source = "qty", target = "Quantity" }]
[[mapping]]
name = "notes"
source = "Note"
target = "Memo"
properties = [{ source = "text", target = "Text" }]
"""


def test_records_created_with_the_lines_of_a_skipped_mapping_are_skipped_with_them(tmp_path: Path) -> None:
    (tmp_path / "orders.toml").write_text(FLOW, encoding="utf-8")
    flow = load_flow(tmp_path / "orders.toml")
    catalogues = {"shop": parse_catalogue(SHOP, "shop"), "ledger": parse_catalogue(LEDGER, "ledger")}
    failed = {("shop", "Line"): RemoteError("shop", "reading Line: 503", 503)}
    skipped = skipped_mappings(flow, catalogues, failed)
    assert sorted(skipped) == ["lines", "orders"]
    assert "created with those of mapping lines" in skipped["orders"]
    both = skipped_mappings(flow, catalogues, {("shop", "Order"): RemoteError("shop", "reading Order: 503", 503)})
    assert sorted(both) == ["lines", "orders"] and "refers to mapping orders" in both["lines"]


def test_a_snapshot_that_cannot_be_kept_stops_the_run_before_its_plan_is_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import reconcile.app.snapshots as snapshots

    flow = make_world(tmp_path)

    def full(frame: pl.DataFrame, path: Path) -> None:
        raise OSError(28, "No space left on device", str(path))

    monkeypatch.setattr(snapshots, "write_parquet", full)
    reports = tmp_path / "reports"
    result = runner.invoke(app, ["plan", str(flow), "--state", str(tmp_path / "state"), "--report-dir", str(reports)])
    assert isinstance(result.exception, OSError) and "No space left" in str(result.exception)
    assert not list(reports.glob("*/plan.json"))


def test_a_run_writes_nothing_to_a_system_from_a_snapshot_it_could_not_keep(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Snapshots are kept in a thread of their own while the plan is built: the run waits for them, and one that
    failed stops it before the first write."""
    import reconcile.app.snapshots as snapshots

    flow = make_world(tmp_path)
    real = write_parquet

    def full_at_orders(frame: pl.DataFrame, path: Path) -> None:
        if path.name == "shop.Order.parquet":
            raise OSError(28, "No space left on device", str(path))
        real(frame, path)

    monkeypatch.setattr(snapshots, "write_parquet", full_at_orders)
    state, reports = tmp_path / "state", tmp_path / "reports"
    result = runner.invoke(app, ["run", str(flow), "--state", str(state), "--report-dir", str(reports)])
    assert isinstance(result.exception, OSError) and "No space left" in str(result.exception)
    assert len(read(tmp_path, state, "ledger", "Account")) == 1  # the world's one account, nothing created
    (folder,) = reports.iterdir()
    assert not (folder / "plan.json").exists()
    assert (folder / "snapshots" / "shop.Customer.parquet").exists()  # what could be kept was


def test_the_snapshots_are_in_the_run_folder_when_the_plan_is(tmp_path: Path) -> None:
    flow = make_world(tmp_path)
    reports = tmp_path / "reports"
    result = runner.invoke(app, ["plan", str(flow), "--state", str(tmp_path / "state"), "--report-dir", str(reports)])
    assert result.exit_code == 0, result.output
    (folder,) = reports.iterdir()
    kept = sorted(p.name for p in (folder / "snapshots").iterdir())
    assert kept == ["ledger.Account.parquet", "ledger.Invoice.parquet", "shop.Customer.parquet", "shop.Order.parquet"]
    assert pl.read_parquet(folder / "snapshots" / "shop.Customer.parquet").height == 13
