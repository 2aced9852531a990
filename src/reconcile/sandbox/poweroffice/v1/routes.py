"""API v1 of the PowerOffice Go emulator: contact persons, locations, quotes and currencies.

Routes ``/v1/...`` (see :mod:`reconcile.sandbox.poweroffice.emulator` for what is emulated). v1 wraps every
answer in an envelope and reports errors as HTTP 200 (:mod:`.envelope`); its lists take OData query options
(:mod:`.odata`). POST is an upsert that replaces the whole record.
"""

from __future__ import annotations

import copy
import json
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from reconcile.sandbox.poweroffice.access import Access
from reconcile.sandbox.poweroffice.resources.contacts import CUSTOMERS, EMPLOYEES, SUPPLIERS
from reconcile.sandbox.poweroffice.resources.resource import EMAIL, Resource, normalise, same_code
from reconcile.sandbox.poweroffice.resources.v1 import CONTACT_PERSONS, CURRENCIES, LOCATIONS, QUOTES
from reconcile.sandbox.poweroffice.store import PowerOfficeStore
from reconcile.sandbox.poweroffice.v1.envelope import V1Error, envelope_error
from reconcile.sandbox.poweroffice.v1.odata import query


class V1Api:
    """Routes ``/v1/...``: reads and upserts over the store, behind the access checks."""

    def __init__(self, store: PowerOfficeStore, access: Access, *, max_page_size: int) -> None:
        self.store = store
        self.access = access
        self.max_page_size = max_page_size

    def handle(self, request: Request, body: bytes, segments: list[str]) -> Response:
        """The answer to a call of ``/v1/{segments}``."""
        refused = self.access.admit_v1(request)
        if refused is not None:
            return refused
        lower = [s.lower() for s in segments]
        method = request.method
        try:
            if lower == ["partycontactperson"] and method == "GET":
                return self._list(request, CONTACT_PERSONS)
            if len(lower) == 2 and lower[0] == "partycontactperson":
                return self._one(method, CONTACT_PERSONS, segments[1])
            if len(lower) == 3 and lower[0] in ("customer", "supplier") and lower[2] == "contactperson":
                if method != "POST":
                    return Response(status_code=405)
                return self._upsert_person(lower[0], segments[1], body)
            if lower == ["location"]:
                if method == "GET":
                    return self._list(request, LOCATIONS)
                if method == "POST":
                    return self._upsert_location(body)
            if len(lower) == 2 and lower[0] == "location":
                return self._one(method, LOCATIONS, segments[1])
            if lower == ["quote", "list"] and method == "GET":
                return self._list(request, QUOTES)
            if len(lower) == 2 and lower[0] == "quote":
                return self._one(method, QUOTES, segments[1])
            if lower == ["currency"] and method == "GET":
                return self._list(request, CURRENCIES)
        except V1Error as exc:
            return envelope_error(exc)
        return Response(status_code=404)

    # ----------------------------------------------------------------------------------------- reads

    def _list(self, request: Request, res: Resource) -> Response:
        params = {k.lower(): v for k, v in request.query_params.items()}
        page, total = query(list(self.store.records[res.name].values()), params, self.max_page_size)
        return JSONResponse({"data": copy.deepcopy(page), "count": total, "success": True})

    def _one(self, method: str, res: Resource, raw_id: str) -> Response:
        key = raw_id.lower() if res.id_kind == "guid" else raw_id
        record = self.store.records[res.name].get(key)
        if record is None:
            raise V1Error(f"{res.title} with id {raw_id} was not found")
        if method == "GET":
            return JSONResponse({"data": copy.deepcopy(record), "success": True})
        if method == "DELETE":
            if res is LOCATIONS and any(
                str(e.get("LocationId")) == key for e in self.store.records[EMPLOYEES.name].values()
            ):
                raise V1Error(f"Location {raw_id} is in use and cannot be deleted")
            del self.store.records[res.name][key]
            return JSONResponse({"success": True})
        return Response(status_code=405)

    # ---------------------------------------------------------------------------------------- upserts

    def _body(self, body: bytes, res: Resource) -> dict[str, Any]:
        try:
            data = json.loads(body or b"null")
        except ValueError:
            raise V1Error("The request body is not valid JSON") from None
        if not isinstance(data, dict):
            raise V1Error(f"A {res.title} object is required")
        known = {k.casefold() for k in res.template}
        return {k: v for k, v in data.items() if k.casefold() in known}

    def _replace(self, res: Resource, data: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any] | None]:
        """The new record (a full replace: what is not sent takes its default) and the one it replaces."""
        record = normalise(res, data)
        for name in res.read_only:
            record[name] = res.template.get(name)
        existing = None
        if record.get("id") not in (None, 0):
            existing = self.store.records[res.name].get(str(record["id"]))
            if existing is None:
                raise V1Error(f"{res.title} with id {record['id']} was not found")
        return record, existing

    def _upsert_person(self, party_type: str, raw_party: str, body: bytes) -> Response:
        res = CONTACT_PERSONS
        data = self._body(body, res)
        record, existing = self._replace(res, data)
        parties = CUSTOMERS if party_type == "customer" else SUPPLIERS
        party = self.store.records[parties.name].get(raw_party)
        if party is None:
            raise V1Error(f"{parties.title} with id {raw_party} was not found")
        if existing is not None and str(existing.get("partyId")) != raw_party:
            raise V1Error(f"Contact person {record['id']} does not belong to party {raw_party}")
        record["partyId"] = party["Id"]
        for name in ("firstName", "lastName"):
            if not record.get(name):
                raise V1Error(f"{name[0].upper()}{name[1:]} is required")
        if record.get("emailAddress") and not EMAIL.match(str(record["emailAddress"])):
            return Response(status_code=200)  # as v1 did: an empty body for an invalid e-mail address
        record["partyCustomerCode"] = party.get("Number") if parties is CUSTOMERS else None
        record["partySupplierCode"] = party.get("Number") if parties is SUPPLIERS else None
        return self._store(res, record, existing)

    def _upsert_location(self, body: bytes) -> Response:
        res = LOCATIONS
        record, existing = self._replace(res, self._body(body, res))
        if not record.get("name"):
            raise V1Error("Name is required")
        if record.get("code"):
            for other in self.store.records[res.name].values():
                if same_code(other.get("code"), record["code"]) and other["id"] != record.get("id"):
                    raise V1Error(f"Code {record['code']} is already in use")
        return self._store(res, record, existing)

    def _store(self, res: Resource, record: dict[str, Any], existing: dict[str, Any] | None) -> Response:
        if existing is None:
            record["id"] = self.store.next_id(res)
            if res is LOCATIONS and not record.get("code"):
                record["code"] = str(record["id"])
        self.store.stamp(res, record, created=existing is None)
        self.store.records[res.name][str(record["id"])] = record
        return JSONResponse({"data": copy.deepcopy(record), "success": True})
