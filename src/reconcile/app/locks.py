"""Where a run locks each system it may write, so that every other writer of that system meets it there.

A folder of files (a files system) is locked by a file in the folder itself, ``.reconcile.lock``. Two
processes that rewrite one entity file lose each other's records whatever state directory each keeps, so
all writers of the folder must meet on the lock, and the folder is the one place they all know.

Any other system is locked in the state directory, by a file named after its connection (the table of the
connections file; the sandbox when it has none). Runs that share a state meet there, whatever a flow calls
the system. Runs with different states of one API do not, and need not for the records' sake: the API takes
one write at a time. What they would do to each other (each creating the records the other made) is no
matter of timing that a lock could settle; the first-sync guard stops it.
"""

from __future__ import annotations

import hashlib
import json

from reconcile.model.flow import Flow
from reconcile.state.locks import SystemLock
from reconcile.systems.base import FolderSystem
from reconcile.systems.files.connector import SHARED
from reconcile.systems.registry import Systems

LOCK_FILE = ".reconcile.lock"
"""The lock file in a files system's folder."""


def writes_source(flow: Flow) -> bool:
    """Whether a run of ``flow`` may write its source too: a property that syncs back, or deletes propagated."""
    return any(m.delete == "propagate" or any(p.syncs_back for p in m.properties) for m in flow.mappings)


def system_lock(name: str, systems: Systems) -> SystemLock:
    """The lock of system ``name`` (see the module docs for where it lives)."""
    system = systems.open(name)
    if isinstance(system, FolderSystem) and system.folder.is_dir():
        return SystemLock(name, system.folder / LOCK_FILE, mode=SHARED)
    connection = systems.connections.get(name)
    identity = (
        json.dumps({k: v for k, v in connection.items() if k != "_file"}, sort_keys=True, default=str)
        if connection is not None
        else f"the sandbox of {name}"
    )
    digest = hashlib.sha256(identity.encode()).hexdigest()[:12]
    return SystemLock(name, systems.state_dir / "locks" / f"{name}-{digest}.lock")


def writer_locks(flow: Flow, systems: Systems) -> list[SystemLock]:
    """The locks a run of ``flow`` holds while it reads, plans and writes."""
    names = [flow.target, flow.source] if writes_source(flow) else [flow.target]
    return [system_lock(name, systems) for name in dict.fromkeys(names)]
