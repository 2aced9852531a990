"""What the parts of the Exact Online emulator share about the wire: Exact's error envelope and key literals.

A handler that meets a problem deep inside a call raises :class:`Reply` with the finished response (most
often an error in Exact's envelope, from :func:`error`); the emulator's routes catch it and send it. Keys
appear in URLs as ``guid'…'``, ``123`` or ``'EUR'`` (quotes doubled), depending on the key field's type.
"""

from __future__ import annotations

import re
from typing import Any

from starlette.responses import JSONResponse, Response

from reconcile.model.catalogue import Entity

GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
STREAM = "Error processing request stream. The request should be a valid top-level resource object."
SYNTAX = "Bad Request - Error in query syntax."


class Reply(Exception):
    """A finished response, raised from deep inside a handler."""

    def __init__(self, response: Response) -> None:
        self.response = response


def error_body(message: str) -> dict[str, Any]:
    """Exact's error envelope."""
    return {"error": {"code": "", "message": {"lang": "", "value": message}}}


def error(status: int, message: str) -> Reply:
    """A :class:`Reply` of ``status`` with ``message`` in Exact's error envelope, to raise."""
    return Reply(JSONResponse(error_body(message), status_code=status))


def parse_key(entity: Entity, text: str) -> str:
    """The key a URL's key literal names, as the store keeps it; a 400 when it is not one."""
    text = text.strip()
    kind = entity.fields[entity.key].type
    if kind == "guid":
        match = re.fullmatch(r"guid'([^']*)'", text)
        if not match or not GUID.match(match.group(1)):
            raise error(400, SYNTAX)
        return match.group(1).lower()
    if kind == "int":
        if not re.fullmatch(r"-?\d+", text):
            raise error(400, SYNTAX)
        return str(int(text))
    match = re.fullmatch(r"'((?:[^']|'')*)'", text)
    if not match:
        raise error(400, SYNTAX)
    return match.group(1).replace("''", "'")


def key_literal(entity: Entity, key: Any) -> str:
    """A stored key as a URL's key literal."""
    kind = entity.fields[entity.key].type
    if kind == "guid":
        return f"guid'{key}'"
    if kind == "int":
        return str(key)
    return "'" + str(key).replace("'", "''") + "'"
