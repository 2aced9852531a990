"""A seeded sample of the fault-injection suite's network faults, over HTTP against the emulators: lost
answers, 429 storms, 5xx on reads and writes, timeouts, a token that expires mid-run, a page that breaks off.

Apart from :mod:`.test_sample` so that the two halves of the sample run side by side, one per worker.
"""

from __future__ import annotations

import pytest

from tests.faults.kinds import KINDS
from tests.faults.sample import NETWORK, pairs
from tests.faults.trial import run_trial


@pytest.mark.parametrize(("kind", "seed"), pairs(NETWORK), ids=lambda v: str(v))
def test_a_network_fault_and_a_clean_rerun_leave_no_duplicate_and_no_lost_change(kind: str, seed: int) -> None:
    trial = run_trial(KINDS[kind], seed)
    assert not trial.findings, "\n".join(trial.lines())
