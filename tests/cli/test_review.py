"""The review loop end to end: plan, decide in the workbook, apply, against the ERP and PMS emulators over HTTP.

Every kind of decision is carried out against the systems, and what they hold afterwards is read back through
their APIs; what the state must remember comes back on the next plan only when the record changed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import openpyxl
import polars as pl
import pytest
from typer.testing import CliRunner

from reconcile.cli.main import app
from reconcile.sandbox.openers import open_sandbox
from reconcile.state.store import open_state
from reconcile.systems.base import WriteKind, WriteOp
from reconcile.systems.registry import Systems
from tests.cli.review import by_row, choice, decide, erp_world, report_of

runner = CliRunner()
FLOW = "custom-erp-to-custom-pms"


def _records(flow: Path, state: Path, system: str, entity: str) -> dict[str, dict[str, Any]]:
    """A system's records by key, read through its API as the run reads them."""
    with Systems(flows_dir=flow.parent, state_dir=state, sandbox=open_sandbox) as systems:
        frame = systems.open(system).read(entity)
        key = systems.catalogue(system).entity(entity).key  # type: ignore[union-attr]
    return {str(r[key]): r for r in frame.to_dicts()}


def _write(flow: Path, state: Path, system: str, entity: str, op: WriteOp) -> None:
    with Systems(flows_dir=flow.parent, state_dir=state, sandbox=open_sandbox) as systems:
        [result] = systems.open(system).write(entity, [op])
    assert result.ok, result


def _cli(*args: str) -> Any:
    result = runner.invoke(app, list(args))
    assert "Traceback" not in result.output, result.output
    return result


def _plan(flow: Path, state: Path, reports: Path) -> Path:
    result = _cli("plan", str(flow), "--state", str(state), "--report-dir", str(reports))
    assert result.exit_code == 0, result.output
    return report_of(result.output)


def _apply(folder: Path, state: Path, reports: Path) -> Any:
    return _cli("apply", str(folder), "--state", str(state), "--report-dir", str(reports))


@pytest.fixture(scope="module")
def reviewed(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Plan the ERP -> PMS flow (conflicts left for review), decide a line of every kind, apply, plan again."""
    root = tmp_path_factory.mktemp("review")
    flow = erp_world(root, conflict="manual")
    state, reports = root / "state", root / "reports"
    folder = _plan(flow, state, reports)
    book = folder / "plan.xlsx"
    decide(
        book,
        "customers",
        by_row({"customers|create|233|": "approve", "customers|update_source|1|1734": "reject"}),
    )
    decide(
        book,
        "projects",
        by_row(
            {
                "projects|create|282|": "approve",
                "projects|create|283|": "reject",
                "projects|update_target|1|5001": "approve",
            }
        ),
    )
    conflicts = openpyxl.load_workbook(book)["Conflicts"]
    header = [c.value for c in conflicts[1]]
    lines = [dict(zip(header, (c.value for c in row), strict=False)) for row in conflicts.iter_rows(min_row=2)]
    customer = [line for line in lines if str(line["row_id"]).startswith("customers|conflict|231|")]
    project = [line for line in lines if str(line["row_id"]).startswith("projects|conflict|2|")]
    assert customer and project, lines
    keep_erp = {(line["row_id"], line["property"]): choice(line, "keep_source") for line in customer}
    keep_pms = {(line["row_id"], line["property"]): choice(line, "keep_target") for line in project}
    picks = {**keep_erp, **keep_pms}
    decide(book, "Conflicts", lambda line: picks.get((line.get("row_id"), line.get("property"))))
    decide(
        book,
        "Ambiguous",
        lambda line: choice(line, "1974") if line.get("row_id") == "customers|ambiguous|232|" else None,
    )
    decide(book, "Cannot write", by_row({"customers|create|234|": "dismiss"}))
    decide(book, "Deletes", by_row({"projects|delete|3|5003": "delete"}))

    erp_before = _records(flow, state, "erp", "Customer")
    applied = _apply(folder, state, reports)
    again = _apply(folder, state, reports)
    return {
        "root": root,
        "flow": flow,
        "state": state,
        "reports": reports,
        "folder": folder,
        "applied": applied,
        "again": again,
        "customer_conflict": customer,
        "project_conflict": project,
        "erp_before": erp_before,
        "next": _plan(flow, state, reports),
    }


def test_every_decision_kind_is_carried_out_against_the_systems(reviewed: dict[str, Any]) -> None:
    applied = reviewed["applied"]
    assert applied.exit_code == 0, applied.output
    flow, state = reviewed["flow"], reviewed["state"]
    pms_customers = _records(flow, state, "pms", "Customer")
    pms_projects = _records(flow, state, "pms", "Project")
    erp_customers = _records(flow, state, "erp", "Customer")
    erp_projects = _records(flow, state, "erp", "Project")
    names = {c["name"] for c in pms_customers.values()}
    assert "Martinsen Regnskap AS" in names  # approve: created
    assert "Pettersen Tak AS" not in names  # dismissed: nothing written
    with open_state(state) as store:
        links = store.links(FLOW)
    projects = links.filter(pl.col("mapping") == "projects")
    created = projects.filter(pl.col("source_id") == "282")["target_id"].to_list()
    assert len(created) == 1 and pms_projects[created[0]]["name"] == "Nybygg kontor Bodø"  # approve: created
    assert projects.filter(pl.col("source_id") == "283").is_empty()  # reject: not created
    assert "5003" not in pms_projects  # delete: deleted in the PMS, although the policy only reports
    assert erp_customers["1"] == reviewed["erp_before"]["1"]  # reject: nothing written back
    # keep the ERP's value: the PMS customer now holds it; keep the PMS's value: written back to the ERP.
    for line in reviewed["customer_conflict"]:
        assert str(pms_customers["1972"][line["property"]]) == str(line[next(k for k in line if "ERP" in str(k))])
    for line in reviewed["project_conflict"]:
        source_field = {"name": "Name", "budget": "Budget", "end_date": "EndDate", "start_date": "StartDate"}
        field = source_field.get(line["property"], line["property"])
        assert str(erp_projects["2"][field]) == str(pms_projects["5002"][line["property"]])
    assert links.filter((pl.col("mapping") == "customers") & (pl.col("source_id") == "232"))["target_id"].to_list() == [
        "1974"
    ]  # link to the chosen candidate


def test_the_apply_keeps_an_audit_trail_of_each_decision(reviewed: dict[str, Any]) -> None:
    apply_folder = report_of(reviewed["applied"].output)
    decisions = pl.read_parquet(apply_folder / "decisions.parquet")
    assert {"row_id", "decision", "user", "host", "applied_at", "status", "message"} <= set(decisions.columns)
    by_id = {r["row_id"]: r for r in decisions.to_dicts()}
    assert by_id["customers|create|233|"]["status"] == "written"
    assert by_id["projects|create|283|"]["status"] == "done"
    assert by_id["customers|ambiguous|232|"]["message"].startswith("linked")
    results = openpyxl.load_workbook(apply_folder / "results.xlsx")
    text = " ".join(str(c.value) for ws in results.worksheets for row in ws.iter_rows() for c in row if c.value)
    assert "written" in text and "Martinsen Regnskap AS" in text
    plan_run = reviewed["folder"].name
    shown = _cli("runs", "show", apply_folder.name, "--state", str(reviewed["state"]))
    assert f"review of   {plan_run}" in shown.output
    shown = _cli("runs", "show", plan_run, "--state", str(reviewed["state"]))
    assert f"applied by  {apply_folder.name}" in shown.output
    listed = _cli("runs", "list", "--state", str(reviewed["state"])).output.splitlines()
    assert [line.split()[1] for line in listed if line.startswith((plan_run, apply_folder.name))] == ["plan", "apply"]


def test_a_workbook_is_applied_once(reviewed: dict[str, Any]) -> None:
    again = reviewed["again"]
    assert again.exit_code == 0, again.output
    assert "already applied by run" in again.output
    assert "report:" not in again.output  # no run was made


def test_what_was_decided_is_not_asked_again_and_what_it_unblocked_is_planned(reviewed: dict[str, Any]) -> None:
    plan = pl.read_parquet(reviewed["next"] / "plan.parquet")
    by_id = {r["row_id"]: r for r in plan.to_dicts()}
    assert by_id["projects|create|283|"]["remembered"] == "reject"
    assert by_id["customers|create|234|"]["remembered"] == "dismiss"
    assert by_id["projects|create|281|"]["action"] == "create"  # its customer is linked now
    summary = (reviewed["next"] / "plan.json").read_text()
    assert "283" not in " ".join(
        r for r in plan.filter(pl.col("remembered").is_null() & (pl.col("action") == "reject"))["row_id"]
    )
    assert summary


def test_a_changed_record_is_refused_as_stale_and_the_rest_applied(tmp_path: Path) -> None:
    flow = erp_world(tmp_path)
    state, reports = tmp_path / "state", tmp_path / "reports"
    folder = _plan(flow, state, reports)
    approve = {"projects|create|282|": "approve", "projects|create|283|": "approve"}
    decide(folder / "plan.xlsx", "projects", by_row({**approve, "projects|update_target|1|5001": "approve"}))
    # After the plan: project 283 is renamed in the ERP; an unrelated customer changes too.
    renamed = {"Name": "Tak og membran Sarpsborg"}
    _write(flow, state, "erp", "Project", WriteOp(WriteKind.UPDATE, "r1", renamed, key="283"))
    _write(flow, state, "erp", "Customer", WriteOp(WriteKind.UPDATE, "r2", {"City": "Halden"}, key="5"))
    result = _apply(folder, state, reports)
    assert result.exit_code == 1, result.output
    assert (
        "P-2025-0283, Tak og membran Fredrikstad, Snøhvit Consult AS: refused as stale: name was "
        "'Tak og membran Fredrikstad' in the workbook, is 'Tak og membran Sarpsborg' now" in result.output
    )
    # Project 282 belongs to a customer the plan creates, whose create was not approved: it says so.
    assert (
        "P-2025-0282, Nybygg kontor Bodø, Martinsen Regnskap AS: skipped: the record it belongs to "
        "(Martinsen Regnskap AS, Customer number 30233) was not approved" in result.output
    )
    with open_state(state) as store:
        linked = set(store.links(FLOW).filter(pl.col("mapping") == "projects")["source_id"])
    assert not {"282", "283"} & linked  # neither was created
    pms = _records(flow, state, "pms", "Project")
    erp = _records(flow, state, "erp", "Project")
    assert pms["5001"]["name"] == erp["1"]["Name"]  # the update approved and unchanged since: written
    results = pl.read_parquet(report_of(result.output) / "decisions.parquet")
    assert dict(results.select("row_id", "status").iter_rows()) == {
        "projects|create|282|": "skipped",
        "projects|create|283|": "stale",
        "projects|update_target|1|5001": "written",
    }
    nxt = pl.read_parquet(_plan(flow, state, reports) / "plan.parquet")
    assert nxt.filter(pl.col("row_id") == "projects|create|283|")["action"].to_list() == ["create"]  # planned again


def test_a_dismissed_row_stays_away_three_nights_and_comes_back_when_its_record_changes(
    reviewed: dict[str, Any],
) -> None:
    flow, state, reports = reviewed["flow"], reviewed["state"], reviewed["reports"]
    erp_customer_1 = _records(flow, state, "erp", "Customer")["1"]
    for _night in range(3):
        result = _cli("run", str(flow), "--state", str(state), "--report-dir", str(reports))
        plan = pl.read_parquet(report_of(result.output) / "plan.parquet")
        dismissed = plan.filter(pl.col("row_id") == "customers|create|234|")
        assert dismissed["remembered"].to_list() == ["dismiss"]
        assert "customers: 1 cannot write" not in result.output
    # The rejected write-back was never written by the nightly runs either.
    assert _records(flow, state, "erp", "Customer")["1"] == erp_customer_1
    _write(
        flow,
        state,
        "erp",
        "Customer",
        WriteOp(WriteKind.UPDATE, "fix", {"Name": "Pettersen Tak og Bygg AS"}, key="234"),
    )
    result = _cli("run", str(flow), "--state", str(state), "--report-dir", str(reports))
    plan = pl.read_parquet(report_of(result.output) / "plan.parquet")
    back = plan.filter(pl.col("row_id") == "customers|create|234|")
    assert back["remembered"].to_list() == [None]
    assert back["action"].to_list() == ["reject"]
    assert "customers: 1 cannot write: a value the target would refuse" in result.output


def test_proposed_links_a_new_record_instead_of_candidates_and_deletes_kept_or_unlinked(tmp_path: Path) -> None:
    """merge_mode = "review": a match by the merge rule is proposed, never assumed."""
    flow = erp_world(tmp_path, merge_mode="review")
    state, reports = tmp_path / "state", tmp_path / "reports"
    # The PMS already has records with the organisation numbers of two new ERP customers; two ERP projects go.
    for name, org in (("Martinsen Regnskap", "973960660"), ("Pettersen Tak", "842228018")):
        _write(flow, state, "pms", "Customer", WriteOp(WriteKind.CREATE, name, {"name": name, "org_number": org}))
    _write(flow, state, "erp", "Project", WriteOp(WriteKind.DELETE, "gone", key="1"))
    pms_before = _records(flow, state, "pms", "Customer")
    proposed = {
        c["org_number"]: key for key, c in pms_before.items() if c["name"] in ("Martinsen Regnskap", "Pettersen Tak")
    }
    folder = _plan(flow, state, reports)
    book = folder / "plan.xlsx"
    link_233 = f"customers|link|233|{proposed['973960660']}"
    link_234 = f"customers|link|234|{proposed['842228018']}"
    assert decide(book, "Links", by_row({link_233: "link", link_234: "not the same"})) == [link_233, link_234]
    decide(book, "Ambiguous", by_row({"customers|ambiguous|232|": "create new"}))
    decide(book, "Deletes", by_row({"projects|delete|3|5003": "keep", "projects|delete|1|5001": "unlink"}))
    result = _apply(folder, state, reports)
    assert result.exit_code == 0, result.output

    with open_state(state) as store:
        links = store.links(FLOW)
    linked = {(m, s): t for m, s, t in links.iter_rows()}
    assert linked[("customers", "233")] == proposed["973960660"]  # link: the proposed pair
    assert ("customers", "234") not in linked  # not the same
    pms = _records(flow, state, "pms", "Customer")
    created = linked[("customers", "232")]
    assert created not in ("1973", "1974") and created not in pms_before  # create new: made in the PMS
    assert pms[created]["name"] == "Havbris Handel AS"
    pms_projects = _records(flow, state, "pms", "Project")
    assert ("projects", "3") in linked and "5003" in pms_projects  # keep: record and link stay
    assert ("projects", "1") not in linked and "5001" in pms_projects  # unlink: the link goes, nothing deleted

    nxt = pl.read_parquet(_plan(flow, state, reports) / "plan.parquet")
    assert nxt.filter(pl.col("row_id").str.starts_with("customers|link|234|")).is_empty()  # never proposed again
    assert nxt.filter(pl.col("row_id") == "projects|delete|3|5003")["remembered"].to_list() == ["keep"]


def test_a_workbook_without_decisions_is_refused_and_one_decided_after_its_apply_too(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An apply before the decisions were saved must not use the workbook up; decisions typed into a workbook
    already applied are refused, never passed off as "already applied". The plan is made with a relative flow
    path and applied from another directory."""
    erp_world(tmp_path)
    state, reports = tmp_path / "state", tmp_path / "reports"
    monkeypatch.chdir(tmp_path)
    folder = _plan(Path("flows") / f"{FLOW}.toml", state, reports)
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path / "elsewhere")
    empty = _apply(folder, state, reports)
    assert empty.exit_code == 2, empty.output
    assert "no line has a decision" in empty.output
    decide(folder / "plan.xlsx", "projects", by_row({"projects|update_target|1|5001": "approve"}))
    assert _apply(folder, state, reports).exit_code == 0  # the first apply is the one that counts
    decide(folder / "plan.xlsx", "projects", by_row({"projects|create|283|": "reject"}))
    later = _apply(folder, state, reports)
    assert later.exit_code == 2, later.output
    assert "with other decisions than it holds now" in later.output


def test_the_workbook_of_a_run_asks_nothing_of_what_the_run_wrote(tmp_path: Path) -> None:
    flow = erp_world(tmp_path)
    state, reports = tmp_path / "state", tmp_path / "reports"
    result = _cli("run", str(flow), "--state", str(state), "--report-dir", str(reports))
    assert result.exit_code == 1, result.output  # written, and questions left
    folder = report_of(result.output)
    book = openpyxl.load_workbook(folder / "plan.xlsx")
    assert not {"customers", "projects"} & set(book.sheetnames)  # every create and update was written
    assert {"Deletes", "Ambiguous", "Cannot write"} <= set(book.sheetnames)  # what still waits for a person
    summary = " ".join(str(c.value) for row in book["Summary"].iter_rows() for c in row if c.value is not None)
    assert "applied: the changes were written" in summary
