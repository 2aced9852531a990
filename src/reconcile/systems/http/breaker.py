"""A circuit breaker per endpoint: stop before a system blocks the API key for too many errors."""

from __future__ import annotations

import threading
from collections import defaultdict, deque

import httpx

from reconcile.errors import CircuitOpen
from reconcile.model.clock import Clock, SystemClock

HOUR = 3600.0


class CircuitBreaker:
    """Stops calls to an endpoint that failed ``max_errors`` times within ``period`` seconds.

    Some systems block an API key that sends too many failing calls (Exact Online: more than ten 4xx an hour
    on one endpoint). The breaker opens well before that, and stays open until the oldest error in the
    period has aged out. A 429 is not an error here: the limiter deals with it.
    """

    def __init__(self, system: str, *, max_errors: int = 5, period: float = HOUR, clock: Clock | None = None) -> None:
        self.system = system
        self.max_errors = max_errors
        self.period = period
        self.clock: Clock = clock or SystemClock()
        self._errors: dict[str, deque[float]] = defaultdict(deque)
        self._lock = threading.Lock()

    def _recent(self, endpoint: str) -> deque[float]:
        errors = self._errors[endpoint]
        horizon = self.clock.now() - self.period
        while errors and errors[0] <= horizon:
            errors.popleft()
        return errors

    def errors(self, endpoint: str) -> int:
        """How many errors ``endpoint`` had within the period."""
        with self._lock:
            return len(self._recent(endpoint))

    def check(self, endpoint: str) -> None:
        """Raise :class:`~reconcile.errors.CircuitOpen` when ``endpoint`` has failed too often."""
        with self._lock:
            errors = self._recent(endpoint)
            if len(errors) >= self.max_errors:
                reopen = errors[0] + self.period - self.clock.now()
                raise CircuitOpen(
                    self.system,
                    f"{len(errors)} failed calls to {endpoint} within {self.period / 60:.0f} minutes; "
                    f"calls to it stop for {reopen / 60:.0f} more minutes so that the API key is not blocked",
                )

    def record(self, endpoint: str, response: httpx.Response | None) -> None:
        """Count a failed call (a 4xx other than 429, a 5xx, or no response at all)."""
        if response is not None and (response.status_code < 400 or response.status_code == 429):
            return
        with self._lock:
            self._errors[endpoint].append(self.clock.now())
