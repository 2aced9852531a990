"""The state store: one SQLite file holding everything a run must remember, and naming the rest.

A flow's links and shadows (a million records make 15 million shadow values) are one Parquet file that the
table ``link_files`` names, with what changed since it as rows of ``links``, ``shadows`` and ``link_drops``
(:mod:`reconcile.state.columns`); :meth:`StateStore.links` and :meth:`StateStore.shadows` give them whole.
Tables (all reachable with plain SQL; ``reconcile links export`` writes the links out whole):

- ``links``: (flow, mapping, source_id, target_id, created_at, synced_at, shared), since the flow's file.
  Once made a link holds. A link is one to one unless ``shared``: a mapping whose target de-duplicates
  (``many_to_one``) may link several source records to one target record.
- ``shadows``: (flow, mapping, source_id, property, value), since the flow's file: the values both sides held
  after the last sync.
- ``unlinked``: (flow, mapping, source_id, unlinked_at): source records unlinked on purpose (``delete =
  "unlink"`` of a record deleted in the target), which are never created again.
- ``journal``: every write before it is sent (``pending``), and what became of it (``done`` / ``failed``),
  with the payload and its hash, and the identity stamp (field and value) a create carries where its system
  has a field for one. A create's link and shadows are recorded in the transaction that marks it
  done, so a run that died leaves ``pending`` rows that the next run resolves before creating anything.
- ``runs``: (run_id, flow, started_at, ended_at, dry_run, outcome, counts, report_dir).
- ``snapshot_counts``: records per system entity per run, to notice a snapshot that shrank.
- ``decisions``: what a reviewer decided that the state must remember (a reject, a dismissed row, a kept
  delete, "not the same"), with the row's content fingerprint: the row is not asked again until it changes.
- ``reviews``: which apply carried out the decisions of which plan, so that a workbook is applied once.
- ``locks``: one per (flow, target system), so that one flow never runs twice at once. Runs of different
  flows that write one system take turns on that system's lock file (:mod:`reconcile.state.locks`).

The tables themselves, and how an older state is brought up to them, are in :mod:`reconcile.state.schema`;
the journal's writes in :mod:`reconcile.state.journal`.
"""

from __future__ import annotations

import json
import os
import sqlite3
import tempfile
from collections.abc import Collection, Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl

from reconcile.errors import StateError
from reconcile.model.plan import Outcome
from reconcile.state import columns
from reconcile.state.schema import create_schema

STATE_FILE = "state.db"
STATE_DIR_ENV = "RECONCILE_STATE"


def open_state(state_dir: Path) -> StateStore:
    """The state store of ``state_dir`` (its ``state.db``), made when there is none yet."""
    return StateStore(state_dir / STATE_FILE)


def read_state(state_dir: Path) -> StateStore:
    """The state store of ``state_dir`` for a command that only reads it: a missing state is never made.

    A command that only shows what the state holds must not leave a new, empty state behind (a typo in
    ``--state`` would otherwise look like a state that holds nothing); it says there is none instead.
    """
    path = state_dir / STATE_FILE
    if not path.is_file():
        raise StateError(
            f"no state at {state_dir} ({path} does not exist); check --state or ${STATE_DIR_ENV}: "
            "the state is made by the first `reconcile run`"
        )
    return StateStore(path)


def default_state_dir() -> Path:
    """The state directory: ``$RECONCILE_STATE`` or ``.reconcile`` in the working directory."""
    return Path(os.environ.get(STATE_DIR_ENV, ".reconcile"))


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class StateStore:
    """The state of every flow, in one SQLite file."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._scratch = tempfile.TemporaryDirectory(prefix="reconcile-state-") if str(path) == ":memory:" else None
        self.folder = Path(self._scratch.name) if self._scratch is not None else path.parent
        """Where the link files are (:mod:`reconcile.state.columns`): beside the database."""
        if str(path) != ":memory:" and path.is_file() and path.stat().st_size == 0:
            # SQLite would take an empty file for a new database, and a run on a new state creates everything
            # again. Our own states are never empty: the first thing written is the header.
            raise StateError(
                f"{path} is empty (0 bytes): the state it held is lost. Restore it from a backup; to start "
                "over on purpose, delete the file (the next run is then a first sync and asks for --first-sync)"
            )
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(path, timeout=30, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.execute("PRAGMA foreign_keys=ON")
            create_schema(self._db)
            self._synced: dict[str, pl.DataFrame] = {}
            """Each flow's links and shadows as read, until this store writes again."""
            self._links: dict[str, pl.DataFrame] = {}  # each flow's links alone, read without their shadows
            self._files: dict[str, pl.DataFrame] = {}
            """The link file read last, by its name (a named file never changes)."""
            self._index: tuple[pl.DataFrame, columns.TargetIndex] | None = None
            """The one-to-one links of that file by target record."""
        except StateError as exc:
            self._db.close()
            raise StateError(f"{path}: {exc}") from None
        except sqlite3.DatabaseError as exc:
            raise StateError(f"{path}: not a usable state database: {exc}") from exc
        except OSError as exc:
            raise StateError(f"{path}: the state cannot be made there: {exc.strerror or exc}") from exc

    def close(self) -> None:
        self._db.close()
        if self._scratch is not None:
            self._scratch.cleanup()

    def __enter__(self) -> StateStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One atomic unit: everything inside is recorded together or not at all.

        A statement the database refuses ends the command with a :class:`StateError` naming the state and
        what was refused, never with a traceback; nothing of the unit is recorded.
        """
        self._synced.clear()
        self._links.clear()
        try:
            self._db.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as exc:
            raise StateError(f"{self.path}: the state cannot be written: {exc}") from exc
        try:
            yield self._db
            self._db.execute("COMMIT")
        except BaseException as exc:
            if self._db.in_transaction:
                self._db.execute("ROLLBACK")
            if isinstance(exc, sqlite3.Error):
                raise StateError(f"{self.path}: the state refused a change, and nothing of it was kept: {exc}") from exc
            raise

    # -- links and shadows -------------------------------------------------------------------------------

    def synced(self, flow: str) -> pl.DataFrame:
        """The flow's links with their shadows, wide (:mod:`reconcile.state.columns`); read once per command."""
        if flow not in self._synced:
            self._synced[flow] = columns.effective(self._base(self._db, flow).lazy(), self._db, flow).collect()
        return self._synced[flow]

    def _base(self, db: sqlite3.Connection, flow: str) -> pl.DataFrame:
        return columns.read_base(self.folder, db, flow, self._files)

    def _targets(self, db: sqlite3.Connection, flow: str) -> columns.TargetIndex:
        base = self._base(db, flow)
        if self._index is None or self._index[0] is not base:
            self._index = (base, columns.TargetIndex(base))
        return self._index[1]

    def links(self, flow: str) -> pl.DataFrame:
        """mapping, source_id, target_id of the flow's links (their shadows are not read)."""
        if flow not in self._links:
            held = self._synced.get(flow)
            read = columns.links_now(self.folder, self._db, flow) if held is None else held
            self._links[flow] = read.select("mapping", "source_id", "target_id")
        return self._links[flow]

    def shadow_scan(self, flow: str) -> pl.LazyFrame:
        """The flow's shadows as :meth:`shadows` has them, read only for the pairs a plan asks about."""
        return columns.shadows_now(self.folder, self._db, flow)

    def shadows(self, flow: str) -> pl.DataFrame:
        """The flow's shadows, wide (:mod:`reconcile.model.shadows`): mapping, source_id, value and kept columns."""
        return columns.shadows_of(self.synced(flow))

    def record_agreement(
        self,
        flow: str,
        merges: pl.DataFrame,
        moves: pl.DataFrame,
        agreed: pl.DataFrame,
        shared: Collection[str] = (),
    ) -> None:
        """Fold links moved (mapping, from_source_id, source_id), links made by merge rules (mapping, source_id,
        target_id) and the values both sides agree on (wide) into the flow's link file, with every change
        recorded since the last one: all of it or, when anything fails, none (:mod:`reconcile.state.columns`)."""
        with self.transaction() as db:
            current = columns.effective(self._base(db, flow).lazy(), db, flow).collect()
            folded = columns.compact(current, merges, moves, agreed, shared, _now())
            columns.write(self.folder, db, flow, folded)
        with self.transaction() as db:
            columns.sweep(self.folder, db)
        self._synced[flow] = folded

    def add_links(
        self,
        db: sqlite3.Connection,
        flow: str,
        rows: Iterable[tuple[str, str, str]],
        shared: Collection[str] = (),
    ) -> None:
        """Record (mapping, source_id, target_id) links inside an open transaction.

        A link of a mapping named in ``shared`` may share its target record with other links of its mapping
        (the target de-duplicates what it is sent); any other link is one to one: a target record another
        source record holds is refused with a :class:`StateError`, and nothing of the transaction is kept.
        """
        now = _now()
        rows = list(rows)
        clashes = columns.clashes(self._targets(db, flow), db, flow, [r for r in rows if r[0] not in shared])
        if clashes:
            raise StateError(f"{self.path}: the state refused a change, and nothing of it was kept: {clashes[0]}")
        db.executemany(
            "INSERT INTO links (flow, mapping, source_id, target_id, created_at, synced_at, shared) "
            "VALUES (?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (flow, mapping, source_id) "
            "DO UPDATE SET target_id = excluded.target_id, synced_at = excluded.synced_at, shared = excluded.shared",
            [(flow, m, s, t, now, now, int(m in shared)) for m, s, t in rows],
        )

    @staticmethod
    def remove_links(db: sqlite3.Connection, flow: str, rows: Iterable[tuple[str, str]]) -> None:
        """Forget (mapping, source_id) links and their shadows inside an open transaction."""
        pairs = [(flow, m, s) for m, s in rows]
        db.executemany("DELETE FROM links WHERE flow = ? AND mapping = ? AND source_id = ?", pairs)
        db.executemany("DELETE FROM shadows WHERE flow = ? AND mapping = ? AND source_id = ?", pairs)
        db.executemany("INSERT OR IGNORE INTO link_drops (flow, mapping, source_id) VALUES (?, ?, ?)", pairs)

    @staticmethod
    def set_shadows(db: sqlite3.Connection, flow: str, rows: Iterable[tuple[str, str, str, str | None]]) -> None:
        """Record (mapping, source_id, property, value) shadows inside an open transaction."""
        db.executemany(
            "INSERT INTO shadows (flow, mapping, source_id, property, value) VALUES (?, ?, ?, ?, ?) "
            "ON CONFLICT (flow, mapping, source_id, property) DO UPDATE SET value = excluded.value",
            [(flow, m, s, p, v) for m, s, p, v in rows],
        )

    @staticmethod
    def mark_unlinked(db: sqlite3.Connection, flow: str, rows: Iterable[tuple[str, str]]) -> None:
        """Remember (mapping, source_id) as unlinked on purpose inside an open transaction."""
        now = _now()
        db.executemany(
            "INSERT OR IGNORE INTO unlinked (flow, mapping, source_id, unlinked_at) VALUES (?, ?, ?, ?)",
            [(flow, m, s, now) for m, s in rows],
        )

    def unlinked(self, flow: str) -> pl.DataFrame:
        """mapping, source_id of the source records unlinked on purpose: the engine creates none of them again."""
        rows = self._db.execute("SELECT mapping, source_id FROM unlinked WHERE flow = ?", (flow,)).fetchall()
        return pl.DataFrame(rows, schema={"mapping": pl.Utf8, "source_id": pl.Utf8}, orient="row")

    # -- journal -----------------------------------------------------------------------------------------

    def pending(self, flow: str) -> list[dict[str, Any]]:
        """Writes a run that died left unresolved, oldest first."""
        cursor = self._db.execute(
            "SELECT id, run_id, mapping, row_id, system, entity, kind, source_id, target_id, payload, "
            "stamp_field, stamp FROM journal WHERE flow = ? AND status = 'pending' ORDER BY id",
            (flow,),
        )
        names = [d[0] for d in cursor.description]
        out = []
        for values in cursor.fetchall():
            entry = dict(zip(names, values, strict=True))
            entry["payload"] = json.loads(entry["payload"])
            out.append(entry)
        return out

    def journal(self, flow: str | None = None) -> pl.DataFrame:
        query = (
            "SELECT id, run_id, flow, mapping, row_id, kind, source_id, target_id, status, error, updated_at "
            "FROM journal"
        )
        rows = self._db.execute(query + (" WHERE flow = ?" if flow else "") + " ORDER BY id", (flow,) if flow else ())
        names = [d[0] for d in rows.description]
        return pl.DataFrame(rows.fetchall(), schema=names, orient="row")

    # -- runs --------------------------------------------------------------------------------------------

    def start_run(self, run_id: str, flow: str, dry_run: bool, report_dir: str) -> None:
        with self.transaction() as db:
            db.execute(
                "INSERT INTO runs (run_id, flow, started_at, dry_run, report_dir) VALUES (?, ?, ?, ?, ?)",
                (run_id, flow, _now(), int(dry_run), report_dir),
            )

    def end_run(self, run_id: str, outcome: Outcome, counts: dict[str, Any]) -> None:
        with self.transaction() as db:
            db.execute(
                "UPDATE runs SET ended_at = ?, outcome = ?, counts = ? WHERE run_id = ?",
                (_now(), outcome, json.dumps(counts, sort_keys=True), run_id),
            )

    def runs(self, flow: str | None = None) -> pl.DataFrame:
        query = "SELECT run_id, flow, started_at, ended_at, dry_run, outcome, report_dir FROM runs"
        rows = self._db.execute(
            query + (" WHERE flow = ?" if flow else "") + " ORDER BY started_at, run_id",
            (flow,) if flow else (),
        )
        names = [d[0] for d in rows.description]
        return pl.DataFrame(rows.fetchall(), schema=names, orient="row")

    def run(self, run_id: str) -> dict[str, Any] | None:
        cursor = self._db.execute("SELECT * FROM runs WHERE run_id = ?", (run_id,))
        values = cursor.fetchone()
        return None if values is None else dict(zip([d[0] for d in cursor.description], values, strict=True))

    def record_counts(self, run_id: str, flow: str, counts: dict[tuple[str, str], int]) -> None:
        with self.transaction() as db:
            db.executemany(
                "INSERT OR REPLACE INTO snapshot_counts (run_id, flow, system, entity, records) VALUES (?, ?, ?, ?, ?)",
                [(run_id, flow, s, e, n) for (s, e), n in counts.items()],
            )

    def last_counts(self, flow: str) -> dict[tuple[str, str], int]:
        """Records per entity in the last completed, applied run of ``flow``."""
        row = self._db.execute(
            "SELECT run_id FROM runs WHERE flow = ? AND dry_run = 0 "
            "AND outcome IN ('in_sync', 'applied', 'review', 'failed_writes') "
            "ORDER BY started_at DESC, run_id DESC LIMIT 1",
            (flow,),
        ).fetchone()
        if row is None:
            return {}
        rows = self._db.execute("SELECT system, entity, records FROM snapshot_counts WHERE run_id = ?", (row[0],))
        return {(s, e): n for s, e, n in rows.fetchall()}

    def frame(self, query: str, params: tuple[Any, ...], schema: dict[str, pl.DataType]) -> pl.DataFrame:
        """The rows of a read-only query as a frame of ``schema`` (the query selects its columns in order)."""
        return pl.DataFrame(self._db.execute(query, params).fetchall(), schema=schema, orient="row")

    # -- meta ----------------------------------------------------------------------------------------------

    def meta(self, key: str) -> str | None:
        row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    @staticmethod
    def set_meta(db: sqlite3.Connection, key: str, value: str) -> None:
        db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))

    # -- locks -------------------------------------------------------------------------------------------

    @contextmanager
    def lock(self, flow: str, target: str, run_id: str) -> Iterator[None]:
        """Hold the (flow, target) lock; a lock left by a process that died is taken over."""
        with self.transaction() as db:
            held = db.execute("SELECT run_id, pid FROM locks WHERE flow = ? AND target = ?", (flow, target)).fetchone()
            if held is not None and held[1] != os.getpid() and pid_alive(held[1]):
                raise StateError(
                    f"flow {flow} is already running against {target} (run {held[0]}, process {held[1]}); "
                    "wait for it to finish"
                )
            db.execute(
                "INSERT OR REPLACE INTO locks (flow, target, run_id, pid, acquired_at) VALUES (?, ?, ?, ?, ?)",
                (flow, target, run_id, os.getpid(), _now()),
            )
        try:
            yield
        finally:
            with self.transaction() as db:
                db.execute("DELETE FROM locks WHERE flow = ? AND target = ? AND run_id = ?", (flow, target, run_id))

    def export_links(self, flow: str | None = None) -> pl.DataFrame:
        """flow, mapping, source_id, target_id, created_at, synced_at of every link (of ``flow``, or of all)."""
        if flow is None:
            query = "SELECT flow FROM link_files UNION SELECT flow FROM links ORDER BY flow"
            flows = [row[0] for row in self._db.execute(query)]
        else:
            flows = [flow]
        parts = [
            self.synced(name).select(
                pl.lit(name).alias("flow"), "mapping", "source_id", "target_id", "created_at", "synced_at"
            )
            for name in flows
        ]
        schema = {"flow": pl.Utf8, **{c: t for c, t in columns.LINK_COLUMNS.items() if c != "shared"}}
        return pl.concat(parts).sort("flow", "mapping", "source_id") if parts else pl.DataFrame(schema=schema)
