"""How API v1 answers: the ``{"data": ..., "count": n, "success": true}`` envelope, and errors as HTTP 200.

An error is ``"success": false`` with a ``validation`` object (a summary, the kind of exception and an
error log reference), answered with HTTP 200 as v1 does.
"""

from __future__ import annotations

import uuid

from starlette.responses import JSONResponse, Response


class V1Error(Exception):
    """A v1 error: answered as HTTP 200 with ``success: false``."""

    def __init__(self, summary: str, exception: str = "Validation") -> None:
        self.summary = summary
        self.exception = exception
        super().__init__(summary)


def envelope_error(exc: V1Error) -> Response:
    """The envelope of a failed call."""
    return JSONResponse(
        {
            "success": False,
            "validation": {
                "errorLogReference": str(uuid.uuid4()),
                "summary": exc.summary,
                "exception": exc.exception,
            },
        }
    )
