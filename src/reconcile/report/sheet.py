"""Writing the workbooks' sheets with xlsxwriter in constant-memory mode: cells, formats, widths, protection.

Rows are written in order and leave memory as soon as the next row starts, so a plan of any size is written
in the memory of one row. Every text goes through :func:`reconcile.report.cells.cell_text` and is written as a
text cell (``write_string``, never ``write``): data from a system never becomes a formula, a number or a link.
Each written cell's canonical form (:func:`reconcile.report.sign.canonical`) is returned, for a line's check.
"""

from __future__ import annotations

from datetime import date, datetime, time
from decimal import Decimal
from pathlib import Path
from types import MethodType
from typing import Any

import xlsxwriter
from xlsxwriter.format import Format
from xlsxwriter.worksheet import Worksheet

from reconcile.report.cells import (
    CELL_LIMIT,
    CHANGED_COLOUR,
    DECISION_COLOUR,
    FORMULA_START,
    HEADER_COLOUR,
    Value,
    cell_text,
    display_len,
    number_format,
)
from reconcile.report.sign import canonical

WIDTH_MIN, WIDTH_MAX = 8, 59
"""Column widths, in characters (xlsxwriter adds its padding of 0.71 to what the file says)."""
WRAP_WIDTH = 50
"""The width of a column whose text wraps (a reason, a detail): shown in full, on as many lines as it needs."""
_FORMULA_CHARS = "".join(FORMULA_START)
_SHORT = CELL_LIMIT // 2
"""Text up to this length is within Excel's limit however its characters count."""
_BOOK_OPTIONS = {
    "constant_memory": True,
    "strings_to_formulas": False,
    "strings_to_numbers": False,
    "strings_to_urls": False,
    # Every cell at the top of its row: a line whose reason wraps onto several lines reads as one line.
    "default_format_properties": {"font_name": "Calibri", "font_size": 11, "valign": "top"},
}


class Book:
    """An xlsxwriter workbook and the formats its sheets share (one Format object per distinct look)."""

    def __init__(self, path: Path) -> None:
        self.xlsx = xlsxwriter.Workbook(str(path), _BOOK_OPTIONS)
        self._formats: dict[tuple[Any, ...], Format] = {}
        self.plain = self.fmt()
        self.bold = self.fmt(bold=True)
        self.header = self.fmt(bold=True, header=True)
        self.decision = self.fmt(decision=True)

    def fmt(
        self,
        num: str | None = None,
        *,
        changed: bool = False,
        quote: bool = False,
        wrap: bool = False,
        bold: bool = False,
        header: bool = False,
        decision: bool = False,
        size: int | None = None,
        left: bool = False,
    ) -> Format:
        """The format of a look, made once."""
        key = (num, changed, quote, wrap, bold, header, decision, size, left)
        found = self._formats.get(key)
        if found is not None:
            return found
        props: dict[str, Any] = {}
        if num:
            props["num_format"] = num
        if changed:
            props.update(pattern=1, bg_color=CHANGED_COLOUR)
        if header:
            props.update(pattern=1, bg_color=HEADER_COLOUR)
        if decision:
            props.update(pattern=1, bg_color=DECISION_COLOUR, locked=False)
        if quote:
            props["quote_prefix"] = True
        if wrap:
            props.update(text_wrap=True, valign="top")
        if bold:
            props["bold"] = True
        if size:
            props["font_size"] = size
        if left:
            props["align"] = "left"
        made = self._formats[key] = self.xlsx.add_format(props)
        return made

    def sheet(self, title: str) -> Sheet:
        return Sheet(self, self.xlsx.add_worksheet(title))

    def close(self) -> None:
        self.xlsx.close()


class Sheet:
    """One worksheet being written: its cells, and the widths and hidden columns it ends with."""

    def __init__(self, book: Book, ws: Worksheet) -> None:
        self.book = book
        self.ws = ws
        self.widths: dict[int, int] = {}
        self.caps: dict[int, int] = {}
        self.hidden: set[int] = set()
        self.fitting = True
        """Whether each written value widens its column; a caller that sized the columns itself turns it off."""
        self.write_string = _direct(ws, "write_string")
        self.write_number = _direct(ws, "write_number")
        self.write_blank = _direct(ws, "write_blank")
        self._changed = book.fmt(changed=True)
        self._decimals = _Decimals(book)

    def put(self, row: int, col: int, value: Value, *, changed: bool = False, wrap: bool = False) -> str:
        """Write one value (0-based row and column) and return its canonical form; text is always text."""
        if type(value) is str:
            # The common case first, and cheaply: short printable text needs no work to be safe in a cell.
            text: str = value if value.isprintable() and len(value) <= _SHORT else cell_text(value)
            if text and text[0] in _FORMULA_CHARS:
                cell_format = self.book.fmt(changed=changed, quote=True, wrap=wrap)
            elif changed or wrap:
                cell_format = self._changed if not wrap else self.book.fmt(changed=changed, wrap=wrap)
            else:
                cell_format = None
            if text[:3] == "<r>" and text[-4:] == "</r>":
                # xlsxwriter takes such text for its own rich-string XML and writes it unescaped: written
                # as two fragments, it is escaped like any text.
                args: list[Any] = ["<", self.book.plain, text[1:]]
                self.ws.write_rich_string(row, col, *args, *([cell_format] if cell_format else []))
            else:
                self.write_string(row, col, text, cell_format)
            if self.fitting:
                self._fit(col, text)
            return text
        return self._put_other(row, col, value, changed, wrap)

    def _put_other(self, row: int, col: int, value: Value, changed: bool, wrap: bool) -> str:
        book, ws = self.book, self.ws
        kind = type(value)
        if value is None:
            if changed:
                ws.write_blank(row, col, None, book.fmt(changed=True))
            return ""
        if isinstance(value, date):
            if isinstance(value, datetime):  # shown to the second: what is kept is what is seen
                value = moment = value.replace(microsecond=0, tzinfo=None)
            else:
                moment = datetime.combine(value, time())
            ws.write_datetime(row, col, moment, book.fmt(number_format(value), changed=changed, left=True))
            if self.fitting:
                self._fit(col, value)
            return canonical(value)
        if isinstance(value, int | float | Decimal) and not isinstance(value, bool):
            num = number_format(value) if kind is Decimal else None
            cell_format = book.fmt(num, changed=changed) if (num or changed) else None
            ws.write_number(row, col, float(value), cell_format)
            if self.fitting:
                self._fit(col, value)
            return canonical(value)
        return self.put(row, col, str(value), changed=changed, wrap=wrap)

    def number(self, row: int, col: int, text: str) -> str:
        """Write a plain number given as canonical text ("1500.50"): shown with as many decimals as it has."""
        value = float(text)
        point = text.find(".")
        decimals = len(text) - point - 1 if point >= 0 else 0
        self.write_number(row, col, value, self._decimals[decimals] if decimals else None)
        return canonical(value)

    def label(self, row: int, col: int, text: str, cell_format: Format | None = None) -> None:
        """Write a text of our own (a header, a fact's name): safe, and counted in the column's width."""
        self.ws.write_string(row, col, cell_text(text), cell_format)
        self._fit(col, text)

    def _fit(self, col: int, value: Value) -> None:
        width = display_len(value)
        if width > self.widths.get(col, 0):
            self.widths[col] = width

    def finish(self) -> None:
        """Size the columns to their content (capped), and hide the hidden ones."""
        for col in sorted(set(self.widths) | self.hidden):
            cap = self.caps.get(col, WIDTH_MAX)
            width = min(max(self.widths.get(col, 0) + 2, WIDTH_MIN), cap)
            options = {"hidden": True} if col in self.hidden else None
            self.ws.set_column(col, col, width, None, options)

    def protect(self) -> None:
        """Protect the sheet without a password, apart from its Decision cells: a guide, not a lock."""
        self.ws.protect(
            "",
            {
                "autofilter": True,
                "sort": True,
                "format_columns": True,
                "format_rows": True,
                "select_locked_cells": True,
                "select_unlocked_cells": True,
            },
        )


def _direct(ws: Worksheet, name: str) -> Any:
    """A worksheet's write method without its decorator, which reads A1 notation: rows and columns are numbers
    here, and the decorator's check costs a tenth of a cell's write (``functools.wraps`` keeps the method)."""
    method = getattr(type(ws), name)
    return MethodType(getattr(method, "__wrapped__", method), ws)


class _Decimals(dict[int, Format]):
    """The number format of each count of decimals, made when first asked for."""

    def __init__(self, book: Book) -> None:
        super().__init__()
        self.book = book

    def __missing__(self, decimals: int) -> Format:
        made = self[decimals] = self.book.fmt("0." + "0" * decimals)
        return made
