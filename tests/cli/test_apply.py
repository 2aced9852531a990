"""The accountant's round trip: plan, decide in the workbook, apply only what was approved."""

from __future__ import annotations

import json
from pathlib import Path

import openpyxl
from typer.testing import CliRunner

from reconcile.cli.main import app
from tests.cli.world import make_world, read

runner = CliRunner()


def _report(out: str) -> Path:
    return Path([line for line in out.splitlines() if line.startswith("report: ")][-1].removeprefix("report: "))


def _decide(workbook: Path, sheet: str, decide: dict[str, str]) -> list[str]:
    """Set Decision for rows whose Label contains a key; returns the row ids decided."""
    book = openpyxl.load_workbook(workbook)
    ws = book[sheet]
    header = [c.value for c in ws[1]]
    decision_col, id_col = header.index("Decision") + 1, header.index("row_id") + 1
    decided = []
    for row in range(2, ws.max_row + 1):
        text = " ".join(str(c.value) for c in ws[row] if c.value is not None)
        for needle, value in decide.items():
            if needle in text:
                ws.cell(row=row, column=decision_col, value=value)
                decided.append(str(ws.cell(row=row, column=id_col).value))
    book.save(workbook)
    return decided


def test_only_approved_rows_are_applied(tmp_path: Path) -> None:
    flow = make_world(tmp_path, bad=False)
    state, reports = tmp_path / "state", tmp_path / "reports"
    result = runner.invoke(app, ["plan", str(flow), "--state", str(state), "--report-dir", str(reports)])
    assert result.exit_code == 0, result.output
    workbook = _report(result.output) / "plan.xlsx"
    approved = _decide(workbook, "customers", {"Kunde 2 ": "approve", "Kunde 3 ": "reject"})
    assert len(approved) == 2

    result = runner.invoke(app, ["apply", str(workbook), "--state", str(state), "--report-dir", str(reports)])
    assert result.exit_code in (0, 1), result.output
    names = {a["Name"] for a in read(tmp_path, state, "ledger", "Account")}
    assert "Kunde 2" in names  # approved
    assert "Kunde 3" not in names  # rejected
    assert "Kunde 4" not in names  # left blank
    assert read(tmp_path, state, "ledger", "Invoice") == []  # no order row was approved


def test_an_unrelated_change_since_the_plan_does_not_throw_the_review_away(tmp_path: Path) -> None:
    """Before issue 10 any change anywhere refused the whole workbook; now only rows that changed are refused."""
    flow = make_world(tmp_path, bad=False)
    state, reports = tmp_path / "state", tmp_path / "reports"
    result = runner.invoke(app, ["plan", str(flow), "--state", str(state), "--report-dir", str(reports)])
    folder = _report(result.output)
    _decide(folder / "plan.xlsx", "customers", {"Kunde 2 ": "approve"})
    shop = state / "sandbox" / "shop" / "Customer.json"
    people = json.loads(shop.read_text())
    people[4]["city"] = "Tromsø"  # another customer changed after the plan was made
    shop.write_text(json.dumps(people))

    result = runner.invoke(app, ["apply", str(folder), "--state", str(state), "--report-dir", str(reports)])
    assert result.exit_code == 0, result.output
    names = {a["Name"] for a in read(tmp_path, state, "ledger", "Account")}
    assert names == {"Kunde 1", "Kunde 2"}  # the approved row, and nothing else


def test_a_tampered_workbook_is_refused_naming_the_cells_and_nothing_is_written(tmp_path: Path) -> None:
    flow = make_world(tmp_path, bad=False)
    state, reports = tmp_path / "state", tmp_path / "reports"
    result = runner.invoke(app, ["plan", str(flow), "--state", str(state), "--report-dir", str(reports)])
    folder = _report(result.output)
    _decide(folder / "plan.xlsx", "customers", {"Kunde 2 ": "approve"})
    book = openpyxl.load_workbook(folder / "plan.xlsx")
    ws = book["customers"]
    for row in range(2, ws.max_row + 1):
        for col in range(1, ws.max_column + 1):
            if ws.cell(row, col).value == "Kunde 2":
                ws.cell(row, col).value = "Kunde 2 Hacked"  # a value the reviewer never saw
                edited = f"{ws.cell(row, col).column_letter}{row}"
    book.save(folder / "plan.xlsx")

    result = runner.invoke(app, ["apply", str(folder), "--state", str(state), "--report-dir", str(reports)])
    assert result.exit_code == 2, result.output
    assert f"sheet 'customers' row {edited[1:]}" in result.output
    assert "Traceback" not in result.output
    assert len(read(tmp_path, state, "ledger", "Account")) == 1  # nothing applied
