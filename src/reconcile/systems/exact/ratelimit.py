"""The rate limiter of the Exact Online connector: Exact's per-division limits, read from its response headers."""

from __future__ import annotations

import datetime as dt
import threading

import httpx

from reconcile.errors import RateLimited
from reconcile.model.clock import Clock, SystemClock
from reconcile.systems.http.limits import RateLimiter

SYSTEM = "exact"


class ExactRateLimiter(RateLimiter):
    """Keeps within Exact's per-division limits by following its ``X-RateLimit-*`` headers.

    Every division-scoped answer says how many calls are left in the current calendar minute and day and
    when each resets (epoch milliseconds). When the minute is used up the limiter sleeps until its reset
    (plus a margin), so no call runs into a 429. A used-up day is not waited out (it resets at midnight UTC):
    it raises :class:`~reconcile.errors.RateLimited`. Between answers it counts down locally, so that
    several threads sharing the limiter do not all spend the last call.
    """

    def __init__(self, *, clock: Clock | None = None, margin: float = 0.5) -> None:
        self.clock: Clock = clock or SystemClock()
        self.margin = margin
        self.minute_remaining: int | None = None
        self.minute_reset = 0.0
        self.day_remaining: int | None = None
        self.day_reset = 0.0
        self.waited = 0.0
        self._lock = threading.Lock()

    def before_request(self, endpoint: str) -> None:
        with self._lock:
            now = self.clock.now()
            if self.day_remaining is not None and self.day_remaining <= 0 and now < self.day_reset:
                reset = dt.datetime.fromtimestamp(self.day_reset, dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
                raise RateLimited(SYSTEM, f"the daily limit of API calls for this division is used up until {reset}")
            if self.minute_remaining is not None and self.minute_remaining <= 0:
                wait = max(0.0, self.minute_reset - now) + self.margin
                self.waited += wait
                self.clock.sleep(wait)
                self.minute_remaining = None
            elif self.minute_remaining is not None:
                self.minute_remaining -= 1
            if self.day_remaining is not None:
                self.day_remaining -= 1

    def after_response(self, endpoint: str, response: httpx.Response) -> None:
        headers = response.headers
        with self._lock:
            minute = _int_header(headers, "X-RateLimit-Minutely-Remaining")
            if minute is not None:
                self.minute_remaining = minute
                self.minute_reset = (_int_header(headers, "X-RateLimit-Minutely-Reset") or 0) / 1000
            day = _int_header(headers, "X-RateLimit-Remaining")
            if day is not None:
                self.day_remaining = day
                self.day_reset = (_int_header(headers, "X-RateLimit-Reset") or 0) / 1000


def _int_header(headers: httpx.Headers, name: str) -> int | None:
    value = headers.get(name)
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None
