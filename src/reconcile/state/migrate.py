"""Bring a state that an earlier reconcile wrote up to the current schema, in place, inside the caller's transaction.

The version is SQLite's ``user_version``. Version 0 (every state before issue 9): links were one to one by a
table constraint, and journal entries held no identity stamp. Version 2: a link may share its target record
with other links of its mapping (``shared``, for mappings whose target de-duplicates), one to one is held by
a partial unique index instead; a journal entry carries the identity stamp its create was sent with.
"""

from __future__ import annotations

import sqlite3

SCHEMA_VERSION = 2

_LINKS_V2 = """
CREATE TABLE links_v2 (
    flow TEXT NOT NULL, mapping TEXT NOT NULL, source_id TEXT NOT NULL, target_id TEXT NOT NULL,
    created_at TEXT NOT NULL, synced_at TEXT NOT NULL, shared INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (flow, mapping, source_id)
)
"""


def _columns(db: sqlite3.Connection, table: str) -> set[str]:
    return {row[1] for row in db.execute(f"PRAGMA table_info({table})")}


def migrate(db: sqlite3.Connection) -> None:
    """Rewrite the tables of an older schema; a new or current state is left as it is."""
    if db.execute("PRAGMA user_version").fetchone()[0] >= SCHEMA_VERSION:
        return
    tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    if "links" in tables and "shared" not in _columns(db, "links"):
        # SQLite cannot drop a table constraint: the table is copied into one without it.
        db.execute(_LINKS_V2)
        db.execute(
            "INSERT INTO links_v2 (flow, mapping, source_id, target_id, created_at, synced_at) "
            "SELECT flow, mapping, source_id, target_id, created_at, synced_at FROM links"
        )
        db.execute("DROP TABLE links")
        db.execute("ALTER TABLE links_v2 RENAME TO links")
    if "journal" in tables:
        missing = [c for c in ("stamp_field", "stamp") if c not in _columns(db, "journal")]
        for column in missing:
            db.execute(f"ALTER TABLE journal ADD COLUMN {column} TEXT")
