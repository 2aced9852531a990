"""PowerOffice Go order lines refreshed from a cached snapshot, against the emulator over real HTTP.

A cached read lists the order headers and reads the lines of new and changed orders only; it must return
what a full read (one ``/Complete`` per order, no cache) returns at the same moment, after any orders and
lines were created, changed or deleted in between, for a fraction of the calls. Edits go through the API
with the connector's own writes, as another run or a person in Go would make them.
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
from reconcile.sandbox.openers import system_for_emulator
from reconcile.sandbox.poweroffice.emulator import PowerOfficeEmulator
from reconcile.sandbox.server import serve
from reconcile.systems.base import WriteKind, WriteOp
from reconcile.systems.poweroffice.connector import CACHE_MAX_AGE, PowerOfficeSystem

LINES = "SalesOrderLines"


def seed(emulator: PowerOfficeEmulator, orders: int = 4) -> None:
    emulator.add("Customers", {"Id": 101, "Name": "Acme AS"})
    for product_id, code in ((41, "A-1"), (42, "B-2")):
        emulator.add("Products", {"Id": product_id, "Code": code, "Name": code, "UnitPrice": 10.0, "UnitCost": 4.0})
    for i in range(orders):
        lines = [{"ProductId": 41 + j % 2, "Quantity": 1.0 + j, "Description": f"line {j}"} for j in range(i % 3 + 1)]
        emulator.add("SalesOrders", {"CustomerId": 101, "SalesOrderDate": "2024-05-13", "SalesOrderLines": lines})


@dataclass
class World:
    emulator: PowerOfficeEmulator
    clock: FakeClock
    url: str
    cache: Path

    def connect(self, *, cached: bool = True, **options: Any) -> PowerOfficeSystem:
        return system_for_emulator(
            self.emulator, self.url, clock=self.clock, cache_dir=self.cache if cached else None, **options
        )

    def full(self) -> pl.DataFrame:
        return self.read_once(cached=False)

    def read_once(self, *, cached: bool = True) -> pl.DataFrame:
        """The lines as a run of their own reads them."""
        system = self.connect(cached=cached)
        try:
            return system.read(LINES)
        finally:
            system.close()


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    clock = FakeClock()
    emulator = PowerOfficeEmulator(clock=clock)
    with serve(emulator.app) as server:
        yield World(emulator, clock, server.url, tmp_path / "cache")


def same(left: pl.DataFrame, right: pl.DataFrame) -> None:
    assert_frame_equal(left, right)  # order too: header order, then each order's own line order


def order_ids(world: World) -> list[str]:
    return [str(o["Id"]) for o in world.emulator.records("SalesOrders")]


def line_ids(world: World) -> list[str]:
    return [str(line["Id"]) for o in world.emulator.records("SalesOrders") for line in o.get("SalesOrderLines") or []]


# ------------------------------------------------------------------------------------- edits, at random

EDITS = st.lists(
    st.tuples(
        st.sampled_from(["new order", "drop order", "touch order", "new line", "change line", "drop line"]),
        st.integers(min_value=0, max_value=50),
    ),
    max_size=5,
)


def apply_edit(writer: PowerOfficeSystem, world: World, kind: str, pick: int) -> None:
    orders, lines = order_ids(world), line_ids(world)
    op: tuple[str, WriteOp] | None = None
    if kind == "new order" or (not orders and kind != "new line"):
        children = tuple(
            WriteOp(WriteKind.CREATE, f"c{j}", {"ProductId": "41", "Quantity": 2.0}) for j in range(pick % 3)
        )
        values: dict[str, Any] = {"CustomerId": "101", "SalesOrderDate": "2024-06-01"}
        op = ("SalesOrders", WriteOp(WriteKind.CREATE, "o", values, children=children))
    elif kind == "drop order":
        op = ("SalesOrders", WriteOp(WriteKind.DELETE, "o", {}, key=orders[pick % len(orders)]))
    elif kind == "touch order":
        values = {"CustomerReference": f"ref {pick}"}
        op = ("SalesOrders", WriteOp(WriteKind.UPDATE, "o", values, key=orders[pick % len(orders)]))
    elif kind == "new line" and orders:
        values = {"sesam_SalesOrderId": orders[pick % len(orders)], "ProductId": "42", "Quantity": float(pick)}
        op = (LINES, WriteOp(WriteKind.CREATE, "l", values))
    elif kind == "change line" and lines:
        op = (LINES, WriteOp(WriteKind.UPDATE, "l", {"Quantity": float(pick + 1)}, key=lines[pick % len(lines)]))
    elif kind == "drop line" and lines:
        op = (LINES, WriteOp(WriteKind.DELETE, "l", {}, key=lines[pick % len(lines)]))
    if op is not None:
        [result] = writer.write(op[0], [op[1]])
        assert result.ok, result


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rounds=st.lists(EDITS, min_size=1, max_size=3))
def test_cached_lines_equal_a_full_read_after_any_edits(world: World, rounds: list[list[Any]]) -> None:
    for store in world.emulator.store.records.values():
        store.clear()
    seed(world.emulator)
    example = World(world.emulator, world.clock, world.url, Path(tempfile.mkdtemp(dir=world.cache.parent)))
    writer = example.connect(cached=False)
    try:
        example.read_once()
        for edits in rounds:
            for kind, pick in edits:
                apply_edit(writer, example, kind, pick)
            world.clock.advance(60)
            reader = example.connect()
            same(reader.read(LINES), example.full())
            reader.close()
    finally:
        writer.close()
        shutil.rmtree(example.cache, ignore_errors=True)


# ---------------------------------------------------------------------------------------- named cases


def _line_calls(world: World) -> int:
    return sum(1 for r in world.emulator.requests if r["path"].endswith("/Complete") and r["method"] == "GET")


def test_a_refresh_reads_the_lines_of_changed_orders_only(world: World) -> None:
    seed(world.emulator, orders=20)
    system = world.connect()
    first = system.read(LINES)
    assert _line_calls(world) == 20
    orders = order_ids(world)
    writer = world.connect(cached=False)
    line = str(world.emulator.records("SalesOrders")[3]["SalesOrderLines"][0]["Id"])
    assert writer.write(LINES, [WriteOp(WriteKind.UPDATE, "l", {"Quantity": 7.0}, key=line)])[0].ok
    assert writer.write("SalesOrders", [WriteOp(WriteKind.DELETE, "o", {}, key=orders[5])])[0].ok
    before, calls = _line_calls(world), system.calls
    again = system.read(LINES)
    assert _line_calls(world) - before == 1  # the changed order; the deleted one just drops out
    assert system.calls - calls == 2  # the header list and that one order
    same(again, world.full())
    assert again.height < first.height
    assert again.filter(pl.col("Id") == line)["Quantity"].item() == 7.0
    writer.close()
    system.close()


def test_a_new_run_reuses_the_lines_the_last_run_read(world: World) -> None:
    seed(world.emulator, orders=6)
    world.read_once()
    before = _line_calls(world)
    same(world.read_once(), world.full())
    assert _line_calls(world) - before == 6  # the full read's; the cached one made none


def test_lines_read_from_the_cache_can_be_updated_in_the_same_session(world: World) -> None:
    seed(world.emulator, orders=3)
    world.read_once()
    system = world.connect()
    line = str(system.read(LINES)["Id"][0])
    [result] = system.write(LINES, [WriteOp(WriteKind.UPDATE, "l", {"Description": "edited"}, key=line)])
    assert result.ok, result
    assert world.full().filter(pl.col("Id") == line)["Description"].item() == "edited"
    system.close()


def test_the_max_age_forces_a_full_read_that_catches_a_change_the_order_stamp_missed(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    seed(world.emulator, orders=3)
    system = world.connect(cache_max_age=3600)
    system.read(LINES)
    # A line changed without its order's stamp moving (allowed for, not documented either way).
    order = next(iter(world.emulator.store.records["SalesOrders"].values()))
    order["SalesOrderLines"][0]["Description"] = "changed quietly"
    world.clock.advance(1800)
    stale = system.read(LINES)
    assert "changed quietly" not in stale["Description"].to_list()  # the documented trade-off
    world.clock.advance(1800)
    with caplog.at_level(logging.INFO, logger="reconcile.cache"):
        fresh = system.read(LINES)
    assert "read in full 1.0 hours ago" in caplog.text
    same(fresh, world.full())
    assert "changed quietly" in fresh["Description"].to_list()
    system.close()


def test_the_default_max_age_lets_a_nightly_run_read_everything() -> None:
    assert 12 * 3600 <= CACHE_MAX_AGE < 24 * 3600


def test_another_clients_lines_are_never_used(world: World, tmp_path: Path) -> None:
    seed(world.emulator, orders=2)
    other = PowerOfficeEmulator(clock=world.clock)
    seed(other, orders=5)
    mine = world.connect()
    with serve(other.app) as server:
        theirs = system_for_emulator(other, server.url, clock=world.clock, cache_dir=world.cache)
        mine.read(LINES)
        theirs.read(LINES)
        assert mine.cache is not None and theirs.cache is not None and mine.cache.folder != theirs.cache.folder
        for path in theirs.cache.folder.iterdir():
            shutil.copy(path, mine.cache.folder / path.name)
        same(world.read_once(), world.full())
        theirs.close()
    mine.close()


def test_a_half_written_cache_means_a_full_read_and_a_log_line(world: World, caplog: pytest.LogCaptureFixture) -> None:
    seed(world.emulator, orders=3)
    system = world.connect()
    system.read(LINES)
    assert system.cache is not None
    for meta in system.cache.folder.glob("*.json"):
        meta.write_text(meta.read_text(encoding="utf-8")[:30], encoding="utf-8")
    before = _line_calls(world)
    with caplog.at_level(logging.WARNING, logger="reconcile.cache"):
        frame = system.read(LINES)
    assert "cannot be used" in caplog.text
    assert _line_calls(world) - before == 3
    same(frame, world.full())
    system.close()


def test_other_entities_are_read_in_full_as_before(world: World) -> None:
    seed(world.emulator, orders=2)
    system = world.connect()
    system.read("SalesOrders")
    system.read("Customers")
    assert not world.cache.exists() or not any(world.cache.rglob("*.parquet"))
    system.close()
