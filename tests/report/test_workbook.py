"""The review workbook, checked by opening what was written with openpyxl."""

from __future__ import annotations

import json
import os
import re
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from openpyxl import load_workbook

from reconcile.model.flow import Mapping, Property
from reconcile.report.cells import CHANGED_COLOUR
from reconcile.report.info import MappingInfo
from reconcile.report.kinds import META_SHEET
from reconcile.report.workbook import sheet_title, write_workbook
from tests.report import CUSTOMER_FIELDS, KEY, change, plan_of, row, sample_info, sample_plan

CHANGED_RGB = "FF" + CHANGED_COLOUR.lstrip("#")
"""The changed fill as openpyxl reads it back (alpha first)."""


@pytest.fixture(scope="module")
def book_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sample plan's workbook, written once for the module."""
    return write_workbook(tmp_path_factory.mktemp("run") / "plan.xlsx", sample_plan(), sample_info(), KEY)


@pytest.fixture()
def book(book_file: Path) -> Any:
    """The sample plan's workbook, opened afresh for each test (openpyxl makes the cells a test looks at)."""
    return load_workbook(book_file)


def written(tmp_path: Path, rows: list[dict[str, Any]], **info: Any) -> Any:
    return load_workbook(write_workbook(tmp_path / "x.xlsx", plan_of(rows), sample_info(**info), KEY))


def headers(ws: Any, header_row: int = 1) -> list[Any]:
    return [c.value for c in ws[header_row]]


def column(ws: Any, header: str) -> int:
    return headers(ws).index(header) + 1


def row_of(ws: Any, row_id: str) -> int:
    id_col = column(ws, "row_id")
    for r in range(2, ws.max_row + 1):
        if ws.cell(r, id_col).value == row_id:
            return r
    raise AssertionError(f"no row {row_id}")


def cell(ws: Any, row_id: str, header: str) -> Any:
    return ws.cell(row_of(ws, row_id), column(ws, header))


def dimension(ws: Any, col: int) -> Any:
    """The column's width and visibility: a file may give neighbouring columns alike one entry for both."""
    for found in ws.column_dimensions.values():
        if found.min is not None and found.min <= col <= found.max:
            return found
    return ws.column_dimensions[ws.cell(1, col).column_letter]


def test_sheets_are_summary_how_to_mappings_with_changes_then_the_listings(book: Any) -> None:
    assert book.sheetnames == [
        "Summary",
        "How to review",
        "customers",
        "Conflicts",
        "Ambiguous",
        "Deletes",
        "Cannot write",
        META_SHEET,
    ]
    assert book[META_SHEET].sheet_state == "veryHidden"
    assert book.active.title == "Summary"


def test_mapping_sheet_shows_rows_in_words_naming_the_systems_and_properties_in_mapping_order(book: Any) -> None:
    ws = book["customers"]
    shown = ("Name", "City", "Phone", "PostCode", "CreditLimit", "Since", "Notes")
    assert shown == CUSTOMER_FIELDS
    assert headers(ws) == [
        "Decision",
        "Record",
        "Action",
        "Reason",
        "PowerOffice Go id",
        "Exact Online id",
        *(f"{f} ({side})" for f in shown for side in ("old", "new")),
        "row_id",
        "check",
    ]
    assert [ws.cell(r, column(ws, "Action")).value for r in range(2, ws.max_row + 1)] == [
        "create in Exact Online",
        "update in Exact Online",
        "write back to PowerOffice Go",
    ]
    assert cell(ws, "c1", "Reason").value == "new in the source: created in the target"
    assert cell(ws, "c1", "PowerOffice Go id").value == "00017"
    assert cell(ws, "c1", "Name (new)").value == "Ærøskøbing Bådelaug"
    assert cell(ws, "c1", "Name (old)").value is None
    assert cell(ws, "c2", "City (old)").value == "Oslo"
    assert cell(ws, "c2", "City (new)").value == "Bergen"


def test_headers_come_from_the_field_descriptions(tmp_path: Path) -> None:
    mapping = MappingInfo("customers", "Customers", "Accounts", ("AddressLine1",), {"AddressLine1": "Street"})
    book = written(
        tmp_path,
        [row("a", "customers", "create", "new_in_source", [change("AddressLine1", None, "Storgata 1")])],
        mappings=(mapping,),
    )
    assert headers(book["customers"])[6:8] == ["Street (old)", "Street (new)"]


def test_in_sync_rows_and_all_in_sync_mappings_get_no_rows(book: Any) -> None:
    ws = book["customers"]
    assert {ws.cell(r, column(ws, "row_id")).value for r in range(2, ws.max_row + 1)} == {"c1", "c2", "c3"}
    assert "departments" not in book.sheetnames


def test_reason_includes_the_detail_wrapped_in_full(tmp_path: Path) -> None:
    long = "the price list of the customer's region says so; " * 4
    book = written(tmp_path, [row("u1", "m", "update_target", "source_changed", [change("F", "1", "2")], detail=long)])
    reason = cell(book["m"], "u1", "Reason")
    assert reason.value == f"changed in the source since the last sync: {long}"
    assert reason.alignment.wrap_text
    cannot = book = written(
        tmp_path, [row("p1", "m", "reject", "invalid_value", [change("Price", None, "-5")], detail="Price: -5 < 0")]
    )["Cannot write"]
    assert cell(cannot, "p1", "Reason").value == "a value the target would refuse"
    assert cell(cannot, "p1", "Detail").value == "Price: -5 < 0"


def test_new_value_is_highlighted_only_where_it_differs(book: Any) -> None:
    ws = book["customers"]
    assert cell(ws, "c2", "City (new)").fill.fgColor.rgb == CHANGED_RGB
    assert cell(ws, "c2", "City (new)").fill.fill_type == "solid"
    assert cell(ws, "c2", "Name (new)").fill.fill_type is None  # unchanged name
    assert cell(ws, "c2", "City (old)").fill.fill_type is None
    assert cell(ws, "c1", "Name (new)").fill.fill_type == "solid"  # a create: nothing before
    assert cell(ws, "c2", "Phone (new)").fill.fill_type is None  # not in the row's changes


@pytest.mark.parametrize("sheet", ["Summary", "customers", "Conflicts", "Ambiguous", "Deletes", "Cannot write"])
def test_every_table_has_a_bold_frozen_filtered_header(book: Any, sheet: str) -> None:
    ws = book[sheet]
    header_row = int(re.sub("[A-Z]", "", ws.freeze_panes)) - 1
    first = ws.cell(header_row, 1)
    assert first.font.bold
    # The header, and on a sheet of decisions the Decision and Record columns, stay in view.
    assert ws.freeze_panes == (f"A{header_row + 1}" if sheet == "Summary" else f"C{header_row + 1}")
    assert ws.auto_filter.ref is not None
    assert ws.auto_filter.ref.startswith(f"A{header_row}:")


def test_filter_spans_every_column_and_row_so_sorting_keeps_row_ids_with_their_rows(book: Any) -> None:
    ws = book["customers"]
    last = ws.cell(1, ws.max_column).column_letter
    assert ws.cell(1, ws.max_column).value == "check"
    assert ws.auto_filter.ref == f"A1:{last}4"


def test_decision_column_has_an_approve_reject_drop_down_over_the_rows(book: Any) -> None:
    ws = book["customers"]
    letter = ws.cell(1, column(ws, "Decision")).column_letter
    (validation,) = ws.data_validations.dataValidation
    assert validation.type == "list"
    assert validation.formula1 == '"approve,reject"'
    assert validation.allow_blank
    assert str(validation.sqref) == f"{letter}2:{letter}4"
    assert all(cell(ws, rid, "Decision").value is None for rid in ("c1", "c2", "c3"))


def test_row_id_and_check_columns_are_hidden(book: Any) -> None:
    ws = book["customers"]
    for header in ("row_id", "check"):
        assert dimension(ws, column(ws, header)).hidden
    assert not dimension(ws, column(ws, "Decision")).hidden
    assert re.fullmatch("[0-9a-f]{32}", cell(ws, "c1", "check").value)


@pytest.mark.parametrize("sheet", ["Summary", "How to review", "customers", "Conflicts", "Deletes", "Cannot write"])
def test_sheets_are_protected_without_a_password_but_for_the_decision_cells(book: Any, sheet: str) -> None:
    ws = book[sheet]
    assert ws.protection.sheet
    assert not ws.protection.password
    assert ws.protection.autoFilter is False  # False: filtering is *not* forbidden
    assert ws.protection.sort is False
    if sheet in ("Summary", "How to review"):
        return
    decision = ws.cell(2, column(ws, "Decision"))
    assert decision.protection.locked is False
    assert ws.cell(2, column(ws, "Record")).protection.locked is not False


@pytest.mark.parametrize(
    ("row_id", "header", "text"),
    [
        ("c1", "Notes (new)", '=HYPERLINK("http://example.invalid","click")'),
        ("c1", "Phone (new)", "+47 22 33 44 55"),
    ],
)
def test_text_that_looks_like_a_formula_stays_text(book: Any, row_id: str, header: str, text: str) -> None:
    target = cell(book["customers"], row_id, header)
    assert target.data_type == "s"
    assert target.value == text
    assert target.quotePrefix


def test_minus_at_and_error_lookalikes_stay_text(tmp_path: Path) -> None:
    changes = [change("Note", None, "-rabatt"), change("Status", None, "#N/A"), change("Sum", None, "@SUM(A1)")]
    book = written(tmp_path, [row("x1", "m", "create", "new_in_source", changes, label="=cmd|' /C calc'!A0")])
    ws = book["m"]
    for header, text in [
        ("Note (new)", "-rabatt"),
        ("Status (new)", "#N/A"),
        ("Sum (new)", "@SUM(A1)"),
        ("Record", "=cmd|' /C calc'!A0"),
    ]:
        target = cell(ws, "x1", header)
        assert (target.data_type, target.value) == ("s", text)
    assert cell(ws, "x1", "Sum (new)").quotePrefix


def test_leading_whitespace_is_kept_and_a_tab_formula_stays_text(tmp_path: Path) -> None:
    changes = [change("Note", None, "\t=1+1"), change("Name", None, "  Acme  ")]
    ws = written(tmp_path, [row("w1", "m", "create", "new_in_source", changes)])["m"]
    assert (cell(ws, "w1", "Note (new)").data_type, cell(ws, "w1", "Note (new)").value) == ("s", "\t=1+1")
    assert cell(ws, "w1", "Name (new)").value == "  Acme  "


def test_text_shaped_like_the_writers_own_markup_stays_text(tmp_path: Path) -> None:
    """xlsxwriter writes text of the shape <r>...</r> as its own XML: such a value must still be plain text."""
    markup = '<r><t>x</t></r></is></c><c r="A1"><f>HYPERLINK("http://example.invalid")</f></c><c><is><r>'
    ws = written(tmp_path, [row("m1", "m", "create", "new_in_source", [change("Note", None, markup)])])["m"]
    target = cell(ws, "m1", "Note (new)")
    assert (target.data_type, target.value) == ("s", markup)


def test_dates_become_date_cells(book: Any) -> None:
    since = cell(book["customers"], "c1", "Since (new)")
    assert since.is_date
    assert since.number_format == "yyyy-mm-dd"
    assert since.value.date() == date(2024, 3, 1)


def test_numbers_become_numbers_but_ids_phones_and_postcodes_stay_text(book: Any) -> None:
    ws = book["customers"]
    credit = cell(ws, "c1", "CreditLimit (new)")
    assert credit.data_type == "n"
    assert credit.value == pytest.approx(1500.5)
    assert credit.number_format == "0.00"
    assert cell(ws, "c3", "CreditLimit (old)").value == 100
    assert cell(ws, "c3", "CreditLimit (new)").value == 250
    assert cell(ws, "c1", "PostCode (new)").value == "0150"
    assert cell(ws, "c1", "PowerOffice Go id").value == "00017"


def test_a_column_with_one_value_not_a_number_stays_text(tmp_path: Path) -> None:
    ws = written(
        tmp_path,
        [
            row("a", "m", "create", "new_in_source", [change("Amount", None, "12")]),
            row("b", "m", "create", "new_in_source", [change("Amount", None, "012")]),
            row("c", "m", "create", "new_in_source", [change("CustomerNumber", None, "10023")]),
        ],
        mappings=(),
    )["m"]
    assert cell(ws, "a", "Amount (new)").value == "12"
    assert cell(ws, "b", "Amount (new)").value == "012"
    assert cell(ws, "c", "CustomerNumber (new)").value == "10023"


def test_columns_fit_their_content_within_a_cap(book: Any) -> None:
    ws = book["customers"]
    widths = {c.column: dimension(ws, c.column).width for c in ws[1]}
    assert widths[column(ws, "Reason")] >= len("changed in the source since the last sync")
    assert widths[column(ws, "Name (new)")] >= len("Ærøskøbing Bådelaug")
    assert all(8 <= w <= 60 for w in widths.values())


def test_summary_shows_the_run_counts_guards_and_a_chart(tmp_path: Path) -> None:
    info = sample_info(guards=("customers: 5 deletes planned, the limit is 2",))
    ws = load_workbook(write_workbook(tmp_path / "x.xlsx", sample_plan(), info, KEY))["Summary"]
    facts = {ws.cell(r, 1).value: ws.cell(r, 2).value for r in range(3, 9)}
    assert facts["Run"] == "20240601-020000-ab12"
    assert facts["Flow"] == "powerofficego-to-exact"
    assert facts["Systems"] == "PowerOffice Go → Exact Online"
    assert facts["Started"] == datetime(2024, 6, 1, 2, 0)
    assert facts["Mode"].startswith("dry run")
    assert facts["Plan hash"] == "sha256:0123abcd"
    table = [[c.value for c in r][:13] for r in ws.iter_rows(min_row=10, max_row=14)]
    assert table[0] == [
        "Mapping",
        "Entities",
        "create in Exact Online",
        "update in Exact Online",
        "write back to PowerOffice Go",
        "conflict",
        "delete",
        "cannot write",
        "ambiguous",
        "link?",
        "move link",
        "differs",
        "in sync",
    ]
    assert table[1:] == [
        ["departments", "Departments → Departments", 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2],
        ["customers", "Customers → Accounts", 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 1],
        ["products", "Items → Items", 0, 0, 0, 0, 0, 1, 1, 0, 0, 0, 0],
        ["Total", None, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 3],
    ]
    assert [ws.cell(r, 14).value for r in range(10, 15)] == ["Total", 2, 6, 2, 10]
    texts = [c.value for c in ws["A"] if isinstance(c.value, str)]
    assert "Guards" in texts
    assert "customers: 5 deletes planned, the limit is 2" in texts
    assert len(ws._charts) == 1


def test_summary_lists_the_questions_by_mapping_and_reason_with_their_sheet(book: Any) -> None:
    ws = book["Summary"]
    rows = [[c.value for c in r][:4] for r in ws.iter_rows()]
    start = next(i for i, r in enumerate(rows) if r[0] == "Questions")
    assert rows[start][1] == "7 waiting for a decision"
    assert rows[start + 1] == ["Mapping", "Question", "Rows", "Sheet"]
    assert rows[start + 2 : start + 9] == [
        ["customers", "new in the source: created in the target", 1, "customers"],
        ["customers", "changed in the source since the last sync", 1, "customers"],
        ["customers", "changed in the target since the last sync", 1, "customers"],
        ["customers", "changed on both sides; left for review", 1, "Conflicts"],
        ["customers", "deleted in the source since the last sync", 1, "Deletes"],
        ["products", "a value the target would refuse", 1, "Cannot write"],
        ["products", "several records match by the merge rule; none is linked until a person decides", 1, "Ambiguous"],
    ]


def test_summary_says_when_no_guard_tripped_and_when_applied(tmp_path: Path) -> None:
    ws = load_workbook(write_workbook(tmp_path / "x.xlsx", sample_plan(), sample_info(dry_run=False), KEY))["Summary"]
    texts = [c.value for c in ws["A"]] + [c.value for c in ws["B"]]
    assert "No guard tripped." in texts
    assert any(isinstance(t, str) and t.startswith("applied") for t in texts)


def test_started_at_keeps_its_offset_in_the_number_format(tmp_path: Path) -> None:
    started = datetime(2024, 6, 1, 2, 0, tzinfo=timezone(timedelta(hours=2)))
    path = write_workbook(tmp_path / "x.xlsx", sample_plan(), sample_info(started_at=started), KEY)
    ws = load_workbook(path)["Summary"]
    assert ws["B6"].value == datetime(2024, 6, 1, 2, 0)
    assert "UTC+02:00" in ws["B6"].number_format


def test_how_to_review_says_in_plain_words_what_each_sheet_asks(book: Any) -> None:
    text = " ".join(str(c.value) for c in book["How to review"]["A"] if c.value)
    for words in (
        "Decision",
        "approve: write it",
        "reject:",
        "keep PowerOffice Go's value",
        "create new",
        "delete:",
        "dismiss",
        "reconcile apply",
    ):
        assert words in text
    assert "Links" not in text  # no sheet of links in this workbook, so not described


def test_conflicts_sheet_offers_a_keep_choice_per_property_naming_the_systems(book: Any) -> None:
    ws = book["Conflicts"]
    line = {h: ws.cell(2, i + 1).value for i, h in enumerate(headers(ws))}
    assert [line[h] for h in headers(ws)[:10]] == [
        None,
        "Nordlys",
        "customers",
        "changed on both sides; left for review",
        "City",
        "Bodø",
        "Tromsø",
        "Narvik",
        "20",
        "A-20",
    ]
    assert (line["row_id"], line["property"]) == ("c4", "City")
    choices = [["keep PowerOffice Go's value", "keep_source"], ["keep Exact Online's value", "keep_target"]]
    assert json.loads(line["choices"]) == choices
    assert (line["choice 1"], line["choice 2"]) == ("keep PowerOffice Go's value", "keep Exact Online's value")
    (validation,) = ws.data_validations.dataValidation
    first, last = (ws.cell(1, column(ws, h)).column_letter for h in ("choice 1", "choice 2"))
    assert validation.formula1 == f"${first}2:${last}2"  # each line lists its own choices
    assert str(validation.sqref) == "A2"
    assert ws.max_row == 2


def test_a_conflict_offers_only_the_sides_that_can_be_written(tmp_path: Path) -> None:
    mapping = MappingInfo("m", "S", "T", ("Code", "Name"), sides={"Code": (True, False)})
    rows = [row("k1", "m", "conflict", "conflict_manual", [change("Code", "A", "B"), change("Name", "x", "y")])]
    ws = written(tmp_path, rows, mappings=(mapping,))["Conflicts"]
    assert [json.loads(ws.cell(r, column(ws, "choices")).value) for r in (2, 3)] == [
        [["keep PowerOffice Go's value", "keep_source"]],
        [["keep PowerOffice Go's value", "keep_source"], ["keep Exact Online's value", "keep_target"]],
    ]


def test_ambiguous_sheet_offers_the_candidates_by_label_or_create_new(book: Any) -> None:
    ws = book["Ambiguous"]
    line = {h: ws.cell(2, i + 1).value for i, h in enumerate(headers(ws))}
    assert line["Record"] == "IJzerhandel"
    assert line["Mapping"] == "products"
    assert line["Reason"].startswith("several records match by the merge rule")
    assert line["Reason"].endswith("candidates: T7, T9")
    assert line["Candidates in Exact Online"] == "IJzerhandel AS (T7)\nIJzerhandel Oslo (T9)"
    assert json.loads(line["choices"]) == [
        ["IJzerhandel AS (T7)", "T7"],
        ["IJzerhandel Oslo (T9)", "T9"],
        ["create new", None],
    ]
    assert [line[f"choice {n}"] for n in (1, 2, 3)] == ["IJzerhandel AS (T7)", "IJzerhandel Oslo (T9)", "create new"]


def test_cannot_write_sheet_gives_the_tools_verdict_in_words_to_dismiss(book: Any) -> None:
    ws = book["Cannot write"]
    assert [c.value for c in ws[2]][:8] == [
        None,
        "Widget",
        "products",
        "a value the target would refuse",
        "Price: -5 is below 0",
        "P1",
        None,
        "Code: X1; Description: @SUM(A1)",
    ]
    (validation,) = ws.data_validations.dataValidation
    assert validation.formula1 == '"dismiss"'


def test_deletes_sheet_offers_delete_keep_or_unlink_also_for_a_delete_against_an_edit(tmp_path: Path) -> None:
    rows = [
        row("d1", "m", "delete", "source_deleted", source_id="1", target_id="A-1", label="Gone"),
        row(
            "d2",
            "m",
            "conflict",
            "source_deleted_target_edited",
            [change("City", "Oslo", None)],
            source_id="2",
            target_id="A-2",
            label="Edited",
        ),
    ]
    book = written(tmp_path, rows)
    ws = book["Deletes"]
    assert [ws.cell(r, column(ws, "row_id")).value for r in (2, 3)] == ["d1", "d2"]
    assert cell(ws, "d2", "Values").value == "City: Oslo"
    (validation,) = ws.data_validations.dataValidation
    assert validation.formula1 == '"delete,keep,unlink"'
    assert "Conflicts" not in book.sheetnames


def test_links_sheet_shows_both_records_side_by_side_to_link_or_tell_apart(tmp_path: Path) -> None:
    changes = [change("Name", "Acme AS", "Acme"), change("City", "Oslo", "Oslo")]
    rows = [row("l1", "m", "link", "merge_proposed", changes, source_id="7", target_id="A-7", label="Acme")]
    ws = written(tmp_path, rows)["Links"]
    assert cell(ws, "l1", "In PowerOffice Go").value == "Name: Acme\nCity: Oslo"
    assert cell(ws, "l1", "In Exact Online").value == "Name: Acme AS\nCity: Oslo"
    (validation,) = ws.data_validations.dataValidation
    assert validation.formula1 == '"link,not the same"'


def test_rows_decided_earlier_are_not_asked_but_counted(tmp_path: Path) -> None:
    rows = [
        row("a", "m", "create", "new_in_source", [change("F", None, "1")], remembered="reject"),
        row("b", "m", "reject", "invalid_value", remembered="dismiss"),
        row("c", "m", "create", "new_in_source", [change("F", None, "2")]),
    ]
    book = written(tmp_path, rows)
    ws = book["m"]
    assert [ws.cell(r, column(ws, "row_id")).value for r in range(2, ws.max_row + 1)] == ["c"]
    assert "Cannot write" not in book.sheetnames
    summary = [[c.value for c in r][:3] for r in book["Summary"].iter_rows()]
    start = next(i for i, r in enumerate(summary) if str(r[0]).startswith("Decided earlier"))
    assert summary[start + 1 : start + 4] == [
        ["Mapping", "Decision", "Rows"],
        ["m", "rejected", 1],
        ["m", "dismissed", 1],
    ]


def test_a_structural_problem_is_one_summary_line_with_a_count_and_its_records_on_a_details_sheet(
    tmp_path: Path,
) -> None:
    detail = "Accounts.Code is required and no property fills it"
    rows = [
        row(f"s{i}", "m", "reject", "required_unmapped", structural=True, source_id=str(i), detail=detail)
        for i in range(3)
    ]
    book = written(tmp_path, rows)
    assert "Cannot write" not in book.sheetnames
    summary = book["Summary"]
    lines = [[c.value for c in r] for r in summary.iter_rows()]
    start = next(i for i, r in enumerate(lines) if r[0] == "Problems in the flow")
    assert lines[start + 1][:4] == ["Mapping", "Problem", "Records", "Decision"]
    mapping, problem, records, decision = lines[start + 2][:4]
    assert (mapping, records, decision) == ("m", 3, None)
    assert problem.startswith("the target requires a field the mapping does not fill") and detail in problem
    assert "\n\nWhat to change: Map the required field in the flow" in problem
    assert start + 3 == len(lines)  # one line for the three records, and the last of the sheet
    assert summary.cell(start + 3, 4).protection.locked is False
    details = book["Problem details"]
    assert [details.cell(r, column(details, "row_id")).value for r in (2, 3, 4)] == ["s0", "s1", "s2"]
    assert json.loads(details.cell(2, column(details, "problem")).value) == ["m", "required_unmapped"]


def test_empty_plan_gives_a_summary_and_how_to_review_only(tmp_path: Path) -> None:
    book = load_workbook(write_workbook(tmp_path / "x.xlsx", plan_of([]), sample_info(), KEY))
    assert book.sheetnames == ["Summary", "How to review", META_SHEET]


def test_none_everywhere_does_not_crash(tmp_path: Path) -> None:
    ws = written(tmp_path, [row("n1", "m", "create", "new_in_source", [change("Name", None, None)])], mappings=())["m"]
    assert cell(ws, "n1", "Record").value is None
    assert cell(ws, "n1", "Name (new)").value is None


def test_long_values_are_cut_at_the_cell_limit_with_a_marker(tmp_path: Path) -> None:
    long = "ø" * 40_000
    wide = "😀" * 20_000  # two UTF-16 units each: Excel counts 40,000
    rows = [row("l1", "m", "create", "new_in_source", [change("Notes", None, long)], label=wide)]
    ws = written(tmp_path, rows, mappings=())["m"]
    for header in ("Notes (new)", "Record"):
        value = cell(ws, "l1", header).value
        assert len(value.encode("utf-16-le")) // 2 <= 32_767
        assert "characters in all]" in value
    assert cell(ws, "l1", "Notes (new)").value.startswith("ø" * 1000)


def test_control_characters_do_not_break_the_file(tmp_path: Path) -> None:
    rows = [row("z1", "m", "create", "new_in_source", [change("Name", None, "a\x00b\x1bc\ufffe")])]
    ws = written(tmp_path, rows, mappings=())["m"]
    assert cell(ws, "z1", "Name (new)").value == "a\ufffdb\ufffdc\ufffd"


def test_secrets_are_never_written(tmp_path: Path) -> None:
    rows = [
        row(
            "s1", "m", "create", "new_in_source", [change("ApiToken", None, "tok-123456789"), change("Name", None, "A")]
        ),
        row(
            "s2",
            "m",
            "reject",
            "write_failed",
            [change("ApiToken", None, "tok-987654321")],
            detail="401 with Authorization: Bearer abcdefghijkl123 and client_secret=s3cr3t",
        ),
    ]
    book = written(tmp_path, rows, mappings=())
    everything = " ".join(str(c.value) for ws in book for r in ws.iter_rows() for c in r if c.value is not None)
    for secret in ("tok-123456789", "tok-987654321", "abcdefghijkl123", "s3cr3t"):
        assert secret not in everything
    assert cell(book["m"], "s1", "ApiToken (new)").value == "(hidden)"


def test_sheet_names_are_valid_and_unique(tmp_path: Path) -> None:
    names = ["a/b:c*d?e[f]g\\h", "x" * 40, "x" * 35, "Summary", "'quoted'"]
    rows = [row(f"r{i}", name, "create", "new_in_source", [change("F", None, "v")]) for i, name in enumerate(names)]
    book = written(tmp_path, rows, mappings=())
    titles = book.sheetnames[2:7]
    assert titles[0] == "a_b_c_d_e_f_g_h"
    assert titles[1] == "x" * 31
    assert titles[2] == "x" * 27 + " (2)"
    assert titles[3] == "Summary (2)"
    assert titles[4] == "quoted"
    assert len({t.casefold() for t in book.sheetnames}) == len(book.sheetnames)
    for title in book.sheetnames:
        assert len(title) <= 31
        assert not re.search(r"[\[\]:*?/\\]", title)


def test_sheet_title_is_safe_on_its_own() -> None:
    taken: set[str] = set()
    assert sheet_title("", taken) == "mapping"
    assert sheet_title("Mapping", taken) == "Mapping (2)"
    assert sheet_title("[]", taken) == "__"


def test_mapping_not_in_run_info_still_gets_a_sheet_in_change_order(tmp_path: Path) -> None:
    rows = [row("u1", "extra", "update_target", "source_changed", [change("B", "1", "2"), change("A", "x", "y")])]
    ws = written(tmp_path, rows, mappings=(MappingInfo("other", "X", "Y", ("A",)),))["extra"]
    assert headers(ws)[6:10] == ["B (old)", "B (new)", "A (old)", "A (new)"]


_SAFE_TEXT = st.text(
    alphabet=st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters="\ufffe\uffff")
    | st.sampled_from(["=", "+", "-", "@", "\t", "\n", "æ", "ø", "å", "Ĳ", "<", ">", "/"]),
    min_size=1,
    max_size=40,
)


@settings(
    max_examples=int(os.environ.get("RECONCILE_EXAMPLES", "15")),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(text=_SAFE_TEXT)
def test_any_text_survives_as_text_and_never_becomes_a_formula(tmp_path: Path, text: str) -> None:
    assume(not re.fullmatch(r"-?(0|[1-9][0-9]*)(\.[0-9]+)?|\d{4}-\d{2}-\d{2}([T ].*)?", text))
    assume("_x" not in text)  # openpyxl reads an escaped "_xHHHH_" back escaped; the reader does not
    ws = written(tmp_path, [row("h1", "m", "create", "new_in_source", [change("Note", None, text)], label=text)])["m"]
    for header in ("Record", "Note (new)"):
        target = cell(ws, "h1", header)
        assert target.data_type == "s"
        assert target.value == text


def test_mapping_info_takes_the_target_fields_in_the_flow_order() -> None:
    mapping = Mapping(
        "customers",
        "Customers",
        "Accounts",
        (
            Property("Name", source="Name"),
            Property("City", source="MailAddress.City"),
            Property("Type", value="C"),
        ),
    )
    info = MappingInfo.of(mapping)
    assert (info.name, info.source, info.target, info.fields) == (
        "customers",
        "Customers",
        "Accounts",
        ("Name", "City", "Type"),
    )
    assert info.may_keep("Name") == (True, True)
    assert info.may_keep("Type") == (False, False)  # a fixed value: neither side is written from a conflict


def test_differs_rows_are_counted_and_shown_on_their_mapping_sheet(tmp_path: Path) -> None:
    """Issue 9, item 11: a difference left unwritten on purpose is neither hidden nor counted as in sync."""
    rows = [
        row("s1", "customers", "in_sync", "in_sync", source_id="1", target_id="A-1", label="Same"),
        row(
            "d1",
            "customers",
            "differs",
            "forward_only",
            [change("City", "Bergen", "Oslo", "Oslo")],
            source_id="2",
            target_id="A-2",
            label="Fjord AS",
            detail="not written: City (only flows forward)",
        ),
    ]
    book = written(tmp_path, rows)
    summary = [[c.value for c in r] for r in book["Summary"].iter_rows() if r[0].value in ("Mapping", "customers")]
    header, counts = summary[0], summary[1]
    assert counts[header.index("differs")] == 1 and counts[header.index("in sync")] == 1
    ws = book["customers"]
    assert [ws.cell(r, column(ws, "Action")).value for r in range(2, ws.max_row + 1)] == ["differs"]
    assert cell(ws, "d1", "City (old)").value == "Bergen" and cell(ws, "d1", "City (new)").value == "Oslo"
    reason = cell(ws, "d1", "Reason").value
    assert reason.startswith("changed in the target, but the property only flows from the source")
    assert cell(ws, "d1", "check").value is None  # nothing to decide: no check, no drop-down
    assert not ws.data_validations.dataValidation
