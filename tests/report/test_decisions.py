"""Reading decisions and the plan hash back from a reviewed workbook."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from openpyxl import Workbook, load_workbook

from reconcile.errors import ConfigError
from reconcile.report.decisions import read_decisions, read_plan_hash
from reconcile.report.workbook import write_workbook
from tests.report import plan_of, sample_info, sample_plan


@pytest.fixture()
def path(tmp_path: Path) -> Path:
    return write_workbook(tmp_path / "plan.xlsx", sample_plan(), sample_info())


def edit(path: Path, sheet: str, row_id: str, header: str, value: Any) -> str:
    """Set one cell of a row, found by its row id, as a reviewer would; returns the cell's coordinate."""
    book = load_workbook(path)
    ws = book[sheet]
    names = [c.value for c in ws[1]]
    id_col = names.index("row_id") + 1
    (r,) = [r for r in range(2, ws.max_row + 1) if ws.cell(r, id_col).value == row_id]
    target = ws.cell(r, names.index(header) + 1)
    target.value = value
    book.save(path)
    return str(target.coordinate)


def test_untouched_workbook_has_every_row_undecided(path: Path) -> None:
    assert read_decisions(path) == {
        "c1": None,
        "c2": None,
        "c3": None,
        "c4": None,
        "c5": None,
        "p1": None,
        "p2": None,
    }


def test_decisions_round_trip(path: Path) -> None:
    edit(path, "customers", "c1", "Decision", "approve")
    edit(path, "customers", "c4", "Decision", "reject")
    edit(path, "products", "p2", "Decision", " Approve ")
    decisions = read_decisions(path)
    assert decisions["c1"] == "approve"
    assert decisions["c4"] == "reject"
    assert decisions["p2"] == "approve"
    assert decisions["c2"] is None


def test_values_typed_into_other_cells_are_not_read(path: Path) -> None:
    before = read_decisions(path)
    edit(path, "customers", "c2", "City (new)", "Trondheim")
    edit(path, "customers", "c2", "Reason", "approve")
    assert read_decisions(path) == before


def test_sorted_rows_keep_their_decisions(path: Path) -> None:
    book = load_workbook(path)
    ws = book["customers"]
    rows = [[c.value for c in r] for r in ws.iter_rows(min_row=2)]
    decision = [c.value for c in ws[1]].index("Decision")
    rows[0][decision] = "approve"  # c1
    for r, values in enumerate(reversed(rows), start=2):
        for c, value in enumerate(values, start=1):
            ws.cell(r, c).value = value
    book.save(path)
    decisions = read_decisions(path)
    assert decisions["c1"] == "approve"
    assert [k for k, v in decisions.items() if v] == ["c1"]


def test_a_decision_outside_the_list_is_refused_naming_sheet_and_cell(path: Path) -> None:
    coordinate = edit(path, "customers", "c3", "Decision", "yes please")
    with pytest.raises(ConfigError) as caught:
        read_decisions(path)
    message = str(caught.value)
    assert str(path) in message
    assert "sheet 'customers'" in message
    assert f"cell {coordinate}" in message
    assert "'yes please'" in message


def test_a_formula_or_number_as_decision_is_refused(path: Path) -> None:
    edit(path, "products", "p1", "Decision", '=IF(TRUE,"approve","")')
    with pytest.raises(ConfigError, match="sheet 'products'"):
        read_decisions(path)
    edit(path, "products", "p1", "Decision", 1)
    with pytest.raises(ConfigError, match="decision 1 is not"):
        read_decisions(path)


def test_a_sheet_without_its_row_id_column_is_refused(path: Path) -> None:
    book = load_workbook(path)
    ws = book["products"]
    ws.delete_cols([c.value for c in ws[1]].index("row_id") + 1)
    book.save(path)
    with pytest.raises(ConfigError, match=r"sheet 'products' has no hidden row_id column in row 1"):
        read_decisions(path)


def test_a_decision_on_a_row_without_an_id_is_refused(path: Path) -> None:
    book = load_workbook(path)
    ws = book["customers"]
    decision = [c.value for c in ws[1]].index("Decision") + 1
    ws.cell(ws.max_row + 1, decision).value = "approve"
    book.save(path)
    with pytest.raises(ConfigError, match="without a row id"):
        read_decisions(path)


def test_a_renamed_mapping_sheet_is_refused(path: Path) -> None:
    book = load_workbook(path)
    book["customers"].title = "Kunder"
    book.save(path)
    with pytest.raises(ConfigError, match="sheet 'customers' is missing"):
        read_decisions(path)


def test_a_workbook_not_from_reconcile_is_refused(tmp_path: Path) -> None:
    other = tmp_path / "other.xlsx"
    Workbook().save(other)
    with pytest.raises(ConfigError, match="not a review workbook"):
        read_decisions(other)
    with pytest.raises(ConfigError, match="not a review workbook"):
        read_plan_hash(other)


def test_a_missing_or_broken_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no such workbook"):
        read_decisions(tmp_path / "absent.xlsx")
    broken = tmp_path / "broken.xlsx"
    broken.write_text("not a zip", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"broken\.xlsx: not an Excel workbook"):
        read_decisions(broken)


def test_plan_hash_round_trips(path: Path) -> None:
    assert read_plan_hash(path) == "sha256:0123abcd"


def test_empty_plan_reads_back_empty(tmp_path: Path) -> None:
    path = write_workbook(tmp_path / "x.xlsx", plan_of([]), sample_info())
    assert read_decisions(path) == {}
    assert read_plan_hash(path) == "sha256:0123abcd"
