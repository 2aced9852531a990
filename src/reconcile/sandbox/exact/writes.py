"""The writes of the Exact Online emulator: POST, PUT and DELETE with Exact's validation and computed fields.

Bodies are checked as Exact checks them (unknown properties, values of the wrong type as 500s, mandatory
fields, references, the codes of accounts, items and VAT codes unique, account codes padded to 18),
read-only fields are ignored, and the fields Exact fills
in itself are computed: ids, numbers, statuses, line numbers and amounts. A record still in use cannot be
deleted; an order's lines go with it.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from reconcile.model.catalogue import Entity
from reconcile.sandbox.exact.protocol import GUID, STREAM, error, parse_key
from reconcile.sandbox.exact.reads import Endpoint, ReadHandlers
from reconcile.sandbox.exact.store import ExactStore, pad_code, wall_ms_from_input

UNIQUE: Mapping[str, tuple[str, ...]] = {"Accounts": ("Code",), "Items": ("Code",), "VATCodes": ("Code",)}
"""The fields Exact keeps unique within a division. Values compare as its database compares them (SQL Server's
default collation): without regard to case or to surrounding spaces, so a padded account code is its code."""


class WriteHandlers:
    """POST, PUT and DELETE on the entity endpoints; a new record is answered as the reads render it."""

    def __init__(self, store: ExactStore, reads: ReadHandlers) -> None:
        self.store = store
        self.reads = reads

    def _json_body(self, body: bytes) -> dict[str, Any]:
        try:
            data = json.loads(body or b"null")
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise error(400, STREAM) from exc
        if not isinstance(data, dict):
            raise error(400, STREAM)
        return data

    def _convert_body(
        self, entity: Entity, data: Mapping[str, Any], *, allow: set[str] | None = None
    ) -> dict[str, Any]:
        type_name = str(entity.api.get("type", entity.name))
        values: dict[str, Any] = {}
        for name, value in data.items():
            if name == "__metadata" or (allow and name in allow):
                continue
            fdef = entity.fields.get(name)
            if fdef is None:
                raise error(
                    400,
                    f"Error processing request stream. The property name '{name}' specified for type "
                    f"'{type_name}' is not valid.",
                )
            if fdef.read_only:
                continue
            values[name] = self._wire_value(entity, name, value)
        return values

    def _wire_value(self, entity: Entity, name: str, value: Any) -> Any:
        fdef = entity.fields[name]
        if value is None:
            return None
        kind = fdef.type
        bad = error(500, f"Error in converting value for property '{name}' to type '{_edm(kind)}'")
        if kind == "guid":
            if not isinstance(value, str) or not GUID.match(value):
                raise bad
            return value.lower()
        if kind in ("date", "datetime"):
            if not isinstance(value, str):
                raise bad
            try:
                return wall_ms_from_input(value)
            except ValueError as exc:
                raise bad from exc
        if kind == "int":
            if isinstance(value, bool) or not isinstance(value, int):
                raise bad
            return value
        if kind == "float":
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise bad
            return float(value)
        if kind == "bool":
            if not isinstance(value, bool):
                raise bad
            return value
        if not isinstance(value, str):
            raise bad
        return value

    def _check_required(self, entity: Entity, values: Mapping[str, Any], *, skip: str | None = None) -> list[str]:
        return [
            f"Mandatory: {f.name}"
            for f in entity.fields.values()
            if f.required and f.name != skip and values.get(f.name) in (None, "")
        ]

    def _check_refs(self, entity: Entity, values: Mapping[str, Any], division: int, *, skip: str | None = None) -> None:
        bad = []
        for name, value in values.items():
            fdef = entity.fields.get(name)
            if fdef is None or fdef.ref is None or value is None or name == skip:
                continue
            if value not in self.store.table(fdef.ref, division):
                bad.append(f"Invalid reference: {name}")
        if bad:
            raise error(500, "\r\n".join(bad))

    def create(self, request: Request, division: int, endpoint: Endpoint, body: bytes) -> Response:
        """A POST: the record (and its embedded lines) checked, stored, and answered with a 201."""
        entity = endpoint.entity
        data = self._json_body(body)
        embedded = entity.embedded
        lines_raw: list[Any] = []
        if embedded is not None:
            raw = data.get(embedded.field)
            if raw is not None and not isinstance(raw, list):
                raise error(400, STREAM)
            lines_raw = list(raw or [])
        values = self._convert_body(entity, data, allow={embedded.field} if embedded else None)
        problems = self._check_required(entity, values)
        child = self.store.entity(embedded.entity) if embedded else None
        if embedded is not None and entity.api.get("lines_required") and not lines_raw:
            problems.append(f"Mandatory: {embedded.field}")
        lines: list[dict[str, Any]] = []
        for raw_line in lines_raw:
            if not isinstance(raw_line, dict) or child is None or embedded is None:
                raise error(400, STREAM)
            line = self._convert_body(child, raw_line)
            problems += self._check_required(child, line, skip=embedded.parent_field)
            lines.append(line)
        if problems:
            raise error(400, "\r\n".join(dict.fromkeys(problems)))
        self._check_refs(entity, values, division)
        for line in lines:
            assert child is not None and embedded is not None
            self._check_refs(child, line, division, skip=embedded.parent_field)
        if entity.name == "Addresses":
            existing = self._same_address(values, division)
            if existing is not None:
                row = self.store.derived(entity, existing, division)
                base = str(request.base_url).rstrip("/")
                return JSONResponse(
                    {"d": self.reads.serialise(base, division, entity, row, None, False)}, status_code=201
                )
        row = self._new_row(entity, values, division)
        table = self.store.table(entity.name, division)
        table[str(row[entity.key])] = row
        if embedded is not None and child is not None:
            for number, line in enumerate(lines, start=1):
                line[embedded.parent_field] = row[entity.key]
                line_row = self._new_row(child, line, division, parent=row, line_number=number)
                self.store.table(child.name, division)[str(line_row[child.key])] = line_row
            self.store.recompute_amounts(entity, row, division)
        base = str(request.base_url).rstrip("/")
        return JSONResponse(
            {"d": self.reads.serialise(base, division, entity, self.store.derived(entity, row, division), None, False)},
            status_code=201,
        )

    def _new_row(
        self,
        entity: Entity,
        values: dict[str, Any],
        division: int,
        *,
        parent: Mapping[str, Any] | None = None,
        line_number: int | None = None,
    ) -> dict[str, Any]:
        row: dict[str, Any] = dict.fromkeys(entity.fields)
        row.update(values)
        row[entity.key] = str(uuid.uuid4())
        now = self.store.wall_now()
        for stamp in ("Created", "Modified"):
            if stamp in entity.fields:
                row[stamp] = now
        if "Division" in entity.fields:
            row["Division"] = division
        row["Timestamp"] = self.store.tick()
        table = self.store.table(entity.name, division)
        self._refuse_taken(entity, row, division)
        if entity.name == "Accounts":
            if row.get("Code") in (None, ""):
                codes = [
                    int(str(r["Code"]).strip()) for r in table.values() if str(r.get("Code") or "").strip().isdigit()
                ]
                row["Code"] = pad_code(str(max(codes, default=0) + 1))
            else:
                code = str(row["Code"]).strip()
                if len(code) > 18:
                    raise error(400, "Code: the value is longer than 18 characters.")
                row["Code"] = pad_code(code)
            row["Type"] = "A"
            row["IsSales"] = row.get("Status") == "C"
        elif entity.name == "SalesOrders":
            if row.get("OrderNumber") is None:
                row["OrderNumber"] = 1 + max((int(r.get("OrderNumber") or 0) for r in table.values()), default=0)
            row["Status"] = 12
            row["StatusDescription"] = "Open"
        elif entity.name == "Quotations":
            row["QuotationNumber"] = 1 + max((int(r.get("QuotationNumber") or 0) for r in table.values()), default=0)
            row["VersionNumber"] = 1
            row["Status"] = 20
        elif entity.name in ("SalesOrderLines", "QuotationLines"):
            parent_field = "OrderID" if entity.name == "SalesOrderLines" else "QuotationID"
            parent_entity = "SalesOrders" if entity.name == "SalesOrderLines" else "Quotations"
            if parent is None:
                parent = self.store.table(parent_entity, division).get(str(row[parent_field]))
            if line_number is None:
                siblings = [r for r in table.values() if r.get(parent_field) == row[parent_field]]
                line_number = 1 + max((int(r.get("LineNumber") or 0) for r in siblings), default=0)
            row["LineNumber"] = line_number
            item = self.store.table("Items", division).get(str(row.get("Item")))
            if entity.name == "SalesOrderLines":
                row["OrderNumber"] = parent.get("OrderNumber") if parent else None
                row["ItemCode"] = item.get("Code") if item else None
                row["CostPriceFC"] = item.get("CostPriceStandard") if item else None
            if row.get("VATCode") is None and item is not None:
                row["VATCode"] = item.get("SalesVatCode")
            quantity, price = row.get("Quantity") or 0.0, row.get("UnitPrice") or 0.0
            if row.get("NetPrice") is None:
                row["NetPrice"] = price
            row["AmountFC"] = round(float(quantity) * float(row["NetPrice"]), 2)
        return row

    def _refuse_taken(self, entity: Entity, row: Mapping[str, Any], division: int) -> None:
        """A 400 when a field Exact keeps unique holds the value of another record of the division."""
        for name in UNIQUE.get(entity.name, ()):
            value = _fold(row.get(name))
            if value in (None, ""):
                continue
            key = row.get(entity.key)
            for other_key, other in self.store.table(entity.name, division).items():
                if other_key != key and _fold(other.get(name)) == value:
                    raise error(400, f"{name} {str(row[name]).strip()} already exists.")

    def _same_address(self, values: Mapping[str, Any], division: int) -> dict[str, Any] | None:
        keys = (
            "Account",
            "Type",
            "AddressLine1",
            "AddressLine2",
            "AddressLine3",
            "Postcode",
            "City",
            "Country",
        )
        for row in self.store.table("Addresses", division).values():
            if all(_fold(row.get(k)) == _fold(values.get(k)) for k in keys):
                return row
        return None

    def update(self, division: int, entity: Entity, key_text: str, body: bytes) -> Response:
        """A PUT: the fields in the body changed (read-only ones ignored), answered with a 204."""
        key = parse_key(entity, key_text)
        row = self.store.table(entity.name, division).get(key)
        if row is None:
            raise error(404, f"{entity.name}: the record does not exist.")
        data = self._json_body(body)
        if entity.embedded is not None:
            data.pop(entity.embedded.field, None)
        values = self._convert_body(entity, data)
        problems = [
            f"Mandatory: {name}"
            for name, value in values.items()
            if entity.fields[name].required and value in (None, "")
        ]
        problems += [
            f"{name}: the value cannot be changed after creation."
            for name, value in values.items()
            if entity.fields[name].create_only and value != row.get(name)
        ]
        if problems:
            raise error(400, "\r\n".join(problems))
        self._check_refs(entity, values, division)
        self._refuse_taken(entity, {**values, entity.key: key}, division)
        if entity.name == "Accounts" and "Code" in values:
            values["Code"] = pad_code(str(values["Code"] or ""))
        row.update(values)
        if entity.name == "Accounts" and "Status" in values:
            row["IsSales"] = row.get("Status") == "C"
        if entity.name in ("SalesOrderLines", "QuotationLines") and {
            "Quantity",
            "UnitPrice",
            "NetPrice",
        } & set(values):
            if "UnitPrice" in values and "NetPrice" not in values:
                row["NetPrice"] = row.get("UnitPrice")
            row["AmountFC"] = round(float(row.get("Quantity") or 0) * float(row.get("NetPrice") or 0), 2)
        self.store.touch(entity, row)
        return Response(status_code=204)

    def remove(self, division: int, entity: Entity, key_text: str) -> Response:
        """A DELETE: refused with a 500 while another record refers to it; an order's lines go with it."""
        key = parse_key(entity, key_text)
        if key not in self.store.table(entity.name, division):
            raise error(404, f"{entity.name}: the record does not exist.")
        child = entity.embedded.entity if entity.embedded else None
        used: list[str] = []
        for other in self.store.catalogue.entities.values():
            if other.name == child:
                continue  # an order's own lines go with it
            for f in other.fields.values():
                rows = self.store.table(other.name, division).values()
                if f.ref == entity.name and any(r.get(f.name) == key for r in rows):
                    used.append(other.name)
        if used:
            row = self.store.table(entity.name, division)[key]
            label = str(row.get("Code") or key).strip()
            raise error(
                500,
                f"Can't delete: {entity.name.rstrip('s')} {label} - Used in: " + ", ".join(dict.fromkeys(used)),
            )
        self.store.delete(entity, key, division)
        return Response(status_code=204)


def _fold(value: Any) -> Any:
    return value.strip().casefold() if isinstance(value, str) else value


def _edm(kind: str) -> str:
    return {
        "guid": "Guid",
        "date": "DateTime",
        "datetime": "DateTime",
        "int": "Int32",
        "float": "Double",
        "bool": "Boolean",
    }.get(kind, "String")
