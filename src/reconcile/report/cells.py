"""Cells and tables of the review workbook: text made safe for a cell, number formats, headers and widths.

Data from a system is never trusted as a cell formula: every text is written as a text cell, and text that
Excel would read as a formula (``=``, ``+``, ``-``, ``@``) also gets the quote prefix, so editing the cell
keeps it text.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from openpyxl.styles import Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

Value = str | int | float | Decimal | date | datetime | None

_CELL_LIMIT = 32_767
_WIDTH_MIN, _WIDTH_MAX = 8, 60
_FORMULA_START = ("=", "+", "-", "@")
# What XML 1.0 cannot carry (control characters, surrogates, U+FFFE/U+FFFF): openpyxl would write a file
# that no reader opens again.
NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")

BOLD = Font(bold=True)
_HEADER_FILL = PatternFill("solid", fgColor="D9E1F2")
CHANGED_FILL = PatternFill("solid", fgColor="FFEB9C")
"""The fill of a new value that differs from the old one."""


def cell_text(text: str) -> str:
    """Make text safe for a cell: XML-safe characters, line breaks as ``\\n``, within Excel's length limit."""
    text = NOT_XML.sub("\ufffd", text.replace("\r\n", "\n").replace("\r", "\n"))
    if _utf16_len(text) <= _CELL_LIMIT:
        return text
    marker = f" … [cut here: {len(text):,} characters in all]"
    keep = _CELL_LIMIT - len(marker)
    head = text[:keep]
    while _utf16_len(head) > keep:  # characters beyond the BMP count twice in Excel
        head = head[: keep - (_utf16_len(head) - len(head))]
    return head + marker


class Table:
    """A table being written on a sheet: a bold header, rows below it, and the widths its content needs."""

    def __init__(self, ws: Worksheet, headers: Sequence[str], header_row: int = 1) -> None:
        self.ws = ws
        self.header_row = self.row = header_row
        self.width = len(headers)
        self.widths = [len(h) for h in headers]
        for col, header in enumerate(headers, start=1):
            cell = put(ws, header_row, col, header)
            cell.font = BOLD
            cell.fill = _HEADER_FILL

    def add(self, values: Sequence[Value], typed_from: int | None = None) -> int:
        """Write one row; values from column ``typed_from`` on get number formats. Returns the row."""
        self.row += 1
        for col, value in enumerate(values, start=1):
            if value is None:
                continue  # an empty cell costs nothing; creating one costs time on big plans
            cell = put(self.ws, self.row, col, value)
            if typed_from is not None and col >= typed_from:
                _format(cell, value)
            self.widths[col - 1] = max(self.widths[col - 1], _display_len(value))
        return self.row

    def finish(self, filter_to_row: int | None = None) -> None:
        """Freeze the header, filter and size the table.

        The filter spans the hidden row id column too: sorting through the filter then keeps rows whole.
        """
        last = get_column_letter(self.width)
        self.ws.freeze_panes = f"A{self.header_row + 1}"
        self.ws.auto_filter.ref = f"A{self.header_row}:{last}{max(filter_to_row or self.row, self.header_row)}"
        for col, width in enumerate(self.widths, start=1):
            letter = get_column_letter(col)
            self.ws.column_dimensions[letter].width = min(max(width + 2, _WIDTH_MIN), _WIDTH_MAX)


def put(ws: Worksheet, row: int, col: int, value: Value) -> Any:
    """Write one value; text always as a text cell that can never become a formula."""
    cell = ws.cell(row, col)
    if isinstance(value, str):
        text = cell_text(value)
        cell.value = text
        cell.data_type = "s"  # not "f" for "=...", not "e" for "#N/A"
        if text.startswith(_FORMULA_START):
            cell.quotePrefix = True
    else:
        cell.value = value
    return cell


def _format(cell: Any, value: Value) -> None:
    if isinstance(value, datetime):
        cell.number_format = "yyyy-mm-dd hh:mm:ss" if value.second or value.microsecond else "yyyy-mm-dd hh:mm"
    elif isinstance(value, date):
        cell.number_format = "yyyy-mm-dd"
    elif isinstance(value, Decimal):
        exponent = value.as_tuple().exponent
        if isinstance(exponent, int) and exponent < 0:
            cell.number_format = "0." + "0" * -exponent  # "1.50" shows as 1.50, not 1.5


def excel_datetime(moment: datetime) -> tuple[datetime, str]:
    """A datetime Excel can hold (no time zone) and a number format that still says the offset."""
    offset = moment.utcoffset()
    if offset is None:
        return moment, "yyyy-mm-dd hh:mm:ss"
    label = "UTC" if offset == timedelta(0) else _offset_label(offset)
    return moment.replace(tzinfo=None), f'yyyy-mm-dd hh:mm:ss "{label}"'


def _offset_label(offset: timedelta) -> str:
    minutes = int(offset.total_seconds()) // 60
    sign = "+" if minutes >= 0 else "-"
    hours, rest = divmod(abs(minutes), 60)
    return f"UTC{sign}{hours:02d}:{rest:02d}"


def _display_len(value: Value) -> int:
    if value is None:
        return 0
    if isinstance(value, datetime):
        return 16
    if isinstance(value, date):
        return 10
    if isinstance(value, str):
        return max((len(line) for line in value.split("\n")), default=0)
    return len(str(value))


def _utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2
