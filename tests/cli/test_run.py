"""The nightly job through the command line, on a small sandbox written by the test."""

from __future__ import annotations

import json
import os
from pathlib import Path

import openpyxl
from typer.testing import CliRunner

from reconcile.cli.main import app
from tests.cli.world import make_world, read

runner = CliRunner()


def _invoke(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.output


def _report(out: str) -> Path:
    """The run folder the command printed last."""
    return Path([line for line in out.splitlines() if line.startswith("report: ")][-1].removeprefix("report: "))


def test_plan_writes_nothing_and_reports(tmp_path: Path) -> None:
    flow = make_world(tmp_path)
    state, reports = tmp_path / "state", tmp_path / "reports"
    code, out = _invoke("plan", str(flow), "--state", str(state), "--report-dir", str(reports))
    assert code == 0, out
    folder = _report(out)
    summary = json.loads((folder / "plan.json").read_text())
    assert summary["dry_run"] is True
    assert summary["counts"]["customers"]["create"] == 11
    assert summary["counts"]["customers"]["update_target"] == 0
    assert summary["counts"]["customers"]["in_sync"] == 1  # merged by email, values equal
    assert summary["counts"]["customers"]["reject"] == 1  # not-an-email
    assert summary["counts"]["orders"]["create"] == 12
    assert summary["counts"]["orders"]["reject"] == 1  # its customer does not exist
    assert (folder / "plan.parquet").exists()
    assert any((folder / "snapshots").glob("shop.Customer.parquet"))
    assert len(read(tmp_path, state, "ledger", "Account")) == 1  # nothing written
    workbook = openpyxl.load_workbook(folder / "plan.xlsx")
    assert "Summary" in workbook.sheetnames and "Cannot write" in workbook.sheetnames  # was "Rejected"
    assert "customers" in out and "dry run" in out


def test_run_applies_then_second_run_is_in_sync(tmp_path: Path) -> None:
    flow = make_world(tmp_path)
    state, reports = tmp_path / "state", tmp_path / "reports"
    code, out = _invoke("run", str(flow), "--state", str(state), "--report-dir", str(reports))
    assert code == 1, out  # applied, with rejects left for review
    accounts = read(tmp_path, state, "ledger", "Account")
    invoices = read(tmp_path, state, "ledger", "Invoice")
    assert len(accounts) == 12
    assert len(invoices) == 12
    ids = {a["ID"] for a in accounts}
    assert all(i["Account"] in ids for i in invoices)

    code, out = _invoke("run", str(flow), "--state", str(state), "--report-dir", str(reports))
    assert code == 1, out  # still the same two rejects
    summary = json.loads((_report(out) / "plan.json").read_text())
    counts = summary["counts"]
    assert counts["customers"]["in_sync"] == 12 and counts["orders"]["in_sync"] == 12
    for mapping in ("customers", "orders"):
        for action in ("create", "update_target", "update_source", "conflict", "delete"):
            assert counts[mapping][action] == 0, (mapping, action)
    assert len(read(tmp_path, state, "ledger", "Account")) == 12

    code, out = _invoke("links", "list", "--state", str(state))
    assert code == 0 and "customers" in out
    export = tmp_path / "links.csv"
    code, out = _invoke("links", "export", str(export), "--state", str(state))
    assert code == 0 and export.read_text().count("\n") == 25  # header + 12 + 12


def test_edits_on_both_sides_arrive(tmp_path: Path) -> None:
    flow = make_world(tmp_path, bad=False)
    state, reports = tmp_path / "state", tmp_path / "reports"
    assert _invoke("run", str(flow), "--state", str(state), "--report-dir", str(reports))[0] == 1
    shop = state / "sandbox" / "shop" / "Customer.json"
    ledger = state / "sandbox" / "ledger" / "Account.json"
    people = json.loads(shop.read_text())
    people[1]["city"] = "Trondheim"  # customer 2 edited in the source
    shop.write_text(json.dumps(people))
    accounts = json.loads(ledger.read_text())
    target = next(a for a in accounts if a["Email"] == "kunde3@example.no")
    target["Name"] = "Kunde Tre AS"  # customer 3 edited in the target
    ledger.write_text(json.dumps(accounts))

    code, out = _invoke("run", str(flow), "--state", str(state), "--report-dir", str(reports))
    assert code == 1, out  # the order whose customer does not exist is still rejected
    counts = json.loads((_report(out) / "plan.json").read_text())["counts"]
    assert counts["customers"]["update_target"] == 1
    assert counts["customers"]["update_source"] == 1
    assert any(a["City"] == "Trondheim" for a in read(tmp_path, state, "ledger", "Account"))
    assert any(p["name"] == "Kunde Tre AS" for p in read(tmp_path, state, "shop", "Customer"))


def test_broken_flow_exits_2_naming_file_and_key(tmp_path: Path) -> None:
    flow = make_world(tmp_path)
    flow.write_text(
        flow.read_text().replace('{ source = "city", target = "City" }', '{ source = "city", target = "Cty" }')
    )
    code, out = _invoke("plan", str(flow), "--state", str(tmp_path / "s"), "--report-dir", str(tmp_path / "r"))
    assert code == 2
    assert "shop-to-ledger.toml" in out and "properties[2].target" in out and '"City"' in out


def test_sandbox_reset_starts_over_and_the_seed_stays_untouched(tmp_path: Path) -> None:
    flow = make_world(tmp_path)
    seed = tmp_path / "data" / "sandbox" / "ledger" / "Account.json"
    before = seed.read_bytes()
    state, reports = tmp_path / "state", tmp_path / "reports"
    assert _invoke("run", str(flow), "--state", str(state), "--report-dir", str(reports))[0] == 1
    assert len(read(tmp_path, state, "ledger", "Account")) == 12
    assert seed.read_bytes() == before  # the run changed the state directory's copy only

    code, out = _invoke("sandbox", "reset", "--state", str(state))
    assert code == 0, out
    assert not (state / "sandbox").exists() and not (state / "state.db").exists()
    code, out = _invoke("plan", str(flow), "--state", str(state), "--report-dir", str(reports))
    assert json.loads((_report(out) / "plan.json").read_text())["counts"]["customers"]["create"] == 11


def test_runs_list_and_show(tmp_path: Path) -> None:
    flow = make_world(tmp_path)
    state, reports = tmp_path / "state", tmp_path / "reports"
    _invoke("plan", str(flow), "--state", str(state), "--report-dir", str(reports))
    code, out = _invoke("runs", "list", "--state", str(state))
    assert code == 0 and "shop-to-ledger" in out and "dry_run" in out
    run_id = out.split()[0]
    code, out = _invoke("runs", "show", run_id, "--state", str(state))
    assert code == 0 and "report_dir" in out
    assert _invoke("runs", "show", "nope", "--state", str(state))[0] == 2


def test_a_snapshot_with_an_id_twice_stops_naming_it(tmp_path: Path) -> None:
    flow = make_world(tmp_path)
    shop = tmp_path / "data" / "sandbox" / "shop" / "Customer.json"
    people = json.loads(shop.read_text())
    people.append(dict(people[3]))
    shop.write_text(json.dumps(people))
    code, out = _invoke("plan", str(flow), "--state", str(tmp_path / "s"), "--report-dir", str(tmp_path / "r"))
    assert code == 2, out
    assert "Customer.json: id = '4' is the key of more than one record" in out


def test_a_system_answering_an_id_twice_stops_the_run() -> None:
    import polars as pl
    import pytest

    from reconcile.app.snapshots import refuse_duplicate_ids
    from reconcile.config.catalogue import parse_catalogue
    from reconcile.errors import SystemFailure

    entity = parse_catalogue({"system": "api", "entities": {"Thing": {"key": "id", "fields": {"id": {}}}}}, "api")
    refuse_duplicate_ids("api", entity.entity("Thing"), pl.DataFrame({"id": ["1", "2"]}))
    with pytest.raises(SystemFailure, match=r"Thing: 1 ids occur more than once in the snapshot \(id = 2\)"):
        refuse_duplicate_ids("api", entity.entity("Thing"), pl.DataFrame({"id": ["1", "2", "2"]}))


def test_a_guard_stops_the_run_and_force_applies(tmp_path: Path) -> None:
    flow = make_world(tmp_path, bad=False)
    flow.write_text(
        flow.read_text().replace(
            '[defaults]\nconflict = "newest"', '[defaults]\nconflict = "newest"\nguards = { max_creates = 5 }'
        )
    )
    state, reports = tmp_path / "state", tmp_path / "reports"
    code, out = _invoke("run", str(flow), "--state", str(state), "--report-dir", str(reports))
    assert code == 3, out
    assert "mapping customers: 11 creates planned, more than the limit of 5" in out
    assert "--force" in out
    assert len(read(tmp_path, state, "ledger", "Account")) == 1  # nothing written
    folder = next(p for p in reports.iterdir() if (p / "plan.json").exists())
    summary = json.loads((folder / "plan.json").read_text())
    assert summary["guards"] and summary["counts"]["customers"]["create"] == 11  # the plan is still reported

    code, out = _invoke("run", str(flow), "--state", str(state), "--report-dir", str(reports), "--force")
    assert code == 1, out  # applied; the order of a missing customer waits for review
    assert len(read(tmp_path, state, "ledger", "Account")) == 12


def test_a_system_that_cannot_be_reached_exits_4(tmp_path: Path) -> None:
    from reconcile.sandbox.server import free_port

    flow = make_world(tmp_path)
    connections = tmp_path / "connections.toml"
    connections.write_text(
        f'[exact]\nbase_url = "http://127.0.0.1:{free_port()}"\ndivision = 1\nclient_id = "x"\n'
        'client_secret_env = "RECONCILE_TEST_SECRET"\ntoken_file = "tokens.json"\n'
    )
    from reconcile.systems.exact.auth import store_refresh_token

    store_refresh_token({"token_file": tmp_path / "tokens.json", "client_id": "x"}, "a-refresh-token")
    os.environ["RECONCILE_TEST_SECRET"] = "s3cr3t-value"
    try:
        code, out = _invoke(
            "plan",
            "flows/exact-online-to-custom-pms.toml",
            "--connections",
            str(connections),
            "--state",
            str(tmp_path / "state"),
            "--report-dir",
            str(tmp_path / "reports"),
        )
    finally:
        del os.environ["RECONCILE_TEST_SECRET"]
    assert code == 4, out
    assert out.startswith("error: exact:") and "s3cr3t-value" not in out and "a-refresh-token" not in out
    del flow
