"""A seeded sample of the fault-injection suite, one trial of each kind: kills at every point of apply, a lost
or empty state, missing data, and two flows at once. After each fault and a clean rerun nothing is duplicated,
nothing lost, links and shadows agree with both systems, and every run ended with the exit code the command
line documents.

``make faults`` runs the whole suite (tests.faults); a failure here prints each finding with the command that
replays its trial.
"""

from __future__ import annotations

import pytest

from tests.faults.kinds import KINDS
from tests.faults.sample import CRASHES, GROUND, NETWORK, pairs
from tests.faults.trial import run_trial


@pytest.mark.parametrize(("kind", "seed"), pairs(CRASHES, GROUND), ids=lambda v: str(v))
def test_a_fault_and_a_clean_rerun_leave_no_duplicate_and_no_lost_change(kind: str, seed: int) -> None:
    trial = run_trial(KINDS[kind], seed)
    assert not trial.findings, "\n".join(trial.lines())


def test_the_sample_holds_every_kind_of_fault_once() -> None:
    sampled = [kind for kind, _ in pairs(CRASHES, NETWORK, GROUND)]
    assert sorted(sampled) == sorted(KINDS)
