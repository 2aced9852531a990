"""Exact Online's wire format: OData v2 envelopes, ``/Date(ms)/`` values in CET, error bodies, literals.

Exact writes a date-time as ``/Date(<ms>)/`` where the milliseconds count the *Amsterdam wall-clock* time as
if it were UTC: midnight of 1 July in Amsterdam is ``Date.UTC(..., 7, 1)``, not 22:00 the day before. Read
the number as a naive wall-clock time, place it in Europe/Amsterdam, then convert to UTC. Dates and
date-times sent to Exact (bodies and ``$filter`` literals) are written the same way round: Amsterdam
wall-clock time, without an offset.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from typing import Any
from zoneinfo import ZoneInfo

import httpx

CET = ZoneInfo("Europe/Amsterdam")
_EPOCH = dt.datetime(1970, 1, 1)
_DATE = re.compile(r"^/Date\((-?\d+)(?:[+-]\d{4})?\)/$")


def wall_ms(value: str) -> int | None:
    """The milliseconds of a ``/Date(ms)/`` value, or None when it is not one."""
    match = _DATE.match(value)
    return int(match.group(1)) if match else None


def parse_datetime(value: Any) -> dt.datetime | None:
    """A ``/Date(ms)/`` (or ISO) value from Exact as an aware UTC datetime."""
    if value is None or value == "":
        return None
    if isinstance(value, str):
        ms = wall_ms(value)
        if ms is not None:
            wall = _EPOCH + dt.timedelta(milliseconds=ms)
            return wall.replace(tzinfo=CET).astimezone(dt.UTC)
        parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=CET)
        return parsed.astimezone(dt.UTC)
    raise ValueError(f"not a date-time: {value!r}")


def parse_date(value: Any) -> dt.date | None:
    """A ``/Date(ms)/`` (or ISO) value from Exact as the calendar day it names in Amsterdam."""
    if value is None or value == "":
        return None
    if isinstance(value, str):
        ms = wall_ms(value)
        if ms is not None:
            return (_EPOCH + dt.timedelta(milliseconds=ms)).date()
        parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        if parsed.tzinfo is not None:
            parsed = parsed.astimezone(CET)
        return parsed.date()
    raise ValueError(f"not a date: {value!r}")


def to_wall(value: dt.date | dt.datetime) -> dt.datetime:
    """A date or datetime as a naive Amsterdam wall-clock time (naive datetimes are taken as UTC)."""
    if isinstance(value, dt.datetime):
        aware = value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)
        return aware.astimezone(CET).replace(tzinfo=None)
    return dt.datetime(value.year, value.month, value.day)


def format_datetime(value: dt.date | dt.datetime) -> str:
    """A date or datetime as Exact takes it in a body: ISO 8601, Amsterdam wall-clock, no offset."""
    return to_wall(value).isoformat(timespec="seconds")


def date_literal(value: dt.date | dt.datetime) -> str:
    """A ``$filter`` literal: ``datetime'2026-01-29T00:00:00'`` in Amsterdam wall-clock time."""
    return f"datetime'{format_datetime(value)}'"


def string_literal(value: str) -> str:
    """A ``$filter`` string literal, quotes doubled."""
    return "'" + value.replace("'", "''") + "'"


def guid_literal(value: str) -> str:
    """A ``$filter`` or key-predicate guid literal; a bare guid would be refused."""
    return f"guid'{value}'"


def unwrap(body: Any) -> tuple[list[dict[str, Any]], str | None]:
    """The rows and the next-page link of an OData response.

    ``d`` may be an object with ``results`` (a collection), a bare object (one entity) or a list: clients
    in the wild see all three.
    """
    if not isinstance(body, dict) or "d" not in body:
        raise ValueError("not an OData response: no 'd'")
    d = body["d"]
    if isinstance(d, list):
        return [r for r in d if isinstance(r, dict)], None
    if isinstance(d, dict):
        if isinstance(d.get("results"), list):
            nxt = d.get("__next")
            return list(d["results"]), nxt if isinstance(nxt, str) and nxt else None
        return [d], None
    raise ValueError("not an OData response: 'd' is neither an object nor a list")


def error_message(response: httpx.Response) -> str:
    """Exact's own message for a failed call (``error.message.value``), or the bare status."""
    text = ""
    try:
        body = response.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        body = None
    if isinstance(body, dict):
        err = body.get("error")
        if isinstance(err, dict):
            message = err.get("message")
            text = str(message.get("value", "")) if isinstance(message, dict) else str(message or "")
        elif isinstance(err, str):
            text = str(body.get("error_description") or err)
    reason = response.headers.get("Reason")
    if reason and reason not in text:
        text = f"{text} ({reason})" if text else str(reason)
    text = " / ".join(part.strip() for part in text.replace("\r\n", "\n").split("\n") if part.strip())
    return f"HTTP {response.status_code}: {text}" if text else f"HTTP {response.status_code}"


def has_json_error(response: httpx.Response) -> bool:
    """True when the body is Exact's JSON error envelope: Exact explains itself, so it is no outage."""
    try:
        body = response.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        return False
    return isinstance(body, dict) and "error" in body


def is_transient(response: httpx.Response) -> bool:
    """Whether a 5xx may succeed later: a gateway error, or a 500 without Exact's JSON error.

    Exact answers some validation errors (an invalid reference, a failed conversion) with a 500 and its
    error envelope; repeating those only spends the error budget.
    """
    if response.status_code in (502, 503, 504):
        return True
    return response.status_code >= 500 and not has_json_error(response)
