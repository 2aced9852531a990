"""What reviewers decided: the decisions the state remembers, the reviews applied, the key that signs workbooks.

A decision is remembered with the content fingerprint of the row it settled: the engine marks a row of a
later plan as settled only while its fingerprint is the same, so a rejected change, a dismissed row or a kept
delete comes back the moment its record changes. "Not the same" holds for good, and "create new" until the
record is created.

The review key signs every line of a review workbook (:mod:`reconcile.report.sign`). It lives in the state
directory and never in a workbook: whoever edits a workbook cannot sign what they changed.
"""

from __future__ import annotations

import os
import secrets
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import polars as pl

from reconcile.atomic import PRIVATE, write_text_atomically
from reconcile.errors import StateError
from reconcile.model.plan import DECIDED_SCHEMA, REMEMBERED, ReviewDecision
from reconcile.state.store import StateStore

KEY_FILE = "review.key"

KEPT = (*REMEMBERED, ReviewDecision.NOT_SAME, ReviewDecision.CREATE_NEW)
"""Decisions the state keeps; the others are carried out once and leave nothing to remember."""


def decided(store: StateStore, flow: str) -> pl.DataFrame:
    """The remembered decisions of ``flow``, as the engine takes them (:data:`DECIDED_SCHEMA`)."""
    return store.frame(
        "SELECT mapping, row_id, source_id, target_id, decision, fingerprint FROM decisions WHERE flow = ? "
        "ORDER BY mapping, row_id",
        (flow,),
        DECIDED_SCHEMA,
    )


def remember(db: sqlite3.Connection, flow: str, rows: pl.DataFrame, run_id: str, user: str, host: str) -> None:
    """Record decisions (:data:`DECIDED_SCHEMA` columns) inside an open transaction.

    A remembered decision replaces the one before it for the same row; a decision carried out (approve,
    delete, ...) forgets what was remembered of its row, so an old reject cannot return if the row's content
    goes back to what it was.
    """
    now = datetime.now(UTC).isoformat(timespec="seconds")
    kept = rows.filter(pl.col("decision").is_in([d.value for d in KEPT]))
    done = rows.filter(~pl.col("decision").is_in([d.value for d in KEPT]))
    db.executemany("DELETE FROM decisions WHERE flow = ? AND row_id = ?", [(flow, r) for r in done["row_id"]])
    db.executemany(
        "INSERT OR REPLACE INTO decisions (flow, mapping, row_id, source_id, target_id, decision, fingerprint, "
        "run_id, user, host, decided_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [(flow, *values, run_id, user, host, now) for values in kept.select(list(DECIDED_SCHEMA)).iter_rows()],
    )


def applied_by(store: StateStore, plan_run_id: str) -> tuple[str, str] | None:
    """(the run that applied the review of plan ``plan_run_id``, the digest of its decisions), if one did."""
    found = store.frame(
        "SELECT apply_run_id, decisions FROM reviews WHERE plan_run_id = ?",
        (plan_run_id,),
        {"apply_run_id": pl.Utf8(), "decisions": pl.Utf8()},
    )
    return None if found.is_empty() else (str(found.item(0, 0)), str(found.item(0, 1)))


def reviews_of(store: StateStore, run_id: str) -> pl.DataFrame:
    """plan_run_id, apply_run_id of the reviews a run made or applied: what links an apply to its plan."""
    return store.frame(
        "SELECT plan_run_id, apply_run_id FROM reviews WHERE plan_run_id = ? OR apply_run_id = ?",
        (run_id, run_id),
        {"plan_run_id": pl.Utf8(), "apply_run_id": pl.Utf8()},
    )


def apply_runs(store: StateStore) -> set[str]:
    """The runs that applied a reviewed workbook (``runs list`` calls them applies, not nightly runs)."""
    return set(store.frame("SELECT apply_run_id FROM reviews", (), {"apply_run_id": pl.Utf8()})["apply_run_id"])


def record_review(db: sqlite3.Connection, plan_run_id: str, flow: str, apply_run_id: str, decisions: str) -> None:
    """Remember, inside an open transaction, that ``apply_run_id`` carried out the review of ``plan_run_id``
    (``decisions`` is the digest of what it carried out: the same workbook with other decisions is not the same)."""
    db.execute(
        "INSERT INTO reviews (plan_run_id, flow, apply_run_id, applied_at, decisions) VALUES (?, ?, ?, ?, ?)",
        (plan_run_id, flow, apply_run_id, datetime.now(UTC).isoformat(timespec="seconds"), decisions),
    )


def review_key(state_dir: Path, *, make: bool = True) -> bytes:
    """The key that signs this state's review workbooks; made (private to the user) when there is none yet."""
    path = state_dir / KEY_FILE
    if not path.exists():
        if not make:
            raise StateError(
                f"{path} is missing: the workbook cannot be checked against this state (check --state, or run "
                "`reconcile plan` again with this state and review the new workbook)"
            )
        state_dir.mkdir(parents=True, exist_ok=True)
        made = state_dir / f".{KEY_FILE}.{secrets.token_hex(4)}"
        write_text_atomically(made, secrets.token_hex(32) + "\n", mode=PRIVATE)
        try:
            # A hard link never replaces: of two runs making a key at once, the first one's key is the key.
            os.link(made, path)
        except FileExistsError:
            pass
        finally:
            made.unlink()
    try:
        text = path.read_text(encoding="ascii").strip()
        key = bytes.fromhex(text)
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise StateError(f"{path}: not a review key reconcile made ({exc})") from exc
    if len(key) != 32:
        raise StateError(f"{path}: not a review key reconcile made (it holds {len(key)} bytes, not 32)")
    return key
