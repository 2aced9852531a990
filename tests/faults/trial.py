"""One trial: a world from a seed, a fault in a run, a clean rerun, and the oracle's verdict.

The steps, each from the trial's own random stream (``Random("<kind>/<seed>")``), so that a seed replays
the very same trial::

    build the world           (one of the kind's worlds, its records drawn)
    a night before, maybe     (every flow synced cleanly, then people edit both sides)
    the fault                 (the kind's: a run killed, answers lost, the state gone, ...)
    a clean rerun             (every flow, the same command without the fault: it must end 0)
    the oracle                (tests.faults.oracle) and a plan that must find nothing left to do

What breaks is a :class:`Finding`; the exit codes are checked here: a faulty run may end only as the
kind allows (each code as the command line documents it), never in a traceback.
"""

from __future__ import annotations

import tempfile
import time
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from random import Random

from tests.faults.inject import seeded_ids
from tests.faults.oracle import Finding, Oracle, settled
from tests.faults.worlds.base import CRASHED, KILLED, Records, RunOutcome, World

Maybe = Callable[[], None]
SCRATCH = "/dev/shm" if Path("/dev/shm").is_dir() else None
"""Worlds live in memory where the machine offers it: a trial writes and removes hundreds of small files."""


@dataclass
class Inflicted:
    """What a fault did: its words, the runs it spoiled, and what those runs may end with."""

    fault: str
    outcomes: list[RunOutcome]
    allowed: frozenset[int]
    restore: Maybe | None = None
    """What a person does before the clean rerun (put the state back, the file back)."""
    named: str | None = None
    """A word the faulty runs' error must hold (the file that is missing)."""
    findings: list[Finding] = field(default_factory=list)
    """What the fault's own checks found (a state made by a command that only reads)."""
    check: Callable[[], list[Finding]] | None = None
    """The fault's own check after the clean rerun (no call sent into a 429, say)."""


Inflict = Callable[[World, Random, bool], Inflicted]
"""(world, rng, first) -> what was done; ``first`` says the faulty run is the flow's first."""


@dataclass(frozen=True)
class Kind:
    """A kind of fault: its worlds, whether a night comes before it, and how it is brought into a run."""

    name: str
    about: str
    worlds: tuple[type[World], ...]
    inflict: Inflict
    night_before: float = 0.5
    """The chance that the fault falls on a second night (after a clean one and people's edits)."""
    stops: bool = False
    """The faulty run must stop before it writes: the target is read before and after to show it did."""


@dataclass
class Trial:
    """What one trial did and what broke."""

    kind: str
    seed: int
    world: str = ""
    features: list[str] = field(default_factory=list)
    fault: str = ""
    findings: list[Finding] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def replay(self) -> str:
        return f"python -m tests.faults --kind {self.kind} --seed {self.seed}"

    def lines(self) -> list[str]:
        """One line per finding, each with what a person needs to replay it."""
        head = f"{self.kind} seed={self.seed} world={self.world}"
        if self.features:
            head += f" ({', '.join(self.features)})"
        return [f"{head}: {self.fault}: {finding}   [{self.replay}]" for finding in self.findings]


def run_trial(kind: Kind, seed: int, root: Path | None = None) -> Trial:
    """Run one trial of ``kind`` from ``seed``; under ``root`` (kept) or a temporary folder (removed)."""
    started = time.perf_counter()
    trial = Trial(kind.name, seed)
    rng = Random(f"{kind.name}/{seed}")
    with (
        tempfile.TemporaryDirectory(prefix="faults-", dir=SCRATCH) as tmp,
        _scratch_temp(),
        seeded_ids(f"{kind.name}/{seed}/ids"),
    ):
        where = root or Path(tmp)
        where.mkdir(parents=True, exist_ok=True)
        world_type = kind.worlds[seed % len(kind.worlds)]
        world = world_type(where, rng)
        trial.world, trial.features = world.name, world.features
        try:
            _steps(kind, world, rng, trial)
        except Exception:  # the harness itself failed: a finding, so that the suite goes on and says so
            trial.findings.append(Finding("harness", traceback.format_exc().strip().splitlines()[-1]))
            if root is not None:
                raise
        finally:
            world.close()
    trial.seconds = time.perf_counter() - started
    return trial


def _steps(kind: Kind, world: World, rng: Random, trial: Trial) -> None:
    first = True
    if rng.random() < kind.night_before:
        for flow in world.flows:
            night = world.run(flow, first_sync=True)
            if night.code != 0:
                trial.fault = "the night before the fault"
                trial.findings.append(_ended("setup", night, "the clean night before the fault"))
                return
        world.night_edits(rng)
        world.nights, first = 1, False
    target = world.flow().target
    before = _target(world.records(), target) if kind.stops else None
    inflicted = kind.inflict(world, rng, first)
    trial.fault = inflicted.fault
    trial.findings += inflicted.findings
    for outcome in inflicted.outcomes:
        if outcome.code == CRASHED or outcome.code not in inflicted.allowed:
            allowed = ", ".join("killed" if c == KILLED else str(c) for c in sorted(inflicted.allowed))
            trial.findings.append(_ended("exit", outcome, f"the faulty run (allowed: {allowed})"))
        elif inflicted.named and inflicted.named.casefold() not in outcome.error.casefold():
            trial.findings.append(Finding("unnamed", f"the error does not name {inflicted.named}: {outcome.error!r}"))
    if inflicted.restore is not None:
        inflicted.restore()
    if before is not None and _target(world.records(), target) != before:
        trial.findings.append(Finding("written", f"the faulty run changed {target}, though it had to stop first"))
    for flow in world.flows:
        rerun = world.run(flow, first_sync=first)
        if rerun.code != 0:
            trial.findings.append(_ended("exit", rerun, f"the clean rerun of {flow.stem} (expected 0)"))
    if inflicted.check is not None:
        trial.findings += inflicted.check()
    trial.findings += Oracle(world).check()
    for flow in world.flows:
        trial.findings += settled(world.run(flow, dry_run=True), flow.stem)


@contextmanager
def _scratch_temp() -> Iterator[None]:
    """Temporary files (the workbook writer's, one a sheet) in memory too, for the trial only."""
    before, tempfile.tempdir = tempfile.tempdir, SCRATCH or tempfile.tempdir
    try:
        yield
    finally:
        tempfile.tempdir = before


def _target(records: Records, system: str) -> Records:
    return {key: held for key, held in records.items() if key[0] == system}


def _ended(code: str, outcome: RunOutcome, what: str) -> Finding:
    if outcome.code == CRASHED:
        return Finding("crash", f"{what} ended in a traceback: {outcome.crash.strip().splitlines()[-1]}")
    return Finding(code, f"{what} ended {outcome}")
