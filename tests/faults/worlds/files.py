"""The files worlds: the shop and the ledger as folders of JSON files that a connections file names.

The folders live outside the state directory, as a company's exchanged files do, so that a state that is
lost does not take the systems' records with it. :class:`TwoShopsWorld` adds a second shop holding the same
customers and a second flow into the same ledger: two flows at once on one target.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from random import Random
from typing import Any, ClassVar

from tests.cli.world import LEDGER, SHOP
from tests.faults.worlds.base import World
from tests.faults.worlds.shop import FLOW, SECOND_FLOW, ShopData, draw, night_edits


def write_json(path: Path, records: list[dict[str, Any]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(records, ensure_ascii=False, indent=1), encoding="utf-8")


@dataclass
class FilesWorld(World):
    """Shop -> ledger, both folders of JSON files (see the module docs)."""

    name: ClassVar[str] = "files"

    def __post_init__(self) -> None:
        self.data: ShopData = draw(self.rng)
        self.features += self.data.features
        self.batch_size = self.rng.choice([1, 2, 3, 4, 50])
        systems = self.flows_dir / "systems"
        systems.mkdir(parents=True)
        (systems / "shop.toml").write_text(SHOP, encoding="utf-8")
        (systems / "ledger.toml").write_text(LEDGER, encoding="utf-8")
        flow = self.flows_dir / "shop-to-ledger.toml"
        flow.write_text(FLOW, encoding="utf-8")
        self.flows = [flow]
        write_json(self.folder("shop") / "Customer.json", self.data.customers)
        write_json(self.folder("shop") / "Order.json", self.data.orders)
        write_json(self.folder("ledger") / "Account.json", self.data.accounts)
        write_json(self.folder("ledger") / "Invoice.json", self.data.invoices)
        self.connections = self.root / "connections.toml"
        self.connect("shop", "ledger")
        self.preexisting = {
            ("ledger", "Account"): {a["ID"] for a in self.data.accounts},
            ("ledger", "Invoice"): {i["ID"] for i in self.data.invoices},
        }

    def folder(self, system: str) -> Path:
        return self.root / "data" / system

    def connect(self, *names: str) -> None:
        assert self.connections is not None
        tables = "".join(f'[{name}]\nfolder = "data/{name}"\n' for name in names)
        self.connections.write_text(tables, encoding="utf-8")

    def night_edits(self, rng: Random) -> None:
        night_edits(self, rng, self.records())

    def write_calls(self) -> int:
        if self.nights:
            return 4
        return math.ceil(len(self.data.customers) / self.batch_size) + math.ceil(
            max(len(self.data.orders), 1) / self.batch_size
        )


@dataclass
class TwoShopsWorld(FilesWorld):
    """Two shops with the same customers, and a flow from each into the one ledger."""

    name: ClassVar[str] = "files (two flows)"

    def __post_init__(self) -> None:
        super().__post_init__()
        (self.flows_dir / "systems" / "shop2.toml").write_text(
            SHOP.replace('system = "shop"', 'system = "shop2"'), encoding="utf-8"
        )
        second = self.flows_dir / "shop2-to-ledger.toml"
        second.write_text(SECOND_FLOW, encoding="utf-8")
        self.flows.append(second)
        write_json(self.folder("shop2") / "Customer.json", self.data.customers)
        write_json(self.folder("shop2") / "Order.json", [])
        self.connect("shop", "shop2", "ledger")
