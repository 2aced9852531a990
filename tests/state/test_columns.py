"""Links and shadows as columns: a flow's Parquet file, named in SQLite, with the changes since laid over it."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import polars as pl
import pytest

from reconcile.errors import StateError
from reconcile.model.shadows import narrow, widen
from reconcile.state import columns
from reconcile.state.store import StateStore

NO_MOVES = pl.DataFrame(schema={"mapping": pl.Utf8, "from_source_id": pl.Utf8, "source_id": pl.Utf8})


def merges(*rows: tuple[str, str, str]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema=["mapping", "source_id", "target_id"], orient="row")


def agreed(*rows: tuple[str, str, str, str | None]) -> pl.DataFrame:
    return widen(pl.DataFrame(rows, schema=["mapping", "source_id", "property", "value"], orient="row"))


def files(state: Path) -> list[str]:
    return sorted(p.name for p in (state / columns.FOLDER).iterdir())


def named(path: Path) -> list[tuple[str, str, int]]:
    with sqlite3.connect(path) as db:
        return db.execute("SELECT flow, file, records FROM link_files").fetchall()


def test_a_fold_writes_one_file_the_database_names_and_clears_the_rows_it_took_in(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    with StateStore(path) as store:
        with store.transaction() as db:  # a create's link and shadow, recorded row by row
            store.add_links(db, "f", [("m", "9", "t9")])
            store.set_shadows(db, "f", [("m", "9", "Name", "Nine")])
        store.record_agreement(
            "f",
            merges(("m", "1", "t1"), ("m", "2", "t2")),
            NO_MOVES,
            agreed(("m", "1", "Name", "One"), ("m", "1", "Email", None), ("m", "2", "Name", "Two")),
        )
        [(flow, name, records)] = named(path)
        assert (flow, records) == ("f", 3) and files(tmp_path) == [Path(name).name]
        for table in ("links", "shadows", "link_drops"):
            assert store.frame(f"SELECT flow FROM {table}", (), {"flow": pl.Utf8()}).is_empty()
    with StateStore(path) as store:  # read back from the file alone
        assert store.links("f").rows() == [("m", "1", "t1"), ("m", "2", "t2"), ("m", "9", "t9")]
        assert narrow(store.shadows("f")).rows() == [
            ("m", "1", "Email", None),
            ("m", "1", "Name", "One"),
            ("m", "2", "Name", "Two"),
            ("m", "9", "Name", "Nine"),
        ]


def test_changes_after_the_fold_lay_over_the_file_and_a_removed_link_takes_its_shadows_with_it(
    tmp_path: Path,
) -> None:
    with StateStore(tmp_path / "state.db") as store:
        store.record_agreement(
            "f",
            merges(("m", "1", "t1"), ("m", "2", "t2")),
            NO_MOVES,
            agreed(("m", "1", "Name", "One"), ("m", "2", "Name", "Two")),
        )
        with store.transaction() as db:
            store.set_shadows(db, "f", [("m", "1", "Name", "Uno")])
            store.remove_links(db, "f", [("m", "2")])
        with store.transaction() as db:  # linked again: the old shadows do not come back
            store.add_links(db, "f", [("m", "2", "t2b")])
        assert store.links("f").sort("source_id").rows() == [("m", "1", "t1"), ("m", "2", "t2b")]
        assert narrow(store.shadows("f")).rows() == [("m", "1", "Name", "Uno")]
        store.record_agreement("f", merges(), NO_MOVES, agreed(("m", "2", "Name", "Dos")))
        assert narrow(store.shadows("f")).rows() == [("m", "1", "Name", "Uno"), ("m", "2", "Name", "Dos")]
        assert len(files(tmp_path)) == 1  # the replaced file is gone


def test_a_moved_link_keeps_its_target_and_shadows_under_the_new_source_id(tmp_path: Path) -> None:
    with StateStore(tmp_path / "state.db") as store:
        store.record_agreement("f", merges(("m", "1", "t1")), NO_MOVES, agreed(("m", "1", "Name", "One")))
        moves = pl.DataFrame({"mapping": ["m"], "from_source_id": ["1"], "source_id": ["7"]})
        store.record_agreement("f", merges(), moves, agreed(("m", "7", "Email", "a@b.no")))
        assert store.links("f").rows() == [("m", "7", "t1")]
        assert narrow(store.shadows("f")).rows() == [("m", "7", "Email", "a@b.no"), ("m", "7", "Name", "One")]


def test_a_fold_that_dies_before_its_commit_leaves_the_state_as_it_was_and_the_next_fold_sweeps_its_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "state.db"
    with StateStore(path) as store:
        store.record_agreement("f", merges(("m", "1", "t1")), NO_MOVES, agreed(("m", "1", "Name", "One")))
        with store.transaction() as db:
            store.add_links(db, "f", [("m", "2", "t2")])
        before = named(path)
        write = columns.write

        def dies(*args: object) -> None:
            write(*args)  # type: ignore[arg-type]
            raise KeyboardInterrupt  # killed after the file is written, before the transaction commits

        monkeypatch.setattr(columns, "write", dies)
        with pytest.raises(KeyboardInterrupt):
            store.record_agreement("f", merges(("m", "3", "t3")), NO_MOVES, agreed(("m", "3", "Name", "Three")))
        monkeypatch.setattr(columns, "write", write)
        assert named(path) == before and len(files(tmp_path)) == 2  # the old file, and one nobody names
    with StateStore(path) as store:
        assert store.links("f").sort("source_id").rows() == [("m", "1", "t1"), ("m", "2", "t2")]
        store.record_agreement("f", merges(), NO_MOVES, agreed(("m", "2", "Name", "Two")))
        assert files(tmp_path) == [Path(named(path)[0][1]).name]


def test_a_target_record_the_file_links_is_not_linked_to_a_second_source_record(tmp_path: Path) -> None:
    with StateStore(tmp_path / "state.db") as store:
        store.record_agreement("f", merges(("m", "1", "t1")), NO_MOVES, agreed())
        clash = pytest.raises(StateError, match="target record t1 of mapping m is linked to source record 1")
        with clash, store.transaction() as db:
            store.add_links(db, "f", [("m", "2", "t1")])
        with store.transaction() as db:  # shared where the mapping allows it
            store.add_links(db, "f", [("m", "2", "t1")], shared={"m"})
        assert store.links("f").height == 2
        with pytest.raises(StateError, match="t2 of mapping m would be linked to more than one source record"):
            store.record_agreement("f", merges(("m", "3", "t2"), ("m", "4", "t2")), NO_MOVES, agreed())
        assert store.links("f").height == 2


def test_a_link_file_that_is_gone_is_a_state_error_naming_it(tmp_path: Path) -> None:
    with StateStore(tmp_path / "state.db") as store:
        store.record_agreement("f", merges(("m", "1", "t1")), NO_MOVES, agreed())
    for file in (tmp_path / columns.FOLDER).iterdir():
        file.unlink()
    with StateStore(tmp_path / "state.db") as store, pytest.raises(StateError, match="link file of flow f is missing"):
        store.links("f")


def test_the_shadows_scanned_for_a_few_pairs_are_the_shadows_held_with_the_changes_since_the_file(
    tmp_path: Path,
) -> None:
    """A night reads its links without their shadows, and the shadows only of the pairs it asks about: with
    the changes since the file laid over them, as :meth:`StateStore.shadows` holds them."""
    path = tmp_path / "state.db"
    with StateStore(path) as store:
        store.record_agreement(
            "f",
            merges(("m", "1", "t1"), ("m", "2", "t2"), ("m", "3", "t3")),
            NO_MOVES,
            agreed(("m", "1", "Name", "One"), ("m", "2", "Name", "Two"), ("m", "3", "Name", "Three")),
        )
        with store.transaction() as db:  # after the file: a create, a changed shadow, a removed link
            store.add_links(db, "f", [("m", "9", "t9")])
            store.set_shadows(db, "f", [("m", "9", "Name", "Nine"), ("m", "1", "Name", "Uno")])
            store.remove_links(db, "f", [("m", "3")])
    with StateStore(path) as store:
        scan = store.shadow_scan("f")
        assert isinstance(scan, pl.LazyFrame)
        asked = scan.filter(pl.col("source_id").is_in(["1", "3", "9"])).collect()
        assert narrow(asked).rows() == [("m", "1", "Name", "Uno"), ("m", "9", "Name", "Nine")]
        assert narrow(scan.collect()).rows() == narrow(store.shadows("f")).rows()
        assert store.links("f").sort("source_id").rows() == [("m", "1", "t1"), ("m", "2", "t2"), ("m", "9", "t9")]


def test_a_link_file_that_is_gone_is_named_when_the_links_are_read(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    with StateStore(path) as store:
        store.record_agreement("f", merges(("m", "1", "t1")), NO_MOVES, agreed(("m", "1", "Name", "One")))
    for name in files(tmp_path):
        (tmp_path / columns.FOLDER / name).unlink()
    with StateStore(path) as store, pytest.raises(StateError, match="link file of flow f is missing"):
        store.links("f")
