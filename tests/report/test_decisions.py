"""Reading a reviewed workbook back: every decision kind, and every way of tampering with it refused by cell."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from openpyxl import Workbook, load_workbook

from reconcile.errors import ConfigError, WorkbookTampered
from reconcile.model.plan import ReviewDecision
from reconcile.report.decisions import RowDecision, read_review_workbook
from reconcile.report.kinds import META_SHEET
from reconcile.report.workbook import write_workbook
from tests.report import KEY, change, plan_of, row, sample_info, sample_plan


@pytest.fixture()
def path(tmp_path: Path) -> Path:
    return write_workbook(tmp_path / "plan.xlsx", sample_plan(), sample_info(), KEY)


def locate(ws: Any, row_id: str, header: str, nth: int = 0) -> Any:
    names = [c.value for c in ws[1]]
    id_col = names.index("row_id") + 1
    lines = [r for r in range(2, ws.max_row + 1) if ws.cell(r, id_col).value == row_id]
    return ws.cell(lines[nth], names.index(header) + 1)


def edit(path: Path, sheet: str, row_id: str, header: str, value: Any, nth: int = 0) -> str:
    """Set one cell of a line, found by its row id, as a reviewer would (openpyxl loads and saves the whole
    file, as a spreadsheet program does); returns the cell's coordinate."""
    book = load_workbook(path)
    target = locate(book[sheet], row_id, header, nth)
    target.value = value
    book.save(path)
    return str(target.coordinate)


def copy_line(ws: Any, source: int, target: int) -> None:
    """Copy a line's cells as a spreadsheet program does: values with their types and formats (openpyxl would
    take a text that starts with "=" for a formula, and a date for a date and time)."""
    cells = [(c.value, c.data_type, c.number_format, c.quotePrefix) for c in ws[source]]
    for col, (value, data_type, number_format, quote) in enumerate(cells, start=1):
        cell = ws.cell(target, col)
        cell.value = value
        cell.data_type, cell.number_format, cell.quotePrefix = data_type, number_format, quote


def decided(path: Path) -> dict[tuple[str, str | None], RowDecision]:
    return {(d.row_id, d.property): d for d in read_review_workbook(path, KEY).decisions}


def refusal(path: Path) -> str:
    with pytest.raises(WorkbookTampered) as caught:
        read_review_workbook(path, KEY)
    return str(caught.value)


def test_untouched_workbook_has_no_decision_and_says_which_run_and_plan(path: Path) -> None:
    reviewed = read_review_workbook(path, KEY)
    assert reviewed.decisions == ()
    assert (reviewed.run_id, reviewed.flow, reviewed.plan_hash) == (
        "20240601-020000-ab12",
        "powerofficego-to-exact",
        "sha256:0123abcd",
    )


def test_every_kind_of_decision_round_trips_with_where_it_was_made(path: Path) -> None:
    book = load_workbook(path)
    locate(book["customers"], "c1", "Decision").value = "approve"
    locate(book["customers"], "c2", "Decision").value = " Reject "
    locate(book["Conflicts"], "c4", "Decision").value = "keep Exact Online's value"
    locate(book["Ambiguous"], "p2", "Decision").value = "IJzerhandel Oslo (T9)"
    locate(book["Deletes"], "c5", "Decision").value = "unlink"
    locate(book["Cannot write"], "p1", "Decision").value = "dismiss"
    book.save(path)
    got = decided(path)
    assert got[("c1", None)] == RowDecision("c1", ReviewDecision.APPROVE, where="sheet 'customers' cell A2")
    assert got[("c2", None)].decision is ReviewDecision.REJECT
    assert got[("c4", "City")] == RowDecision(
        "c4", ReviewDecision.KEEP_TARGET, property="City", where="sheet 'Conflicts' cell A2"
    )
    assert got[("p2", None)] == RowDecision(
        "p2", ReviewDecision.LINK_TO, target_id="T9", where="sheet 'Ambiguous' cell A2"
    )
    assert got[("c5", None)].decision is ReviewDecision.UNLINK
    assert got[("p1", None)].decision is ReviewDecision.DISMISS
    assert len(got) == 6


def test_create_new_keep_source_and_the_other_delete_words(path: Path) -> None:
    edit(path, "Ambiguous", "p2", "Decision", "create new")
    edit(path, "Conflicts", "c4", "Decision", "keep PowerOffice Go's value")
    edit(path, "Deletes", "c5", "Decision", "keep")
    got = decided(path)
    assert got[("p2", None)].decision is ReviewDecision.CREATE_NEW and got[("p2", None)].target_id is None
    assert got[("c4", "City")].decision is ReviewDecision.KEEP_SOURCE
    assert got[("c5", None)].decision is ReviewDecision.KEEP


def test_links_are_linked_or_told_apart(tmp_path: Path) -> None:
    rows = [
        row("l1", "m", "link", "merge_proposed", [change("Name", "A", "A")], source_id="1", target_id="T1"),
        row("l2", "m", "link", "merge_proposed", [change("Name", "B", "B")], source_id="2", target_id="T2"),
    ]
    path = write_workbook(tmp_path / "x.xlsx", plan_of(rows), sample_info(), KEY)
    edit(path, "Links", "l1", "Decision", "link")
    edit(path, "Links", "l2", "Decision", "not the same")
    assert [(d.row_id, d.decision) for d in read_review_workbook(path, KEY).decisions] == [
        ("l1", ReviewDecision.LINK),
        ("l2", ReviewDecision.NOT_SAME),
    ]


def test_dismissing_a_problem_in_the_flow_dismisses_each_of_its_records(tmp_path: Path) -> None:
    rows = [row(f"s{i}", "m", "reject", "required_unmapped", structural=True, source_id=str(i)) for i in range(3)]
    rows.append(row("x", "m", "reject", "read_only_entity", structural=True, source_id="9"))
    path = write_workbook(tmp_path / "x.xlsx", plan_of(rows), sample_info(), KEY)
    book = load_workbook(path)
    ws = book["Summary"]
    (line,) = [r for r in range(1, ws.max_row + 1) if "does not fill" in str(ws.cell(r, 2).value)]
    ws.cell(line, 4).value = "dismiss"
    book.save(path)
    got = read_review_workbook(path, KEY).decisions
    assert [(d.row_id, d.decision, d.where) for d in got] == [
        (f"s{i}", ReviewDecision.DISMISS, f"sheet 'Summary' cell D{line}") for i in range(3)
    ]


def test_a_blank_decision_is_undecided_not_an_error(path: Path) -> None:
    edit(path, "customers", "c1", "Decision", "approve")
    edit(path, "customers", "c2", "Decision", "   ")
    assert list(decided(path)) == [("c1", None)]


def test_values_typed_into_other_cells_of_undecided_lines_are_not_read(path: Path) -> None:
    edit(path, "customers", "c2", "City (new)", "Trondheim")
    edit(path, "customers", "c2", "Reason", "approve")
    assert read_review_workbook(path, KEY).decisions == ()


def test_sorted_rows_keep_their_decisions(path: Path) -> None:
    book = load_workbook(path)
    ws = book["customers"]
    ws["A2"] = "approve"  # c1
    last = ws.max_row
    copy_line(ws, 2, last + 1)  # sorted the other way round: c1, c2, c3 become c3, c2, c1
    copy_line(ws, last, 2)
    copy_line(ws, last + 1, last)
    ws.delete_rows(last + 1)
    book.save(path)
    got = read_review_workbook(path, KEY).decisions
    assert [(d.row_id, d.decision) for d in got] == [("c1", ReviewDecision.APPROVE)]
    assert got[0].where == "sheet 'customers' cell A4"


# --- tampering: each refused, naming the cells --------------------------------------------------------


def test_an_edited_shown_value_on_a_decided_line_is_refused_naming_its_cells(path: Path) -> None:
    edit(path, "customers", "c2", "Decision", "approve")
    coordinate = edit(path, "customers", "c2", "City (new)", "Trondheim")
    message = refusal(path)
    line = coordinate.lstrip("ABCDEFGHIJKLMNOPQRSTUVWXYZ")
    assert str(path) in message
    assert f"sheet 'customers' row {line} (cells A{line}:V{line})" in message
    assert "nothing was applied" in message


def test_two_row_ids_swapped_are_refused_also_with_their_checks(path: Path) -> None:
    for swap in (("row_id",), ("row_id", "check")):
        fresh = write_workbook(path.with_name(f"swap{len(swap)}.xlsx"), sample_plan(), sample_info(), KEY)
        book = load_workbook(fresh)
        ws = book["customers"]
        for header in swap:
            a, b = locate(ws, "c1", header), locate(ws, "c2", header)
            a.value, b.value = b.value, a.value
        ws["A2"] = ws["A3"] = "approve"
        book.save(fresh)
        message = refusal(fresh)
        assert "sheet 'customers' row 2 (cells A2:V2)" in message
        assert "sheet 'customers' row 3 (cells A3:V3)" in message


def test_a_forged_plan_hash_in_the_meta_sheet_is_refused(path: Path) -> None:
    book = load_workbook(path)
    meta = book[META_SHEET]
    (line,) = [r for r in range(1, meta.max_row + 1) if meta.cell(r, 1).value == "plan_hash"]
    meta.cell(line, 2).value = "sha256:the-new-hash-from-a-refusal"
    locate(book["customers"], "c1", "Decision").value = "approve"
    book.save(path)
    message = refusal(path)
    assert f"hidden sheet '{META_SHEET}'" in message
    assert "its seal in cell B" in message


def test_a_line_pasted_from_another_runs_workbook_is_refused(tmp_path: Path, path: Path) -> None:
    other = write_workbook(tmp_path / "other.xlsx", sample_plan(), sample_info(run_id="20240602-020000-cd34"), KEY)
    theirs = load_workbook(other)["customers"]
    book = load_workbook(path)
    ws = book["customers"]
    for c in range(1, ws.max_column + 1):  # their c2 line over ours, cell by cell, as copy and paste does
        ws.cell(3, c).value = theirs.cell(3, c).value
    ws["A3"] = "approve"
    book.save(path)
    assert "sheet 'customers' row 3 (cells A3:V3)" in refusal(path)


def test_a_made_up_row_id_is_refused(path: Path) -> None:
    edit(path, "customers", "c3", "row_id", "customers|create|999|")
    edit(path, "customers", "customers|create|999|", "Decision", "approve")
    assert "sheet 'customers' row 4 (cells A4:V4): its row id (U4)" in refusal(path)


def test_a_decision_outside_the_drop_down_is_refused_naming_sheet_and_cell(path: Path) -> None:
    coordinate = edit(path, "customers", "c3", "Decision", "yes please")
    message = refusal(path)
    assert str(path) in message
    assert f"sheet 'customers' cell {coordinate}: decision 'yes please' is not one of approve, reject or blank" in (
        message
    )
    with pytest.raises(ConfigError):  # a refusal is a configuration error: exit 2
        read_review_workbook(path, KEY)


def test_a_word_of_another_sheets_drop_down_is_refused(path: Path) -> None:
    edit(path, "Conflicts", "c4", "Decision", "approve")
    assert "sheet 'Conflicts' cell A2: decision 'approve' is not one of keep PowerOffice Go's value" in refusal(path)


def test_a_number_as_decision_is_refused_and_a_formula_without_a_value_is_no_decision(path: Path) -> None:
    edit(path, "Cannot write", "p1", "Decision", 1)
    assert "decision 1 is not one of dismiss or blank" in refusal(path)
    # A formula is read as the value it shows; one never calculated (openpyxl does not) shows nothing.
    edit(path, "Cannot write", "p1", "Decision", '=IF(TRUE,"dismiss","")')
    assert read_review_workbook(path, KEY).decisions == ()


def test_a_line_copied_twice_is_refused_the_second_time(path: Path) -> None:
    book = load_workbook(path)
    ws = book["customers"]
    copy = ws.max_row + 1
    copy_line(ws, 3, copy)
    ws["A3"] = "approve"
    ws.cell(copy, 1).value = "reject"
    book.save(path)
    assert f"sheet 'customers' cell A{copy}: row 'c2' is decided also at sheet 'customers' cell A3" in refusal(path)


def test_every_bad_line_is_named_in_one_refusal(path: Path) -> None:
    edit(path, "customers", "c1", "Decision", "maybe")
    edit(path, "Deletes", "c5", "Decision", "delete")
    edit(path, "Deletes", "c5", "Values", "Name: Someone else")
    message = refusal(path)
    assert "2 lines differ from what reconcile wrote" in message
    assert "sheet 'customers' cell A2" in message and "sheet 'Deletes' row 2" in message


def test_a_workbook_signed_with_another_key_is_refused(path: Path) -> None:
    edit(path, "customers", "c1", "Decision", "approve")
    with pytest.raises(WorkbookTampered, match="written with another review key"):
        read_review_workbook(path, b"another key, another state" * 2)


def test_a_column_moved_is_refused(path: Path) -> None:
    book = load_workbook(path)
    ws = book["customers"]
    for r in range(1, ws.max_row + 1):  # the old and new City swapped, headers and all
        a, b = locate(ws, "c1", "City (old)").column, locate(ws, "c1", "City (new)").column
        ws.cell(r, a).value, ws.cell(r, b).value = ws.cell(r, b).value, ws.cell(r, a).value
    book.save(path)
    assert "sheet 'customers' row 1: the columns are not where reconcile wrote them (cells I1, J1)" in refusal(path)


def test_a_sheet_without_its_row_id_column_is_refused(path: Path) -> None:
    book = load_workbook(path)
    ws = book["Cannot write"]
    ws.delete_cols([c.value for c in ws[1]].index("row_id") + 1)
    book.save(path)
    with pytest.raises(ConfigError, match=r"sheet 'Cannot write' has no hidden row_id column in row 1"):
        read_review_workbook(path, KEY)


def test_a_decision_on_a_row_without_an_id_is_refused(path: Path) -> None:
    book = load_workbook(path)
    ws = book["customers"]
    ws.cell(ws.max_row + 1, 1).value = "approve"
    book.save(path)
    assert "a decision on a line without a row id" in refusal(path)


def test_a_renamed_mapping_sheet_is_refused(path: Path) -> None:
    book = load_workbook(path)
    book["customers"].title = "Kunder"
    book.save(path)
    with pytest.raises(ConfigError, match="sheet 'customers' is missing"):
        read_review_workbook(path, KEY)


def test_a_workbook_not_from_reconcile_is_refused(tmp_path: Path) -> None:
    other = tmp_path / "other.xlsx"
    Workbook().save(other)
    with pytest.raises(ConfigError, match="not a review workbook"):
        read_review_workbook(other, KEY)


def test_a_workbook_of_the_old_format_is_refused(path: Path) -> None:
    book = load_workbook(path)
    book[META_SHEET]["B1"] = "1"
    book.save(path)
    with pytest.raises(ConfigError, match="a review workbook of format '1'; this reconcile reads format '2'"):
        read_review_workbook(path, KEY)


def test_a_missing_or_broken_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no such workbook"):
        read_review_workbook(tmp_path / "absent.xlsx", KEY)
    broken = tmp_path / "broken.xlsx"
    broken.write_text("not a zip", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"broken\.xlsx: not an Excel workbook"):
        read_review_workbook(broken, KEY)


def test_empty_plan_reads_back_empty(tmp_path: Path) -> None:
    path = write_workbook(tmp_path / "x.xlsx", plan_of([]), sample_info(), KEY)
    reviewed = read_review_workbook(path, KEY)
    assert reviewed.decisions == ()
    assert reviewed.plan_hash == "sha256:0123abcd"
