"""The state store: a state an earlier reconcile wrote still opens, and what the database refuses is an error."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from reconcile.errors import StateError
from reconcile.state.store import StateStore, read_state

OLD_SCHEMA = """
CREATE TABLE links (
    flow TEXT NOT NULL, mapping TEXT NOT NULL, source_id TEXT NOT NULL, target_id TEXT NOT NULL,
    created_at TEXT NOT NULL, synced_at TEXT NOT NULL,
    PRIMARY KEY (flow, mapping, source_id),
    UNIQUE (flow, mapping, target_id)
);
CREATE TABLE journal (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id TEXT NOT NULL, flow TEXT NOT NULL, mapping TEXT NOT NULL, row_id TEXT NOT NULL,
    system TEXT NOT NULL, entity TEXT NOT NULL, kind TEXT NOT NULL,
    source_id TEXT, target_id TEXT, payload TEXT NOT NULL, payload_hash TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('pending', 'done', 'failed', 'resolved')),
    error TEXT, created_at TEXT NOT NULL, updated_at TEXT NOT NULL
);
INSERT INTO links VALUES ('f', 'addresses', '1', 'a1', '2026-01-01', '2026-01-01');
INSERT INTO journal (run_id, flow, mapping, row_id, system, entity, kind, source_id, payload, payload_hash, status,
    created_at, updated_at) VALUES ('r', 'f', 'addresses', 'x', 'exact', 'Addresses', 'create', '2', '{}', 'h',
    'pending', '2026-01-01', '2026-01-01');
"""


def test_a_state_written_before_links_could_be_shared_opens_and_keeps_its_links(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    with sqlite3.connect(path) as db:
        db.executescript(OLD_SCHEMA)
    with StateStore(path) as store:
        assert store.links("f").rows() == [("addresses", "1", "a1")]
        assert [(p["source_id"], p["stamp"]) for p in store.pending("f")] == [("2", None)]
        with store.transaction() as db:
            store.add_links(db, "f", [("addresses", "2", "a1")], shared={"addresses"})
        assert sorted(store.links("f")["source_id"]) == ["1", "2"]
        with pytest.raises(StateError, match="UNIQUE constraint failed"), store.transaction() as db:
            store.add_links(db, "f", [("addresses", "3", "a1")])  # one to one: refused, nothing kept
        assert store.links("f").height == 2


def test_a_change_the_database_refuses_is_a_state_error_and_nothing_of_it_is_kept(tmp_path: Path) -> None:
    with StateStore(tmp_path / "state.db") as store:
        with pytest.raises(StateError, match=r"state\.db: the state refused a change"), store.transaction() as db:
            store.add_links(db, "f", [("m", "1", "t1"), ("m", "2", "t1")])
        assert store.links("f").is_empty()


def test_reading_a_state_that_is_not_there_says_so_and_makes_none(tmp_path: Path) -> None:
    with pytest.raises(StateError, match=r"no state at .*state\.db does not exist.*--state"):
        read_state(tmp_path / "nowhere")
    assert not (tmp_path / "nowhere").exists()


def test_a_state_a_newer_reconcile_wrote_is_refused_and_left_as_it_is(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    StateStore(path).close()
    with sqlite3.connect(path) as db:
        db.execute("PRAGMA user_version = 99")
    newer = r"state\.db: the state was written by a newer reconcile \(state schema 99; this one knows up to"
    with pytest.raises(StateError, match=newer):
        StateStore(path)
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == 99
