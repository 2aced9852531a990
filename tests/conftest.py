"""What every test shares: a watch on the real clock, so that no test waits out real time unnoticed.

A limiter, retry or emulator built without a clock waits on the wall clock
(:class:`~reconcile.model.clock.SystemClock`). Every wait asked of it is counted against the test that is
running, its fixtures included, and a test that waited more than :data:`REAL_WAIT_ALLOWED` seconds in all
fails saying how long: give it a :class:`~reconcile.model.clock.FakeClock`, or limits it need not wait out
(as the sandbox's, :mod:`reconcile.sandbox.openers`).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator

import pytest
from hypothesis import settings

from reconcile.model.clock import SystemClock

# Property tests draw the same examples every run, so that a test run never fails by chance; setting
# RECONCILE_EXAMPLES (how many a property test draws) searches anew instead.
settings.register_profile("repeatable", derandomize=True, database=None)
settings.register_profile("search")
settings.load_profile("search" if os.environ.get("RECONCILE_EXAMPLES") else "repeatable")

REAL_WAIT_ALLOWED = 0.5
"""Seconds a test may wait on the wall clock in all: a stray short wait passes, a rate limit's waits do not."""


class RealWaits:
    """The seconds waited on the wall clock since the running test began, from any thread."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self._lock = threading.Lock()

    def add(self, seconds: float) -> None:
        with self._lock:
            self.seconds += max(seconds, 0.0)

    def reset(self) -> None:
        with self._lock:
            self.seconds = 0.0


WAITS = RealWaits()


@pytest.fixture(autouse=True, scope="session")
def count_real_waits() -> Iterator[None]:
    """Count every wait on the wall clock; session-wide, so that module fixtures' waits are counted too."""
    real_sleep = SystemClock.sleep

    def sleep(self: SystemClock, seconds: float) -> None:
        WAITS.add(seconds)
        real_sleep(self, seconds)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(SystemClock, "sleep", sleep)
        yield


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    WAITS.reset()


@pytest.hookimpl(trylast=True)
def pytest_runtest_teardown(item: pytest.Item) -> None:
    if WAITS.seconds > REAL_WAIT_ALLOWED:
        pytest.fail(
            f"{item.nodeid} waited {WAITS.seconds:.1f} s on the real clock: "
            "give its limiters and retries a FakeClock, or limits a test need not wait out",
            pytrace=False,
        )
