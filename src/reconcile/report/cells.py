"""Cells of the workbooks: text made safe for a cell, and what a cell's value looks like to a reader.

Data from a system is never trusted as a cell formula: every text is written as a text cell, and text that
Excel would read as a formula (``=``, ``+``, ``-``, ``@``) also gets the quote prefix, so editing the cell
keeps it text. Characters XML cannot carry become U+FFFD, and text beyond Excel's 32,767 characters is cut
with a marker saying how long it was. Leading and trailing whitespace is kept: it is part of the data.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from decimal import Decimal

Value = str | int | float | Decimal | date | datetime | None

CELL_LIMIT = 32_767
FORMULA_START = ("=", "+", "-", "@")
# What XML 1.0 cannot carry (control characters, surrogates, U+FFFE/U+FFFF): a file holding them is one that
# no reader opens again.
NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_NEEDS_WORK = re.compile("[^\t\n\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
"""A quick test: short text without these characters (what XML cannot carry, and CR) is safe as it is."""

CHANGED_COLOUR = "#FFEB9C"
"""The fill of a new value that differs from the old one."""
HEADER_COLOUR = "#D9E1F2"
DECISION_COLOUR = "#FFF2CC"
"""The fill of a Decision cell: the one cell of a line a reviewer fills in."""


def cell_text(text: str) -> str:
    """Make text safe for a cell: XML-safe characters, line breaks as ``\\n``, within Excel's length limit."""
    if len(text) <= CELL_LIMIT // 2 and not _NEEDS_WORK.search(text):
        return text  # the common case, in one scan
    text = NOT_XML.sub("\ufffd", text.replace("\r\n", "\n").replace("\r", "\n"))
    if _utf16_len(text) <= CELL_LIMIT:
        return text
    marker = f" … [cut here: {len(text):,} characters in all]"
    keep = CELL_LIMIT - len(marker)
    head = text[:keep]
    while _utf16_len(head) > keep:  # characters beyond the BMP count twice in Excel
        head = head[: keep - (_utf16_len(head) - len(head))]
    return head + marker


def excel_datetime(moment: datetime) -> tuple[datetime, str]:
    """A datetime Excel can hold (no time zone) and a number format that still says the offset."""
    offset = moment.utcoffset()
    if offset is None:
        return moment, "yyyy-mm-dd hh:mm:ss"
    label = "UTC" if offset == timedelta(0) else _offset_label(offset)
    return moment.replace(tzinfo=None), f'yyyy-mm-dd hh:mm:ss "{label}"'


def number_format(value: Value) -> str | None:
    """The number format a typed value is shown with: dates as dates, decimals as many as the value has."""
    if isinstance(value, datetime):
        return "yyyy-mm-dd hh:mm:ss" if value.second else "yyyy-mm-dd hh:mm"
    if isinstance(value, date):
        return "yyyy-mm-dd"
    if isinstance(value, Decimal):
        exponent = value.as_tuple().exponent
        if isinstance(exponent, int) and exponent < 0:
            return "0." + "0" * -exponent  # "1.50" shows as 1.50, not 1.5
    return None


def display_len(value: Value) -> int:
    """How many characters wide a value shows: the longest line of a text."""
    if value is None:
        return 0
    if isinstance(value, str):
        return max(map(len, value.split("\n"))) if "\n" in value else len(value)
    if isinstance(value, datetime):
        return 16
    if isinstance(value, date):
        return 10
    return len(str(value))


def _offset_label(offset: timedelta) -> str:
    minutes = int(offset.total_seconds()) // 60
    sign = "+" if minutes >= 0 else "-"
    hours, rest = divmod(abs(minutes), 60)
    return f"UTC{sign}{hours:02d}:{rest:02d}"


def _utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2
