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
class Failure:
    """One injected failure: which calls it matches, how many it skips and hits, and how it answers."""

    method: str
    entity: str | None
    status: int
    skip: int
    times: int
    body: str | None
    apply: bool

    def response(self) -> Response:
        """The answer in place of the real one."""
        if self.body is not None:
            return Response(self.body, status_code=self.status, media_type="application/json")
        if self.status >= 500:
            page = "<html><body><h1>Service Unavailable</h1></body></html>"
            return Response(page, status_code=self.status, media_type="text/html")
        return JSONResponse(error_body("Bad Request"), status_code=self.status)


class ExactFaults:
    """The failures waiting for their calls."""

    def __init__(self, lock: threading.RLock) -> None:
        self._lock = lock
        self._failures: list[Failure] = []

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
            self._failures.append(Failure(method.upper(), entity, status, nth - 1, times, body, apply))

    def injected(self, method: str, entity: str) -> Failure | None:
        """The failure this call of ``method`` on ``entity`` meets, if any (it counts the call)."""
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
