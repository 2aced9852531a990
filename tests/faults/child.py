"""A run in a process of its own, for faults that need a real process: a real kill, two runs at once.

``python -m tests.faults.child SPEC -- reconcile-args...`` runs the command line's ``main`` with the write
faults of ``SPEC`` (JSON: a list of ``{"system", "nth", "effect", "keep"?, "meet"?}``) laid over every
system it opens. A kill here is ``os._exit`` (:data:`~tests.faults.inject.KILL_STATUS`): no ``finally``, no
``close``, no rollback runs, exactly as when cron's machine loses power.

``"effect": "meet"`` waits at that write until a second process has reached the same point (``meet`` names
the two marker files: this one's, then the other's), at most :data:`MEET_WAIT` seconds: two runs that both
read their snapshots and only then write, the interleaving that makes duplicates when nothing serialises them.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from reconcile.cli.main import main
from reconcile.systems.base import WriteOp, WriteResult
from tests.faults.inject import (
    DEATH,
    Write,
    WriteEffect,
    WriteRule,
    faulty_writes,
    kill_after_send,
    kill_before_send,
    kill_midway,
    seeded_ids,
)

MEET_WAIT = 1.0
IDS = "FAULTS_IDS"
"""The variable that seeds the GUIDs the child's systems make (:func:`~tests.faults.inject.seeded_ids`)."""


def meet(mine: Path, other: Path) -> WriteEffect:
    """Wait for the other process at this write (see the module docs), then write."""

    def effect(ops: Sequence[WriteOp], write: Write) -> list[WriteResult]:
        mine.touch()
        deadline = time.monotonic() + MEET_WAIT
        while not other.exists() and time.monotonic() < deadline:
            time.sleep(0.01)
        return write(ops)

    return effect


def effect_of(spec: dict[str, Any]) -> WriteEffect:
    name = spec["effect"]
    if name == "before":
        return kill_before_send()
    if name == "after":
        return kill_after_send()
    if name == "midway":
        return kill_midway(int(spec.get("keep", 1)))
    if name == "meet":
        mine, other = spec["meet"]
        return meet(Path(mine), Path(other))
    raise ValueError(f"no write effect {name!r}")


def run(argv: list[str]) -> int:
    spec, args = json.loads(argv[0]), argv[argv.index("--") + 1 :]
    DEATH.hard = True
    rules = [WriteRule(system=s["system"], effect=effect_of(s), nth=int(s["nth"])) for s in spec]
    with faulty_writes(rules), seeded_ids(os.environ.get(IDS, "")):
        return main(args)


if __name__ == "__main__":
    sys.exit(run(sys.argv[1:]))
