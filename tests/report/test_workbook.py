"""The review workbook, checked by opening what was written with openpyxl."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from openpyxl import load_workbook

from reconcile.model.flow import Mapping, Property
from reconcile.report.cells import CHANGED_FILL
from reconcile.report.workbook import META_SHEET, MappingInfo, sheet_title, write_workbook
from tests.report import CUSTOMER_FIELDS, change, plan_of, row, sample_info, sample_plan


@pytest.fixture()
def book(tmp_path: Path) -> Any:
    path = write_workbook(tmp_path / "run" / "plan.xlsx", sample_plan(), sample_info())
    return load_workbook(path)


def headers(ws: Any) -> list[Any]:
    return [c.value for c in ws[1]]


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


def test_sheets_are_summary_mappings_with_changes_then_the_listings(book: Any) -> None:
    assert book.sheetnames == [
        "Summary",
        "customers",
        "products",
        "Conflicts",
        "Rejected",
        "Ambiguous",
        META_SHEET,
    ]
    assert book[META_SHEET].sheet_state == "veryHidden"
    assert book.active.title == "Summary"


def test_mapping_sheet_shows_rows_in_words_and_properties_in_mapping_order(book: Any) -> None:
    ws = book["customers"]
    shown = ("Name", "City", "Phone", "PostCode", "CreditLimit", "Since", "Notes")
    assert shown == CUSTOMER_FIELDS
    assert headers(ws) == [
        "Action",
        "Reason",
        "Source id",
        "Target id",
        "Label",
        *(f"{f} ({side})" for f in shown for side in ("old", "new")),
        "Decision",
        "row_id",
    ]
    assert [ws.cell(r, 1).value for r in range(2, ws.max_row + 1)] == [
        "create",
        "update target",
        "update source",
        "conflict",
        "delete",
    ]
    assert cell(ws, "c1", "Reason").value == "new in the source: created in the target"
    assert cell(ws, "c1", "Source id").value == "00017"
    assert cell(ws, "c1", "Name (new)").value == "Ærøskøbing Bådelaug"
    assert cell(ws, "c1", "Name (old)").value is None
    assert cell(ws, "c2", "City (old)").value == "Oslo"
    assert cell(ws, "c2", "City (new)").value == "Bergen"
    assert cell(ws, "c5", "Name (new)").value is None


def test_in_sync_rows_and_all_in_sync_mappings_get_no_rows(book: Any) -> None:
    ids = {book["customers"].cell(r, column(book["customers"], "row_id")).value for r in range(2, 7)}
    assert ids == {"c1", "c2", "c3", "c4", "c5"}
    assert "departments" not in book.sheetnames


def test_reason_includes_the_detail(book: Any) -> None:
    assert cell(book["products"], "p1", "Reason").value == "a value the target would refuse: Price: -5 is below 0"


def test_new_value_is_highlighted_only_where_it_differs(book: Any) -> None:
    ws = book["customers"]
    assert cell(ws, "c2", "City (new)").fill.fgColor.rgb == CHANGED_FILL.fgColor.rgb
    assert cell(ws, "c2", "City (new)").fill.fill_type == "solid"
    assert cell(ws, "c2", "Name (new)").fill.fill_type is None  # unchanged name
    assert cell(ws, "c2", "City (old)").fill.fill_type is None
    assert cell(ws, "c1", "Name (new)").fill.fill_type == "solid"  # a create: nothing before
    assert cell(ws, "c2", "Phone (new)").fill.fill_type is None  # not in the row's changes


@pytest.mark.parametrize("sheet", ["Summary", "customers", "products", "Conflicts", "Rejected", "Ambiguous"])
def test_every_table_has_a_bold_frozen_filtered_header(book: Any, sheet: str) -> None:
    ws = book[sheet]
    header_row = 1 if sheet != "Summary" else int(ws.freeze_panes[1:]) - 1
    first = ws.cell(header_row, 1)
    assert first.font.bold
    assert ws.freeze_panes == f"A{header_row + 1}"
    assert ws.auto_filter.ref is not None
    assert ws.auto_filter.ref.startswith(f"A{header_row}:")


def test_filter_spans_every_column_and_row_so_sorting_keeps_row_ids_with_their_rows(book: Any) -> None:
    ws = book["customers"]
    last = ws.cell(1, ws.max_column).column_letter
    assert ws.cell(1, ws.max_column).value == "row_id"
    assert ws.auto_filter.ref == f"A1:{last}6"


def test_decision_column_has_an_approve_reject_drop_down_over_the_rows(book: Any) -> None:
    ws = book["customers"]
    letter = ws.cell(1, column(ws, "Decision")).column_letter
    (validation,) = ws.data_validations.dataValidation
    assert validation.type == "list"
    assert validation.formula1 == '"approve,reject"'
    assert validation.allow_blank
    assert str(validation.sqref) == f"{letter}2:{letter}6"
    assert all(cell(ws, rid, "Decision").value is None for rid in ("c1", "c2", "c3", "c4", "c5"))


def test_row_id_column_is_hidden(book: Any) -> None:
    ws = book["customers"]
    letter = ws.cell(1, column(ws, "row_id")).column_letter
    assert ws.column_dimensions[letter].hidden
    assert not ws.column_dimensions[ws.cell(1, column(ws, "Decision")).column_letter].hidden


@pytest.mark.parametrize(
    ("sheet", "row_id", "header", "text"),
    [
        ("customers", "c1", "Notes (new)", '=HYPERLINK("http://example.invalid","click")'),
        ("customers", "c1", "Phone (new)", "+47 22 33 44 55"),
        ("products", "p1", "Description (new)", "@SUM(A1)"),
    ],
)
def test_text_that_looks_like_a_formula_stays_text(book: Any, sheet: str, row_id: str, header: str, text: str) -> None:
    target = cell(book[sheet], row_id, header)
    assert target.data_type == "s"
    assert target.value == text
    assert target.quotePrefix


def test_minus_and_error_lookalikes_stay_text(tmp_path: Path) -> None:
    plan = plan_of(
        [
            row(
                "x1",
                "m",
                "create",
                "new_in_source",
                [change("Note", None, "-rabatt"), change("Status", None, "#N/A")],
                label="=cmd|' /C calc'!A0",
            )
        ]
    )
    ws = load_workbook(write_workbook(tmp_path / "x.xlsx", plan, sample_info(mappings=())))["m"]
    for header, text in [
        ("Note (new)", "-rabatt"),
        ("Status (new)", "#N/A"),
        ("Label", "=cmd|' /C calc'!A0"),
    ]:
        target = cell(ws, "x1", header)
        assert (target.data_type, target.value) == ("s", text)


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
    assert cell(ws, "c1", "Source id").value == "00017"


def test_a_column_with_one_value_not_a_number_stays_text(tmp_path: Path) -> None:
    plan = plan_of(
        [
            row("a", "m", "create", "new_in_source", [change("Amount", None, "12")]),
            row("b", "m", "create", "new_in_source", [change("Amount", None, "012")]),
            row("c", "m", "create", "new_in_source", [change("CustomerNumber", None, "10023")]),
        ]
    )
    ws = load_workbook(write_workbook(tmp_path / "x.xlsx", plan, sample_info(mappings=())))["m"]
    assert cell(ws, "a", "Amount (new)").value == "12"
    assert cell(ws, "b", "Amount (new)").value == "012"
    assert cell(ws, "c", "CustomerNumber (new)").value == "10023"


def test_columns_fit_their_content_within_a_cap(book: Any) -> None:
    ws = book["customers"]
    widths = {c.column_letter: ws.column_dimensions[c.column_letter].width for c in ws[1]}
    reason = ws.cell(1, column(ws, "Reason")).column_letter
    name_new = ws.cell(1, column(ws, "Name (new)")).column_letter
    assert widths[reason] >= len("changed in the source since the last sync")
    assert widths[name_new] >= len("Ærøskøbing Bådelaug")
    assert all(8 <= w <= 60 for w in widths.values())


def test_summary_shows_the_run_counts_guards_and_a_chart(tmp_path: Path) -> None:
    info = sample_info(guards=("customers: 5 deletes planned, the limit is 2",))
    ws = load_workbook(write_workbook(tmp_path / "x.xlsx", sample_plan(), info))["Summary"]
    facts = {ws.cell(r, 1).value: ws.cell(r, 2).value for r in range(3, 9)}
    assert facts["Run"] == "20240601-020000-ab12"
    assert facts["Flow"] == "powerofficego-to-exact"
    assert facts["Systems"] == "poweroffice -> exact"
    assert facts["Started"] == datetime(2024, 6, 1, 2, 0)
    assert facts["Mode"].startswith("dry run")
    assert facts["Plan hash"] == "sha256:0123abcd"

    header_row = int(ws.freeze_panes[1:]) - 1
    table = [[c.value for c in r] for r in ws.iter_rows(min_row=header_row, max_row=header_row + 4)]
    assert table == [
        [
            "Mapping",
            "Entities",
            "create",
            "update target",
            "update source",
            "conflict",
            "delete",
            "reject",
            "ambiguous",
            "move link",
            "differs",
            "in sync",
            "Total",
        ],
        ["departments", "Departments -> Departments", 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 2],
        ["customers", "Customers -> Accounts", 1, 1, 1, 1, 1, 0, 0, 0, 0, 1, 6],
        ["products", "Items -> Items", 0, 0, 0, 0, 0, 1, 1, 0, 0, 0, 2],
        ["Total", None, 1, 1, 1, 1, 1, 1, 1, 0, 0, 3, 10],
    ]
    texts = [c.value for c in ws["A"] if isinstance(c.value, str)]
    assert "Guards" in texts
    assert "customers: 5 deletes planned, the limit is 2" in texts
    assert len(ws._charts) == 1


def test_summary_says_when_no_guard_tripped_and_when_applied(tmp_path: Path) -> None:
    ws = load_workbook(write_workbook(tmp_path / "x.xlsx", sample_plan(), sample_info(dry_run=False)))["Summary"]
    texts = [c.value for c in ws["A"]] + [c.value for c in ws["B"]]
    assert "No guard tripped." in texts
    assert any(isinstance(t, str) and t.startswith("applied") for t in texts)


def test_started_at_keeps_its_offset_in_the_number_format(tmp_path: Path) -> None:
    started = datetime(2024, 6, 1, 2, 0, tzinfo=timezone(timedelta(hours=2)))
    ws = load_workbook(write_workbook(tmp_path / "x.xlsx", sample_plan(), sample_info(started_at=started)))["Summary"]
    assert ws["B6"].value == datetime(2024, 6, 1, 2, 0)
    assert "UTC+02:00" in ws["B6"].number_format


def test_conflicts_sheet_lists_source_target_and_last_synced_values(book: Any) -> None:
    ws = book["Conflicts"]
    assert [c.value for c in ws[2]] == [
        "customers",
        "20",
        "A-20",
        "Nordlys",
        "changed on both sides; left for review",
        "City",
        "Bodø",
        "Tromsø",
        "Narvik",
    ]
    assert ws.max_row == 2


def test_rejected_and_ambiguous_sheets_give_the_reason_in_words(book: Any) -> None:
    rejected = [c.value for c in book["Rejected"][2]]
    assert rejected == [
        "products",
        "P1",
        None,
        "Widget",
        "a value the target would refuse",
        "Price: -5 is below 0",
        "Code: X1; Description: @SUM(A1)",
    ]
    ambiguous = [c.value for c in book["Ambiguous"][2]]
    assert ambiguous[0] == "products"
    assert ambiguous[3] == "IJzerhandel"
    assert ambiguous[4].startswith("several records match by the merge rule")
    assert ambiguous[5] == "candidates: T7, T9"


def test_empty_plan_gives_a_summary_and_empty_listings(tmp_path: Path) -> None:
    book = load_workbook(write_workbook(tmp_path / "x.xlsx", plan_of([]), sample_info()))
    assert book.sheetnames == ["Summary", "Conflicts", "Rejected", "Ambiguous", META_SHEET]
    assert book["Conflicts"].max_row == 1
    assert book["Conflicts"].auto_filter.ref == "A1:I1"


def test_none_everywhere_does_not_crash(tmp_path: Path) -> None:
    plan = plan_of([row("n1", "m", "create", "new_in_source", [change("Name", None, None)])])
    ws = load_workbook(write_workbook(tmp_path / "x.xlsx", plan, sample_info(mappings=())))["m"]
    assert cell(ws, "n1", "Label").value is None
    assert cell(ws, "n1", "Name (new)").value is None


def test_long_values_are_cut_at_the_cell_limit_with_a_marker(tmp_path: Path) -> None:
    long = "ø" * 40_000
    wide = "😀" * 20_000  # two UTF-16 units each: Excel counts 40,000
    plan = plan_of([row("l1", "m", "create", "new_in_source", [change("Notes", None, long)], label=wide)])
    ws = load_workbook(write_workbook(tmp_path / "x.xlsx", plan, sample_info(mappings=())))["m"]
    for header in ("Notes (new)", "Label"):
        value = cell(ws, "l1", header).value
        assert len(value.encode("utf-16-le")) // 2 <= 32_767
        assert "characters in all]" in value
    assert cell(ws, "l1", "Notes (new)").value.startswith("ø" * 1000)


def test_control_characters_do_not_break_the_file(tmp_path: Path) -> None:
    plan = plan_of([row("z1", "m", "create", "new_in_source", [change("Name", None, "a\x00b\x1bc\ufffe")])])
    ws = load_workbook(write_workbook(tmp_path / "x.xlsx", plan, sample_info(mappings=())))["m"]
    assert cell(ws, "z1", "Name (new)").value == "a\ufffdb\ufffdc\ufffd"


def test_secrets_are_never_written(tmp_path: Path) -> None:
    plan = plan_of(
        [
            row(
                "s1",
                "m",
                "reject",
                "write_failed",
                [change("ApiToken", None, "tok-123456789"), change("Name", None, "Acme")],
                detail="401 with Authorization: Bearer abcdefghijkl123 and client_secret=s3cr3t",
            )
        ]
    )
    path = write_workbook(tmp_path / "x.xlsx", plan, sample_info(mappings=()))
    book = load_workbook(path)
    everything = " ".join(str(c.value) for ws in book for r in ws.iter_rows() for c in r if c.value is not None)
    for secret in ("tok-123456789", "abcdefghijkl123", "s3cr3t"):
        assert secret not in everything
    assert cell(book["m"], "s1", "ApiToken (new)").value == "(hidden)"


def test_sheet_names_are_valid_and_unique(tmp_path: Path) -> None:
    names = ["a/b:c*d?e[f]g\\h", "x" * 40, "x" * 35, "Summary", "'quoted'"]
    plan = plan_of(
        [row(f"r{i}", name, "create", "new_in_source", [change("F", None, "v")]) for i, name in enumerate(names)]
    )
    book = load_workbook(write_workbook(tmp_path / "x.xlsx", plan, sample_info(mappings=())))
    titles = book.sheetnames[1:6]
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
    plan = plan_of(
        [
            row(
                "u1",
                "extra",
                "update_target",
                "source_changed",
                [change("B", "1", "2"), change("A", "x", "y")],
            ),
        ]
    )
    info = sample_info(mappings=(MappingInfo("other", "X", "Y", ("A",)),))
    ws = load_workbook(write_workbook(tmp_path / "x.xlsx", plan, info))["extra"]
    assert headers(ws)[5:9] == ["B (old)", "B (new)", "A (old)", "A (new)"]


_SAFE_TEXT = st.text(
    alphabet=st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters="\ufffe\uffff")
    | st.sampled_from(["=", "+", "-", "@", "\t", "\n", "æ", "ø", "å", "Ĳ"]),
    min_size=1,
    max_size=40,
)


@settings(max_examples=40, deadline=None, database=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=_SAFE_TEXT)
def test_any_text_survives_as_text_and_never_becomes_a_formula(tmp_path: Path, text: str) -> None:
    assume(not re.fullmatch(r"-?(0|[1-9][0-9]*)(\.[0-9]+)?|\d{4}-\d{2}-\d{2}([T ].*)?", text))
    plan = plan_of([row("h1", "m", "create", "new_in_source", [change("Note", None, text)], label=text)])
    ws = load_workbook(write_workbook(tmp_path / "h.xlsx", plan, sample_info(mappings=())))["m"]
    for header in ("Label", "Note (new)"):
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
    assert MappingInfo.of(mapping) == MappingInfo("customers", "Customers", "Accounts", ("Name", "City", "Type"))


def test_differs_rows_are_counted_and_shown_on_their_mapping_sheet(tmp_path: Path) -> None:
    """Issue 9, item 11: a difference left unwritten on purpose is neither hidden nor counted as in sync."""
    plan = plan_of(
        [
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
    )
    book = load_workbook(write_workbook(tmp_path / "x.xlsx", plan, sample_info()))
    summary = [[c.value for c in r] for r in book["Summary"].iter_rows() if r[0].value in ("Mapping", "customers")]
    header, counts = summary[0], summary[1]
    assert counts[header.index("differs")] == 1 and counts[header.index("in sync")] == 1
    ws = book["customers"]
    assert [ws.cell(r, 1).value for r in range(2, ws.max_row + 1)] == ["differs"]
    assert cell(ws, "d1", "City (old)").value == "Bergen" and cell(ws, "d1", "City (new)").value == "Oslo"
    reason = cell(ws, "d1", "Reason").value
    assert reason.startswith("changed in the target, but the property only flows from the source")
