"""The Exact Online -> PowerOffice Go world: flow 1 the other way round, so that the creates go to PowerOffice.

PowerOffice Go creates customers and sales orders with an ``ExternalImportReference`` the connector may use
as its identity stamp: a create whose answer was lost can be found by it. Items become products (merged on
Code), accounts become customers (merged on e-mail), sales orders become sales orders created with their
lines. The seed draws 2 to 5 accounts with 1 or 2 orders each, some twinned, and the products and customers
PowerOffice holds already.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from random import Random
from typing import ClassVar

import httpx

from reconcile.sandbox.exact.emulator import ExactEmulator
from reconcile.sandbox.poweroffice.emulator import PowerOfficeEmulator
from reconcile.systems.base import System, WriteKind, WriteOp
from tests.faults.worlds.exact import CITIES, STAMP, builtin_connector
from tests.faults.worlds.http import HttpWorld

FLOW = """
name = "exact-to-poweroffice"
source = "exact"
target = "poweroffice"
[defaults]
conflict = "newest"

[[mapping]]
name = "items-products"
source = "Items"
target = "Product"
merge = [[["Code", "Code"]]]
properties = [
  { source = "Code", target = "Code", type = "string" },
  { source = "Description", target = "Name", type = "string" },
]

[[mapping]]
name = "accounts-customers"
source = "Accounts"
target = "Customers"
merge = [[["Email", "EmailAddress"]]]
properties = [
  { source = "Name", target = "Name", type = "string" },
  { source = "Email", target = "EmailAddress", type = "string" },
  { source = "Postcode", target = "MailAddress.ZipCode", type = "string" },
  { source = "City", target = "MailAddress.City", type = "string" },
]

[[mapping]]
name = "salesorders"
source = "SalesOrders"
target = "SalesOrders"
properties = [
  { source = "OrderDate", target = "SalesOrderDate", type = "string" },
  { source = "OrderedBy", target = "CustomerId", type = "string", ref = "accounts-customers" },
]

[[mapping]]
name = "salesorderlines"
source = "SalesOrderLines"
target = "SalesOrderLines"
properties = [
  { source = "Item", target = "ProductId", type = "string", ref = "items-products" },
  { source = "Quantity", target = "Quantity", type = "float" },
  { source = "OrderID", target = "sesam_SalesOrderId", type = "string", ref = "salesorders" },
]
"""


@dataclass
class PowerOfficeWorld(HttpWorld):
    """Exact Online -> PowerOffice Go, both emulated (see the module docs)."""

    name: ClassVar[str] = "exact-poweroffice"

    def __post_init__(self) -> None:
        super().__post_init__()
        self.batch_size = self.rng.choice([1, 2, 3, 50])
        self.flows_dir.mkdir(parents=True)
        flow = self.flows_dir / "exact-to-poweroffice.toml"
        flow.write_text(FLOW, encoding="utf-8")
        self.flows = [flow]
        exact = ExactEmulator(clock=self.clock, page_size=3, bulk_page_size=3)
        po = PowerOfficeEmulator(clock=self.clock)
        self.creates = self._seed(self.rng, exact, po)
        self.serve("exact", exact)
        self.serve("poweroffice", po)

    def _held(self, entity: str, key: str) -> None:
        self.preexisting.setdefault(("poweroffice", entity), set()).add(key)

    def _seed(self, rng: Random, exact: ExactEmulator, po: PowerOfficeEmulator) -> int:
        items, merged = [], 0
        for n in range(1, rng.randint(2, 4) + 1):
            code = f"P-{n:03d}"
            items.append(exact.insert("Items", {"Code": code, "Description": f"Vare {n}"}))
            if rng.random() < 0.4:
                merged += 1
                self._held(
                    "Product",
                    po.add("Products", {"Code": code, "Name": f"Vare {n}", "LastChangedDateTimeOffset": STAMP}),
                )
        self._held(
            "Product", po.add("Products", {"Code": "X-1", "Name": "Ingen sin vare", "LastChangedDateTimeOffset": STAMP})
        )
        accounts = []
        for n in range(1, rng.randint(2, 5) + 1):
            email, city = f"post@kunde{n}.no", rng.choice(CITIES)
            accounts.append(
                exact.insert("Accounts", {"Name": f"Kunde {n} AS", "Email": email, "City": city, "Postcode": "0150"})
            )
            if rng.random() < 0.35:
                merged += 1
                customer = {
                    "Name": f"Kunde {n} AS",
                    "EmailAddress": email,
                    "MailAddress": {"ZipCode": "0150", "City": city, "CountryCode": "NO"},
                    "LastChangedDateTimeOffset": STAMP,
                }
                self._held("Customers", po.add("Customers", customer))
        self._held(
            "Customers",
            po.add(
                "Customers", {"Name": "Ingen AS", "EmailAddress": "post@ingen.no", "LastChangedDateTimeOffset": STAMP}
            ),
        )
        orders: list[tuple[str, list[tuple[str, float]]]] = []
        for account in accounts:
            for _ in range(rng.randint(1, 2)):
                lines = [(rng.choice(items), float(rng.randint(1, 5))) for _ in range(rng.randint(1, 2))]
                orders.append((account, lines))
        if rng.random() < 0.5:
            orders.append(rng.choice(orders))
            self.features.append("twin orders")
        for account, lines in orders:
            order = exact.insert("SalesOrders", {"OrderedBy": account, "OrderDate": "2026-11-02", "Currency": "NOK"})
            for item, quantity in lines:
                exact.insert("SalesOrderLines", {"OrderID": order, "Item": item, "Quantity": quantity})
        return len(orders) + len(accounts) + len(items) - merged

    def connector(self, name: str, transport: httpx.BaseTransport, limits_dir: Path | None = None) -> System:
        return builtin_connector(self, name, transport, limits_dir)

    def night_edits(self, rng: Random) -> None:
        records = self.records()
        accounts = records[("exact", "Accounts")]
        moved = rng.choice(sorted(accounts))
        city = rng.choice([c for c in CITIES if c != accounts[moved].get("City")])
        self.change("exact", "Accounts", [WriteOp(WriteKind.UPDATE, "move", {"City": city}, key=moved)])
        customers = records[("poweroffice", "Customers")]
        emails = {a.get("Email") for k, a in accounts.items() if k != moved}
        renamed = sorted(k for k, c in customers.items() if c.get("EmailAddress") in emails)
        if renamed:
            key = rng.choice(renamed)
            name = f"{customers[key]['Name']} Holding"
            self.change("poweroffice", "Customers", [WriteOp(WriteKind.UPDATE, "rename", {"Name": name}, key=key)])
        n = len(accounts) + 1
        new = {"Name": f"Ny kunde {n} AS", "Email": f"post@ny{n}.no", "City": rng.choice(CITIES), "Postcode": "0150"}
        self.change("exact", "Accounts", [WriteOp(WriteKind.CREATE, "new", new)])
        self.change(
            "exact", "Items", [WriteOp(WriteKind.CREATE, "item", {"Code": f"P-9{n}", "Description": "Ny vare"})]
        )

    def write_calls(self) -> int:
        return 4 if self.nights else self.creates

    def read_calls(self) -> int:
        return 16
