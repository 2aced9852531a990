"""The errors the PowerOffice Go emulator answers with: v2 ProblemDetails.

Raised anywhere below an API handler (a validation, a JSON Patch, a filter) as :class:`ApiProblem` and
answered by :func:`problem`, in the shape ASP.NET Core writes.
"""

from __future__ import annotations

import secrets

from starlette.responses import JSONResponse, Response

PROBLEM_TYPES = {
    400: "https://tools.ietf.org/html/rfc7231#section-6.5.1",
    404: "https://tools.ietf.org/html/rfc7231#section-6.5.4",
    405: "https://tools.ietf.org/html/rfc7231#section-6.5.5",
    409: "https://tools.ietf.org/html/rfc7231#section-6.5.8",
    415: "https://tools.ietf.org/html/rfc7231#section-6.5.13",
}


class ApiProblem(Exception):
    """An error the emulator answers with: a status, a title and a detail (v2 ProblemDetails)."""

    def __init__(self, status: int, title: str, detail: str = "") -> None:
        self.status = status
        self.title = title
        self.detail = detail
        super().__init__(f"{status} {title}: {detail}")


def problem(exc: ApiProblem) -> Response:
    """A ProblemDetails response, in ASP.NET Core's lower-case keys."""
    body = {
        "type": PROBLEM_TYPES.get(exc.status, "about:blank"),
        "title": exc.title,
        "status": exc.status,
        "detail": exc.detail or None,
        "traceId": f"00-{secrets.token_hex(16)}-{secrets.token_hex(8)}-00",
    }
    return JSONResponse(body, status_code=exc.status, media_type="application/problem+json")
