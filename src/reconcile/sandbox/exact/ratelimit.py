"""The rate limits of the Exact Online emulator: calls per minute and per day, and the ``X-RateLimit-*`` headers.

Counted per app and division: the minute limit over a fixed calendar minute, the day limit over the UTC day.
Every division-scoped answer carries the six headers; past a limit the answer is an empty 429 with only that
limit's headers.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from starlette.responses import Response

from reconcile.model.clock import Clock
from reconcile.sandbox.exact.protocol import Reply


@dataclass
class _Rate:
    minute: int = -1
    minute_count: int = 0
    day: int = -1
    day_count: int = 0


class ExactRateLimits:
    """The call counters of the emulated environment; tests may change the limits between calls."""

    def __init__(self, clock: Clock, *, minute_limit: int, day_limit: int) -> None:
        self.clock = clock
        self.minute_limit = minute_limit
        self.day_limit = day_limit
        self._rates: dict[tuple[str, int], _Rate] = {}

    def clear(self) -> None:
        """Forget every call counted so far."""
        self._rates.clear()

    def count_call(self, client_id: str, division: int) -> dict[str, str]:
        """Count a call of ``client_id`` in ``division``: the rate limit headers, or a 429 raised as a Reply."""
        now = self.clock.now()
        minute, day = math.floor(now / 60), math.floor(now / 86400)
        rate = self._rates.setdefault((client_id, division), _Rate())
        if rate.minute != minute:
            rate.minute, rate.minute_count = minute, 0
        if rate.day != day:
            rate.day, rate.day_count = day, 0
        minutely = {
            "X-RateLimit-Minutely-Limit": str(self.minute_limit),
            "X-RateLimit-Minutely-Reset": str((minute + 1) * 60_000),
        }
        daily = {"X-RateLimit-Limit": str(self.day_limit), "X-RateLimit-Reset": str((day + 1) * 86_400_000)}
        if rate.day_count >= self.day_limit:
            raise Reply(Response(status_code=429, headers={**daily, "X-RateLimit-Remaining": "0"}))
        if rate.minute_count >= self.minute_limit:
            raise Reply(Response(status_code=429, headers={**minutely, "X-RateLimit-Minutely-Remaining": "0"}))
        rate.minute_count += 1
        rate.day_count += 1
        return {
            **minutely,
            "X-RateLimit-Minutely-Remaining": str(self.minute_limit - rate.minute_count),
            **daily,
            "X-RateLimit-Remaining": str(self.day_limit - rate.day_count),
        }
