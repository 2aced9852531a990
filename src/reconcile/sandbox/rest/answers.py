"""What the generic emulator answers: records where the system file says they sit, and errors as JSON."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from reconcile.model.systemfile import Endpoint
from reconcile.model.values import put_at


class Problem(Exception):
    """A request the emulator refuses: the status and message of its error answer."""

    def __init__(self, status: int, message: str) -> None:
        self.status = status
        self.message = message
        super().__init__(message)


def answer(
    ep: Endpoint,
    payload: Any,
    status: int = 200,
    *,
    headers: Mapping[str, str] | None = None,
    fields: Mapping[str, Any] | None = None,
) -> Response:
    """``payload`` at the entity's ``records`` path (or bare), with body ``fields`` at their dotted paths."""
    if not ep.records:
        return JSONResponse(payload, status_code=status, headers=headers)
    body: dict[str, Any] = {}
    put_at(body, ep.records, payload)
    for where, value in (fields or {}).items():
        put_at(body, where, value)
    return JSONResponse(body, status_code=status, headers=headers)


def error(status: int, message: str, headers: Mapping[str, str] | None = None) -> Response:
    """An error answer as a careful API gives one: JSON, with the headers its status calls for."""
    extra = dict(headers or {})
    if status == 401:
        extra["WWW-Authenticate"] = f'Bearer error="invalid_token", error_description="{message}"'
    if status == 429 and "Retry-After" not in extra:
        extra["Retry-After"] = message.rsplit("after ", 1)[-1].split(" ", 1)[0] if "after " in message else "1"
    return JSONResponse({"error": {"status": status, "message": message}}, status_code=status, headers=extra)


async def json_body(request: Request) -> Any:
    """The JSON a request sends (None for no body); :class:`Problem` (400) when it is not JSON."""
    raw = await request.body()
    try:
        return json.loads(raw or b"null")
    except ValueError:
        raise Problem(400, "the body is not JSON") from None
