"""Runs that write one system take turns: the second waits for the first, on a clock the test moves."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from reconcile.errors import StateError
from reconcile.model.clock import FakeClock
from reconcile.state.locks import POLL, SystemLock, hold_systems


def test_a_second_writer_of_a_system_waits_then_gives_up_naming_the_first(tmp_path: Path) -> None:
    ledger = SystemLock("ledger", tmp_path / "ledger" / ".reconcile.lock")
    clock, heard = FakeClock(), list[str]()
    with (
        hold_systems([ledger], "run-1", wait=60, clock=FakeClock()),
        pytest.raises(StateError) as caught,
        hold_systems([ledger], "run-2", wait=60, clock=clock, waiting=heard.append),
    ):
        pytest.fail("the second run got the lock the first holds")
    [told] = heard
    assert told.startswith(f"ledger is being written by another run (run run-1, process {os.getpid()}, since ")
    assert told.endswith("); waiting for it to finish")
    assert "did not finish within 60 seconds; nothing was read or written" in str(caught.value)
    assert sum(clock.slept) >= 60 and set(clock.slept) == {POLL}
    with hold_systems([ledger], "run-3", wait=0, clock=FakeClock()):
        pass  # free again once the first is done


def test_locks_are_taken_in_one_order_whatever_order_they_are_asked_in(tmp_path: Path) -> None:
    a, b = SystemLock("a", tmp_path / "a.lock"), SystemLock("b", tmp_path / "b.lock")
    with hold_systems([b, a], "run-1", wait=0, clock=FakeClock()):
        for one in (a, b):
            with pytest.raises(StateError), hold_systems([one], "run-2", wait=0, clock=FakeClock()):
                pass
