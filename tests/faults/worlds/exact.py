"""The PowerOffice Go -> Exact Online world: a small flow 1 over HTTP, against both emulators.

Products become items (merged on Code), customers become accounts (merged on e-mail), sales orders become
sales orders with their lines embedded (the lines' item and order through the links of the other mappings).
The seed draws 2 to 5 customers with 1 or 2 orders each (an order of 1 or 2 lines), some orders twinned
(the very same customer, date and lines), and items and accounts Exact holds already: some a merge, some
nobody's. Pages are small (3 records), so a snapshot takes several calls; the limits are the real ones
(Exact 60 calls a minute, PowerOffice 10 a second), on the world's fake clock.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from random import Random
from typing import Any, ClassVar

import httpx

from reconcile.sandbox.exact.emulator import DEFAULT_DIVISION, SANDBOX_CLIENT_ID, SANDBOX_CLIENT_SECRET, ExactEmulator
from reconcile.sandbox.openers import system_for_emulator
from reconcile.sandbox.poweroffice.emulator import PowerOfficeEmulator
from reconcile.systems.base import System, WriteKind, WriteOp
from reconcile.systems.exact.auth import store_refresh_token
from reconcile.systems.exact.connector import ExactSystem
from tests.faults.worlds.base import guid
from tests.faults.worlds.http import HttpWorld

FLOW = """
name = "poweroffice-to-exact"
source = "poweroffice"
target = "exact"
[defaults]
conflict = "newest"

[[mapping]]
name = "products-items"
source = "Product"
target = "Items"
merge = [[["Code", "Code"]]]
properties = [
  { source = "Code", target = "Code", type = "string" },
  { source = "Name", target = "Description", type = "string" },
]

[[mapping]]
name = "customers-accounts"
source = "Customers"
target = "Accounts"
merge = [[["EmailAddress", "Email"]]]
properties = [
  { source = "Name", target = "Name", type = "string" },
  { source = "EmailAddress", target = "Email", type = "string" },
  { source = "MailAddress.City", target = "City", type = "string" },
]

[[mapping]]
name = "salesorders"
source = "SalesOrders"
target = "SalesOrders"
properties = [
  { source = "SalesOrderDate", target = "OrderDate", type = "string" },
  { source = "CustomerId", target = "OrderedBy", type = "string", ref = "customers-accounts" },
]

[[mapping]]
name = "salesorderlines"
source = "SalesOrderLines"
target = "SalesOrderLines"
properties = [
  { source = "ProductId", target = "Item", type = "string", ref = "products-items" },
  { source = "Quantity", target = "Quantity", type = "float" },
  { source = "sesam_SalesOrderId", target = "OrderID", type = "string", ref = "salesorders" },
]
"""
CITIES = ("Oslo", "Bergen", "Hamar", "Moss", "Bodø")
STAMP = "2026-10-01T08:00:00.0000000+00:00"


def builtin_connector(world: HttpWorld, name: str, transport: httpx.BaseTransport, limits_dir: Path | None) -> System:
    """The real connector of Exact Online or PowerOffice Go on the world's emulator, as a connection opens it."""
    spent: dict[str, Any] = {} if limits_dir is None else {"limits_dir": limits_dir}
    if name == "poweroffice":
        emulator = world.emulators[name]
        return system_for_emulator(
            emulator, world.url(name), clock=world.clock, page_size=3, transport=transport, **spent
        )
    conn = {
        "base_url": world.url(name),
        "division": DEFAULT_DIVISION,
        "client_id": SANDBOX_CLIENT_ID,
        "token_file": world.root / "exact-tokens.json",
    }
    store_refresh_token(conn, world.emulators[name].issue_refresh_token())
    return ExactSystem.from_connection(
        conn, client_secret=SANDBOX_CLIENT_SECRET, clock=world.clock, transport=transport, **spent
    )


@dataclass
class ExactWorld(HttpWorld):
    """PowerOffice Go -> Exact Online, both emulated (see the module docs)."""

    name: ClassVar[str] = "poweroffice-exact"

    def __post_init__(self) -> None:
        super().__post_init__()
        rng = self.rng
        self.batch_size = rng.choice([1, 2, 3, 50])
        self.flows_dir.mkdir(parents=True)
        flow = self.flows_dir / "poweroffice-to-exact.toml"
        flow.write_text(FLOW, encoding="utf-8")
        self.flows = [flow]
        po = PowerOfficeEmulator(clock=self.clock)
        exact = ExactEmulator(clock=self.clock, page_size=3, bulk_page_size=3)
        self.creates = self._seed(rng, po, exact)
        self.serve("poweroffice", po)
        self.serve("exact", exact)

    def _seed(self, rng: Random, po: PowerOfficeEmulator, exact: ExactEmulator) -> int:
        products, merged = [], 0
        for n in range(1, rng.randint(2, 4) + 1):
            code = f"P-{n:03d}"
            products.append(po.add("Products", {"Code": code, "Name": f"Vare {n}", "UnitPrice": 10.0 * n}))
            if rng.random() < 0.4:
                merged += 1
                self.preexisting.setdefault(("exact", "Items"), set()).add(
                    exact.insert("Items", {"Code": code, "Description": f"Vare {n}"})
                )
        self.preexisting.setdefault(("exact", "Items"), set()).add(
            exact.insert("Items", {"Code": "X-1", "Description": "Ingen sin vare"})
        )
        customers = []
        for n in range(1, rng.randint(2, 5) + 1):
            email, city = f"post@kunde{n}.no", rng.choice(CITIES)
            customers.append(
                po.add(
                    "Customers",
                    {
                        "Name": f"Kunde {n} AS",
                        "EmailAddress": email,
                        "MailAddress": {
                            "AddressLine1": f"Gata {n}",
                            "ZipCode": "0150",
                            "City": city,
                            "CountryCode": "NO",
                        },
                        "LastChangedDateTimeOffset": STAMP,
                    },
                )
            )
            if rng.random() < 0.35:
                merged += 1
                account = exact.insert("Accounts", {"Name": f"Kunde {n} AS", "Email": email, "City": city})
                self.preexisting.setdefault(("exact", "Accounts"), set()).add(account)
        self.preexisting.setdefault(("exact", "Accounts"), set()).add(
            exact.insert("Accounts", {"Name": "Ingen AS", "Email": "post@ingen.no", "City": "Oslo"})
        )
        orders: list[dict[str, Any]] = []
        for customer in customers:
            for _ in range(rng.randint(1, 2)):
                lines = [
                    {"Id": guid(rng), "ProductId": int(rng.choice(products)), "Quantity": float(rng.randint(1, 5))}
                    for _ in range(rng.randint(1, 2))
                ]
                orders.append({"CustomerId": int(customer), "SalesOrderDate": "2026-11-02", "SalesOrderLines": lines})
        if rng.random() < 0.5:
            twin = rng.choice(orders)
            orders.append({**twin, "SalesOrderLines": [{**line, "Id": guid(rng)} for line in twin["SalesOrderLines"]]})
            self.features.append("twin orders")
        for order in orders:
            po.add("SalesOrders", {"Id": guid(rng), "SalesOrderStatus": "Draft", "CurrencyCode": "NOK", **order})
        return len(orders) + len(customers) + len(products) - merged

    def connector(self, name: str, transport: httpx.BaseTransport, limits_dir: Path | None = None) -> System:
        return builtin_connector(self, name, transport, limits_dir)

    def night_edits(self, rng: Random) -> None:
        records = self.records()
        customers = sorted(records[("poweroffice", "Customers")])
        moved = rng.choice(customers)
        city = rng.choice(
            [c for c in CITIES if c != records[("poweroffice", "Customers")][moved].get("MailAddress.City")]
        )
        self.change(
            "poweroffice", "Customers", [WriteOp(WriteKind.UPDATE, "move", {"MailAddress.City": city}, key=moved)]
        )
        accounts = records[("exact", "Accounts")]
        emails = {records[("poweroffice", "Customers")][c].get("EmailAddress") for c in customers if c != moved}
        renamed = sorted(k for k, a in accounts.items() if a.get("Email") in emails)
        if renamed:
            key = rng.choice(renamed)
            name = f"{accounts[key]['Name']} Holding"
            self.change("exact", "Accounts", [WriteOp(WriteKind.UPDATE, "rename", {"Name": name}, key=key)])
        n = len(customers) + 1
        new = {
            "Name": f"Ny kunde {n} AS",
            "EmailAddress": f"post@ny{n}.no",
            "MailAddress.ZipCode": "0150",
            "MailAddress.City": rng.choice(CITIES),
        }
        self.change("poweroffice", "Customers", [WriteOp(WriteKind.CREATE, "new", new)])
        self.change(
            "poweroffice", "Product", [WriteOp(WriteKind.CREATE, "item", {"Code": f"P-9{n}", "Name": "Ny vare"})]
        )

    def write_calls(self) -> int:
        return 4 if self.nights else self.creates

    def read_calls(self) -> int:
        return 16
