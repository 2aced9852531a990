"""The locks a run holds on the systems it writes, so that two runs never write one system at once.

Two flows that write one system would otherwise interleave: each plans against a snapshot the other is
changing, and two processes that rewrite one entity file of a folder lose each other's records. A run
therefore holds, from before it reads until its writes are settled, a lock on every system it may write.

A lock is an advisory lock (``flock``) on a lock file. The operating system drops it when its process ends,
however it ends, so a run that was killed never leaves a stale lock behind, and a run that finds a system
locked waits for the other run to finish (up to a bound), then goes on. Where the lock file lives decides
who meets on it: the application puts it where every writer of the system looks
(:mod:`reconcile.app.locks`).
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from reconcile.errors import StateError
from reconcile.model.clock import Clock

POLL = 0.5
"""Seconds between two looks at a lock another run holds."""


@dataclass(frozen=True)
class SystemLock:
    """The lock file of one system, and the name the messages give the system."""

    system: str
    path: Path
    mode: int = 0o600
    """The mode of a new lock file; one in a folder other programs share is readable by them."""


@contextmanager
def hold_systems(
    locks: Sequence[SystemLock],
    run_id: str,
    *,
    wait: float,
    clock: Clock,
    waiting: Callable[[str], None] = lambda message: None,
) -> Iterator[None]:
    """Hold every lock of ``locks`` until the block ends, waiting up to ``wait`` seconds for each.

    They are taken in the order of their files, so that two runs that both need two systems never wait on
    each other crosswise. ``waiting`` hears once, for each lock another run holds, who holds it.
    """
    with ExitStack() as stack:
        for lock in sorted(set(locks), key=lambda lock: str(lock.path)):
            stack.enter_context(_hold(lock, run_id, wait, clock, waiting))
        yield


def _duration(seconds: float) -> str:
    return f"{seconds / 60:.0f} minutes" if seconds >= 120 else f"{seconds:.0f} seconds"


def _holder(path: Path) -> str:
    try:
        text = path.read_text(encoding="utf-8").strip()
    except OSError:
        text = ""
    return text or "a run that has just started"


@contextmanager
def _hold(lock: SystemLock, run_id: str, wait: float, clock: Clock, waiting: Callable[[str], None]) -> Iterator[None]:
    try:
        lock.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(lock.path, os.O_RDWR | os.O_CREAT, lock.mode)
    except OSError as exc:
        raise StateError(f"cannot open the lock file of {lock.system}, {lock.path}: {exc.strerror or exc}") from exc
    try:
        deadline = clock.now() + wait
        told = False
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                holder = _holder(lock.path)
                if clock.now() >= deadline:
                    raise StateError(
                        f"{lock.system} is being written by another run ({holder}), and it did not finish within "
                        f"{_duration(wait)}; nothing was read or written. Run again when it has finished "
                        f"(the lock file is {lock.path})"
                    ) from None
                if not told:
                    waiting(f"{lock.system} is being written by another run ({holder}); waiting for it to finish")
                    told = True
                clock.sleep(POLL)
        os.ftruncate(fd, 0)
        since = datetime.now(UTC).isoformat(timespec="seconds")
        os.pwrite(fd, f"run {run_id}, process {os.getpid()}, since {since}".encode(), 0)
        yield
    finally:
        os.close(fd)  # closing the file releases the lock
