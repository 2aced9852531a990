"""Exact reads refreshed from a cached snapshot through the sync endpoints, against the emulator over HTTP.

The rule every test checks: what a cached read returns equals what a full read (bulk endpoint, no cache)
returns at the same moment, same rows, columns and types, after any creates, updates and deletes made in
between; and it costs fewer calls. Pages are tiny (7 rows on bulk and sync endpoints) so that a full read
takes several calls and a refresh one per endpoint. Contacts carry their account's city and code and orders
their lines' total, values Exact computes from another entity; the edits reach those too.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from reconcile.model.clock import FakeClock
from reconcile.sandbox.exact.emulator import DEFAULT_DIVISION, SANDBOX_CLIENT_ID, SANDBOX_CLIENT_SECRET, ExactEmulator
from reconcile.sandbox.server import serve
from reconcile.systems.exact.auth import store_refresh_token
from reconcile.systems.exact.connector import ExactSystem

ENTITIES = ("Accounts", "Contacts", "Items", "SalesOrders", "SalesOrderLines")


@dataclass
class World:
    emulator: ExactEmulator
    clock: FakeClock
    url: str
    root: Path
    cache_root: Path | None = None

    def connect(self, *, cached: bool = True, url: str | None = None, **options: Any) -> ExactSystem:
        """A connector as a new run opens it: a fresh refresh token, the cache folder if ``cached``."""
        conn = {
            "base_url": url or self.url,
            "division": DEFAULT_DIVISION,
            "client_id": SANDBOX_CLIENT_ID,
            "token_file": self.root / "tokens.json",
        }
        store_refresh_token(conn, self.emulator.issue_refresh_token())
        cache = (self.cache_root or self.root / "cache") if cached else None
        return ExactSystem.from_connection(
            conn, clock=self.clock, client_secret=SANDBOX_CLIENT_SECRET, cache_dir=cache, **options
        )

    def full(self, entity: str) -> pl.DataFrame:
        system = self.connect(cached=False)
        try:
            return system.read(entity)
        finally:
            system.close()


def seed(emulator: ExactEmulator, n: int = 3) -> None:
    items = [emulator.insert("Items", {"Code": f"I{i}", "Description": f"Item {i}"}) for i in range(n)]
    for i in range(n):
        account = emulator.insert("Accounts", {"Name": f"Account {i}", "Code": str(i + 1), "City": f"City {i}"})
        emulator.insert("Contacts", {"Account": account, "FirstName": f"F{i}", "LastName": f"L{i}"})
        order = emulator.insert("SalesOrders", {"OrderedBy": account, "Description": f"Order {i}"})
        for j in range(2):
            emulator.insert(
                "SalesOrderLines", {"OrderID": order, "Item": items[j], "Quantity": 1.0 + j, "AmountFC": 10.0}
            )


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    clock = FakeClock()
    emulator = ExactEmulator(clock=clock, minute_limit=100_000, page_size=5, bulk_page_size=7)
    with serve(emulator.app) as server:
        yield World(emulator, clock, server.url, tmp_path)


def same(left: pl.DataFrame, right: pl.DataFrame, key: str) -> None:
    assert_frame_equal(left.sort(key), right.sort(key))


KEYS = {"Accounts": "ID", "Contacts": "ID", "Items": "ID", "SalesOrders": "OrderID", "SalesOrderLines": "ID"}


# ------------------------------------------------------------------------------------- edits, at random

EDITS = st.lists(
    st.tuples(
        st.sampled_from(["insert", "modify", "remove", "line total"]),
        st.sampled_from(ENTITIES),
        st.integers(min_value=0, max_value=50),
    ),
    max_size=6,
)


def apply_edit(emulator: ExactEmulator, kind: str, entity: str, pick: int) -> None:
    """One change as a person in Exact makes it: Timestamps move and deletions are logged, as Exact does."""
    rows = emulator.records(entity)
    key = KEYS[entity]
    accounts = [r["ID"] for r in emulator.records("Accounts")]
    items = [r["ID"] for r in emulator.records("Items")]
    orders = [r["OrderID"] for r in emulator.records("SalesOrders")]
    if kind == "insert" or not rows:
        if entity == "Accounts":
            emulator.insert("Accounts", {"Name": f"New {pick}", "City": f"Town {pick}"})
        elif entity == "Contacts" and accounts:
            emulator.insert("Contacts", {"Account": accounts[pick % len(accounts)], "FirstName": "N", "LastName": "C"})
        elif entity == "Items":
            emulator.insert("Items", {"Code": f"N{pick}", "Description": "new"})
        elif entity == "SalesOrders" and accounts:
            emulator.insert("SalesOrders", {"OrderedBy": accounts[pick % len(accounts)], "Description": "new"})
        elif entity == "SalesOrderLines" and orders and items:
            emulator.insert(
                "SalesOrderLines", {"OrderID": orders[pick % len(orders)], "Item": items[0], "AmountFC": 5.0}
            )
        return
    target = rows[pick % len(rows)][key]
    if kind == "remove":
        emulator.remove(entity, target)
    elif kind == "line total" and entity == "SalesOrderLines":
        emulator.modify(entity, target, {"AmountFC": float(pick)})
    else:
        field = {
            "Accounts": "City",
            "Contacts": "Email",
            "Items": "Description",
            "SalesOrders": "Description",
            "SalesOrderLines": "Description",
        }[entity]
        emulator.modify(entity, target, {field: f"changed {pick}"})


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rounds=st.lists(EDITS, min_size=1, max_size=3))
def test_a_cached_read_equals_a_full_read_after_any_edits(world: World, rounds: list[list[Any]]) -> None:
    world.emulator.reset()
    seed(world.emulator)
    cache_root = Path(tempfile.mkdtemp(dir=world.root))
    try:
        example = World(world.emulator, world.clock, world.url, cache_root)
        system = example.connect()
        for entity in ENTITIES:
            system.read(entity)
        system.close()
        for edits in rounds:
            for kind, entity, pick in edits:
                apply_edit(world.emulator, kind, entity, pick)
            world.clock.advance(60)
            system, full = example.connect(), example.connect(cached=False)
            for entity in ENTITIES:
                same(system.read(entity), full.read(entity), KEYS[entity])
            system.close()
            full.close()
    finally:
        shutil.rmtree(cache_root, ignore_errors=True)


# ---------------------------------------------------------------------------------------- named cases


def test_a_refresh_reads_only_the_changes_and_the_deletion_log(world: World) -> None:
    for i in range(40):
        world.emulator.insert("Accounts", {"Name": f"Account {i}"})
    system = world.connect()
    before = system.calls
    system.read("Accounts")
    first = system.calls - before
    full = world.connect(cached=False)
    full.read("Accounts")
    assert first == full.calls + 1  # the sync pages, like the bulk pages, and the deletion log once
    accounts = world.emulator.records("Accounts")
    world.emulator.modify("Accounts", accounts[0]["ID"], {"Name": "Renamed"})
    world.emulator.remove("Accounts", accounts[1]["ID"])
    new = world.emulator.insert("Accounts", {"Name": "New"})
    before = system.calls
    frame = system.read("Accounts")
    assert system.calls - before == 2  # one page of changes, one of the deletion log
    assert full.calls == 6  # 40 records in pages of 7
    same(frame, world.full("Accounts"), "ID")
    assert new in frame["ID"].to_list() and accounts[1]["ID"] not in frame["ID"].to_list()
    system.close()
    full.close()


def test_a_new_run_refreshes_the_snapshot_the_last_run_left(world: World) -> None:
    seed(world.emulator)
    first = world.connect()
    first.read("SalesOrderLines")
    first.close()
    line = world.emulator.records("SalesOrderLines")[0]["ID"]
    world.emulator.modify("SalesOrderLines", line, {"Quantity": 9.0})
    second = world.connect()
    frame = second.read("SalesOrderLines")
    assert second.calls == 2
    assert frame.filter(pl.col("ID") == line)["Quantity"].item() == 9.0
    second.close()


def test_a_contact_follows_its_accounts_city_although_its_own_timestamp_stays(world: World) -> None:
    seed(world.emulator)
    system = world.connect()
    system.read("Contacts")
    account = world.emulator.records("Accounts")[0]["ID"]
    world.emulator.modify("Accounts", account, {"City": "Elsewhere"})
    frame = system.read("Contacts")
    assert "Elsewhere" in frame["City"].to_list()
    same(frame, world.full("Contacts"), "ID")
    # Read in full once; after that the accounts are quiet again and a refresh is two calls again.
    before = system.calls
    system.read("Contacts")
    assert system.calls - before == 3  # accounts changed?, contacts changed?, deletion log
    system.close()


def test_an_orders_total_follows_a_deleted_line(world: World) -> None:
    seed(world.emulator)
    system = world.connect()
    system.read("SalesOrders")
    world.emulator.remove("SalesOrderLines", world.emulator.records("SalesOrderLines")[0]["ID"])
    same(system.read("SalesOrders"), world.full("SalesOrders"), "OrderID")
    system.close()


def test_entities_without_a_sync_endpoint_are_read_in_full_and_not_cached(world: World) -> None:
    system = world.connect()
    system.read("Departments")
    system.read("VATCodes")
    assert not any((world.root / "cache").rglob("*.parquet"))
    system.close()


def test_a_cache_from_another_connection_is_never_used(world: World, tmp_path: Path) -> None:
    seed(world.emulator)
    other = ExactEmulator(clock=world.clock, minute_limit=100_000, page_size=5, bulk_page_size=7)
    other.insert("Accounts", {"Name": "Only in the other company"})
    with serve(other.app) as server:
        (world.root / "other").mkdir()
        conn_other = World(other, world.clock, server.url, world.root / "other", cache_root=world.root / "cache")
        mine, theirs = world.connect(), conn_other.connect()
        mine.read("Accounts")
        theirs.read("Accounts")
        # The same cache folder, two connections: each gets its own company's records, read or refreshed.
        same(mine.read("Accounts"), world.full("Accounts"), "ID")
        same(theirs.read("Accounts"), conn_other.full("Accounts"), "ID")
        assert theirs.read("Accounts")["Name"].to_list() == ["Only in the other company"]
        # A snapshot copied into this connection's folder from another is refused.
        assert mine.cache is not None and theirs.cache is not None
        for path in theirs.cache.folder.iterdir():
            shutil.copy(path, mine.cache.folder / path.name)
        fresh = world.connect()
        same(fresh.read("Accounts"), world.full("Accounts"), "ID")
        for system in (mine, theirs, fresh):
            system.close()


def test_a_division_is_a_connection_of_its_own(world: World) -> None:
    seed(world.emulator)
    world.emulator.add_division(654321, "Second")
    system = world.connect()
    system.read("Accounts")
    conn = {
        "base_url": world.url,
        "division": 654321,
        "client_id": SANDBOX_CLIENT_ID,
        "token_file": world.root / "tokens-2.json",
    }
    store_refresh_token(conn, world.emulator.issue_refresh_token())
    second = ExactSystem.from_connection(
        conn, clock=world.clock, client_secret=SANDBOX_CLIENT_SECRET, cache_dir=world.root / "cache"
    )
    assert second.read("Accounts").is_empty()
    system.close()
    second.close()


def test_a_corrupt_snapshot_means_a_full_read_and_a_log_line(world: World, caplog: pytest.LogCaptureFixture) -> None:
    seed(world.emulator)
    system = world.connect()
    system.read("Accounts")
    assert system.cache is not None
    for data in system.cache.folder.glob("*.parquet"):
        data.write_bytes(data.read_bytes()[:50])
    world.emulator.insert("Accounts", {"Name": "After"})
    with caplog.at_level(logging.WARNING, logger="reconcile.cache"):
        frame = system.read("Accounts")
    assert "cannot be used" in caplog.text
    same(frame, world.full("Accounts"), "ID")
    system.close()


def test_a_snapshot_older_than_the_max_age_is_read_in_full(world: World, caplog: pytest.LogCaptureFixture) -> None:
    seed(world.emulator)
    system = world.connect(cache_max_age=3600)
    system.read("Accounts")
    world.clock.advance(1800)
    before = system.calls
    system.read("Accounts")
    assert system.calls - before == 2
    world.clock.advance(1800)
    before = system.calls
    with caplog.at_level(logging.INFO, logger="reconcile.cache"):
        system.read("Accounts")
    assert system.calls - before == 2  # the deletion log from the start, one page of accounts
    assert "read in full 1.0 hours ago" in caplog.text
    system.close()


def test_the_default_max_age_is_within_the_deletion_logs_retention() -> None:
    from reconcile.systems.exact.sync import CACHE_MAX_AGE

    assert CACHE_MAX_AGE <= 31 * 86400
