"""Where time comes from: the wall clock, or a clock tests move by hand so that nothing sleeps for real."""

from __future__ import annotations

import threading
import time
from typing import Protocol


class Clock(Protocol):
    """Where the plumbing reads the time and waits: the wall clock, or a fake one in tests."""

    def now(self) -> float:
        """Seconds since the epoch (UTC)."""
        ...

    def sleep(self, seconds: float) -> None:
        """Wait ``seconds``."""
        ...


class SystemClock:
    """The real clock."""

    def now(self) -> float:
        return time.time()

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            time.sleep(seconds)


class FakeClock:
    """A clock tests move by hand; ``sleep`` moves it at once instead of waiting.

    Share one between a connector and an emulator and a rate-limit wait costs no real time. ``slept`` keeps
    every wait asked for, so a test can check that a wait happened.
    """

    def __init__(self, start: float = 1_767_261_600.0) -> None:
        # The default start is 2026-01-01T10:00:00Z: a round minute, so window arithmetic reads well.
        self._now = float(start)
        self._lock = threading.Lock()
        self.slept: list[float] = []

    def now(self) -> float:
        with self._lock:
            return self._now

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self.slept.append(seconds)
            if seconds > 0:
                self._now += seconds

    def advance(self, seconds: float) -> None:
        """Move the clock forward without recording a wait."""
        with self._lock:
            self._now += seconds
