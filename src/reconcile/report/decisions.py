"""Reading a reviewed workbook back: its decisions, checked against the seal, and nothing a reviewer typed elsewhere.

Only Decision cells are read, each with the hidden row id and check of its line; the rows themselves come
from the stored plan. A decided line is accepted only when its check is the MAC, under the state's review key,
of what the line shows now (:mod:`reconcile.report.sign`): a value edited, a row id swapped with another
line's, a line pasted from another run's workbook or a made-up row id are each refused, naming the sheet and
cells. So is a decision that is not one of the line's drop-down words, a column moved, and a meta sheet whose
seal does not match. Every bad line is named in one refusal (:class:`reconcile.errors.WorkbookTampered`); a
blank decision is a row left undecided.

The workbook is read with python-calamine; a sheet of 100,000 decided lines is checked with ``str`` and
``join`` per line, and one HMAC.
"""

from __future__ import annotations

import gc
import json
import zipfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from hmac import compare_digest
from operator import itemgetter
from pathlib import Path
from typing import Any, NamedTuple

from python_calamine import CalamineError, CalamineWorkbook
from xlsxwriter.utility import xl_col_to_name

from reconcile.errors import ConfigError, WorkbookTampered
from reconcile.model.plan import ReviewDecision
from reconcile.report.kinds import (
    CHECK_HEADER,
    CHOICES_HEADER,
    DECISION_HEADER,
    FIXED_CHOICES,
    FORMAT_VERSION,
    META_SHEET,
    PROBLEM_HEADER,
    PROPERTY_HEADER,
    ROW_ID_HEADER,
    SheetKind,
)
from reconcile.report.sign import Signer, canonical

_DECISIONS = {d.value: d for d in ReviewDecision}


class RowDecision(NamedTuple):
    """One decision read from a workbook: the plan row, what was decided, and where it was written.

    A named tuple: a sheet of 100,000 decided lines makes as many, and a tuple is made fastest.
    """

    row_id: str
    decision: ReviewDecision
    property: str | None = None
    """A conflict's property the decision is for (one decision per property)."""
    target_id: str | None = None
    """The candidate an ambiguous row is linked to (``link_to``)."""
    where: str = ""
    """The Decision cell, as a person finds it: "sheet 'Conflicts' cell A7"."""


@dataclass(frozen=True)
class ReviewedWorkbook:
    """A checked workbook: the run and plan it was exported from, and its decisions (blanks left out)."""

    run_id: str
    flow: str
    plan_hash: str
    decisions: tuple[RowDecision, ...]


@dataclass(frozen=True)
class _Sheet:
    """A signed sheet as the meta sheet names it: its kind, its header row (1-based) and its columns."""

    title: str
    kind: SheetKind
    header_row: int
    columns: dict[str, int]
    """Header -> column (0-based), as written."""
    layout: tuple[tuple[int, str], ...]


def read_review_workbook(path: Path, key: bytes) -> ReviewedWorkbook:
    """Read and check a review workbook's decisions; refuse it whole, naming every bad line, if one is bad."""
    book = _open(path)
    try:
        with _collector_paused():
            facts, sheets, signer = _meta(book, path, key)
            reader = _Reader(path, book, signer, sheets)
            for sheet in sheets:
                if sheet.kind is not SheetKind.PROBLEMS:
                    reader.read(sheet)
    finally:
        book.close()
    if reader.bad:
        raise WorkbookTampered(
            f"{path}: {len(reader.bad)} line{'s' * (len(reader.bad) != 1)} differ{'s' * (len(reader.bad) == 1)} "
            "from what reconcile wrote; nothing was applied. Export the plan again, or undo these changes:\n"
            + "\n".join(f"  {line}" for line in reader.bad)
        )
    return ReviewedWorkbook(facts["run_id"], facts.get("flow", ""), facts["plan_hash"], tuple(reader.decisions))


class _Reader:
    """Reads the decided lines of a workbook's sheets, collecting the decisions and the bad lines."""

    def __init__(self, path: Path, book: CalamineWorkbook, signer: Signer, sheets: Sequence[_Sheet]) -> None:
        self.path = path
        self.book = book
        self.signer = signer
        self.sheets = sheets
        self.decisions: list[RowDecision] = []
        self.bad: list[str] = []
        self._seen: dict[tuple[str, str | None], str] = {}
        self._details: dict[str, list[str]] | None = None

    def read(self, sheet: _Sheet) -> None:
        """Read a sheet's decided lines: each checked, its decision one of those it was offered."""
        rows = self._table(sheet, (DECISION_HEADER, ROW_ID_HEADER, CHECK_HEADER))
        decision_col, id_col, check_col = (sheet.columns[h] for h in (DECISION_HEADER, ROW_ID_HEADER, CHECK_HEADER))
        decided = [  # a blank cell reads as "" (a cell of spaces is blank too: see below)
            (number, row)
            for number, row in enumerate(rows[sheet.header_row :], start=sheet.header_row + 1)
            if row[decision_col] != ""
        ]
        if not decided:
            return
        signed = itemgetter(*(c for c, h in sheet.layout if h not in (DECISION_HEADER, CHECK_HEADER)))
        kind = sheet.kind
        expected = self.signer.checks(kind.value, (signed(row) for _, row in decided))
        choices_col = sheet.columns.get(CHOICES_HEADER)
        property_col = sheet.columns.get(PROPERTY_HEADER)
        fixed = {w.casefold(): (w, d.value) for w, d in FIXED_CHOICES.get(kind, ())}
        members = {w.casefold(): d for w, d in FIXED_CHOICES.get(kind, ())} if kind is not SheetKind.SUMMARY else {}
        seen, decisions = self._seen, self.decisions
        letter, id_letter = xl_col_to_name(decision_col), xl_col_to_name(id_col)
        last = xl_col_to_name(max(c for c, _ in sheet.layout))
        title = sheet.title
        for (line, row), want in zip(decided, expected, strict=True):
            raw, row_id, got = row[decision_col], row[id_col], row[check_col]
            if not _decided(raw):
                continue
            where = f"sheet '{title}' cell {letter}{line}"
            if not isinstance(row_id, str) or not row_id.strip():
                self.bad.append(f"{where}: a decision on a line without a row id; only exported lines can be decided")
                continue
            if not isinstance(got, str) or not got:
                self.bad.append(f"{where}: this line takes no decision")
                continue
            if not compare_digest(want, got) and not compare_digest(self.signer.careful(kind.value, signed(row)), got):
                self.bad.append(
                    f"sheet '{title}' row {line} (cells A{line}:{last}{line}): its row id ({id_letter}{line}), "
                    "action or values differ from what reconcile wrote: edited, swapped with another line, or "
                    "copied from another workbook"
                )
                continue
            word = raw.strip().casefold() if type(raw) is str else None
            member = members.get(word) if word is not None else None
            if member is not None:  # a fixed choice: the common case of a big sheet, so _add is inlined
                if (row_id, None) in seen:
                    self.bad.append(f"{where}: row {row_id!r} is decided also at {seen[row_id, None]}; decide it once")
                else:
                    seen[row_id, None] = where
                    decisions.append(RowDecision(row_id, member, None, None, where))
                continue
            offered = fixed or _offered(row, choices_col)
            chosen = offered.get(word) if word is not None else None
            if chosen is None:
                words = ", ".join(w for w, _ in offered.values())
                shown = int(raw) if isinstance(raw, float) and raw.is_integer() else raw
                self.bad.append(f"{where}: decision {shown!r} is not one of {words} or blank")
                continue
            if kind is SheetKind.SUMMARY:
                for detail in self._problem_details().get(row_id, []):
                    self._add(RowDecision(detail, ReviewDecision.DISMISS, where=where))
                continue
            prop = row[property_col] if property_col is not None else None
            self._add(_decision(kind, row_id, chosen[1], prop if isinstance(prop, str) and prop else None, where))

    def _add(self, decision: RowDecision) -> None:
        seen = (decision.row_id, decision.property)
        earlier = self._seen.get(seen)
        if earlier is not None:
            self.bad.append(f"{decision.where}: row {decision.row_id!r} is decided also at {earlier}; decide it once")
            return
        self._seen[seen] = decision.where
        self.decisions.append(decision)

    def _problem_details(self) -> dict[str, list[str]]:
        """The row ids of Problem details by the problem they belong to, each line checked."""
        if self._details is not None:
            return self._details
        self._details = {}
        for sheet in self.sheets:
            if sheet.kind is not SheetKind.PROBLEMS:
                continue
            rows = self._table(sheet, (ROW_ID_HEADER, PROBLEM_HEADER, CHECK_HEADER))
            id_col, problem_col, check_col = (sheet.columns[h] for h in (ROW_ID_HEADER, PROBLEM_HEADER, CHECK_HEADER))
            signed = itemgetter(*(c for c, h in sheet.layout if h != CHECK_HEADER))
            for number, row in enumerate(rows[sheet.header_row :], start=sheet.header_row + 1):
                row_id, got = row[id_col], row[check_col]
                if not isinstance(row_id, str) or not row_id:
                    continue
                if not isinstance(got, str) or not compare_digest(
                    self.signer.careful(sheet.kind.value, signed(row)), got
                ):
                    self.bad.append(
                        f"sheet '{sheet.title}' row {number}: its row id, problem or values differ from what "
                        "reconcile wrote"
                    )
                    continue
                self._details.setdefault(str(row[problem_col]), []).append(row_id)
        return self._details

    def _table(self, sheet: _Sheet, needed: Sequence[str]) -> list[list[Any]]:
        """A sheet's rows, each as wide as its columns, once its header row is as reconcile wrote it."""
        try:
            rows: list[list[Any]] = self.book.get_sheet_by_name(sheet.title).to_python(skip_empty_area=False)
        except (CalamineError, KeyError, ValueError) as exc:
            raise ConfigError(
                f"{self.path}: sheet '{sheet.title}' is missing (renamed or deleted?); export the plan again and "
                "review that workbook"
            ) from exc
        width = max(c for c, _ in sheet.layout) + 1
        if any(len(row) < width for row in rows[:1]):  # calamine's rows are all as wide as the sheet
            rows = [row if len(row) >= width else [*row, *([""] * (width - len(row)))] for row in rows]
        row = sheet.header_row
        header = rows[row - 1] if len(rows) >= row else [""] * width
        cells = f"cells A{row}:{xl_col_to_name(width - 1)}{row}"
        for name in needed:
            if name not in header:
                what = f"{name} column" if name == DECISION_HEADER else f"hidden {name} column"
                raise ConfigError(
                    f"{self.path}: sheet '{sheet.title}' has no {what} in row {row} ({cells}); export the plan "
                    "again and review that workbook"
                )
        moved = [f"{xl_col_to_name(c)}{row}" for c, h in sheet.layout if header[c] != h]
        if moved:
            raise WorkbookTampered(
                f"{self.path}: sheet '{sheet.title}' row {row}: the columns are not where reconcile wrote them "
                f"(cells {', '.join(moved)}); nothing was applied. Export the plan again"
            )
        return rows


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Pause the garbage collector: reading makes a million small objects and no cycle, and the collector
    would walk the sheet's rows again and again for nothing (a fifth of the time, on 100,000 lines)."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def _offered(row: list[Any], choices_col: int | None) -> dict[str, tuple[str, str | None]]:
    """A line's own drop-down, from its (checked) choices cell: casefolded words -> (words, value)."""
    raw = row[choices_col] if choices_col is not None else None
    try:
        listed = json.loads(raw) if isinstance(raw, str) and raw else []
    except ValueError:
        listed = []
    return {w.casefold(): (w, v) for w, v in listed if isinstance(w, str)}


def _decision(kind: SheetKind, row_id: str, value: str | None, prop: str | None, where: str) -> RowDecision:
    if kind is SheetKind.AMBIGUOUS:
        if value is None:
            return RowDecision(row_id, ReviewDecision.CREATE_NEW, where=where)
        return RowDecision(row_id, ReviewDecision.LINK_TO, target_id=value, where=where)
    return RowDecision(row_id, _DECISIONS[value or ""], property=prop, where=where)


def _decided(raw: Any) -> bool:
    return raw is not None and not (isinstance(raw, str) and not raw.strip())


def _open(path: Path) -> CalamineWorkbook:
    if not path.is_file():
        raise ConfigError(f"{path}: no such workbook")
    try:
        return CalamineWorkbook.from_path(str(path))
    except (CalamineError, OSError, zipfile.BadZipFile, ValueError) as exc:
        raise ConfigError(f"{path}: not an Excel workbook reconcile can read ({exc})") from exc


def _meta(book: CalamineWorkbook, path: Path, key: bytes) -> tuple[dict[str, str], list[_Sheet], Signer]:
    """The meta sheet's facts and signed sheets, once its seal is found to match."""
    if META_SHEET not in book.sheet_names:
        raise ConfigError(f"{path}: not a review workbook exported by reconcile (it has no plan hash)")
    rows = [[canonical(v) for v in row] for row in book.get_sheet_by_name(META_SHEET).to_python(skip_empty_area=False)]
    facts: dict[str, str] = {}
    listed: list[list[str]] = []
    sealed: list[list[str]] = []
    seal, seal_row = "", 0
    for number, row in enumerate(rows, start=1):
        name, values = (row[0], row[1:]) if row else ("", [])
        if name == "seal":
            seal, seal_row = (values[0] if values else ""), number
            break
        sealed.append(row)
        if name == "sheet":
            listed.append(values)
        elif name:
            facts[name] = values[0] if values else ""
    if facts.get("format") != FORMAT_VERSION:
        raise ConfigError(
            f"{path}: a review workbook of format {facts.get('format')!r}; this reconcile reads format "
            f"{FORMAT_VERSION!r}: export the plan again"
        )
    if not facts.get("plan_hash") or not facts.get("run_id"):
        raise ConfigError(f"{path}: the workbook does not say which plan it shows (no plan hash)")
    signer = Signer(key, facts["run_id"])
    if not seal_row or not Signer.same(signer.seal(sealed), seal):
        raise WorkbookTampered(
            f"{path}: the hidden sheet '{META_SHEET}' (which run, plan and sheets the workbook shows) is not as "
            f"reconcile wrote it: its seal{f' in cell B{seal_row}' if seal_row else ''} does not match, or the "
            "workbook was written with another review key; nothing was applied. Export the plan again"
        )
    return facts, [_sheet(values, path) for values in listed], signer


def _sheet(values: list[str], path: Path) -> _Sheet:
    title, kind, _mapping, header_row, layout = ([*values, "", "", "", "", ""])[:5]
    try:
        columns = tuple((int(c), str(h)) for c, h in json.loads(layout))
        return _Sheet(title, SheetKind(kind), int(header_row), {h: c for c, h in columns}, columns)
    except (ValueError, TypeError) as exc:
        raise ConfigError(f"{path}: sheet '{title}' is of a kind this reconcile does not know ({kind!r})") from exc
