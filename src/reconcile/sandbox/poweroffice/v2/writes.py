"""API v2's writes in the emulator: creates, JSON Patch updates, deletes, sales orders and their lines.

A create is checked as Go checks it: unknown and read-only fields refused, required fields,
``ExternalImportReference`` unique per contact class, numbers and codes unique, references resolved. A
delete of a record in use (a customer with orders, a product on a line, a contact active in another role)
is a 409. A confirmed sales order cannot be edited.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from reconcile.sandbox.poweroffice.model import RESOURCES
from reconcile.sandbox.poweroffice.problem import ApiProblem
from reconcile.sandbox.poweroffice.resources.contacts import CONTACT_RESOURCES, CUSTOMERS, EMPLOYEES
from reconcile.sandbox.poweroffice.resources.orders import SALES_ORDER_LINES, SALES_ORDERS
from reconcile.sandbox.poweroffice.resources.registers import DEPARTMENTS, PRODUCTS
from reconcile.sandbox.poweroffice.resources.resource import EMAIL, Resource, normalise, same_code
from reconcile.sandbox.poweroffice.resources.v1 import CONTACT_PERSONS
from reconcile.sandbox.poweroffice.store import PowerOfficeStore
from reconcile.sandbox.poweroffice.v2.patch import apply_patch
from reconcile.sandbox.poweroffice.v2.records import json_body, out

JSON_PATCH = "application/json-patch+json"


class V2Writes:
    """The writes of API v2 over one store."""

    def __init__(self, store: PowerOfficeStore) -> None:
        self.store = store

    def _check_fields(self, res: Resource, body: Mapping[str, Any], extra: frozenset[str] = frozenset()) -> None:
        title = f"{res.title} validation error(s)"
        allowed = {k.casefold(): k for k in res.template if (k not in res.read_only or k in res.post_only)}
        allowed.update({k.casefold(): k for k in res.post_only | extra})
        for key, value in body.items():
            name = allowed.get(key.casefold())
            if name is None:
                raise ApiProblem(400, title, f"{res.title}PostDto: Could not find member '{key}' on object.")
            nested = res.template.get(name)
            if isinstance(nested, dict) and isinstance(value, Mapping):
                inner = {k.casefold() for k in nested if f"{name}.{k}" not in res.read_only}
                for ikey in value:
                    if ikey.casefold() not in inner:
                        raise ApiProblem(400, title, f"{name}: Could not find member '{ikey}' on object.")

    def _validate(self, res: Resource, record: dict[str, Any], *, creating: bool) -> None:
        title = f"{res.title} validation error(s)"
        if res in CONTACT_RESOURCES and res is not EMPLOYEES:
            if record.get("IsPerson"):
                for name in ("FirstName", "LastName"):
                    if not record.get(name):
                        raise ApiProblem(400, title, f"{name} is required when IsPerson is true.")
                record["Name"] = f"{record['FirstName']} {record['LastName']}"
            elif not record.get("Name"):
                raise ApiProblem(400, title, "Name is required.")
        for name in res.required:
            if record.get(name) in (None, ""):
                raise ApiProblem(400, title, f"The {name} field is required.")
        address = record.get("MailAddress")
        if (
            creating
            and isinstance(address, dict)
            and any(address.get(k) for k in ("AddressLine1", "AddressLine2", "City", "ZipCode"))
        ):
            for name in ("City", "ZipCode"):
                if not address.get(name):
                    raise ApiProblem(400, title, f"MailAddress: The {name} field is required.")
        email = record.get("EmailAddress")
        if email and not EMAIL.match(str(email)):
            raise ApiProblem(400, title, f"EmailAddress '{email}' is not a valid e-mail address.")
        ext = record.get("ExternalImportReference")
        if ext is not None and res.external_class:
            if len(str(ext)) > 50:
                raise ApiProblem(400, title, "ExternalImportReference can be at most 50 characters.")
            for other_res in RESOURCES.values():
                if other_res.external_class != res.external_class:
                    continue
                for other in self.store.records[other_res.name].values():
                    if other.get("ExternalImportReference") == ext and other[res.id_field] != record[res.id_field]:
                        what = "contact" if res.external_class == "contact" else res.title.lower()
                        raise ApiProblem(
                            400,
                            title,
                            f"ExternalImportReference is already in use. '{ext}' is used on ({what}) "
                            f"Id = {other[res.id_field]}.",
                        )
        if res.number_field == "Number" and record.get("Number") is not None:
            for other in self.store.records[res.name].values():
                if other["Number"] == record["Number"] and other["Id"] != record["Id"]:
                    raise ApiProblem(400, title, f"{res.title} number {record['Number']} is already in use.")
        if res in (DEPARTMENTS, PRODUCTS) and record.get("Code") is not None:
            for other in self.store.records[res.name].values():
                if same_code(other.get("Code"), record["Code"]) and other["Id"] != record["Id"]:
                    raise ApiProblem(400, title, f"Code '{record['Code']}' is already in use.")
        self._resolve_refs(res, record)

    def _resolve_refs(self, res: Resource, record: dict[str, Any]) -> None:
        title = f"{res.title} validation error(s)"
        refs = (("Department", DEPARTMENTS, "DepartmentId", "DepartmentCode"),)
        for what, target, id_field, code_field in refs:
            if id_field not in record:
                continue
            if record.get(id_field) is not None:
                found = self.store.records[target.name].get(str(record[id_field]))
                if found is None:
                    raise ApiProblem(404, title, f"{what} with id = {record[id_field]} not found.")
                record[code_field] = found.get("Code")
            elif record.get(code_field):
                match = [
                    r for r in self.store.records[target.name].values() if str(r.get("Code")) == str(record[code_field])
                ]
                if not match:
                    raise ApiProblem(404, title, f"{what} with code = '{record[code_field]}' not found.")
                record[id_field] = match[0]["Id"]

    def create(self, res: Resource, content: bytes) -> dict[str, Any]:
        """Create a record of ``res`` (``POST /{res}``); the record as answered."""
        body = json_body(content, res)
        if not isinstance(body, dict):
            raise ApiProblem(400, f"{res.title} validation error(s)", "The request body must be a JSON object.")
        self._check_fields(res, body)
        record = normalise(res, body)
        record[res.id_field] = "pending"
        self._validate(res, record, creating=True)
        record[res.id_field] = self.store.next_id(res)
        if res.number_field and record.get(res.number_field) is None:
            record[res.number_field] = self.store.next_number(res)
        if res in (DEPARTMENTS, PRODUCTS) and not record.get("Code"):
            record["Code"] = str(record["Id"])
        self.store.stamp(res, record, created=True)
        self.store.records[res.name][str(record[res.id_field])] = record
        return out(res, record)

    def patch(self, res: Resource, record: dict[str, Any], body: bytes, content_type: str) -> dict[str, Any]:
        """Apply a JSON Patch to ``record`` (``PATCH /{res}/{id}``); the record, changed in place."""
        if content_type != JSON_PATCH:
            raise ApiProblem(415, "Unsupported Media Type", "Send JSON Patch as application/json-patch+json.")
        if res is SALES_ORDERS and record.get("SalesOrderStatus") == "Confirmed":
            raise ApiProblem(400, f"{res.title} validation error(s)", "A confirmed sales order cannot be edited.")
        patched = apply_patch(res, {k: v for k, v in record.items() if k != "SalesOrderLines"}, json_body(body, res))
        self._validate(res, patched, creating=False)
        if res is SALES_ORDERS:
            patched["SalesOrderLines"] = record.get("SalesOrderLines", [])
        self.store.stamp(res, patched)
        record.clear()
        record.update(patched)
        return record

    def in_use(self, res: Resource, record: dict[str, Any]) -> str | None:
        """Why ``record`` cannot be deleted, or ``None``."""
        rid = record.get(res.id_field)
        if res in CONTACT_RESOURCES:
            for other in CONTACT_RESOURCES:
                if other is not res and str(rid) in self.store.records[other.name]:
                    return f"is also an active {other.title.lower()}"
        if res is CUSTOMERS:
            if any(o.get("CustomerId") == rid for o in self.store.records[SALES_ORDERS.name].values()):
                return "has sales orders"
            if any(str(p.get("partyId")) == str(rid) for p in self.store.records[CONTACT_PERSONS.name].values()):
                return "has contact persons"
        if res is PRODUCTS:
            for order in self.store.records[SALES_ORDERS.name].values():
                if any(line.get("ProductId") == rid for line in order.get("SalesOrderLines", [])):
                    return "is used on sales order lines"
        if res is DEPARTMENTS:
            for other in (*CONTACT_RESOURCES, SALES_ORDERS):
                if any(r.get("DepartmentId") == rid for r in self.store.records[other.name].values()):
                    return f"is used by {other.name.lower()}"
        return None

    def delete(self, res: Resource, record: dict[str, Any]) -> None:
        """Delete ``record``; a 409 when it is in use."""
        reason = self.in_use(res, record)
        if reason:
            raise ApiProblem(
                409,
                f"{res.title} conflict",
                f"{res.title} with id = {record[res.id_field]} is in use and cannot be deleted ({reason}).",
            )
        del self.store.records[res.name][str(record[res.id_field])]

    def create_order(self, content: bytes) -> dict[str, Any]:
        """Create an order with its lines (``POST /SalesOrders/Complete``); the order as answered."""
        res = SALES_ORDERS
        title = "SalesOrder validation error(s)"
        body = json_body(content, res)
        if not isinstance(body, dict):
            raise ApiProblem(400, title, "The request body must be a JSON object.")
        raw_lines: Any = None
        for key in [k for k in body if k.casefold() == "salesorderlines"]:
            raw_lines = body.pop(key)
        self._check_fields(res, body)
        for raw in raw_lines or []:
            if not isinstance(raw, dict):
                raise ApiProblem(400, title, "SalesOrderLines must hold objects.")
            self._check_fields(SALES_ORDER_LINES, raw)
        order = normalise(res, body)
        customer = None
        if order.get("CustomerId") is not None:
            customer = self.store.records[CUSTOMERS.name].get(str(order["CustomerId"]))
            if customer is None:
                raise ApiProblem(404, title, f"Customer with id = {order['CustomerId']} not found.")
        elif order.get("CustomerNo") is not None:
            customer = next(
                (c for c in self.store.records[CUSTOMERS.name].values() if c["Number"] == order["CustomerNo"]), None
            )
            if customer is None:
                raise ApiProblem(404, title, f"Customer with number = {order['CustomerNo']} not found.")
        else:
            raise ApiProblem(400, title, "CustomerId or CustomerNo is required.")
        order["CustomerId"], order["CustomerNo"] = customer["Id"], customer["Number"]
        order["Id"] = "pending"
        self._validate(res, order, creating=True)
        order["Id"] = self.store.next_id(res)
        order["SalesOrderLines"] = [self.store.complete_line(order, raw, checked=True) for raw in raw_lines or []]
        for i, line in enumerate(order["SalesOrderLines"]):
            line["SortOrder"] = line.get("SortOrder") or i
        order["SalesOrderNo"] = self.store.next_number(res)
        self.store.total_order(order)
        self.store.stamp(res, order, created=True)
        self.store.records[res.name][order["Id"]] = order
        return out(res, order)

    # ------------------------------------------------------------------------------------ order lines

    def add_line(self, order: dict[str, Any], body: bytes) -> dict[str, Any]:
        """Add a line to ``order`` (``POST .../Lines``); the line as answered."""
        raw = json_body(body, SALES_ORDER_LINES)
        self._check_fields(SALES_ORDER_LINES, raw)
        line = self.store.complete_line(order, raw, checked=True)
        order.setdefault("SalesOrderLines", []).append(line)
        self._order_changed(order)
        return copy.deepcopy(line)

    def patch_line(self, order: dict[str, Any], index: int, body: bytes, content_type: str) -> dict[str, Any]:
        """Apply a JSON Patch to the line at ``index`` of ``order``; the line as answered."""
        if content_type != JSON_PATCH:
            raise ApiProblem(415, "Unsupported Media Type", "Send JSON Patch as application/json-patch+json.")
        lines: list[dict[str, Any]] = order["SalesOrderLines"]
        patched = apply_patch(SALES_ORDER_LINES, lines[index], json_body(body, SALES_ORDER_LINES))
        lines[index] = self.store.complete_line(order, patched, checked=True)
        self._order_changed(order)
        return copy.deepcopy(lines[index])

    def delete_line(self, order: dict[str, Any], index: int) -> None:
        """Delete the line at ``index`` of ``order``."""
        del order["SalesOrderLines"][index]
        self._order_changed(order)

    def _order_changed(self, order: dict[str, Any]) -> None:
        self.store.total_order(order)
        self.store.stamp(SALES_ORDERS, order)
