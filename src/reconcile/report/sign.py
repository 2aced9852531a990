"""The seal of a review workbook: a MAC that binds each decidable line to the run that exported it.

Every line a reviewer can decide carries a hidden ``check``: an HMAC-SHA256, under a key kept in the state
directory and never in the file, of the run id, the sheet's kind and every cell of the line but its Decision
and check, left to right (the row id, the action and the values shown). A changed value, a row id swapped with
another line's, a line pasted from another run's workbook, a made-up row id: each gives another MAC, and the
line is refused. Which column holds what is sealed once per sheet, in the hidden meta sheet, with the run, the
plan and the sheets' kinds.

The MAC is taken over each cell's *canonical form*, which a cell keeps through a spreadsheet program saving the
file and through python-calamine reading it: text as it is; a number as the ``repr`` of the double the cell
holds (the one xlsxwriter writes, with 16 significant digits); a date as ``YYYY-MM-DD``; a date and time as
``YYYY-MM-DD HH:MM:SS``, to the second, a midnight being the date. That is ``str`` of what calamine reads, so
a reader checks 100,000 lines with ``str`` and ``join`` alone, and looks closer only at a line that fails.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable, Iterable, Sequence
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

CHECK_LENGTH = 32
"""Hex digits kept of a line's MAC: 128 bits."""
_FIELD = "\x1f"
_BLOCK = 64
"""SHA-256's block size, in bytes."""
_INNER_PAD = bytes(x ^ 0x36 for x in range(256))
_OUTER_PAD = bytes(x ^ 0x5C for x in range(256))
# No cell holds it: the writer turns control characters into U+FFFD.


def canonical(value: Any) -> str:
    """The form of a cell's value that the MAC covers, the same when written and when read back."""
    kind = type(value)
    if kind is str:
        return value  # type: ignore[no-any-return]
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int | float | Decimal):
        # The double the file holds: xlsxwriter writes 16 significant digits.
        return repr(float(f"{float(value):.16G}"))
    if isinstance(value, datetime):
        moment: datetime = value
        if moment.microsecond:  # read back from a serial number, it may be a hair off: round to the second
            moment = moment.replace(microsecond=0) + timedelta(seconds=moment.microsecond >= 500_000)
        if moment.hour == moment.minute == moment.second == 0:
            return moment.date().isoformat()
        return str(moment.replace(tzinfo=None))
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


class Signer:
    """Computes the checks of one workbook's lines: the key and the run id are fixed, the lines vary."""

    def __init__(self, key: bytes, run_id: str) -> None:
        if not key:
            raise ValueError("a review workbook needs a non-empty key")
        self._mac = hmac.new(key, digestmod=hashlib.sha256)
        # HMAC (RFC 2104) from its two padded hashes, copied per line: the hmac module's copy() wraps the same
        # in Python, which a sheet of 100,000 lines notices. A test holds it equal to hmac.new.
        block = (hashlib.sha256(key).digest() if len(key) > _BLOCK else key).ljust(_BLOCK, b"\0")
        self._inner = hashlib.sha256(block.translate(_INNER_PAD))
        self._outer = hashlib.sha256(block.translate(_OUTER_PAD))
        self._run_id = run_id

    def lines(self, kind: str) -> Callable[[Iterable[str]], str]:
        """The check of a sheet's lines, given the canonical form of each cell (but Decision and check)."""
        head = self._run_id + _FIELD + kind + _FIELD
        inner, outer = self._inner, self._outer

        def check(values: Iterable[str]) -> str:
            digest = inner.copy()
            digest.update((head + _FIELD.join(values)).encode())
            mac = outer.copy()
            mac.update(digest.digest())
            return mac.hexdigest()[:CHECK_LENGTH]

        return check

    def checks(self, kind: str, lines: Iterable[Sequence[Any]]) -> list[str]:
        """The checks of lines as read back (cells of any type, but Decision and check), many at a time.

        ``str`` of a cell is its canonical form, except for a date and time a hair off the second or a number
        read back as an int: a line whose check does not match is looked at again with :func:`canonical`.
        """
        check = self.lines(kind)
        return [check(map(str, line)) for line in lines]

    def careful(self, kind: str, line: Sequence[Any]) -> str:
        """The check of one line read back, each cell in :func:`canonical` form."""
        return self.lines(kind)(map(canonical, line))

    def seal(self, rows: Iterable[Sequence[str]]) -> str:
        """The seal of the meta sheet: a MAC over all its rows (the run id is one of them).

        A row's blank cells at its end do not count: a reader sees a sheet's rows padded to the widest.
        """
        mac = self._mac.copy()
        mac.update("\n".join(_FIELD.join(_trimmed(row)) for row in rows).encode())
        return mac.hexdigest()

    @staticmethod
    def same(expected: str, found: object) -> bool:
        """Compare a computed MAC with a cell's, in constant time."""
        return isinstance(found, str) and hmac.compare_digest(expected, found)


def _trimmed(row: Sequence[str]) -> Sequence[str]:
    end = len(row)
    while end and row[end - 1] == "":
        end -= 1
    return row[:end]
