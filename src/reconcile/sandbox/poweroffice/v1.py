"""The v1 part of the PowerOffice Go emulator: contact persons, locations, quotes and currencies.

v1 wraps every answer in ``{"data": ..., "count": n, "success": true}`` and reports errors as HTTP 200 with
``"success": false`` and a ``validation`` object. Its lists take OData ``$filter`` (PascalCase field names,
``DateTimeOffset'2024-01-01T00:00:00'`` literals), ``$orderby``, ``$top`` and ``$skip``; ``$skip`` needs
``$top`` and ``$orderby``. POST is an upsert that replaces the whole record.
"""

from __future__ import annotations

import copy
import json
import re
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from reconcile.sandbox.poweroffice.model import (
    CONTACT_PERSONS,
    CURRENCIES,
    CUSTOMERS,
    EMAIL,
    EMPLOYEES,
    LOCATIONS,
    QUOTES,
    SUPPLIERS,
    Resource,
    normalise,
    parse_ticks,
)

if TYPE_CHECKING:
    from reconcile.sandbox.poweroffice.emulator import PowerOfficeEmulator

Predicate = Callable[[dict[str, Any]], bool]


class V1Error(Exception):
    """A v1 error: answered as HTTP 200 with ``success: false``."""

    def __init__(self, summary: str, exception: str = "Validation") -> None:
        self.summary = summary
        self.exception = exception
        super().__init__(summary)


def envelope_error(exc: V1Error) -> Response:
    return JSONResponse(
        {
            "success": False,
            "validation": {
                "errorLogReference": str(uuid.uuid4()),
                "summary": exc.summary,
                "exception": exc.exception,
            },
        }
    )


class V1Api:
    """Routes ``/v1/...`` of the emulator."""

    def __init__(self, emulator: PowerOfficeEmulator) -> None:
        self.emu = emulator

    def handle(self, request: Request, body: bytes, segments: list[str]) -> Response:
        emu = self.emu
        forced = emu.take_forced()
        if forced is not None:
            return forced
        if emu.over_limit("app:" + emu.credentials.application_key, emu.v1_rate_per_second):
            return Response(status_code=429, headers={"Retry-After": "1"})
        if not emu.bearer_ok(request, 1):
            return Response(status_code=401, headers={"WWW-Authenticate": 'Bearer error="invalid_token"'})
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
        records = list(self.emu.store[res.name].values())
        if params.get("$filter", "").strip():
            predicate = parse_filter(params["$filter"])
            records = [r for r in records if predicate(r)]
        total = len(records)
        if "$skip" in params and ("$top" not in params or "$orderby" not in params):
            raise V1Error("$skip can only be used together with $top and $orderby", "OData")
        if params.get("$orderby", "").strip():
            for clause in reversed(params["$orderby"].split(",")):
                parts = clause.split()
                key = _field(parts[0])
                descending = len(parts) > 1 and parts[1].lower() == "desc"
                records.sort(key=lambda r, k=key: _sort_key(r, k), reverse=descending)  # type: ignore[misc]
        skip = _count(params.get("$skip", "0"), "$skip")
        top = min(_count(params.get("$top", str(self.emu.v1_max_page_size)), "$top"), self.emu.v1_max_page_size)
        page = records[skip : skip + top]
        return JSONResponse({"data": copy.deepcopy(page), "count": total, "success": True})

    def _one(self, method: str, res: Resource, raw_id: str) -> Response:
        key = raw_id.lower() if res.id_kind == "guid" else raw_id
        record = self.emu.store[res.name].get(key)
        if record is None:
            raise V1Error(f"{res.title} with id {raw_id} was not found")
        if method == "GET":
            return JSONResponse({"data": copy.deepcopy(record), "success": True})
        if method == "DELETE":
            if res is LOCATIONS and any(
                str(e.get("LocationId")) == key for e in self.emu.store[EMPLOYEES.name].values()
            ):
                raise V1Error(f"Location {raw_id} is in use and cannot be deleted")
            del self.emu.store[res.name][key]
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
            existing = self.emu.store[res.name].get(str(record["id"]))
            if existing is None:
                raise V1Error(f"{res.title} with id {record['id']} was not found")
        return record, existing

    def _upsert_person(self, party_type: str, raw_party: str, body: bytes) -> Response:
        res = CONTACT_PERSONS
        data = self._body(body, res)
        record, existing = self._replace(res, data)
        parties = CUSTOMERS if party_type == "customer" else SUPPLIERS
        party = self.emu.store[parties.name].get(raw_party)
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
            for other in self.emu.store[res.name].values():
                if str(other.get("code")) == str(record["code"]) and other["id"] != record.get("id"):
                    raise V1Error(f"Code {record['code']} is already in use")
        return self._store(res, record, existing)

    def _store(self, res: Resource, record: dict[str, Any], existing: dict[str, Any] | None) -> Response:
        emu = self.emu
        if existing is None:
            record["id"] = emu.next_id(res)
            if res is LOCATIONS and not record.get("code"):
                record["code"] = str(record["id"])
        emu.stamp(res, record, created=existing is None)
        emu.store[res.name][str(record["id"])] = record
        return JSONResponse({"data": copy.deepcopy(record), "success": True})


# ---------------------------------------------------------------------------------------------- OData

_TOKEN = re.compile(
    r"\s*(?:(?P<lit>[A-Za-z]+'(?:[^']|'')*')|(?P<str>'(?:[^']|'')*')|(?P<num>-?\d+(?:\.\d+)?)"
    r"|(?P<name>[A-Za-z_][A-Za-z0-9_]*)|(?P<paren>[()]))"
)
_OPS = {"eq", "ne", "gt", "ge", "lt", "le"}


def parse_filter(text: str) -> Predicate:
    """An OData ``$filter`` (comparisons joined by and / or / not, in parentheses) as a predicate."""
    tokens: list[tuple[str, str]] = []
    pos = 0
    text = text.strip()
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if not match or match.end() == pos:
            raise V1Error(f"Syntax error at position {pos} in $filter", "OData")
        kind = match.lastgroup or ""
        tokens.append((kind, match.group(kind)))
        pos = match.end()
        while pos < len(text) and text[pos].isspace():
            pos += 1
    index = 0

    def peek() -> tuple[str, str] | None:
        return tokens[index] if index < len(tokens) else None

    def take() -> tuple[str, str]:
        nonlocal index
        if index >= len(tokens):
            raise V1Error("Unexpected end of $filter", "OData")
        index += 1
        return tokens[index - 1]

    def expr() -> Predicate:
        left = term()
        while (tok := peek()) and tok == ("name", tok[1]) and tok[1].lower() == "or":
            take()
            right = term()
            left = (lambda a, b: lambda r: a(r) or b(r))(left, right)
        return left

    def term() -> Predicate:
        left = factor()
        while (tok := peek()) and tok[0] == "name" and tok[1].lower() == "and":
            take()
            right = factor()
            left = (lambda a, b: lambda r: a(r) and b(r))(left, right)
        return left

    def factor() -> Predicate:
        kind, value = take()
        if kind == "paren" and value == "(":
            inner = expr()
            if take() != ("paren", ")"):
                raise V1Error("Expected ')' in $filter", "OData")
            return inner
        if kind == "name" and value.lower() == "not":
            inner = factor()
            return lambda r: not inner(r)
        if kind != "name":
            raise V1Error(f"Expected a property name in $filter, found {value}", "OData")
        key = _field(value)
        op_kind, op = take()
        if op_kind != "name" or op.lower() not in _OPS:
            raise V1Error(f"Unknown operator '{op}' in $filter", "OData")
        literal = _literal(*take())
        return _compare(key, op.lower(), literal)

    predicate = expr()
    if index != len(tokens):
        raise V1Error("Syntax error in $filter", "OData")
    return predicate


def _field(name: str) -> str:
    """The JSON (camelCase) key of an OData (PascalCase) property name."""
    if not name[:1].isupper():
        raise V1Error(f"Could not find a property named '{name}' (OData names are PascalCase)", "OData")
    return name[0].lower() + name[1:]


def _literal(kind: str, value: str) -> Any:
    if kind == "str":
        return value[1:-1].replace("''", "'")
    if kind == "num":
        return float(value) if "." in value else int(value)
    if kind == "lit":
        prefix, quoted = value.split("'", 1)
        inner = quoted[:-1].replace("''", "'")
        if prefix.lower() == "datetimeoffset":
            if re.search(r"(Z|[+-]\d{2}:?\d{2})$", inner):
                raise V1Error(f"The DateTimeOffset literal '{inner}' is not valid", "OData")
            try:
                return ("ticks", parse_ticks(inner))
            except ValueError:
                raise V1Error(f"The DateTimeOffset literal '{inner}' is not valid", "OData") from None
        if prefix.lower() == "guid":
            return inner.lower()
        raise V1Error(f"The literal {prefix}'...' is not supported here; use DateTimeOffset'...'", "OData")
    if kind == "name" and value.lower() in ("true", "false"):
        return value.lower() == "true"
    if kind == "name" and value.lower() == "null":
        return None
    raise V1Error(f"Expected a value in $filter, found {value}", "OData")


def _compare(key: str, op: str, literal: Any) -> Predicate:
    def predicate(record: dict[str, Any]) -> bool:
        if key not in record:
            raise V1Error(f"Could not find a property named '{key[0].upper()}{key[1:]}'", "OData")
        value = record[key]
        target = literal
        if isinstance(literal, tuple):
            if value is None:
                return op == "ne"
            value, target = parse_ticks(str(value)), literal[1]
        elif isinstance(value, str) and isinstance(target, str):
            value, target = value.casefold(), target.casefold()
        if op == "eq":
            return bool(value == target)
        if op == "ne":
            return bool(value != target)
        if value is None or target is None:
            return False
        try:
            return bool({"gt": value > target, "ge": value >= target, "lt": value < target, "le": value <= target}[op])
        except TypeError:
            return False

    return predicate


def _sort_key(record: dict[str, Any], key: str) -> tuple[int, Any]:
    value = record.get(key)
    return (0, "") if value is None else (1, value if isinstance(value, int | float) else str(value))


def _count(raw: str, name: str) -> int:
    try:
        value = int(raw)
    except ValueError:
        raise V1Error(f"{name} must be a whole number", "OData") from None
    if value < 0:
        raise V1Error(f"{name} must not be negative", "OData")
    return value
