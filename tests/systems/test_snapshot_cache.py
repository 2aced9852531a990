"""The snapshot cache on its own: what it keeps, and every way a snapshot is refused (with a log line).

Each test writes one small frame for connection "A" and then damages or mismatches something; a refused
snapshot is ``None`` (the connector then reads in full), never an error.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from reconcile.model.clock import FakeClock
from reconcile.systems.cache import Snapshot, SnapshotCache, claim_sandbox_identity, release_sandbox_identity

FRAME = pl.DataFrame(
    {
        "ID": ["a", "b"],
        "Name": ["Acme", None],
        "Modified": [dt.datetime(2026, 1, 1, 9, tzinfo=dt.UTC), None],
        "Address": [{"City": "Oslo", "Zip": "0155"}, None],
    },
    schema={
        "ID": pl.String,
        "Name": pl.String,
        "Modified": pl.Datetime("us", "UTC"),
        "Address": pl.Struct({"City": pl.String, "Zip": pl.String}),
    },
)


def _cache(root: Path, clock: FakeClock, connection: str = "A", max_age: float = 3600.0) -> SnapshotCache:
    return SnapshotCache(root, system="exact", connection=connection, clock=clock, max_age=max_age)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def saved(tmp_path: Path, clock: FakeClock) -> SnapshotCache:
    cache = _cache(tmp_path, clock)
    cache.save("Customers person", Snapshot(FRAME, {"timestamp": 42}, clock.now()))
    return cache


def _data_file(cache: SnapshotCache) -> Path:
    [data] = cache.folder.glob("*.parquet")
    return data


def test_a_saved_snapshot_comes_back_with_its_types_cursor_and_time(saved: SnapshotCache, clock: FakeClock) -> None:
    snapshot = saved.load("Customers person", FRAME.schema)
    assert snapshot is not None
    assert_frame_equal(snapshot.frame, FRAME)
    assert snapshot.cursor == {"timestamp": 42}
    assert snapshot.full_at == clock.now()


def test_saving_again_leaves_one_data_file_and_no_temporary_files(saved: SnapshotCache, clock: FakeClock) -> None:
    saved.save("Customers person", Snapshot(FRAME.head(1), {"timestamp": 43}, clock.now()))
    names = sorted(p.name for p in saved.folder.iterdir())
    assert len(names) == 2 and not any(n.endswith(".tmp") for n in names), names
    snapshot = saved.load("Customers person", FRAME.schema)
    assert snapshot is not None and snapshot.frame.height == 1 and snapshot.cursor == {"timestamp": 43}


def test_connections_get_folders_of_their_own(tmp_path: Path, saved: SnapshotCache, clock: FakeClock) -> None:
    other = _cache(tmp_path, clock, connection="B")
    assert other.folder != saved.folder
    assert other.load("Customers person", FRAME.schema) is None


def test_another_connections_snapshot_is_refused_even_in_this_connections_folder(
    tmp_path: Path, saved: SnapshotCache, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    other = _cache(tmp_path, clock, connection="B")
    other.folder.mkdir(parents=True)
    for path in saved.folder.iterdir():
        (other.folder / path.name).write_bytes(path.read_bytes())
    with caplog.at_level(logging.INFO, logger="reconcile.cache"):
        assert other.load("Customers person", FRAME.schema) is None
    assert "another connection" in caplog.text


def test_a_snapshot_with_other_columns_is_refused(saved: SnapshotCache, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="reconcile.cache"):
        assert saved.load("Customers person", FRAME.drop("Name").schema) is None
        assert saved.load("Customers person", pl.Schema({**FRAME.schema, "Name": pl.Int64()})) is None
    assert "other columns" in caplog.text


@pytest.mark.parametrize(
    "damage",
    [
        "truncate data",
        "garbage data",
        "delete data",
        "garbage json",
        "json not an object",
        "json without cursor",
        "cursor without timestamp",
        "cursor timestamp not a number",
        "half-written json",
    ],
)
def test_a_damaged_snapshot_is_refused_with_a_warning_never_an_error(
    saved: SnapshotCache, damage: str, caplog: pytest.LogCaptureFixture
) -> None:
    data = _data_file(saved)
    [meta] = saved.folder.glob("*.json")
    if damage == "truncate data":
        data.write_bytes(data.read_bytes()[:100])
    elif damage == "garbage data":
        data.write_bytes(b"\x00" * data.stat().st_size)
    elif damage == "delete data":
        data.unlink()
    elif damage == "garbage json":
        meta.write_text("{not json", encoding="utf-8")
    elif damage == "json not an object":
        meta.write_text("[1, 2]", encoding="utf-8")
    elif damage == "json without cursor":
        body = json.loads(meta.read_text(encoding="utf-8"))
        del body["cursor"]
        meta.write_text(json.dumps(body), encoding="utf-8")
    elif damage.startswith("cursor"):
        body = json.loads(meta.read_text(encoding="utf-8"))
        body["cursor"] = {} if damage == "cursor without timestamp" else {"timestamp": "42"}
        meta.write_text(json.dumps(body), encoding="utf-8")
    else:
        meta.write_text(meta.read_text(encoding="utf-8")[:40], encoding="utf-8")
    with caplog.at_level(logging.WARNING, logger="reconcile.cache"):
        assert saved.load("Customers person", FRAME.schema, {"timestamp": int}) is None
    assert "cannot be used" in caplog.text


def test_a_data_file_left_by_a_save_that_died_is_ignored(saved: SnapshotCache, clock: FakeClock) -> None:
    # The data file is written first and the JSON last: dying in between leaves the old snapshot whole.
    (saved.folder / "Customers-person-00000000.deadbeef0000.parquet.tmp").write_bytes(b"PAR1 half")
    snapshot = saved.load("Customers person", FRAME.schema)
    assert snapshot is not None and snapshot.cursor == {"timestamp": 42}


def test_a_snapshot_read_in_full_longer_ago_than_the_max_age_is_refused(
    saved: SnapshotCache, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    clock.advance(3599)
    assert saved.load("Customers person", FRAME.schema) is not None
    clock.advance(1)
    with caplog.at_level(logging.INFO, logger="reconcile.cache"):
        assert saved.load("Customers person", FRAME.schema) is None
    assert "read in full 1.0 hours ago" in caplog.text


def test_a_max_age_of_zero_never_uses_a_snapshot(tmp_path: Path, clock: FakeClock) -> None:
    cache = _cache(tmp_path, clock, max_age=0)
    cache.save("X", Snapshot(FRAME, {}, clock.now()))
    assert cache.load("X", FRAME.schema) is None


def test_a_snapshot_that_cannot_be_written_is_logged_and_skipped(
    tmp_path: Path, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    (tmp_path / "blocked").write_text("a file where the cache folder would go", encoding="utf-8")
    cache = _cache(tmp_path / "blocked", clock)
    with caplog.at_level(logging.WARNING, logger="reconcile.cache"):
        cache.save("X", Snapshot(FRAME, {}, clock.now()))
    assert "could not be cached" in caplog.text
    assert cache.load("X", FRAME.schema) is None


def test_forget_drops_a_snapshot(saved: SnapshotCache) -> None:
    saved.forget("Customers person")
    assert saved.load("Customers person", FRAME.schema) is None


def test_a_sandbox_keeps_its_identity_between_sessions_that_end_well(tmp_path: Path) -> None:
    first = claim_sandbox_identity(tmp_path)
    release_sandbox_identity(tmp_path, first)
    second = claim_sandbox_identity(tmp_path)
    assert second == first


def test_a_sandbox_whose_session_died_gets_a_new_identity(tmp_path: Path) -> None:
    first = claim_sandbox_identity(tmp_path)
    release_sandbox_identity(tmp_path, first)
    claim_sandbox_identity(tmp_path)  # this session dies: nothing is released
    assert claim_sandbox_identity(tmp_path) != first
