"""The wire contract of a custom REST system that a system file cannot express (the generic emulator honours it).

- a list answers the records at the entity's ``records`` path (or a bare array), 204 for none;
- a create answers the new record (at the same path, or bare), with its id;
- a bulk call answers an array at that path with one entry per record sent, in order: the record, or an
  object with an ``error`` (a message, or an object with a ``message``);
- an error answers JSON with ``error``, ``message``, ``detail`` or ``title``, or plain text.
"""

from __future__ import annotations

from typing import Any

import httpx

from reconcile.errors import RemoteError
from reconcile.model.systemfile import Endpoint
from reconcile.model.values import value_at


def error_message(response: httpx.Response) -> str:
    """A system's own words for a failed call: from a JSON error body, else its text (shortened)."""
    try:
        body = response.json()
    except ValueError:
        text = response.text.strip()
        return f"{response.status_code}: {text[:300]}" if text else f"answered {response.status_code}"
    return f"{response.status_code}: {error_text(body)}"


def error_text(body: Any) -> str:
    """The message of a JSON error (an ``error``, ``message``, ``detail``, ``title`` or ``errors``), shortened."""
    if isinstance(body, dict):
        for key in ("error", "message", "detail", "title", "errors"):
            if body.get(key):
                return error_text(body[key])
    if isinstance(body, list) and body:
        return "; ".join(error_text(item) for item in body[:5])
    return str(body)[:300]


def answer_body(system: str, response: httpx.Response, ep: Endpoint, method: str) -> Any:
    """The JSON an answer holds; :class:`RemoteError` when it is not JSON."""
    try:
        return response.json()
    except ValueError:
        raise RemoteError(system, f"{method} {ep.path} answered something that is not JSON") from None


def listed(system: str, body: Any, ep: Endpoint, method: str) -> list[dict[str, Any]]:
    """The records a JSON answer holds at the entity's ``records`` path; :class:`RemoteError` when none."""
    records = value_at(body, ep.records)
    where = f'at "{ep.records}"' if ep.records else "as a bare array"
    if not isinstance(records, list) or not all(isinstance(r, dict) for r in records):
        raise RemoteError(system, f"{method} {ep.path} answered no array of records {where}")
    return records
