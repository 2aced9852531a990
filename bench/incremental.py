"""What a cached snapshot saves: a full read against a refresh of N records of which k changed.

Two cases, each on its emulator with the real page sizes and limits and a fake clock (so the run takes
seconds; ``simulated s`` is the time the limits would cost against the real API):

- Exact Accounts: a full read through the bulk endpoint, against a refresh through the sync endpoint and the
  deletion log (k records changed, a tenth of them deleted);
- PowerOffice Go order lines: a full read (the order list and one ``/Complete`` per order, at 10 calls a
  second), against a refresh that reads the lines of the k changed orders only.

Each refresh is checked against a full read made right after it. Run with ``python -m bench.incremental``.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import polars as pl
from polars.testing import assert_frame_equal

from reconcile.model.clock import FakeClock
from reconcile.sandbox.exact.emulator import DEFAULT_DIVISION, SANDBOX_CLIENT_ID, SANDBOX_CLIENT_SECRET, ExactEmulator
from reconcile.sandbox.openers import system_for_emulator
from reconcile.sandbox.poweroffice.emulator import PowerOfficeEmulator
from reconcile.sandbox.server import serve
from reconcile.systems.base import WriteKind, WriteOp
from reconcile.systems.exact.auth import store_refresh_token
from reconcile.systems.exact.connector import ExactSystem
from reconcile.systems.poweroffice.connector import PowerOfficeSystem


def _measure(system: Any, clock: FakeClock, read: Callable[[], pl.DataFrame]) -> tuple[pl.DataFrame, dict[str, Any]]:
    calls, fake, wall = system.calls, clock.now(), time.perf_counter()
    frame = read()
    row = {
        "calls": system.calls - calls,
        "seconds": round(time.perf_counter() - wall, 2),
        "simulated s": round(clock.now() - fake, 1),
    }
    return frame, row


def exact_case(n: int, k: int, tmp: Path) -> dict[str, Any]:
    clock = FakeClock()
    emulator = ExactEmulator(clock=clock)
    keys = [emulator.insert("Accounts", {"Name": f"Account {i}", "Code": str(i + 1)}) for i in range(n)]
    with serve(emulator.app) as server:

        def connect(cache: Path | None) -> ExactSystem:
            conn = {
                "base_url": server.url,
                "division": DEFAULT_DIVISION,
                "client_id": SANDBOX_CLIENT_ID,
                "token_file": tmp / "tokens.json",
            }
            store_refresh_token(conn, emulator.issue_refresh_token())
            return ExactSystem.from_connection(conn, clock=clock, client_secret=SANDBOX_CLIENT_SECRET, cache_dir=cache)

        cached = connect(tmp / "cache")
        _, first = _measure(cached, clock, lambda: cached.read("Accounts"))
        deleted = max(1, k // 10)
        for key in keys[:deleted]:
            emulator.remove("Accounts", key)
        for i, key in enumerate(keys[deleted:k]):
            emulator.modify("Accounts", key, {"Name": f"Renamed {i}"})
        refreshed, refresh = _measure(cached, clock, lambda: cached.read("Accounts"))
        full_system = connect(None)
        frame, full = _measure(full_system, clock, lambda: full_system.read("Accounts"))
        assert_frame_equal(refreshed.sort("ID"), frame.sort("ID"))
        cached.close()
        full_system.close()
    return {"full read": full, "first cached read": first, "refresh": refresh}


def poweroffice_case(n: int, k: int, tmp: Path) -> dict[str, Any]:
    clock = FakeClock()
    emulator = PowerOfficeEmulator(clock=clock)
    emulator.add("Customers", {"Id": 101, "Name": "Acme AS"})
    emulator.add("Products", {"Id": 41, "Code": "A-1", "Name": "Box", "UnitPrice": 10.0})
    for _ in range(n):
        lines = [{"ProductId": 41, "Quantity": 1.0 + j} for j in range(3)]
        emulator.add("SalesOrders", {"CustomerId": 101, "SalesOrderDate": "2024-05-13", "SalesOrderLines": lines})
    with serve(emulator.app) as server:

        def connect(cache: Path | None) -> PowerOfficeSystem:
            return system_for_emulator(emulator, server.url, clock=clock, cache_dir=cache)

        cached = connect(tmp / "po-cache")
        _, first = _measure(cached, clock, lambda: cached.read("SalesOrderLines"))
        writer = connect(None)
        writer.read("SalesOrderLines")  # a run writes lines it has read: it knows their orders
        line_ids = [str(o["SalesOrderLines"][0]["Id"]) for o in emulator.records("SalesOrders")[:k]]
        ops = [WriteOp(WriteKind.UPDATE, f"u{i}", {"Quantity": 9.0}, key=line) for i, line in enumerate(line_ids)]
        assert all(r.ok for r in writer.write("SalesOrderLines", ops))
        refreshed, refresh = _measure(cached, clock, lambda: cached.read("SalesOrderLines"))
        frame, full = _measure(writer, clock, lambda: writer.read("SalesOrderLines"))
        assert_frame_equal(refreshed, frame)
        cached.close()
        writer.close()
    return {"full read": full, "first cached read": first, "refresh": refresh}


def run(
    exact_records: int = 5000, exact_changed: int = 50, orders: int = 300, orders_changed: int = 10
) -> dict[str, Any]:
    """Measure both cases; one row per (case, read) with calls, wall seconds and simulated seconds."""
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        exact = exact_case(exact_records, exact_changed, Path(tmp))
        po = poweroffice_case(orders, orders_changed, Path(tmp))
    for read, row in exact.items():
        results[f"Exact Accounts N={exact_records} k={exact_changed}: {read}"] = row
    for read, row in po.items():
        results[f"PowerOffice lines of N={orders} orders k={orders_changed}: {read}"] = row
    return results


def main() -> None:
    results = run()
    print(f"{'case':66} {'calls':>6} {'seconds':>8} {'simulated s':>12}")
    for name, row in results.items():
        print(f"{name:66} {row['calls']:>6} {row['seconds']:>8} {row['simulated s']:>12}")


if __name__ == "__main__":
    main()
