"""What an API key has spent, shared by the processes that use it through a document in the state directory."""

from __future__ import annotations

from pathlib import Path

from reconcile.model.clock import FakeClock
from reconcile.systems.http.limits import SlidingWindowLimiter
from reconcile.systems.http.spent import SpentCalls


def test_two_limiters_of_one_key_share_its_last_seconds_calls(tmp_path: Path) -> None:
    clock = FakeClock(start=1000.0)
    first = SlidingWindowLimiter(2, 1.0, clock=clock, shared=SpentCalls(tmp_path, "po-v2-abc"))
    second = SlidingWindowLimiter(2, 1.0, clock=clock, shared=SpentCalls(tmp_path, "po-v2-abc"))
    first.before_request("x")
    first.before_request("x")
    second.before_request("x")  # the key's two calls of this second are spent: wait for the next
    assert clock.slept == [1.0]
    other = SlidingWindowLimiter(2, 1.0, clock=clock, shared=SpentCalls(tmp_path, "po-v2-other"))
    other.before_request("x")
    assert clock.slept == [1.0]


def test_a_damaged_document_is_taken_as_empty_and_written_anew(tmp_path: Path) -> None:
    spent = SpentCalls(tmp_path, "exact-123")
    spent.path.write_text("{not json", encoding="utf-8")
    clock = FakeClock(start=50.0)
    SlidingWindowLimiter(1, 1.0, clock=clock, shared=spent).before_request("x")
    assert spent.read() == {"sent": [50.0]} and clock.slept == []
