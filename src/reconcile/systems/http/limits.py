"""Rate limiters: keep calls within a system's limits, waiting on the injected clock."""

from __future__ import annotations

import functools
import math
import threading
from collections import deque
from typing import Any

import httpx

from reconcile.model.clock import Clock, SystemClock
from reconcile.systems.http.spent import SpentCalls


class RateLimiter:
    """Keeps calls within a system's rate limits; this base class imposes none.

    ``before_request`` is called before every attempt and waits as long as needed (or raises
    :class:`~reconcile.errors.RateLimited` when the wait would outlast the run); ``after_response`` sees
    every response and may learn the remaining budget from its headers. Callers take a slot through
    :meth:`acquire`, which counts the slots granted: a client whose token is fetched through the same limiter
    sees that the fetch took (and may have waited for) a slot after its own, and takes another.
    """

    granted: int = 0
    """Slots granted so far, by :meth:`acquire`."""

    def acquire(self, endpoint: str) -> int:
        """Wait for a slot for a call to ``endpoint``; returns how many slots this limiter has granted."""
        self.before_request(endpoint)
        self.granted += 1
        return self.granted

    def before_request(self, endpoint: str) -> None:
        """Wait until a call to ``endpoint`` is allowed."""

    def after_response(self, endpoint: str, response: httpx.Response) -> None:
        """Learn from a response (remaining calls, reset time)."""


class FixedWindowLimiter(RateLimiter):
    """At most ``calls`` calls in each fixed window of ``window`` seconds, shared by all endpoints.

    Windows are aligned to the epoch (calendar minutes for ``window=60``), as fixed-window servers count.
    """

    def __init__(self, calls: int, window: float, *, clock: Clock | None = None) -> None:
        if calls < 1 or window <= 0:
            raise ValueError("a fixed window needs calls >= 1 and window > 0")
        self.calls = calls
        self.window = window
        self.clock: Clock = clock or SystemClock()
        self._lock = threading.Lock()
        self._window_start = -math.inf
        self._count = 0

    def before_request(self, endpoint: str) -> None:
        # The lock is held while sleeping so that waiting callers queue up instead of all waking at once.
        with self._lock:
            while True:
                now = self.clock.now()
                start = math.floor(now / self.window) * self.window
                if start != self._window_start:
                    self._window_start = start
                    self._count = 0
                if self._count < self.calls:
                    self._count += 1
                    return
                self.clock.sleep(start + self.window - now)


class SlidingWindowLimiter(RateLimiter):
    """At most ``calls`` calls within any span of ``window`` seconds, shared by all endpoints.

    For systems that count over a rolling span ("10 requests a second"), where a fixed window would let
    ``2 * calls`` through around a window edge. The limiter remembers the start time of its last ``calls``
    calls and waits until the oldest of them is ``window`` seconds old. With ``shared`` those times are kept
    for every process that uses the API key (:class:`~reconcile.systems.http.spent.SpentCalls`): a process
    started within the window of another's calls waits for them too.
    """

    def __init__(
        self, calls: int, window: float, *, clock: Clock | None = None, shared: SpentCalls | None = None
    ) -> None:
        if calls < 1 or window <= 0:
            raise ValueError("a sliding window needs calls >= 1 and window > 0")
        self.calls = calls
        self.window = window
        self.clock: Clock = clock or SystemClock()
        self.shared = shared
        self._lock = threading.Lock()
        self._sent: deque[float] = deque()

    def before_request(self, endpoint: str) -> None:
        # Held while sleeping, as in FixedWindowLimiter, so that waiting callers queue up in order.
        with self._lock:
            while True:
                now = self.clock.now()
                if self.shared is None:
                    wait = self._take(now)
                else:
                    wait = self.shared.change(functools.partial(self._take_shared, now=now))
                if wait <= 0:
                    return
                self.clock.sleep(wait)

    def _take(self, now: float) -> float:
        """Count a call at ``now`` and answer 0, or answer how long to wait first."""
        while self._sent and self._sent[0] <= now - self.window:
            self._sent.popleft()
        if len(self._sent) < self.calls:
            self._sent.append(now)
            return 0.0
        return self._sent[0] + self.window - now

    def _take_shared(self, doc: dict[str, Any], now: float) -> float:
        """:meth:`_take` over the calls every process sent (``doc["sent"]``), which it then updates."""
        sent = doc.get("sent")
        times = [float(t) for t in sent if isinstance(t, int | float)] if isinstance(sent, list) else []
        # A time further ahead than a window is another clock's; it would hold the limiter back for ever.
        self._sent = deque(sorted(t for t in times if now - self.window < t <= now + self.window))
        wait = self._take(now)
        doc["sent"] = list(self._sent)
        return wait
