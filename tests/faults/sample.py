"""The seeded sample of the suite that ``make test`` runs: about thirty trials, every kind, mostly small worlds.

A kind's world is drawn from its seed (``seed % len(kind.worlds)``): seed 0 of a kill falls on the files
world, 1 on the REST world, 2 on PowerOffice -> Exact, 3 on Exact -> PowerOffice; seed 0 of a network fault
on the REST world, 1 and 2 on the built-in systems. The sample leans on the files and REST worlds, which take
a third of a second a trial, and keeps a few of the slower built-in and real-process ones.
Each pair replays with ``python -m tests.faults --kind KIND --seed SEED``.
"""

from __future__ import annotations

CRASHES: dict[str, tuple[int, ...]] = {
    "kill-before-send": (0, 1, 8),
    "kill-after-send": (0, 5, 8),
    "kill-mid-batch": (0, 9, 12),
    "kill-process": (0,),
    "kill-in-flush": (1, 3),
}
NETWORK: dict[str, tuple[int, ...]] = {
    "lost-answer": (0, 1, 3),
    "rate-limit": (0, 3),
    "server-error": (0, 3),
    "timeout": (0, 3),
    "token-expiry": (1,),
    "truncated-page": (0, 2),
    "spent-limit": (1,),
}
GROUND: dict[str, tuple[int, ...]] = {
    "lost-state": (0, 1, 2),
    "missing-data": (0, 1, 3),
    "two-flows": (0,),
}


def pairs(*groups: dict[str, tuple[int, ...]]) -> list[tuple[str, int]]:
    """(kind, seed) pairs of ``groups``, in order."""
    return [(kind, seed) for group in groups for kind, seeds in group.items() for seed in seeds]
