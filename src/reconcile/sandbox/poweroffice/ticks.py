"""PowerOffice Go's timestamps in the emulator: 100-nanosecond ticks, as Go writes and parses them.

Go's ``DateTimeOffset`` carries seven decimals; the emulator keeps every stamp as ticks since the epoch, so
that two changes in one second still order, and writes them as v2 (``...56.1234567+00:00``) or v1
(``...56 +00:00``) does.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

TICKS_PER_SECOND = 10_000_000
"""Go's timestamps carry seven decimals: 100-nanosecond ticks, as .NET counts them."""

_STAMP = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,7}))?)?)?\s*(Z|[+-]\d{2}:?\d{2})?$"
)


def parse_ticks(text: str) -> int:
    """A Go timestamp (up to seven decimals, offset optional, UTC when missing) as ticks since the epoch."""
    match = _STAMP.match(text.strip())
    if not match:
        raise ValueError(f"not a date-time: {text!r}")
    year, month, day, hour, minute, second, frac, offset = match.groups()
    moment = datetime(int(year), int(month), int(day), int(hour or 0), int(minute or 0), int(second or 0), tzinfo=UTC)
    ticks = int(moment.timestamp()) * TICKS_PER_SECOND + int((frac or "0").ljust(7, "0"))
    if offset and offset != "Z":
        sign = -1 if offset[0] == "-" else 1
        digits = offset[1:].replace(":", "")
        ticks -= sign * (int(digits[:2]) * 3600 + int(digits[2:]) * 60) * TICKS_PER_SECOND
    return ticks


def format_ticks(ticks: int) -> str:
    """Ticks as Go writes a DateTimeOffset: ``2024-05-13T12:34:56.1234567+00:00``."""
    seconds, frac = divmod(ticks, TICKS_PER_SECOND)
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%S") + f".{frac:07d}+00:00"


def format_v1_stamp(ticks: int) -> str:
    """Ticks as v1 writes ``lastChanged``: whole seconds, a space, then the offset."""
    return datetime.fromtimestamp(ticks // TICKS_PER_SECOND, UTC).strftime("%Y-%m-%dT%H:%M:%S") + " +00:00"
