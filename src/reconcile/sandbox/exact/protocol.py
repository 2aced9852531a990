"""What the parts of the Exact Online emulator share about the wire: Exact's error envelope and key literals.

A handler that meets a problem deep inside a call raises :class:`_Reply` with the finished response (most
often an error in Exact's envelope, from :func:`_error`); the emulator's routes catch it and send it. Keys
appear in URLs as ``guid'…'``, ``123`` or ``'EUR'`` (quotes doubled), depending on the key field's type.
"""

from __future__ import annotations

import re
from typing import Any

from starlette.responses import JSONResponse, Response

from reconcile.model.catalogue import Entity

_GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_STREAM = "Error processing request stream. The request should be a valid top-level resource object."
_SYNTAX = "Bad Request - Error in query syntax."


class _Reply(Exception):
    """A finished response, raised from deep inside a handler."""

    def __init__(self, response: Response) -> None:
        self.response = response


def error_body(message: str) -> dict[str, Any]:
    """Exact's error envelope."""
    return {"error": {"code": "", "message": {"lang": "", "value": message}}}


def _error(status: int, message: str) -> _Reply:
    return _Reply(JSONResponse(error_body(message), status_code=status))


def _parse_key(entity: Entity, text: str) -> str:
    text = text.strip()
    kind = entity.fields[entity.key].type
    if kind == "guid":
        match = re.fullmatch(r"guid'([^']*)'", text)
        if not match or not _GUID.match(match.group(1)):
            raise _error(400, _SYNTAX)
        return match.group(1).lower()
    if kind == "int":
        if not re.fullmatch(r"-?\d+", text):
            raise _error(400, _SYNTAX)
        return str(int(text))
    match = re.fullmatch(r"'((?:[^']|'')*)'", text)
    if not match:
        raise _error(400, _SYNTAX)
    return match.group(1).replace("''", "'")


def _key_literal(entity: Entity, key: Any) -> str:
    kind = entity.fields[entity.key].type
    if kind == "guid":
        return f"guid'{key}'"
    if kind == "int":
        return str(key)
    return "'" + str(key).replace("'", "''") + "'"
