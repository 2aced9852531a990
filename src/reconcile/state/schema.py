"""The tables of the state, and how a state an earlier reconcile wrote is brought up to them, in place.

The version is SQLite's ``user_version``. Version 0 (every state before issue 9): links were one to one by a
table constraint, and journal entries held no identity stamp. Version 2: a link may share its target record
with other links of its mapping (``shared``, for mappings whose target de-duplicates), one to one is held by
a partial unique index instead; a journal entry carries the identity stamp its create was sent with.
Version 3 adds the reviewers' remembered decisions (``decisions``) and which plan each review applied
(``reviews``): new tables only, so an older state gains them as it is opened. Version 4 keeps a flow's links
and shadows in a Parquet file that ``link_files`` names, with ``links``, ``shadows`` and ``link_drops`` holding
what changed since (:mod:`reconcile.state.columns`): an older state's rows are such changes, with no file
yet, and are folded into one by its next run.
"""

from __future__ import annotations

import sqlite3

from reconcile.errors import StateError

SCHEMA_VERSION = 4

SCHEMA = """
CREATE TABLE IF NOT EXISTS links (
    flow TEXT NOT NULL, mapping TEXT NOT NULL, source_id TEXT NOT NULL, target_id TEXT NOT NULL,
    created_at TEXT NOT NULL, synced_at TEXT NOT NULL, shared INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (flow, mapping, source_id)
);
CREATE UNIQUE INDEX IF NOT EXISTS links_one_to_one ON links (flow, mapping, target_id) WHERE shared = 0;
CREATE TABLE IF NOT EXISTS unlinked (
    flow TEXT NOT NULL, mapping TEXT NOT NULL, source_id TEXT NOT NULL, unlinked_at TEXT NOT NULL,
    PRIMARY KEY (flow, mapping, source_id)
);
CREATE TABLE IF NOT EXISTS shadows (
    flow TEXT NOT NULL, mapping TEXT NOT NULL, source_id TEXT NOT NULL, property TEXT NOT NULL, value TEXT,
    PRIMARY KEY (flow, mapping, source_id, property)
);
CREATE TABLE IF NOT EXISTS link_files (
    flow TEXT PRIMARY KEY, file TEXT NOT NULL, records INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS link_drops (
    flow TEXT NOT NULL, mapping TEXT NOT NULL, source_id TEXT NOT NULL,
    PRIMARY KEY (flow, mapping, source_id)
);
CREATE TABLE IF NOT EXISTS journal (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id TEXT NOT NULL, flow TEXT NOT NULL, mapping TEXT NOT NULL, row_id TEXT NOT NULL,
    system TEXT NOT NULL, entity TEXT NOT NULL, kind TEXT NOT NULL,
    source_id TEXT, target_id TEXT, payload TEXT NOT NULL, payload_hash TEXT NOT NULL,
    stamp_field TEXT, stamp TEXT,
    status TEXT NOT NULL CHECK (status IN ('pending', 'done', 'failed', 'resolved')),
    error TEXT, created_at TEXT NOT NULL, updated_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS journal_status ON journal (flow, status);
CREATE TABLE IF NOT EXISTS runs (
    run_id TEXT PRIMARY KEY, flow TEXT NOT NULL, started_at TEXT NOT NULL, ended_at TEXT,
    dry_run INTEGER NOT NULL, outcome TEXT, counts TEXT, report_dir TEXT
);
CREATE TABLE IF NOT EXISTS snapshot_counts (
    run_id TEXT NOT NULL, flow TEXT NOT NULL, system TEXT NOT NULL, entity TEXT NOT NULL, records INTEGER NOT NULL,
    PRIMARY KEY (run_id, system, entity)
);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS decisions (
    flow TEXT NOT NULL, mapping TEXT NOT NULL, row_id TEXT NOT NULL, source_id TEXT, target_id TEXT,
    decision TEXT NOT NULL, fingerprint TEXT NOT NULL, run_id TEXT NOT NULL, user TEXT NOT NULL,
    host TEXT NOT NULL, decided_at TEXT NOT NULL,
    PRIMARY KEY (flow, row_id)
);
CREATE TABLE IF NOT EXISTS reviews (
    plan_run_id TEXT PRIMARY KEY, flow TEXT NOT NULL, apply_run_id TEXT NOT NULL, applied_at TEXT NOT NULL,
    decisions TEXT NOT NULL DEFAULT ''
);
CREATE TABLE IF NOT EXISTS locks (
    flow TEXT NOT NULL, target TEXT NOT NULL, run_id TEXT NOT NULL, pid INTEGER NOT NULL, acquired_at TEXT NOT NULL,
    PRIMARY KEY (flow, target)
);
"""

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


def create_schema(db: sqlite3.Connection) -> None:
    """Make the tables a state needs, migrating an older state first; one transaction, all or nothing."""
    db.execute("BEGIN IMMEDIATE")
    try:
        version = db.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            # An older reconcile would read a newer state wrongly (links it does not know where to find are
            # links it does not have): it refuses, and leaves the state as it is.
            raise StateError(
                f"the state was written by a newer reconcile (state schema {version}; this one knows up to "
                f"{SCHEMA_VERSION}): upgrade reconcile to use it"
            )
        migrate(db)
        for statement in SCHEMA.split(";"):
            if statement.strip():
                db.execute(statement)
        db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")
