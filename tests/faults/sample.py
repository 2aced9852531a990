"""The seeded sample of the suite that ``make test`` runs: one trial of every kind, mostly small worlds.

A kind's world is drawn from its seed (``seed % len(kind.worlds)``): seed 0 of a kill falls on the files
world, 1 on the REST world, 2 on PowerOffice -> Exact, 3 on Exact -> PowerOffice; seed 0 of a network fault
on the REST world, 1 and 2 on the built-in systems. One trial a kind shows that every kind of fault is
survived; the seeds are picked so that every world is in the sample too (the files and REST worlds take a
third of a second a trial, the built-in ones and the real processes a few seconds). ``make faults`` runs
hundreds of trials of each kind. Each pair replays with ``python -m tests.faults --kind KIND --seed SEED``.
"""

from __future__ import annotations

CRASHES: dict[str, tuple[int, ...]] = {
    "kill-before-send": (8,),
    "kill-after-send": (5,),
    "kill-mid-batch": (0,),
    "kill-process": (0,),
    "kill-in-flush": (1,),
}
NETWORK: dict[str, tuple[int, ...]] = {
    "lost-answer": (1,),
    "rate-limit": (0,),
    "server-error": (3,),
    "timeout": (3,),
    "token-expiry": (1,),
    "truncated-page": (0,),
    "spent-limit": (1,),
}
GROUND: dict[str, tuple[int, ...]] = {
    "lost-state": (1,),
    "missing-data": (3,),
    "two-flows": (0,),
}


def pairs(*groups: dict[str, tuple[int, ...]]) -> list[tuple[str, int]]:
    """(kind, seed) pairs of ``groups``, in order."""
    return [(kind, seed) for group in groups for kind, seeds in group.items() for seed in seeds]
