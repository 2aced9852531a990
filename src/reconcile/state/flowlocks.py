"""A flow's lock in the state, released by hand (``reconcile unlock FLOW``).

A run holds its flow's lock against its target in the state while it writes (:meth:`StateStore.lock`). A run
that died leaves its row behind; the next run takes it over when the process is gone. When the process id
now belongs to another process (after a reboot, say), the lock looks held: a person who knows no run is going
on releases it. A lock whose process is alive is released only when the person says so (``force``): releasing
the lock of a run that still writes would let a second run write beside it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import polars as pl

from reconcile.errors import StateError
from reconcile.state.store import StateStore, pid_alive


@dataclass(frozen=True)
class HeldLock:
    """A flow's lock against one target: the run that took it, its process and when."""

    target: str
    run_id: str
    pid: int
    acquired_at: str

    def words(self) -> str:
        return f"against {self.target}, taken by run {self.run_id} (process {self.pid}) at {self.acquired_at}"


def held_locks(store: StateStore, flow: str) -> list[HeldLock]:
    """The locks ``flow`` holds in the state, by target."""
    rows = store.frame(
        "SELECT target, run_id, pid, acquired_at FROM locks WHERE flow = ? ORDER BY target",
        (flow,),
        {"target": pl.Utf8(), "run_id": pl.Utf8(), "pid": pl.Int64(), "acquired_at": pl.Utf8()},
    )
    return [HeldLock(str(t), str(r), int(p), str(a)) for t, r, p, a in rows.iter_rows()]


def release(store: StateStore, flow: str, *, force: bool = False) -> list[HeldLock]:
    """Release every lock ``flow`` holds; the locks released. A lock whose process is alive is released only
    with ``force``; without it, a StateError names the process and nothing is released."""
    held = held_locks(store, flow)
    alive = [lock for lock in held if lock.pid != os.getpid() and pid_alive(lock.pid)]
    if alive and not force:
        lock = alive[0]
        raise StateError(
            f"flow {flow}'s lock {lock.words()}: process {lock.pid} is running; if it is no run of reconcile "
            "(its id was reused, after a reboot say), release the lock with --force"
        )
    with store.transaction() as db:
        db.execute("DELETE FROM locks WHERE flow = ?", (flow,))
    return held
