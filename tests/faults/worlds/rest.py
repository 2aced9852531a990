"""The REST world: the shop's files into a ledger served by the generic REST emulator over HTTP.

The ledger is the same catalogue as the files world's, described as a REST system: bearer auth, pages of
four records (a snapshot is several calls, so a page can fail or break off in its middle), and for some
seeds a bulk endpoint for invoices (several creates in one call, whose answer can be lost as one).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from random import Random
from typing import ClassVar

import httpx

from reconcile.config.systemfile import load_system_file
from reconcile.sandbox.rest.emulator import RestEmulator
from reconcile.systems.base import System
from reconcile.systems.rest.connector import RestSystem
from tests.cli.world import SHOP
from tests.faults.worlds.files import write_json
from tests.faults.worlds.http import HttpWorld
from tests.faults.worlds.shop import FLOW, SECOND_FLOW, ShopData, draw, night_edits

LEDGER_REST = """
system = "ledger"
records = "items"

[auth]
type = "bearer"
token_env = "LEDGER_TOKEN"

[paging]
type = "page_number"
page_param = "page"
size_param = "size"
size = 4

[entities.Account]
key = "ID"
modified = "Modified"
path = "/accounts"
[entities.Account.fields]
ID = { type = "guid", read_only = true }
Name = { type = "string", required = true, max_length = 40 }
Email = { type = "string", format = "email" }
City = { type = "string" }
Modified = { type = "datetime", read_only = true }

[entities.Invoice]
key = "ID"
path = "/invoices"
%s
[entities.Invoice.fields]
ID = { type = "guid", read_only = true }
Account = { type = "guid", required = true, ref = "Account" }
Amount = { type = "float" }
"""
BULK = 'bulk = { create = "/invoices/batch", size = 3 }'


@dataclass
class RestWorld(HttpWorld):
    """Shop (files) -> ledger (the generic REST emulator); see the module docs."""

    name: ClassVar[str] = "rest"

    def __post_init__(self) -> None:
        super().__post_init__()
        self.data: ShopData = draw(self.rng)
        self.features += self.data.features
        self.batch_size = self.rng.choice([1, 2, 3, 5, 50])
        bulk = self.rng.random() < 0.5
        if bulk:
            self.features.append("bulk invoices")
        systems = self.flows_dir / "systems"
        systems.mkdir(parents=True)
        (systems / "shop.toml").write_text(SHOP, encoding="utf-8")
        (systems / "ledger.toml").write_text(LEDGER_REST % (BULK if bulk else ""), encoding="utf-8")
        flow = self.flows_dir / "shop-to-ledger.toml"
        flow.write_text(FLOW, encoding="utf-8")
        self.flows = [flow]
        write_json(self.root / "data" / "shop" / "Customer.json", self.data.customers)
        write_json(self.root / "data" / "shop" / "Order.json", self.data.orders)
        self.connections = self.root / "connections.toml"
        self.connections.write_text('[shop]\nfolder = "data/shop"\n', encoding="utf-8")
        self.spec = load_system_file(systems / "ledger.toml")
        ledger = RestEmulator(self.spec, clock=self.clock)
        ledger.put_records("Account", self.data.accounts)
        ledger.put_records("Invoice", self.data.invoices)
        self.serve("ledger", ledger)
        self.preexisting = {
            ("ledger", "Account"): {a["ID"] for a in self.data.accounts},
            ("ledger", "Invoice"): {i["ID"] for i in self.data.invoices},
        }

    def connector(self, name: str, transport: httpx.BaseTransport, limits_dir: Path | None = None) -> System:
        emulator: RestEmulator = self.emulators[name]
        return RestSystem(
            self.spec, base_url=self.url(name), secrets=emulator.secrets, clock=self.clock, transport=transport
        )

    def night_edits(self, rng: Random) -> None:
        night_edits(self, rng, self.records())

    def write_calls(self) -> int:
        if self.nights:
            return 5
        return len(self.data.customers) + max(math.ceil(len(self.data.orders) / 2), 1)


@dataclass
class TwoShopsRestWorld(RestWorld):
    """Two shops with the same customers, and a flow from each into the one REST ledger.

    Its runs in other processes reach the ledger's emulator, served by this one, through a connection of
    their own (:meth:`child_connections`), as two cron jobs on one machine would.
    """

    name: ClassVar[str] = "rest (two flows)"

    def __post_init__(self) -> None:
        super().__post_init__()
        (self.flows_dir / "systems" / "shop2.toml").write_text(
            SHOP.replace('system = "shop"', 'system = "shop2"'), encoding="utf-8"
        )
        second = self.flows_dir / "shop2-to-ledger.toml"
        second.write_text(SECOND_FLOW, encoding="utf-8")
        self.flows.append(second)
        write_json(self.root / "data" / "shop2" / "Customer.json", self.data.customers)
        write_json(self.root / "data" / "shop2" / "Order.json", [])
        assert self.connections is not None
        self.connections.write_text('[shop]\nfolder = "data/shop"\n[shop2]\nfolder = "data/shop2"\n', encoding="utf-8")

    def child_connections(self) -> tuple[Path | None, dict[str, str]]:
        assert self.connections is not None
        path = self.root / "connections-elsewhere.toml"
        ledger = f'[ledger]\nbase_url = "{self.url("ledger")}"\ntoken_env = "LEDGER_TOKEN"\n'
        path.write_text(self.connections.read_text(encoding="utf-8") + ledger, encoding="utf-8")
        return path, {"LEDGER_TOKEN": self.emulators["ledger"].secrets["token"]}
