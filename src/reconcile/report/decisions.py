"""Reading an approved workbook back: the decisions and the plan hash, and nothing a reviewer typed elsewhere.

Only the ``Decision`` column of each mapping sheet is read, keyed by the hidden ``row_id`` column next to it;
the rows themselves come from the stored plan. A workbook that does not hold together (a mapping sheet
renamed or without its id column, a decision that is not ``approve``, ``reject`` or blank) is refused with
a message naming the file, the sheet and the cell.
"""

from __future__ import annotations

import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from openpyxl import load_workbook
from openpyxl.utils import get_column_letter
from openpyxl.utils.exceptions import InvalidFileException

from reconcile.errors import ConfigError
from reconcile.model.plan import ReviewDecision
from reconcile.report.workbook import DECISION_HEADER, DECISIONS, FORMAT_VERSION, META_SHEET, ROW_ID_HEADER


@dataclass(frozen=True)
class _Meta:
    plan_hash: str
    sheets: tuple[str, ...]


def read_decisions(path: Path) -> dict[str, ReviewDecision | None]:
    """Read every mapping sheet's decisions as row id -> ``approve``, ``reject`` or None (blank)."""
    wb = _open(path)
    try:
        meta = _meta(wb, path)
        decisions: dict[str, ReviewDecision | None] = {}
        where: dict[str, str] = {}
        for title in meta.sheets:
            if title not in wb.sheetnames:
                raise ConfigError(
                    f"{path}: sheet '{title}' is missing (renamed or deleted?); "
                    "export the plan again and review that workbook"
                )
            # Read the sheet whole: a half-read sheet would keep the file open after an error.
            rows = list(wb[title].iter_rows(values_only=True))
            header = [str(v).strip() if v is not None else "" for v in (rows[0] if rows else ())]
            decision_col = _column(header, DECISION_HEADER, path, title)
            id_col = _column(header, ROW_ID_HEADER, path, title)
            for number, row in enumerate(rows[1:], start=2):
                row_id = _at(row, id_col)
                raw = _at(row, decision_col)
                cell = f"{get_column_letter(decision_col + 1)}{number}"
                decision = _decision(raw, path, title, cell)
                if row_id is None or str(row_id).strip() == "":
                    if decision is not None:
                        raise ConfigError(
                            f"{path}: sheet '{title}' cell {cell}: a decision on a row without a row id "
                            f"(column {get_column_letter(id_col + 1)}); only the exported rows can be decided"
                        )
                    continue
                key = str(row_id).strip()
                if key in where:
                    id_cell = f"{get_column_letter(id_col + 1)}{number}"
                    raise ConfigError(
                        f"{path}: sheet '{title}' cell {id_cell}: row id {key!r} also appears at "
                        f"{where[key]}; export the plan again"
                    )
                where[key] = f"sheet '{title}' row {number}"
                decisions[key] = decision
        return decisions
    finally:
        wb.close()


def read_plan_hash(path: Path) -> str:
    """Read the hash of the plan a workbook was exported from, to check it against the stored plan."""
    wb = _open(path)
    try:
        return _meta(wb, path).plan_hash
    finally:
        wb.close()


def _open(path: Path) -> Any:
    try:
        return load_workbook(path, read_only=True)
    except FileNotFoundError as exc:
        raise ConfigError(f"{path}: no such workbook") from exc
    except (OSError, zipfile.BadZipFile, InvalidFileException, KeyError, ValueError) as exc:
        raise ConfigError(f"{path}: not an Excel workbook reconcile can read ({exc})") from exc


def _meta(wb: Any, path: Path) -> _Meta:
    if META_SHEET not in wb.sheetnames:
        raise ConfigError(f"{path}: not a review workbook exported by reconcile (it has no plan hash)")
    facts: dict[str, str] = {}
    sheets: list[str] = []
    for row in wb[META_SHEET].iter_rows(values_only=True):
        key, *values = [str(v) if v is not None else "" for v in row] or [""]
        if key == "sheet" and values:
            sheets.append(values[0])
        elif key:
            facts[key] = values[0] if values else ""
    if facts.get("format") != FORMAT_VERSION:
        raise ConfigError(
            f"{path}: a review workbook of format {facts.get('format')!r}; this reconcile reads format "
            f"{FORMAT_VERSION!r}: export the plan again"
        )
    if not facts.get("plan_hash"):
        raise ConfigError(f"{path}: the workbook does not say which plan it shows (no plan hash)")
    return _Meta(plan_hash=facts["plan_hash"], sheets=tuple(sheets))


def _column(header: list[str], name: str, path: Path, title: str) -> int:
    if name in header:
        return header.index(name)
    what = f"{name} column" if name == DECISION_HEADER else f"hidden {name} column"
    cells = f"A1:{get_column_letter(max(len(header), 1))}1"
    raise ConfigError(
        f"{path}: sheet '{title}' has no {what} in row 1 (cells {cells}); "
        "export the plan again and review that workbook"
    )


def _at(row: tuple[Any, ...], index: int) -> Any:
    return row[index] if index < len(row) else None


def _decision(raw: Any, path: Path, title: str, cell: str) -> ReviewDecision | None:
    if raw is None or (isinstance(raw, str) and raw.strip() == ""):
        return None
    if isinstance(raw, str) and raw.strip().casefold() in DECISIONS:
        return ReviewDecision(raw.strip().casefold())
    raise ConfigError(
        f"{path}: sheet '{title}' cell {cell}: decision {raw!r} is not one of {', '.join(DECISIONS)} or blank"
    )
