"""The state of the PowerOffice Go emulator: its records, id sequences and timestamps, and what Go computes.

Records are kept as the API returns them, by collection (a seed file's name) and id as text. Ids come from
sequences (customers, suppliers, employees and contact persons share one, from 1000001); every change is
stamped with the clock's time in ticks, always later than the last stamp handed out. An order line is
completed as Go completes it (the product's defaults, VAT, amounts) and its order totalled.
:meth:`PowerOfficeStore.state` and :meth:`PowerOfficeStore.restore` keep it all between runs.
"""

from __future__ import annotations

import copy
import threading
import uuid
from collections.abc import Mapping
from typing import Any

from reconcile.model.clock import Clock
from reconcile.sandbox.poweroffice.model import RESOURCES
from reconcile.sandbox.poweroffice.problem import ApiProblem
from reconcile.sandbox.poweroffice.resources.contacts import ADDRESSES, CUSTOMERS, SUPPLIERS
from reconcile.sandbox.poweroffice.resources.orders import SALES_ORDER_LINES, SALES_ORDERS
from reconcile.sandbox.poweroffice.resources.registers import PRODUCTS, VATCODES
from reconcile.sandbox.poweroffice.resources.resource import Resource, normalise
from reconcile.sandbox.poweroffice.resources.v1 import CONTACT_PERSONS
from reconcile.sandbox.poweroffice.ticks import TICKS_PER_SECOND, format_ticks, format_v1_stamp

STATE_FORMAT = "reconcile-poweroffice-emulator/1"


class PowerOfficeStore:
    """The records of one emulated Go client, and the sequences and clock that stamp them.

    ``lock`` guards it all: the emulator holds it for each call it answers.
    """

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.lock = threading.RLock()
        self.records: dict[str, dict[str, dict[str, Any]]] = {name: {} for name in RESOURCES}
        self.sequences: dict[str, int] = {}
        self.last_ticks = 0

    # ------------------------------------------------------------------------------------------ state

    def state(self) -> dict[str, Any]:
        """The whole state (records and sequences) as one JSON document."""
        with self.lock:
            return {
                "format": STATE_FORMAT,
                "records": {name: list(records.values()) for name, records in self.records.items()},
                "sequences": self.sequences,
                "last_ticks": self.last_ticks,
            }

    def restore(self, state: Mapping[str, Any], where: str) -> None:
        """Replace the state with one :meth:`state` gave; ``where`` names it in the error."""
        if state.get("format") != STATE_FORMAT:
            raise ValueError(f"{where}: not a PowerOffice emulator state file")
        with self.lock:
            self.records = {name: {} for name in RESOURCES}
            for name, records in state["records"].items():
                resource = RESOURCES[name]
                for record in records:
                    self.records[name][str(record[resource.id_field])] = record
            self.sequences = {k: int(v) for k, v in state.get("sequences", {}).items()}
            self.last_ticks = int(state.get("last_ticks", 0))

    def add(self, resource: str, record: Mapping[str, Any], *, stamp_missing: bool = True) -> str:
        """Store a record as it stands (no API validation); returns its id."""
        res = RESOURCES[resource]
        with self.lock:
            full = normalise(res, record)
            if full.get(res.id_field) is None:
                full[res.id_field] = self.next_id(res)
            else:
                self.bump_sequence(res, full[res.id_field])
            if res.number_field and full.get(res.number_field) is None:
                full[res.number_field] = self.next_number(res)
            elif res.number_field:
                seq = f"number:{res.name}"
                self.sequences[seq] = max(self.sequences.get(seq, 0), int(full[res.number_field]))
            if res is SALES_ORDERS:
                customer = self.records[CUSTOMERS.name].get(str(full.get("CustomerId")))
                if customer is not None and full.get("CustomerNo") is None:
                    full["CustomerNo"] = customer.get("Number")
                full["SalesOrderLines"] = [self.complete_line(full, line) for line in full.get("SalesOrderLines") or []]
                self.total_order(full)
            if res in (CUSTOMERS, SUPPLIERS) and full.get("IsPerson") and not full.get("Name"):
                full["Name"] = f"{full.get('FirstName') or ''} {full.get('LastName') or ''}".strip()
            if res is CONTACT_PERSONS:
                party = self.records[CUSTOMERS.name].get(str(full.get("partyId")))
                if party is not None and full.get("partyCustomerCode") is None:
                    full["partyCustomerCode"] = party.get("Number")
            if stamp_missing:
                self.stamp(res, full, created=True, only_missing=True)
            self.records[resource][str(full[res.id_field])] = full
            return str(full[res.id_field])

    def modify(self, resource: str, record_id: Any, changes: Mapping[str, Any]) -> dict[str, Any]:
        """Change a record directly (as a user in Go's GUI would) and stamp it as changed."""
        res = RESOURCES[resource]
        with self.lock:
            record = self.records[resource][str(record_id)]
            for key, value in changes.items():
                if "." in key:
                    outer, inner = key.split(".", 1)
                    record[outer] = {**(record.get(outer) or {}), inner: value}
                else:
                    record[key] = value
            self.stamp(res, record)
            return copy.deepcopy(record)

    # ----------------------------------------------------------------------------------- sequences, time

    def now_ticks(self) -> int:
        """A fresh timestamp: the clock's time, and always later than the last one handed out."""
        with self.lock:
            ticks = max(int(self.clock.now() * TICKS_PER_SECOND), self.last_ticks + 1)
            self.last_ticks = ticks
            return ticks

    def _sequence_name(self, res: Resource) -> str:
        return "contact" if res.id_kind == "contact" else res.name

    def bump_sequence(self, res: Resource, value: Any) -> None:
        """Keep ``res``'s id sequence past ``value``, an id given from outside (a seed)."""
        if res.id_kind in ("contact", "int"):
            name = self._sequence_name(res)
            self.sequences[name] = max(self.sequences.get(name, 0), int(value))

    def next_id(self, res: Resource) -> Any:
        """A new id for a record of ``res``: the next of its sequence, or a GUID."""
        if res.id_kind == "guid":
            return str(uuid.uuid4())
        if res.id_kind == "code":
            raise ApiProblem(400, f"{res.title} validation error(s)", "A code is required.")
        name = self._sequence_name(res)
        start = 1_000_001 if res.id_kind == "contact" else 1
        self.sequences[name] = max(self.sequences.get(name, start - 1), start - 1) + 1
        return self.sequences[name]

    def next_number(self, res: Resource) -> int:
        """The next number of ``res``'s number series (customer numbers from 10000, say)."""
        name = f"number:{res.name}"
        self.sequences[name] = max(self.sequences.get(name, res.number_start - 1), res.number_start - 1) + 1
        return self.sequences[name]

    def stamp(
        self, res: Resource, record: dict[str, Any], *, created: bool = False, only_missing: bool = False
    ) -> None:
        """Stamp ``record`` as changed now (and as created, when ``created``), in its API version's format."""
        ticks = self.now_ticks()
        if res.version == 1:
            if "lastChanged" in record and not (only_missing and record.get("lastChanged")):
                record["lastChanged"] = format_v1_stamp(ticks)
            if created and "createdDate" in record and not record.get("createdDate"):
                record["createdDate"] = format_v1_stamp(ticks)
            return
        stamp = format_ticks(ticks)
        if "LastChangedDateTimeOffset" in record and not (only_missing and record.get("LastChangedDateTimeOffset")):
            record["LastChangedDateTimeOffset"] = stamp
        if isinstance(record.get("MailAddress"), dict) and not (
            only_missing and record["MailAddress"].get("LastChangedDateTimeOffset")
        ):
            record["MailAddress"]["LastChangedDateTimeOffset"] = stamp
            if record["MailAddress"].get("Id") is None:
                record["MailAddress"]["Id"] = self.next_id(ADDRESSES)
        if created:
            for name in (res.created_field, "ContactCreatedDateTimeOffset"):
                if name and name in record and not record.get(name):
                    record[name] = stamp

    # -------------------------------------------------------------------------------- sales orders

    def complete_line(self, order: dict[str, Any], raw: Mapping[str, Any], *, checked: bool = False) -> dict[str, Any]:
        """A line in full: ids, the product's defaults, VAT and amounts."""
        title = "SalesOrderLine validation error(s)"
        line = normalise(SALES_ORDER_LINES, raw)
        if line.get("Id") is None:
            line["Id"] = str(uuid.uuid4())
        line["SalesOrderId"] = order["Id"]
        if line.get("ProductId") is not None:
            product = self.records[PRODUCTS.name].get(str(line["ProductId"]))
            if product is None:
                if checked:
                    raise ApiProblem(404, title, f"Product with id = {line['ProductId']} not found.")
            else:
                line["ProductCode"] = product.get("Code")
                for field, source in (
                    ("ProductUnitPrice", "UnitPrice"),
                    ("ProductUnitCost", "UnitCost"),
                    ("Description", "Name"),
                    ("UnitOfMeasureCode", "UnitOfMeasureCode"),
                ):
                    if line.get(field) is None:
                        line[field] = product.get(source)
            if checked and line.get("Quantity") is None:
                raise ApiProblem(400, title, "Quantity is required when a product is set.")
        self.price_line(line)
        return line

    def price_line(self, line: dict[str, Any]) -> None:
        """VAT and amounts of a line (VAT code 3, the standard rate, as Go defaults it)."""
        vat = next((v for v in self.records[VATCODES.name].values() if str(v.get("Code")) == "3"), None)
        line["VatCode"] = line.get("VatCode") or "3"
        line["VatId"] = vat["Id"] if vat else None
        line["VatRate"] = float(vat["Rate"]) if vat else 0.25
        net = float(line.get("Quantity") or 0) * float(line.get("ProductUnitPrice") or 0)
        net *= 1 - float(line.get("Allowance") or 0) / 100
        line["NetAmount"] = round(net, 2)
        line["VatAmount"] = round(net * line["VatRate"], 2)
        line["TotalAmount"] = round(line["NetAmount"] + line["VatAmount"], 2)

    def total_order(self, order: dict[str, Any]) -> None:
        """An order's line count and amounts, from its lines."""
        lines = order.get("SalesOrderLines") or []
        order["LineCount"] = len(lines)
        order["NetAmount"] = round(sum(line["NetAmount"] for line in lines), 2)
        order["TotalAmount"] = round(sum(line["TotalAmount"] for line in lines), 2)
