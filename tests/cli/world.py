"""A small sandbox written from scratch for end-to-end tests: a shop and a ledger, both folders of JSON files.

``shop`` (source) has Customer and Order; ``ledger`` (target) has Account and Invoice. Invoice refers to
Account. The ledger requires an account Name and validates Email. ``make_world`` writes the flow, the two
system files and the seed data under ``root`` exactly as a user's project would hold them.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

SHOP = """
system = "shop"
kind = "files"
[entities.Customer]
key = "id"
modified = "updated"
[entities.Customer.fields]
id = { type = "int" }
name = { type = "string" }
email = { type = "string" }
city = { type = "string" }
updated = { type = "datetime" }
[entities.Order]
key = "id"
[entities.Order.fields]
id = { type = "int" }
customer = { type = "int", ref = "Customer" }
total = { type = "float" }
"""

LEDGER = """
system = "ledger"
kind = "files"
[entities.Account]
key = "ID"
modified = "Modified"
[entities.Account.fields]
ID = { type = "guid", read_only = true }
Name = { type = "string", required = true, max_length = 40 }
Email = { type = "string", format = "email" }
City = { type = "string" }
Modified = { type = "datetime", read_only = true }
[entities.Invoice]
key = "ID"
[entities.Invoice.fields]
ID = { type = "guid", read_only = true }
Account = { type = "guid", required = true, ref = "Account" }
Amount = { type = "float" }
"""

FLOW = """
name = "shop-to-ledger"
source = "shop"
target = "ledger"
[defaults]
conflict = "newest"
[[mapping]]
name = "customers"
source = "Customer"
target = "Account"
merge = [[["email", "Email"]]]
properties = [
  { source = "name", target = "Name" },
  { source = "email", target = "Email" },
  { source = "city", target = "City" },
]
[[mapping]]
name = "orders"
source = "Order"
target = "Invoice"
properties = [
  { source = "customer", target = "Account", ref = "customers" },
  { source = "total", target = "Amount", type = "float" },
]
"""


def customers(n: int) -> list[dict[str, Any]]:
    return [
        {
            "id": i,
            "name": f"Kunde {i}",
            "email": f"kunde{i}@example.no",
            "city": "Oslo" if i % 2 else "Bergen",
            "updated": "2026-11-01T08:00:00Z",
        }
        for i in range(1, n + 1)
    ]


def make_world(root: Path, n_customers: int = 12, bad: bool = True) -> Path:
    """Write the project under ``root``; returns the flow file. ``bad`` adds a record that fails validation."""
    (root / "flows" / "systems").mkdir(parents=True)
    (root / "flows" / "systems" / "shop.toml").write_text(SHOP)
    (root / "flows" / "systems" / "ledger.toml").write_text(LEDGER)
    flow = root / "flows" / "shop-to-ledger.toml"
    flow.write_text(FLOW)
    shop, ledger = root / "data" / "sandbox" / "shop", root / "data" / "sandbox" / "ledger"
    shop.mkdir(parents=True)
    ledger.mkdir(parents=True)
    people = customers(n_customers)
    if bad:
        people.append({"id": 999, "name": "Feil", "email": "not-an-email", "city": "Oslo"})
    orders = [{"id": 100 + i, "customer": c["id"], "total": 10.0 * i} for i, c in enumerate(people[:n_customers])]
    orders.append({"id": 500, "customer": 4242, "total": 1.0})  # its customer does not exist
    (shop / "Customer.json").write_text(json.dumps(people, indent=1))
    (shop / "Order.json").write_text(json.dumps(orders, indent=1))
    # The ledger already knows customer 1 by email: a merge.
    (ledger / "Account.json").write_text(
        json.dumps(
            [
                {
                    "ID": "0b9f3c1e-0000-4000-8000-000000000001",
                    "Name": "Kunde 1",
                    "Email": "kunde1@example.no",
                    "City": "Oslo",
                    "Modified": "2026-10-01T08:00:00Z",
                }
            ]
        )
    )
    (ledger / "Invoice.json").write_text("[]")
    return flow


def read(root: Path, state: Path, system: str, entity: str) -> list[dict[str, Any]]:
    """A system's records as the sandbox copy in the state directory holds them."""
    data: list[dict[str, Any]] = json.loads((state / "sandbox" / system / f"{entity}.json").read_text())
    return data


def connect(root: Path) -> Path:
    """A connections file that makes shop and ledger the folders under ``root/data/sandbox``, as a company's are.

    Without it each is the sandbox copy in the state directory; with it, every state directory sees one folder.
    """
    connections = root / "connections.toml"
    connections.write_text(
        '[shop]\nfolder = "data/sandbox/shop"\n\n[ledger]\nfolder = "data/sandbox/ledger"\n', encoding="utf-8"
    )
    return connections


def held(root: Path, system: str, entity: str) -> list[dict[str, Any]]:
    """A connected system's records (see :func:`connect`)."""
    data: list[dict[str, Any]] = json.loads((root / "data" / "sandbox" / system / f"{entity}.json").read_text())
    return data
