"""A shop and a ledger: the records of the files and REST worlds, drawn from a seed.

``shop`` (source) has Customer and Order; ``ledger`` (target) has Account and Invoice (the system files of
:mod:`tests.cli.world`, and its flow: customers merge on email, orders have no merge rule). What a seed draws:

- 3 to 7 customers, each with 0 to 2 orders; some orders have a twin with the very same values (two
  orders of one customer for one amount), which only the journal can tell apart after a lost answer;
- accounts the ledger holds already: some match a customer by email (a merge), some in other letter case
  (a merge key compares case-insensitively), some belong to nobody in the shop; an invoice of its own.

:func:`night_edits` is what people change between two nights: a city in the shop, an account's name in the
ledger, an order's amount, an order cancelled (its invoice goes with it: ``delete = "propagate"``), and new
customers with orders.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from random import Random
from typing import Any

from reconcile.systems.base import WriteKind, WriteOp
from tests.cli import world
from tests.faults.worlds.base import Records, World, guid

CITIES = ("Oslo", "Bergen", "Trondheim", "Tromsø", "Ålesund", "Bodø")
AMOUNTS = (100.0, 249.5, 99.9, 1200.0, 0.3)
MERGED_AT = "2026-10-01T08:00:00Z"

FLOW = world.FLOW.replace('target = "Invoice"\n', 'target = "Invoice"\ndelete = "propagate"\n')
"""The flow of :mod:`tests.cli.world`, with an order deleted in the shop deleting its invoice."""

SECOND_FLOW = """
name = "shop2-to-ledger"
source = "shop2"
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
"""
"""A second shop's customers into the same ledger: the other of two flows at once on one target."""


@dataclass
class ShopData:
    """The records a world starts from."""

    customers: list[dict[str, Any]] = field(default_factory=list)
    orders: list[dict[str, Any]] = field(default_factory=list)
    accounts: list[dict[str, Any]] = field(default_factory=list)
    invoices: list[dict[str, Any]] = field(default_factory=list)
    features: list[str] = field(default_factory=list)


def draw(rng: Random) -> ShopData:
    """The shop's records and what the ledger holds already (see the module docs)."""
    data = ShopData()
    for i in range(1, rng.randint(3, 7) + 1):
        data.customers.append(
            {
                "id": i,
                "name": f"Kunde {i}",
                "email": f"kunde{i}@example.no",
                "city": rng.choice(CITIES),
                "updated": "2026-11-01T08:00:00Z",
            }
        )
    order_id = 100
    for customer in data.customers:
        for _ in range(rng.randint(0, 2)):
            order_id += 1
            data.orders.append({"id": order_id, "customer": customer["id"], "total": rng.choice(AMOUNTS)})
    if data.orders and rng.random() < 0.5:
        twin = rng.choice(data.orders)
        order_id += 1
        data.orders.append({**twin, "id": order_id})
        data.features.append("twin orders")
    cased = rng.random() < 0.25
    for customer in data.customers:
        if rng.random() < 0.35:
            email = customer["email"]
            if cased:
                email = email.capitalize().replace("example", "Example")
            data.accounts.append(
                {
                    "ID": guid(rng),
                    "Name": customer["name"],
                    "Email": email,
                    "City": customer["city"] if rng.random() < 0.5 else rng.choice(CITIES),
                    "Modified": MERGED_AT,
                }
            )
    if cased and data.accounts:
        data.features.append("emails in other case")
    for j in range(rng.randint(0, 2)):
        data.accounts.append(
            {
                "ID": guid(rng),
                "Name": f"Annen {j}",
                "Email": f"annen{j}@example.no",
                "City": "Oslo",
                "Modified": MERGED_AT,
            }
        )
    if data.accounts and rng.random() < 0.5:
        data.invoices.append({"ID": guid(rng), "Account": data.accounts[-1]["ID"], "Amount": 5.0})
    return data


def night_edits(world: World, rng: Random, records: Records) -> None:
    """People's changes between two nights, made through the systems' own APIs (see the module docs)."""
    customers = records[("shop", "Customer")]
    accounts = records[("ledger", "Account")]
    ids = sorted(customers, key=int)
    moved = rng.sample(ids, k=min(len(ids), rng.randint(1, 2)))
    world.change(
        "shop",
        "Customer",
        [
            WriteOp(
                WriteKind.UPDATE,
                f"edit-{i}",
                {"city": rng.choice([c for c in CITIES if c != customers[i]["city"]])},
                key=i,
            )
            for i in moved
        ],
    )
    by_email = {str(a.get("Email") or "").casefold(): key for key, a in accounts.items()}
    others = [i for i in ids if i not in moved and str(customers[i]["email"]).casefold() in by_email]
    if others:
        chosen = rng.choice(others)
        account = by_email[str(customers[chosen]["email"]).casefold()]
        name = f"{accounts[account]['Name']} AS"
        world.change("ledger", "Account", [WriteOp(WriteKind.UPDATE, "rename", {"Name": name}, key=account)])
    orders = sorted(records[("shop", "Order")])
    if orders:
        order = rng.choice(orders)
        world.change("shop", "Order", [WriteOp(WriteKind.UPDATE, "amount", {"total": 77.7}, key=order)])
    if len(orders) >= 4:  # one delete in four stays under the flow's guard on the share of deletes
        gone = rng.choice([o for o in orders if o != order])
        world.change("shop", "Order", [WriteOp(WriteKind.DELETE, "cancel", key=gone)])
    first = max(int(i) for i in ids) + 1
    new = [
        {"id": i, "name": f"Ny kunde {i}", "email": f"ny{i}@example.no", "city": rng.choice(CITIES)}
        for i in range(first, first + rng.randint(0, 2))
    ]
    if new:
        world.change("shop", "Customer", [WriteOp(WriteKind.CREATE, f"new-{c['id']}", c) for c in new])
        next_order = max((int(o) for o in orders), default=100) + 1
        world.change(
            "shop",
            "Order",
            [
                WriteOp(WriteKind.CREATE, f"order-{n}", {"id": next_order + n, "customer": c["id"], "total": 10.0})
                for n, c in enumerate(new)
            ],
        )
