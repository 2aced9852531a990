"""A table on a sheet: a header row, then lines; a decidable line has a Decision cell, a row id and a check.

The writer of every sheet of the workbooks but the How to review: the lines of a mapping sheet, of the lists
across mappings, the Summary's tables and the results. A line's cells go through :meth:`Sheet.put`, or, for a
column whose values are known beforehand to need nothing (:class:`Mode`), straight to xlsxwriter.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from enum import Enum
from typing import Any

from xlsxwriter.format import Format
from xlsxwriter.utility import xl_col_to_name

from reconcile.report.cells import Value, cell_text
from reconcile.report.kinds import CHECK_HEADER, CHOICE_HEADER, CHOICES_HEADER, DECISION_HEADER, ROW_ID_HEADER
from reconcile.report.sheet import WRAP_WIDTH, Sheet
from reconcile.report.sign import Signer

_LINE_HEIGHT = 15
"""Points per line of wrapped text at the workbook's font size."""


def _lines(text: str) -> int:
    """How many lines ``text`` takes in a wrapped column (a guess: words wrap a little before the edge)."""
    per_line = WRAP_WIDTH * 5 // 4  # a width counts digits; Calibri fits more letters than digits
    return sum(max(1, -(-len(part) // per_line)) for part in text.split("\n"))


class Mode(Enum):
    """How a column's values are written: checked one by one, or known beforehand to need nothing."""

    GENERAL = "general"
    """Any value: typed, made safe, formatted (:meth:`Sheet.put`)."""
    PLAIN = "plain"
    """Text known to be safe as it is (no formula start, nothing XML cannot carry, short), or None."""
    NUMBER = "number"
    """Plain numbers as canonical text (``"1500.50"``), or None."""


@dataclass(frozen=True)
class Column:
    """A visible column of a table: its header, and whether its text wraps (reasons, details)."""

    header: str
    wrap: bool = False


class Table:
    """A table on a sheet: a bold header row, then lines; decidable lines carry a Decision cell and a check.

    The columns, left to right: ``Decision`` (when ``decide``; after the visible columns when ``decision_last``),
    the visible columns, then the hidden ones (from ``hidden_at`` when given, else right after the visible
    ones): ``row_id``, the ``extras`` (a Conflicts line's property, a line's own choices), ``check``, and the
    cells a line's own drop-down lists.
    """

    def __init__(
        self,
        sheet: Sheet,
        kind: str,
        columns: Sequence[Column],
        *,
        header_row: int = 0,
        decide: bool = False,
        signer: Signer | None = None,
        extras: Sequence[str] = (),
        choice_cells: int = 0,
        hidden_at: int | None = None,
        decision_last: bool = False,
        header_format: Format | None = None,
    ) -> None:
        self.sheet = sheet
        self.kind = kind
        self.signer = signer
        self.decide = decide
        self.header_row = self.row = header_row
        self.first = 1 if decide and not decision_last else 0
        self.decision_col = self.first + len(columns) if decision_last else 0
        self.visible = [c.header for c in columns]
        self.wraps = [c.wrap for c in columns]
        self.wrapping = any(self.wraps)
        self.modes = [Mode.GENERAL] * len(columns)
        """How each visible column is written; a caller that knows its values better sets them."""
        after = self.first + len(columns) + (1 if decide and decision_last else 0)
        self.hidden_at = hidden_at if hidden_at is not None else after
        self.extras = list(extras)
        self.hidden_headers = [ROW_ID_HEADER, *extras, CHECK_HEADER] if signer else []
        self.choice_headers = [CHOICE_HEADER.format(n=n + 1) for n in range(choice_cells)]
        self._check = signer.lines(kind) if signer else None
        self.headers: list[tuple[int, str]] = []
        """Every header cell written, as (column, header): the meta sheet seals them."""
        self.decided_rows: list[int] = []
        book = sheet.book
        self.headers = [(self.first + i, cell_text(c.header)) for i, c in enumerate(columns)]
        if decide:
            self.headers = sorted([(self.decision_col, DECISION_HEADER), *self.headers])
        hidden = [*self.hidden_headers, *self.choice_headers]
        self.headers += [(self.hidden_at + i, h) for i, h in enumerate(hidden)]
        header_format = header_format or book.header
        if decide:
            sheet.label(header_row, self.decision_col, DECISION_HEADER, header_format)
            sheet.widths[self.decision_col] = max(sheet.widths.get(self.decision_col, 0), 14)
        for i, column in enumerate(columns):
            sheet.label(header_row, self.first + i, column.header, header_format)
            if column.wrap:
                sheet.caps[self.first + i] = WRAP_WIDTH
        for i, header in enumerate([*self.hidden_headers, *self.choice_headers]):
            sheet.ws.write_string(header_row, self.hidden_at + i, header, book.header)
            sheet.hidden.add(self.hidden_at + i)

    @property
    def last_col(self) -> int:
        """The last column of the table, hidden ones included."""
        if self.hidden_headers or self.choice_headers:
            return self.hidden_at + len(self.hidden_headers) + len(self.choice_headers) - 1
        return max(self.first + len(self.visible) - 1, self.decision_col if self.decide else 0)

    def add(
        self,
        values: Sequence[Value],
        *,
        changed: Sequence[int] = (),
        row_id: str | None = None,
        extras: Sequence[str | None] = (),
        choices: Sequence[tuple[str, str | None]] = (),
        decidable: bool = True,
    ) -> int:
        """Write one line (0-based row returned): ``values`` are the visible cells, ``changed`` their indexes
        to highlight, ``extras`` the hidden extras but ``choices``, ``choices`` the line's own drop-down as
        (words, value). A line not ``decidable`` gets no check and no Decision cell: nothing is read from it."""
        self.row += 1
        row, sheet, first, wraps, modes = self.row, self.sheet, self.first, self.wraps, self.modes
        put, write_string = sheet.put, sheet.write_string
        shown: list[str] = []
        append = shown.append
        for i, value in enumerate(values):
            mode = modes[i]
            if value is None:
                if changed and i in changed:
                    put(row, first + i, None, changed=True)
                append("")
            elif changed and i in changed:
                if mode is Mode.NUMBER:
                    value = Decimal(value)  # type: ignore[arg-type]
                append(put(row, first + i, value, changed=True, wrap=wraps[i]))
            elif mode is Mode.PLAIN:
                write_string(row, first + i, value, None)
                append(value)  # type: ignore[arg-type]
            elif mode is Mode.NUMBER:
                append(sheet.number(row, first + i, value))  # type: ignore[arg-type]
            else:
                append(put(row, first + i, value, wrap=wraps[i]))
        if self.wrapping:
            # A spreadsheet program grows a row to its wrapped text only when it edits it: the file says how high.
            lines = max((_lines(v) for v, w in zip(values, wraps, strict=False) if w and isinstance(v, str)), default=1)
            if lines > 1:
                sheet.ws.set_row(row, _LINE_HEIGHT * lines)
        check = self._check
        if check is None:
            return row
        choices = [(cell_text(w), v) for w, v in choices]
        words = [w for w, _ in choices]
        given = iter(extras)
        hidden: list[str | None] = [row_id]
        for header in self.extras:
            if header == CHOICES_HEADER:
                hidden.append(json.dumps([list(c) for c in choices], ensure_ascii=False) if choices else None)
            else:
                hidden.append(next(given, None))
        col = self.hidden_at
        for value in hidden:
            shown.append(put(row, col, value) if value is not None else "")
            col += 1
        for i, word in enumerate(words):
            put(row, col + 1 + i, word)
        shown.extend(words)
        shown.extend("" for _ in range(len(self.choice_headers) - len(words)))
        if decidable and row_id is not None:
            sheet.write_string(row, col, check(shown))
            if self.decide:
                sheet.write_blank(row, self.decision_col, None, sheet.book.decision)
                self.decided_rows.append(row)
        return row

    def drop_down(self, source: list[str] | None, prompt: str) -> None:
        """The Decision drop-down over the decidable lines: ``source`` the words, or None for each line's own."""
        if not self.decided_rows:
            return
        first, last = self.decided_rows[0], self.decided_rows[-1]
        if source is None:
            start = xl_col_to_name(self.hidden_at + len(self.hidden_headers))
            end = xl_col_to_name(self.last_col)
            value: Any = f"=${start}{first + 1}:${end}{first + 1}"
        else:
            value = source
        options: dict[str, Any] = {
            "validate": "list",
            "source": value,
            "ignore_blank": True,
            "input_title": "Decision",
            "input_message": prompt[:255],
            "error_title": "Decision",
            "error_message": "Choose from the list, or leave the cell blank to decide later.",
        }
        if len(self.decided_rows) != last - first + 1:
            letter = xl_col_to_name(self.decision_col)
            options["multi_range"] = " ".join(f"{letter}{r + 1}" for r in self.decided_rows)
        self.sheet.ws.data_validation(first, self.decision_col, last, self.decision_col, options)

    def finish(self, *, filter_to_row: int | None = None, freeze: bool = True) -> None:
        """Freeze the header (and the Decision and first visible column), and filter over every column.

        The filter spans the hidden columns too: sorting through it keeps a line's row id and check with it.
        """
        ws = self.sheet.ws
        if freeze:
            ws.freeze_panes(self.header_row + 1, self.first + 1 if self.decide else 0)
        ws.autofilter(self.header_row, 0, max(filter_to_row or self.row, self.header_row), self.last_col)
