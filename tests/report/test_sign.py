"""The seal's canonical form: what a cell's check covers reads back the same through calamine, and after a
spreadsheet program saved the file (openpyxl loading and saving it stands in for one)."""

from __future__ import annotations

import hashlib
import hmac
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook
from python_calamine import CalamineWorkbook

from reconcile.report.decisions import read_review_workbook
from reconcile.report.info import MappingInfo
from reconcile.report.sheet import Book
from reconcile.report.sign import Signer, canonical
from reconcile.report.workbook import write_workbook
from tests.report import KEY, change, plan_of, row, sample_info

VALUES: list[tuple[str, Any]] = [
    ("text", "Fjord AS"),
    ("formula-looking text", '=HYPERLINK("http://example.invalid")'),
    ("leading tab", "\t=1+1"),
    ("spaces around", "  Acme  "),
    ("escape-looking text", "_x0041_ stays"),
    ("int", 250),
    ("decimal with decimals", Decimal("1500.50")),
    ("float", 0.1 + 0.2),
    ("date", date(2024, 3, 1)),
    ("datetime with seconds", datetime(2024, 3, 1, 12, 34, 56)),
    ("midnight", datetime(2024, 3, 1)),
    ("none", None),
]


def _read(path: Path) -> list[Any]:
    rows = CalamineWorkbook.from_path(str(path)).get_sheet_by_name("values").to_python(skip_empty_area=False)
    return [r[0] if r else "" for r in rows] + [""] * (len(VALUES) - len(rows))


@pytest.fixture()
def written(tmp_path: Path) -> tuple[Path, list[str]]:
    path = tmp_path / "values.xlsx"
    book = Book(path)
    sheet = book.sheet("values")
    shown = [sheet.put(r, 0, value) for r, (_, value) in enumerate(VALUES)]
    book.close()
    return path, shown


def test_every_value_reads_back_in_its_canonical_form_through_calamine(written: tuple[Path, list[str]]) -> None:
    path, shown = written
    read = _read(path)
    for (what, _), expected, got in zip(VALUES, shown, read, strict=True):
        assert canonical(got) == expected, what
        if not isinstance(got, datetime):  # the fast path a reader takes first: str of what calamine gives
            assert str(got) == expected, what


def test_every_value_keeps_its_canonical_form_when_a_spreadsheet_program_saves_the_file(
    written: tuple[Path, list[str]], tmp_path: Path
) -> None:
    path, shown = written
    saved = tmp_path / "saved.xlsx"
    load_workbook(path).save(saved)
    for (what, _), expected, got in zip(VALUES, shown, _read(saved), strict=True):
        assert canonical(got) == expected, what


def test_canonical_forms() -> None:
    assert canonical(None) == canonical("") == ""
    assert canonical(250) == canonical(250.0) == canonical(Decimal("250.00")) == "250.0"
    assert canonical(Decimal("1500.50")) == "1500.5"
    assert canonical(date(2024, 3, 1)) == canonical(datetime(2024, 3, 1)) == "2024-03-01"
    assert canonical(datetime(2024, 3, 1, 12, 34, 55, 999_999)) == "2024-03-01 12:34:56"
    assert canonical("\t=1+1") == "\t=1+1"


def test_a_date_before_1900_stays_text_and_round_trips(tmp_path: Path) -> None:
    rows = [row("o1", "m", "create", "new_in_source", [change("Founded", None, "1899-12-31")])]
    path = write_workbook(tmp_path / "x.xlsx", plan_of(rows), sample_info(mappings=()), KEY)
    book = load_workbook(path)
    ws = book["m"]
    founded = [c.value for c in ws[1]].index("Founded (new)") + 1
    assert ws.cell(2, founded).value == "1899-12-31"
    ws["A2"] = "approve"
    book.save(path)
    assert [d.row_id for d in read_review_workbook(path, KEY).decisions] == ["o1"]


def test_a_line_of_every_type_is_accepted_after_a_spreadsheet_program_saved_it(tmp_path: Path) -> None:
    """End to end: typed values in a signed line, the workbook saved again, the decision read and checked."""
    changes = [
        change("Note", None, "\t=1+1"),
        change("Formula", None, "=SUM(A1:A2)"),
        change("Amount", None, "1500.50"),
        change("Count", None, "250"),
        change("Since", None, "2024-03-01"),
        change("At", None, "2024-03-01T12:34:56"),
        change("Midnight", None, "2024-03-01T00:00:00"),
        change("Old", None, "1899-12-31"),
        change("Blank", None, None),
    ]
    fields = tuple(c["property"] for c in changes)
    info = sample_info(mappings=(MappingInfo("m", "S", "T", fields),))
    path = write_workbook(tmp_path / "x.xlsx", plan_of([row("t1", "m", "create", "new_in_source", changes)]), info, KEY)
    book = load_workbook(path)
    ws = book["m"]
    header = [c.value for c in ws[1]]
    assert isinstance(ws.cell(2, header.index("Amount (new)") + 1).value, float)
    assert ws.cell(2, header.index("At (new)") + 1).is_date
    ws["A2"] = "approve"
    book.save(path)
    assert [d.row_id for d in read_review_workbook(path, KEY).decisions] == ["t1"]


def test_a_lines_check_is_hmac_sha256_of_the_run_the_kind_and_the_cells() -> None:
    for key in (b"k" * 32, b"a key longer than the block of sha-256, which is sixty-four bytes long" * 2, b"k"):
        check = Signer(key, "run").lines("changes")(["a", "b"])
        assert check == hmac.new(key, b"run\x1fchanges\x1fa\x1fb", hashlib.sha256).hexdigest()[:32]
        assert Signer(key, "run").checks("changes", [("a", "b")]) == [check]


def test_a_signer_needs_a_key() -> None:
    with pytest.raises(ValueError, match="non-empty key"):
        Signer(b"", "run")
