"""The rate limiter of the Exact Online connector: Exact's per-division limits, read from its response headers."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable
from typing import Any, TypeVar

import httpx

from reconcile.errors import RateLimited
from reconcile.model.clock import Clock, SystemClock
from reconcile.systems.http.limits import RateLimiter
from reconcile.systems.http.spent import SpentCalls

SYSTEM = "exact"

T = TypeVar("T")


class ExactRateLimiter(RateLimiter):
    """Keeps within Exact's per-division limits by following its ``X-RateLimit-*`` headers.

    Every division-scoped answer says how many calls are left in the current calendar minute and day and
    when each resets (epoch milliseconds). When the minute is used up the limiter sleeps until its reset
    (plus a margin), so no call runs into a 429. A used-up day is not waited out (it resets at midnight UTC):
    it raises :class:`~reconcile.errors.RateLimited`. Between answers it counts down locally, so that
    several threads sharing the limiter do not all spend the last call.

    With ``shared`` (:class:`~reconcile.systems.http.spent.SpentCalls`, one per app and division) what the
    last answers said is kept for every process: a run started right after another, even one that died,
    knows the minute or the day is used up and waits (or stops) instead of sending a call into a 429. Of
    two views of one window the lower count wins (counts only fall within a window); a window whose reset
    has passed says nothing.
    """

    def __init__(self, *, clock: Clock | None = None, margin: float = 0.5, shared: SpentCalls | None = None) -> None:
        self.clock: Clock = clock or SystemClock()
        self.margin = margin
        self.shared = shared
        self.minute_remaining: int | None = None
        self.minute_reset = 0.0
        self.day_remaining: int | None = None
        self.day_reset = 0.0
        self.waited = 0.0
        self._lock = threading.Lock()

    def before_request(self, endpoint: str) -> None:
        with self._lock:
            wait = self._shared(self._take)
            if wait > 0:
                self.waited += wait
                self.clock.sleep(wait)

    def _take(self) -> float:
        """Count a call, or say how long to wait before it (the minute used up)."""
        now = self.clock.now()
        if self.day_remaining is not None and self.day_remaining <= 0 and now < self.day_reset:
            reset = dt.datetime.fromtimestamp(self.day_reset, dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
            raise RateLimited(SYSTEM, f"the daily limit of API calls for this division is used up until {reset}")
        wait = 0.0
        if self.minute_remaining is not None and self.minute_remaining <= 0:
            wait = max(0.0, self.minute_reset - now) + self.margin
            self.minute_remaining = None
        elif self.minute_remaining is not None:
            self.minute_remaining -= 1
        if self.day_remaining is not None:
            self.day_remaining -= 1
        return wait

    def after_response(self, endpoint: str, response: httpx.Response) -> None:
        headers = response.headers
        with self._lock:
            minute = _int_header(headers, "X-RateLimit-Minutely-Remaining")
            day = _int_header(headers, "X-RateLimit-Remaining")
            if minute is None and day is None:
                return

            def learn() -> None:
                if minute is not None:
                    self.minute_remaining = minute
                    self.minute_reset = (_int_header(headers, "X-RateLimit-Minutely-Reset") or 0) / 1000
                if day is not None:
                    self.day_remaining = day
                    self.day_reset = (_int_header(headers, "X-RateLimit-Reset") or 0) / 1000

            self._shared(learn)

    def _shared(self, step: Callable[[], T]) -> T:
        """Run ``step`` on this process's view, laid over the shared one and stored back (with ``shared``)."""
        if self.shared is None:
            return step()

        def over(doc: dict[str, Any]) -> T:
            now = self.clock.now()
            for name in ("minute", "day"):
                self._adopt(name, doc.get(name), now)
            result = step()
            for name in ("minute", "day"):
                self._keep(name, doc)
            return result

        return self.shared.change(over)

    def _adopt(self, name: str, saved: Any, now: float) -> None:
        """Take the shared view of window ``name`` (``[remaining, reset]``) where it knows better."""
        if not (isinstance(saved, list) and len(saved) == 2 and all(isinstance(v, int | float) for v in saved)):
            return
        remaining, reset = int(saved[0]), float(saved[1])
        mine, my_reset = getattr(self, f"{name}_remaining"), getattr(self, f"{name}_reset")
        if reset <= now:
            return
        if mine is None or reset > my_reset or (reset == my_reset and remaining < mine):
            setattr(self, f"{name}_remaining", remaining)
            setattr(self, f"{name}_reset", reset)

    def _keep(self, name: str, doc: dict[str, Any]) -> None:
        """Store this process's view of window ``name`` in the shared one, when it has one."""
        saved, mine = doc.get(name), getattr(self, f"{name}_remaining")
        if mine is None:
            return
        reset = getattr(self, f"{name}_reset")
        if isinstance(saved, list) and len(saved) == 2 and saved[1] == reset and int(saved[0]) <= mine:
            return
        if isinstance(saved, list) and len(saved) == 2 and isinstance(saved[1], int | float) and saved[1] > reset:
            return
        doc[name] = [mine, reset]


def _int_header(headers: httpx.Headers, name: str) -> int | None:
    value = headers.get(name)
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None
