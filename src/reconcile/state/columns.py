"""Links and shadows as columns: a Parquet file per flow, with the changes since it in SQLite.

A night of a million records agrees on 15 million shadow values. Held as SQLite rows they took minutes to
record and seconds to load; held as one wide Parquet file per flow (:mod:`reconcile.model.shadows`: a row per
link with its target id, its times and a value and kept column per property) they are written and read in a
second or two. SQLite stays the one source of truth and the one place a run commits:

- the table ``link_files`` names the flow's current file (under ``links/`` in the state directory);
- the tables ``links`` and ``shadows`` hold what changed since it was written, row by row, as creates and
  updates succeed (each in the transaction that settles its journal entry, as before); ``link_drops`` names
  the links of the file that were removed since.

A flow's state is the file with the changes laid over it (:func:`effective`). Once a run has worked out what
both sides agree on, it folds everything into a new file (:func:`compact`): the file is written beside the
old one under a new name and synced, and one SQLite transaction names it and clears the changes it took in.
A crash before that commit leaves the old file and the changes, as they were; after it, the new file. A file
that no committed row names (left by a crash) is removed by the next fold of its flow, which holds the
database's write lock, so that no other fold is between writing its file and committing it.
"""

from __future__ import annotations

import hashlib
import sqlite3
import uuid
from collections.abc import Collection
from pathlib import Path

import polars as pl
import polars.selectors as cs

from reconcile.atomic import write_atomically
from reconcile.errors import StateError
from reconcile.model import shadows as wide

FOLDER = "links"
"""The folder of the state directory that holds the flows' link files."""

LINK_COLUMNS = {
    "mapping": pl.Utf8,
    "source_id": pl.Utf8,
    "target_id": pl.Utf8,
    "created_at": pl.Utf8,
    "synced_at": pl.Utf8,
    "shared": pl.Boolean,
}
"""The columns of a link; a link file has these, then the shadow columns."""

KEY = ["mapping", "source_id"]


def empty_links() -> pl.DataFrame:
    return pl.DataFrame(schema=LINK_COLUMNS)


def file_name(flow: str) -> str:
    """A new file name for ``flow``'s links: a digest of the flow's name (any text may name a flow) and a
    generation of its own, so that a new file never replaces the one the database names."""
    digest = hashlib.sha256(flow.encode()).hexdigest()[:16]
    return f"{FOLDER}/{digest}.{uuid.uuid4().hex[:12]}.parquet"


def read_base(
    folder: Path, db: sqlite3.Connection, flow: str, cache: dict[str, pl.DataFrame] | None = None
) -> pl.DataFrame:
    """The flow's link file as the database names it (no links when it names none).

    ``cache`` (file name -> frame) keeps files read before: a file is never changed once named.
    """
    cache = {} if cache is None else cache
    for _ in range(3):
        row = db.execute("SELECT file FROM link_files WHERE flow = ?", (flow,)).fetchone()
        if row is None:
            return empty_links()
        if row[0] in cache:
            return cache[row[0]]
        try:
            frame = pl.read_parquet(folder / row[0])
            cache.clear()
            cache[row[0]] = frame
            return frame
        except FileNotFoundError:
            continue  # a fold committed a newer file between the two reads: read the newer one
        except (OSError, pl.exceptions.PolarsError) as exc:
            raise StateError(f"{folder / row[0]}: the links of flow {flow} cannot be read: {exc}") from exc
    raise StateError(f"{folder}: the link file of flow {flow} is missing: restore the state directory from a backup")


def _changes(db: sqlite3.Connection, flow: str) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """The links, the dropped links and the shadows changed since the flow's file."""
    links = pl.DataFrame(
        db.execute(
            "SELECT mapping, source_id, target_id, created_at, synced_at, shared FROM links WHERE flow = ?", (flow,)
        ).fetchall(),
        schema={**LINK_COLUMNS, "shared": pl.Int64},
        orient="row",
    ).with_columns(pl.col("shared").cast(pl.Boolean))
    drops = pl.DataFrame(
        db.execute("SELECT mapping, source_id FROM link_drops WHERE flow = ?", (flow,)).fetchall(),
        schema={"mapping": pl.Utf8, "source_id": pl.Utf8},
        orient="row",
    )
    shadows = pl.DataFrame(
        db.execute("SELECT mapping, source_id, property, value FROM shadows WHERE flow = ?", (flow,)).fetchall(),
        schema=wide.LONG_SCHEMA,
        orient="row",
    )
    return links, drops, shadows


def scan_base(folder: Path, db: sqlite3.Connection, flow: str) -> pl.LazyFrame:
    """The flow's link file as the database names it, to be read for what is asked of it (no links when it
    names none): the links alone, or the shadows of a few pairs, without holding every shadow."""
    row = db.execute("SELECT file FROM link_files WHERE flow = ?", (flow,)).fetchone()
    if row is None:
        return empty_links().lazy()
    path = folder / row[0]
    if not path.exists():
        raise StateError(
            f"{folder}: the link file of flow {flow} is missing: restore the state directory from a backup"
        )
    return pl.scan_parquet(path)


def links_now(folder: Path, db: sqlite3.Connection, flow: str) -> pl.DataFrame:
    """mapping, source_id, target_id of the flow's links now, read without their shadows."""
    try:
        return effective(scan_base(folder, db, flow), db, flow).select("mapping", "source_id", "target_id").collect()
    except (OSError, pl.exceptions.PolarsError) as exc:
        raise StateError(f"{folder}: the links of flow {flow} cannot be read: {exc}") from exc


def shadows_now(folder: Path, db: sqlite3.Connection, flow: str) -> pl.LazyFrame:
    """The flow's shadows now, wide, to be read for the pairs asked about."""
    return shadows_of(effective(scan_base(folder, db, flow), db, flow))


def shadows_of(synced: wide.Frame) -> wide.Frame:
    """The shadows of links with their shadows: mapping, source_id and the value and kept columns."""
    return synced.select("mapping", "source_id", cs.starts_with(wide.VALUE, wide.KEPT))


def effective(base: pl.LazyFrame, db: sqlite3.Connection, flow: str) -> pl.LazyFrame:
    """The flow's links and shadows now: its file (``base``, held or scanned), with the changes since it laid
    over it."""
    links, drops, shadows = _changes(db, flow)
    if links.is_empty() and drops.is_empty() and shadows.is_empty():
        return base
    kept = base.join(drops.lazy(), on=KEY, how="anti")
    joined = kept.join(links.lazy(), on=KEY, how="full", coalesce=True, suffix="!new")
    if "target_id!new" in wide.names(joined):
        joined = joined.with_columns(
            pl.coalesce("target_id!new", "target_id").alias("target_id"),
            pl.coalesce("created_at", "created_at!new").alias("created_at"),
            pl.coalesce("synced_at!new", "synced_at").alias("synced_at"),
            pl.coalesce("shared!new", "shared").alias("shared"),
        ).drop(c for c in wide.names(joined) if c.endswith("!new"))
    if not shadows.is_empty():
        joined = wide.overlay(joined, wide.widen(shadows))
    return joined.filter(pl.col("target_id").is_not_null())


def compact(
    current: pl.DataFrame,
    merges: pl.DataFrame,
    moves: pl.DataFrame,
    agreed: pl.DataFrame,
    shared: Collection[str],
    now: str,
) -> pl.DataFrame:
    """The links and shadows after a run's agreement: links moved, links made by merge rules, and the values
    both sides agree on (wide, :mod:`reconcile.model.shadows`).

    A moved link keeps its target and its shadows under the new source id (whatever that id held before is
    dropped); a merge links a source id to a target id (a link it already had keeps its shadows and its
    creation time).
    """
    frame = current
    if not moves.is_empty():
        renames = moves.select("mapping", pl.col("from_source_id").alias("source_id"), pl.col("source_id").alias("to"))
        frame = (
            frame.join(moves.select("mapping", "source_id"), on=KEY, how="anti")
            .join(renames, on=KEY, how="left")
            .with_columns(
                pl.coalesce("to", "source_id").alias("source_id"),
                pl.when(pl.col("to").is_not_null()).then(pl.lit(now)).otherwise(pl.col("synced_at")).alias("synced_at"),
            )
            .drop("to")
        )
    if not merges.is_empty():
        made = merges.select(
            "mapping",
            "source_id",
            pl.col("target_id").alias("target_id!new"),
            pl.lit(now).alias("now"),
            pl.col("mapping").is_in(list(shared)).alias("shared!new"),
        )
        frame = (
            frame.join(made, on=KEY, how="full", coalesce=True)
            .with_columns(
                pl.coalesce("target_id!new", "target_id").alias("target_id"),
                pl.coalesce("created_at", "now").alias("created_at"),
                pl.coalesce("now", "synced_at").alias("synced_at"),
                pl.coalesce("shared!new", "shared").alias("shared"),
            )
            .drop("target_id!new", "now", "shared!new")
        )
    if not agreed.is_empty():
        frame = wide.overlay(frame, agreed.join(frame.select(KEY), on=KEY, how="semi"))
    frame = frame.sort(KEY)
    _one_to_one(frame)
    return frame


def _one_to_one(frame: pl.DataFrame) -> None:
    """Refuse links that would share a target record where their mapping does not allow it."""
    clash = frame.filter(~pl.col("shared").fill_null(False)).filter(pl.struct("mapping", "target_id").is_duplicated())
    if not clash.is_empty():
        first = clash.sort(KEY).row(0, named=True)
        raise StateError(
            f"the state refused a change, and nothing of it was kept: target record {first['target_id']} of "
            f"mapping {first['mapping']} would be linked to more than one source record"
        )


class TargetIndex:
    """The one-to-one links of a link file by target record: a new link is checked against it by a lookup,
    not a scan of the file (a run records its creates' links one by one). Made per mapping when first asked."""

    def __init__(self, base: pl.DataFrame) -> None:
        self._base = base.filter(~pl.col("shared").fill_null(False))
        self._by_mapping: dict[str, dict[str, str]] = {}

    def holder(self, mapping: str, target_id: str) -> str | None:
        """The source record the file links to ``target_id`` in ``mapping``, if any."""
        if mapping not in self._by_mapping:
            own = self._base.filter(pl.col("mapping") == mapping)
            self._by_mapping[mapping] = dict(zip(own["target_id"].to_list(), own["source_id"].to_list(), strict=True))
        return self._by_mapping[mapping].get(target_id)


def clashes(index: TargetIndex, db: sqlite3.Connection, flow: str, rows: list[tuple[str, str, str]]) -> list[str]:
    """Of new one-to-one links (mapping, source_id, target_id), those whose target record a link of the file
    still holds for another source record (the database's own index checks the changes since the file)."""
    found = []
    for mapping, new_source_id, target_id in rows:
        source_id = index.holder(mapping, target_id)
        if source_id is None or source_id == new_source_id:
            continue
        where = (flow, mapping, source_id)
        dropped = db.execute("SELECT 1 FROM link_drops WHERE flow = ? AND mapping = ? AND source_id = ?", where)
        moved = db.execute("SELECT target_id FROM links WHERE flow = ? AND mapping = ? AND source_id = ?", where)
        now = moved.fetchone()
        if dropped.fetchone() is None and (now is None or now[0] == target_id):
            found.append(f"target record {target_id} of mapping {mapping} is linked to source record {source_id}")
    return found


def write(folder: Path, db: sqlite3.Connection, flow: str, frame: pl.DataFrame) -> None:
    """Make ``frame`` the flow's link file, inside the open transaction ``db`` (holding the write lock).

    The file is written and synced under a new name first; the transaction then names it and clears the
    changes it took in. The file it replaces, and any that no committed row names, are removed once that
    transaction has committed (:func:`sweep`).
    """
    name = file_name(flow)
    try:
        write_atomically(folder / name, lambda tmp: frame.write_parquet(tmp, compression="zstd", statistics=False))
    except OSError as exc:
        raise StateError(f"{folder / name}: the links of flow {flow} cannot be written: {exc.strerror or exc}") from exc
    db.execute(
        "INSERT INTO link_files (flow, file, records) VALUES (?, ?, ?) "
        "ON CONFLICT (flow) DO UPDATE SET file = excluded.file, records = excluded.records",
        (flow, name, frame.height),
    )
    for table in ("links", "shadows", "link_drops"):
        db.execute(f"DELETE FROM {table} WHERE flow = ?", (flow,))


def sweep(folder: Path, db: sqlite3.Connection) -> None:
    """Remove the link files no committed row names (call while holding the write lock, or after commit
    of the fold that replaced them: see the module docs)."""
    named = {row[0] for row in db.execute("SELECT file FROM link_files")}
    links = folder / FOLDER
    if not links.is_dir():
        return
    for path in links.iterdir():
        if path.name.endswith(".parquet.tmp") or (path.suffix == ".parquet" and f"{FOLDER}/{path.name}" not in named):
            path.unlink(missing_ok=True)
