"""Failures injected into the Exact Online emulator by tests: a status for the nth matching call.

A failure answers as a gateway would (an HTML page for a 5xx, Exact's envelope otherwise) unless a body is
given, and may carry the call out first, as when an answer is lost after the write.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from starlette.responses import JSONResponse, Response

from reconcile.sandbox.exact.protocol import error_body


@dataclass
class _Failure:
    method: str
    entity: str | None
    status: int
    skip: int
    times: int
    body: str | None
    apply: bool


class ExactFaults:
    """The failures waiting for their calls."""

    _lock: threading.RLock
    _failures: list[_Failure]

    def fail(
        self,
        method: str,
        entity: str | None = None,
        *,
        status: int = 500,
        nth: int = 1,
        times: int = 1,
        body: str | None = None,
        apply: bool = False,
    ) -> None:
        """Make the ``nth`` matching call (and ``times - 1`` after it) answer ``status``.

        ``body`` is sent as is (default: an HTML error page, as a gateway would); ``apply=True`` carries
        the call out first and only then fails, as when an answer is lost after the write.
        """
        with self._lock:
            self._failures.append(_Failure(method.upper(), entity, status, nth - 1, times, body, apply))

    def _injected(self, method: str, entity: str) -> _Failure | None:
        for failure in self._failures:
            if failure.method != method or (failure.entity and failure.entity.casefold() != entity.casefold()):
                continue
            if failure.times <= 0:
                continue
            if failure.skip > 0:
                failure.skip -= 1
                return None
            failure.times -= 1
            return failure
        return None


def _failure_response(failure: _Failure) -> Response:
    if failure.body is not None:
        return Response(failure.body, status_code=failure.status, media_type="application/json")
    if failure.status >= 500:
        page = "<html><body><h1>Service Unavailable</h1></body></html>"
        return Response(page, status_code=failure.status, media_type="text/html")
    return JSONResponse(error_body("Bad Request"), status_code=failure.status)
