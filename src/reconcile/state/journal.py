"""The journal's writes: a create is written down before it is sent, and settled when its answer is known.

A create is journaled as ``pending`` with the canonical values it writes and, where its target has a field for
one, the identity stamp it carries; it becomes ``done`` in the transaction that records its link and shadows,
``failed`` when the system refused it, and ``resolved`` when a later run found it in the target. One that may
have happened without an answer stays ``pending`` for the next run to look for
(:mod:`reconcile.app.recover`). Each function works inside a transaction the caller holds.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Iterable
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any


class JournalState(StrEnum):
    """Where a journaled write stands: sent and waiting for its answer, or settled."""

    PENDING = "pending"
    DONE = "done"
    FAILED = "failed"
    RESOLVED = "resolved"
    """A pending create of a run that stopped, found in the target by the next run."""


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _hash(payload: str) -> str:
    return hashlib.sha256(payload.encode()).hexdigest()


def journal_pending(db: sqlite3.Connection, run_id: str, flow: str, entries: Iterable[dict[str, Any]]) -> list[int]:
    """Write entries as pending before they are sent; returns their journal ids."""
    now = _now()
    ids: list[int] = []
    for e in entries:
        payload = json.dumps(e["payload"], sort_keys=True, default=str)
        cursor = db.execute(
            "INSERT INTO journal (run_id, flow, mapping, row_id, system, entity, kind, source_id, target_id, "
            "payload, payload_hash, stamp_field, stamp, status, created_at, updated_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'pending', ?, ?)",
            (
                run_id,
                flow,
                e["mapping"],
                e["row_id"],
                e["system"],
                e["entity"],
                e["kind"],
                e.get("source_id"),
                e.get("target_id"),
                payload,
                _hash(payload),
                e.get("stamp_field"),
                e.get("stamp"),
                now,
                now,
            ),
        )
        assert cursor.lastrowid is not None
        ids.append(cursor.lastrowid)
    return ids


def journal_finish(
    db: sqlite3.Connection,
    journal_id: int,
    status: JournalState,
    error: str | None = None,
    target_id: str | None = None,
) -> None:
    db.execute(
        "UPDATE journal SET status = ?, error = ?, target_id = COALESCE(?, target_id), updated_at = ? WHERE id = ?",
        (status, error, target_id, _now(), journal_id),
    )


def journal_note(db: sqlite3.Connection, journal_id: int, error: str | None) -> None:
    """Note what a write that may have happened answered, leaving it pending for the next run to look for."""
    db.execute("UPDATE journal SET error = ?, updated_at = ? WHERE id = ?", (error, _now(), journal_id))
