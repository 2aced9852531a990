"""How many HTTP calls the Exact connector spends, against the least Exact's API allows.

Reads: the least is one call per page of the largest page the entity's endpoints give (1000 on bulk, 60 on
regular endpoints). Writes: Exact has no working ``$batch``, so the least is one call per record, with an
order's lines riding in its header's call. The run is on the emulator with Exact's real page sizes and limits
and a fake clock, so it takes seconds; ``simulated minutes`` is the time the rate limit would cost for real.
Run with ``python -m bench.exact_calls``.
"""

from __future__ import annotations

import math
import tempfile
from pathlib import Path
from typing import Any

from reconcile.model.clock import FakeClock
from reconcile.sandbox.exact.emulator import DEFAULT_DIVISION, SANDBOX_CLIENT_ID, SANDBOX_CLIENT_SECRET, ExactEmulator
from reconcile.sandbox.server import serve
from reconcile.systems.base import WriteKind, WriteOp
from reconcile.systems.exact.auth import store_refresh_token
from reconcile.systems.exact.connector import ExactSystem


def run(
    accounts: int = 2500, vat_codes: int = 150, updates: int = 120, orders: int = 30, lines: int = 5
) -> dict[str, Any]:
    """Measure; return one row per case with calls made, the least possible, and their ratio."""
    clock = FakeClock()
    emulator = ExactEmulator(clock=clock)
    keys = [emulator.insert("Accounts", {"Name": f"Account {i}", "Code": str(i + 1)}) for i in range(accounts)]
    for i in range(vat_codes):
        emulator.insert("VATCodes", {"Code": f"V{i}", "Description": f"VAT {i}"})
    item = emulator.insert("Items", {"Code": "W", "Description": "Widget"})
    cases: dict[str, Any] = {}
    with serve(emulator.app) as server, tempfile.TemporaryDirectory() as tmp:
        conn = {
            "base_url": server.url,
            "division": DEFAULT_DIVISION,
            "client_id": SANDBOX_CLIENT_ID,
            "token_file": Path(tmp) / "tokens.json",
        }
        store_refresh_token(conn, emulator.issue_refresh_token())
        system = ExactSystem.from_connection(conn, clock=clock, client_secret=SANDBOX_CLIENT_SECRET)
        try:

            def measure(name: str, least: int, records: int, action: Any) -> None:
                calls, start = system.calls, clock.now()
                action()
                made = system.calls - calls
                cases[name] = {
                    "records": records,
                    "calls": made,
                    "least": least,
                    "ratio": made / least if least else float("nan"),
                    "simulated minutes": round((clock.now() - start) / 60, 1),
                }

            measure("read Accounts (bulk)", math.ceil(accounts / 1000), accounts, lambda: system.read("Accounts"))
            measure("read VATCodes (regular)", math.ceil(vat_codes / 60), vat_codes, lambda: system.read("VATCodes"))
            ops = [WriteOp(WriteKind.UPDATE, f"u{i}", {"Name": f"Renamed {i}"}, key=keys[i]) for i in range(updates)]
            measure("update Accounts", updates, updates, lambda: system.write("Accounts", ops))
            order_ops = [
                WriteOp(
                    WriteKind.CREATE,
                    f"o{i}",
                    {"OrderedBy": keys[i]},
                    children=tuple(
                        WriteOp(WriteKind.CREATE, f"o{i}l{j}", {"Item": item, "Quantity": 1.0}) for j in range(lines)
                    ),
                )
                for i in range(orders)
            ]
            # Exact's POST answer leaves the lines deferred: reading back their ids costs one call an order.
            measure(
                "create SalesOrders with lines",
                orders,
                orders * (lines + 1),
                lambda: system.write("SalesOrders", order_ops),
            )
        finally:
            system.close()
    cases["429 answers"] = sum(1 for r in emulator.requests if r.status == 429)
    return cases


def main() -> None:
    results = run()
    print(f"{'case':34} {'records':>8} {'calls':>6} {'least':>6} {'ratio':>6} {'sim. min':>9}")
    for name, row in results.items():
        if isinstance(row, dict):
            print(
                f"{name:34} {row['records']:>8} {row['calls']:>6} {row['least']:>6} {row['ratio']:>6.2f}"
                f" {row['simulated minutes']:>9}"
            )
    print(f"429 answers: {results['429 answers']}")


if __name__ == "__main__":
    main()
