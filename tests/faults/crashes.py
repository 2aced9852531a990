"""Kills at every point of apply: before a send, after a send before the journal commit, in a batch's middle.

In this process a kill raises :class:`~tests.faults.inject.Killed` at the chosen write call (the n-th
``write`` of the run to its target, counted over every mapping); ``kill-process`` kills a real child
process there with ``os._exit`` (:mod:`.child`). Over HTTP a kill can also fall on one call of a batch: after
the server carried out the n-th write call, before its answer reached the connector. ``kill-in-flush`` kills
a run while a files system settles its writes into its files, before or right after one is replaced.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from random import Random

import reconcile
from tests.faults import inject
from tests.faults.child import IDS
from tests.faults.inject import HttpRule, WriteRule, faulty_writes
from tests.faults.trial import Inflict, Inflicted
from tests.faults.worlds.base import CRASHED, KILLED, RunOutcome, World
from tests.faults.worlds.files import FilesWorld
from tests.faults.worlds.http import HttpWorld

REPO = Path(__file__).resolve().parents[2]
WHERE = {
    "before": "before a send",
    "after": "after a send, before the journal commit",
    "midway": "in the middle of a batch",
}


def _kill_once(world: World, rng: Random, first: bool, point: str) -> tuple[str, RunOutcome, bool]:
    """One run killed at ``point`` of a seeded write call: (what was done, how the run ended, whether it fell)."""
    target = world.flow().target
    nth = rng.randint(1, world.write_calls() + 1)
    if point != "midway" and isinstance(world, HttpWorld) and rng.random() < 0.5:
        rule = HttpRule(inject.kill(sent=point == "after"), methods=inject.WRITES, nth=nth)
        world.http_rules[target] = [rule]
        try:
            outcome = world.run(first_sync=first)
        finally:
            world.http_rules.clear()
        return f"killed {WHERE[point]} at HTTP write {nth}", outcome, rule.fired > 0
    keep = rng.randint(1, max(1, world.batch_size - 1))
    effect = {
        "before": inject.kill_before_send(),
        "after": inject.kill_after_send(),
        "midway": inject.kill_midway(keep),
    }[point]
    write_rule = WriteRule(target, effect, nth=nth)
    with faulty_writes([write_rule]):
        outcome = world.run(first_sync=first)
    kept = f", {keep} of the batch sent" if point == "midway" else ""
    return f"killed {WHERE[point]} at write call {nth}{kept}", outcome, write_rule.fired > 0


def kill_at(point: str) -> Inflict:
    """The ``inflict`` of a kill at ``point`` (before, after, midway) in this process.

    A quarter of the time the run that follows is killed too, at a point of its own: recovery itself must
    survive a kill, with pending creates of two runs to pair.
    """

    def inflict(world: World, rng: Random, first: bool) -> Inflicted:
        fault, outcome, fell = _kill_once(world, rng, first, point)
        outcomes, allowed = [outcome], {KILLED} if fell else {0}
        if fell and rng.random() < 0.25:
            again, outcome, fell = _kill_once(world, rng, first, rng.choice(sorted(WHERE)))
            fault += f"; the next run {again}"
            outcomes.append(outcome)
            allowed |= {KILLED} if fell else {0}
        return Inflicted(fault, outcomes, frozenset(allowed))

    return inflict


# -- real processes ------------------------------------------------------------------------------------------


def child_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RECONCILE_")}
    # The reconcile this process runs (a worktree's, say), then the tests.
    env["PYTHONPATH"] = os.pathsep.join([str(Path(reconcile.__file__).resolve().parents[1]), str(REPO)])
    env["POLARS_MAX_THREADS"] = "1"
    return env


def start_child(
    spec: list[dict[str, object]], args: list[str], ids: str, env: dict[str, str] | None = None
) -> subprocess.Popen[str]:
    """The command line in a process of its own, with ``spec``'s write faults and GUIDs drawn from ``ids``."""
    return subprocess.Popen(
        [sys.executable, "-m", "tests.faults.child", json.dumps(spec), "--", *args],
        cwd=REPO,
        env={**child_env(), **(env or {}), IDS: ids},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def outcome_of(child: subprocess.Popen[str], timeout: float = 120) -> RunOutcome:
    """How a child's run ended, as :meth:`World.run` says it for a run in this process."""
    _, err = child.communicate(timeout=timeout)
    if child.returncode == inject.KILL_STATUS:
        return RunOutcome(KILLED)
    if "Traceback (most recent call last)" in err:
        return RunOutcome(CRASHED, crash=err)
    return RunOutcome(child.returncode, err.strip().removeprefix("error: "))


def kill_process(world: World, rng: Random, first: bool) -> Inflicted:
    """A real kill (``os._exit``) at a seeded write call and point, in a child process."""
    assert isinstance(world, FilesWorld)
    point = rng.choice(sorted(WHERE))
    nth = rng.randint(1, world.write_calls() + 1)
    keep = rng.randint(1, max(1, world.batch_size - 1))
    spec: list[dict[str, object]] = [{"system": world.flow().target, "nth": nth, "effect": point, "keep": keep}]
    ids = f"child/{rng.random()}"
    outcome = outcome_of(start_child(spec, world.cli(world.flows[0], first_sync=first), ids))
    allowed = frozenset({KILLED, 0})
    return Inflicted(f"process killed {WHERE[point]} at write call {nth}", [outcome], allowed)


def kill_in_flush(world: World, rng: Random, first: bool) -> Inflicted:
    """A kill while a files system settles what it took: before or right after the n-th file is replaced."""
    assert isinstance(world, FilesWorld)
    system = rng.choice([world.flow().target, world.flow().target, world.flow().source])
    nth, after = rng.randint(1, 2), rng.random() < 0.5
    with inject.dying_replace(world.folder(system), nth, after=after) as replaced:
        outcome = world.run(first_sync=first)
    fault = f"killed {'right after' if after else 'before'} file {nth} of {system} was replaced"
    if not replaced.fired:
        fault += f" ({replaced.seen} were)"
    return Inflicted(fault, [outcome], frozenset({KILLED} if replaced.fired else {0}))
