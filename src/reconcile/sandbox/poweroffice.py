"""A faithful emulator of PowerOffice Go's HTTP API: v2, and the v1 parts our flows read.

Tests and ``reconcile sandbox serve`` run it with :func:`reconcile.sandbox.server.serve`; the connector
talks to it over real HTTP exactly as it would talk to PowerOffice Go. One ASGI app
(:attr:`PowerOfficeEmulator.app`) serves both hosts::

    {url}/OAuth/Token             v2 token (also /Demo/OAuth/Token): Basic app key:client key, form
                                  grant_type=client_credentials, Ocp-Apim-Subscription-Key header
    {url}/v2/...                  API v2 (also /Demo/v2/...); base_url = {url}
    {url}/v1/OAuth/Token          v1 token (no subscription key)
    {url}/v1/...                  API v1; v1_base_url = {url}/v1

What it does as PowerOffice Go does (see the API reference notes): paths matched without regard to case;
bearer tokens that expire (``token_ttl``, 1200 s in v2); the subscription key on every v2 call (an APIM 401
without it); a limit of ``rate_per_second`` calls per subscription key over any one-second span, answered
with 429, an empty body and ``Retry-After: 1``; bare JSON arrays with 204 and an empty body for an empty page;
``PageNumber`` / ``PageSize`` (400 above ``max_page_size``) and an ``X-Pagination`` JSON header with
``nextPageLink``; ``lastChangedDateTimeOffsetGreaterThan`` (strictly greater), the created filters, number
ranges (``customerNos=10000-11000, 12000, 13000-``) and code lists; POST creates (201, or 200 for Products)
with required fields, unknown fields refused, ``ExternalImportReference`` unique per contact class; JSON Patch
(``application/json-patch+json`` only, paths without regard to case, read-only paths refused); DELETE with
409 when the record is in use (a customer with orders, a product on a line, a contact active in another
role); ProblemDetails errors; ids from sequences (customers, suppliers, employees and contact persons share
one); ``LastChangedDateTimeOffset`` stamped on every change with seven decimals. v1 answers in the
``{"data": ..., "count": n, "success": true}`` envelope, honours ``$filter`` (PascalCase names,
``DateTimeOffset'...'`` literals), ``$orderby``, ``$top`` and ``$skip`` (which needs ``$top`` and
``$orderby``), upserts on POST (a full replace of the record), and reports errors as HTTP 200 with
``success: false`` (and, as v1 did, an empty body for an invalid e-mail address).

Seed layout: ``seed_dir/<Resource>.json``, each a JSON array of records in the API's own shape. Missing
fields take the API's defaults; missing ids are assigned; missing ``LastChangedDateTimeOffset`` /
``lastChanged`` are stamped with the clock's time. A missing file is an empty collection, except
Currencies and VatCodes, which default to a standard set.

API v2 (PascalCase):

- ``Customers.json``: CustomerDto. Companies and persons together; persons have ``"IsPerson": true``,
  ``FirstName``, ``LastName``, ``DateOfBirth`` (``YYYY-MM-DD``, a time part is kept as given). ``Id``
  (int64, shared contact id space), ``Number`` (from 10000), ``Name``, ``EmailAddress``, ``PhoneNumber``,
  ``WebsiteUrl``, ``MailAddress`` {``AddressLine1``, ``AddressLine2``, ``ZipCode``, ``City``,
  ``CountryCode``}, ``CurrencyCode``, ``ExternalImportReference``, ``DepartmentId``,
  ``LastChangedDateTimeOffset``.
- ``Suppliers.json``: SupplierDto, the same contact core (Number from 20000). A contact that is both a
  customer and a supplier has the same ``Id`` in both files.
- ``Employees.json``: EmployeeDto: ``Id``, ``Number``, ``FirstName``, ``LastName``, ``DateOfBirth``,
  ``EmailAddress``, ``PhoneNumber``, ``MailAddress``, ``JobTitle``, ``DepartmentId``, ...
- ``Departments.json``: DepartmentDto: ``Id``, ``Code``, ``Name``, ``IsActive``.
- ``Products.json``: ProductDto: ``Id``, ``Code``, ``Name``, ``Description``, ``UnitPrice``, ``UnitCost``,
  ``UnitOfMeasureCode``, ``ProductType``.
- ``VatCodes.json``: VatCodeDto: ``Id``, ``Code``, ``Name``, ``Description``, ``Rate`` (0..1),
  ``IsActive``, ``ValidFrom``.
- ``SalesOrders.json``: SalesOrderCompleteDto: the header (``Id`` a GUID, ``SalesOrderNo``,
  ``SalesOrderStatus``, ``SalesOrderDate``, ``CurrencyCode``, ``CustomerId``, ...) with its lines nested
  under ``"SalesOrderLines"`` (SalesOrderLineDto: ``Id`` a GUID, ``ProductId``, ``Description``,
  ``Quantity``, ``ProductUnitPrice``, ``ProductUnitCost``, ...). Amounts, ``LineCount`` and the lines'
  ``SalesOrderId`` are computed.

API v1 (camelCase):

- ``ContactPersons.json``: PartyContactPerson: ``id``, ``partyId`` (the customer's contact ``Id``),
  ``firstName``, ``lastName``, ``emailAddress``, ``phoneNumber``, ``address1``, ``address2``, ``city``,
  ``zipCode``, ``residenceCountryCode``, ``dateOfBirth``, ``lastChanged``, ``isActive``.
- ``Locations.json``: ``id``, ``code``, ``name``, ``isActive`` (a location has no address).
- ``Quotes.json``: QuoteListItem: ``id`` (a GUID), ``quoteNo``, ``quoteDate``, ``customerCode``,
  ``currencyCode``, ``totalAmount``, ``status``, ``lastChanged``, ...
- ``Currencies.json``: ``code``, ``notation``, ``isActive``.

For tests: :attr:`credentials`, :meth:`force_429`, :meth:`fail_next`, :meth:`expire_tokens`,
:attr:`invalid_privileges`, :meth:`records` / :meth:`record` / :meth:`modify` / :meth:`add` /
:meth:`remove`, and :attr:`requests` (every call seen: method, path, query, status, body).
"""

from __future__ import annotations

import base64
import copy
import json
import secrets
import threading
import uuid
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from reconcile.sandbox.poweroffice_model import (
    ADDRESSES,
    CONTACT_PERSONS,
    CURRENCIES,
    CUSTOMERS,
    DEFAULT_CURRENCIES,
    DEFAULT_VATCODES,
    DEPARTMENTS,
    EMAIL,
    EMPLOYEES,
    PRODUCTS,
    RESOURCES,
    SALES_ORDER_LINES,
    SALES_ORDERS,
    SUPPLIERS,
    TICKS_PER_SECOND,
    V2_RESOURCES,
    VATCODES,
    ApiProblem,
    Resource,
    apply_patch,
    format_ticks,
    format_v1_stamp,
    in_ranges,
    normalise,
    parse_number_ranges,
    parse_ticks,
)
from reconcile.sandbox.poweroffice_v1 import V1Api
from reconcile.systems.http import Clock, SystemClock

__all__ = ["EmulatorCredentials", "PowerOfficeEmulator"]

CONTACT_RESOURCES = (CUSTOMERS, SUPPLIERS, EMPLOYEES)
ALL_PRIVILEGES = (
    "Customer",
    "Supplier",
    "Employee",
    "Department",
    "Product",
    "SalesOrders",
    "CommonServices",
)
_APIM_401 = (
    "Access denied due to missing subscription key. Make sure to include subscription key when making "
    "requests to an API."
)
_APIM_401_INVALID = (
    "Access denied due to invalid subscription key. Make sure to provide a valid key for an active subscription."
)
_PROBLEM_TYPES = {
    400: "https://tools.ietf.org/html/rfc7231#section-6.5.1",
    404: "https://tools.ietf.org/html/rfc7231#section-6.5.4",
    405: "https://tools.ietf.org/html/rfc7231#section-6.5.5",
    409: "https://tools.ietf.org/html/rfc7231#section-6.5.8",
    415: "https://tools.ietf.org/html/rfc7231#section-6.5.13",
}


@dataclass(frozen=True)
class EmulatorCredentials:
    """The three keys a client needs: application key and client key (Basic auth), subscription key."""

    application_key: str
    client_key: str
    subscription_key: str


@dataclass
class _Token:
    expires: float
    version: int


class PowerOfficeEmulator:
    """PowerOffice Go's API over in-memory state; build it with :meth:`from_seed` or :meth:`load`."""

    def __init__(
        self,
        *,
        clock: Clock | None = None,
        rate_per_second: int = 10,
        v1_rate_per_second: int = 50,
        token_ttl: int = 1200,
        v1_token_ttl: int = 600,
        max_page_size: int = 20000,
        v1_max_page_size: int = 50000,
        credentials: EmulatorCredentials | None = None,
    ) -> None:
        self.clock: Clock = clock or SystemClock()
        self.rate_per_second = rate_per_second
        self.v1_rate_per_second = v1_rate_per_second
        self.token_ttl = token_ttl
        self.v1_token_ttl = v1_token_ttl
        self.max_page_size = max_page_size
        self.v1_max_page_size = v1_max_page_size
        self.credentials = credentials or EmulatorCredentials(
            application_key=str(uuid.UUID(int=0x5EED_0001)),
            client_key=str(uuid.UUID(int=0x5EED_0002)),
            subscription_key="8614510ab41041e992959512b78ed229",
        )
        self.invalid_privileges: set[str] = set()
        """Privileges the client lacks the module subscription for: their endpoints answer 403."""
        self.requests: list[dict[str, Any]] = []
        self.lock = threading.RLock()
        self.store: dict[str, dict[str, dict[str, Any]]] = {name: {} for name in RESOURCES}
        self.sequences: dict[str, int] = {}
        self._last_ticks = 0
        self._tokens: dict[str, _Token] = {}
        self._windows: dict[str, deque[float]] = {}
        self._forced: deque[int] = deque()
        self._v1 = V1Api(self)
        self.app = Starlette(
            routes=[
                Route(
                    "/{path:path}",
                    self._endpoint,
                    methods=["GET", "POST", "PATCH", "DELETE", "PUT"],
                )
            ]
        )

    # ------------------------------------------------------------------------------------------ state

    @classmethod
    def from_seed(
        cls,
        seed_dir: Path,
        *,
        clock: Clock | None = None,
        rate_per_second: int = 10,
        token_ttl: int = 1200,
        max_page_size: int = 20000,
        **options: Any,
    ) -> PowerOfficeEmulator:
        """An emulator holding the records of ``seed_dir`` (see the module docs for the layout)."""
        emulator = cls(
            clock=clock,
            rate_per_second=rate_per_second,
            token_ttl=token_ttl,
            max_page_size=max_page_size,
            **options,
        )
        for name, resource in RESOURCES.items():
            path = seed_dir / f"{name}.json"
            if path.exists():
                records = json.loads(path.read_text(encoding="utf-8"))
                if not isinstance(records, list):
                    raise ValueError(f"{path}: a seed file holds a JSON array of records")
            elif resource is CURRENCIES:
                records = DEFAULT_CURRENCIES
            elif resource is VATCODES:
                records = DEFAULT_VATCODES
            else:
                continue
            for record in records:
                emulator.add(name, record, stamp_missing=True)
        return emulator

    def dump(self, path: Path) -> None:
        """Write the whole state (records and sequences) to one JSON file."""
        with self.lock:
            state = {
                "format": "reconcile-poweroffice-emulator/1",
                "records": {name: list(records.values()) for name, records in self.store.items()},
                "sequences": self.sequences,
                "last_ticks": self._last_ticks,
            }
            text = json.dumps(state, ensure_ascii=False, indent=1)
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(path)

    def load(self, path: Path) -> None:
        """Replace the state with one written by :meth:`dump`."""
        state = json.loads(path.read_text(encoding="utf-8"))
        if state.get("format") != "reconcile-poweroffice-emulator/1":
            raise ValueError(f"{path}: not a PowerOffice emulator state file")
        with self.lock:
            self.store = {name: {} for name in RESOURCES}
            for name, records in state["records"].items():
                resource = RESOURCES[name]
                for record in records:
                    self.store[name][str(record[resource.id_field])] = record
            self.sequences = {k: int(v) for k, v in state.get("sequences", {}).items()}
            self._last_ticks = int(state.get("last_ticks", 0))

    # ------------------------------------------------------------------------------------- test helpers

    def force_429(self, count: int = 1) -> None:
        """Answer the next ``count`` API calls (tokens included) with 429 and ``Retry-After: 1``."""
        with self.lock:
            self._forced.extend([429] * count)

    def fail_next(self, count: int = 1, status: int = 503) -> None:
        """Answer the next ``count`` API calls with ``status`` (a 5xx, say) and an empty body."""
        with self.lock:
            self._forced.extend([status] * count)

    def expire_tokens(self) -> None:
        """Make every token issued so far invalid (as when it outlives its 20 minutes)."""
        with self.lock:
            self._tokens.clear()

    def records(self, resource: str) -> list[dict[str, Any]]:
        """Copies of every record of ``resource`` (a seed file name: ``Customers``, ``ContactPersons``)."""
        with self.lock:
            return copy.deepcopy(list(self.store[resource].values()))

    def record(self, resource: str, record_id: Any) -> dict[str, Any] | None:
        with self.lock:
            found = self.store[resource].get(str(record_id))
            return copy.deepcopy(found) if found is not None else None

    def add(self, resource: str, record: Mapping[str, Any], *, stamp_missing: bool = True) -> str:
        """Store a record as it stands (no API validation); returns its id."""
        res = RESOURCES[resource]
        with self.lock:
            full = normalise(res, record)
            if full.get(res.id_field) is None:
                full[res.id_field] = self.next_id(res)
            else:
                self._bump_sequence(res, full[res.id_field])
            if res.number_field and full.get(res.number_field) is None:
                full[res.number_field] = self.next_number(res)
            elif res.number_field:
                seq = f"number:{res.name}"
                self.sequences[seq] = max(self.sequences.get(seq, 0), int(full[res.number_field]))
            if res is SALES_ORDERS:
                customer = self.store[CUSTOMERS.name].get(str(full.get("CustomerId")))
                if customer is not None and full.get("CustomerNo") is None:
                    full["CustomerNo"] = customer.get("Number")
                full["SalesOrderLines"] = [self.complete_line(full, line) for line in full.get("SalesOrderLines") or []]
                self.total_order(full)
            if res is CONTACT_PERSONS:
                party = self.store[CUSTOMERS.name].get(str(full.get("partyId")))
                if party is not None and full.get("partyCustomerCode") is None:
                    full["partyCustomerCode"] = party.get("Number")
            if stamp_missing:
                self.stamp(res, full, created=True, only_missing=True)
            self.store[resource][str(full[res.id_field])] = full
            return str(full[res.id_field])

    def modify(self, resource: str, record_id: Any, changes: Mapping[str, Any]) -> dict[str, Any]:
        """Change a record directly (as a user in Go's GUI would) and stamp it as changed."""
        res = RESOURCES[resource]
        with self.lock:
            record = self.store[resource][str(record_id)]
            for key, value in changes.items():
                if "." in key:
                    outer, inner = key.split(".", 1)
                    record[outer] = {**(record.get(outer) or {}), inner: value}
                else:
                    record[key] = value
            self.stamp(res, record)
            return copy.deepcopy(record)

    def remove(self, resource: str, record_id: Any) -> None:
        with self.lock:
            del self.store[resource][str(record_id)]

    # ----------------------------------------------------------------------------------- sequences, time

    def now_ticks(self) -> int:
        """A fresh timestamp: the clock's time, and always later than the last one handed out."""
        with self.lock:
            ticks = max(int(self.clock.now() * TICKS_PER_SECOND), self._last_ticks + 1)
            self._last_ticks = ticks
            return ticks

    def _sequence_name(self, res: Resource) -> str:
        return "contact" if res.id_kind == "contact" else res.name

    def _bump_sequence(self, res: Resource, value: Any) -> None:
        if res.id_kind in ("contact", "int"):
            name = self._sequence_name(res)
            self.sequences[name] = max(self.sequences.get(name, 0), int(value))

    def next_id(self, res: Resource) -> Any:
        if res.id_kind == "guid":
            return str(uuid.uuid4())
        if res.id_kind == "code":
            raise ApiProblem(400, f"{res.title} validation error(s)", "A code is required.")
        name = self._sequence_name(res)
        start = 1_000_001 if res.id_kind == "contact" else 1
        self.sequences[name] = max(self.sequences.get(name, start - 1), start - 1) + 1
        return self.sequences[name]

    def next_number(self, res: Resource) -> int:
        name = f"number:{res.name}"
        self.sequences[name] = max(self.sequences.get(name, res.number_start - 1), res.number_start - 1) + 1
        return self.sequences[name]

    def stamp(
        self, res: Resource, record: dict[str, Any], *, created: bool = False, only_missing: bool = False
    ) -> None:
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

    # ---------------------------------------------------------------------------------------- the app

    async def _endpoint(self, request: Request) -> Response:
        body = await request.body()
        with self.lock:
            response = self._dispatch(request, body)
            self.requests.append(
                {
                    "method": request.method,
                    "path": request.url.path,
                    "query": str(request.url.query),
                    "status": response.status_code,
                    "body": body.decode("utf-8", "replace"),
                    "content_type": request.headers.get("content-type", ""),
                }
            )
            return response

    def _dispatch(self, request: Request, body: bytes) -> Response:
        segments = [s for s in request.url.path.split("/") if s]
        lower = [s.lower() for s in segments]
        if lower[:1] == ["demo"]:
            segments, lower = segments[1:], lower[1:]
        if lower == ["oauth", "token"]:
            return self._token(request, body, version=2)
        if lower == ["v1", "oauth", "token"]:
            return self._token(request, body, version=1)
        if lower[:1] == ["v2"]:
            return self._v2(request, body, segments[1:])
        if lower[:1] == ["v1"]:
            return self._v1.handle(request, body, segments[1:])
        return problem(ApiProblem(404, "Not Found", "No such endpoint."))

    def take_forced(self) -> Response | None:
        if self._forced:
            status = self._forced.popleft()
            return Response(status_code=status, headers={"Retry-After": "1"} if status == 429 else None)
        return None

    def over_limit(self, key: str, limit: int) -> bool:
        """Count a call against ``key``'s budget; true when it is over ``limit`` in the last second."""
        now = self.clock.now()
        window = self._windows.setdefault(key, deque())
        while window and window[0] <= now - 1.0:
            window.popleft()
        if len(window) >= limit:
            return True
        window.append(now)
        return False

    def _token(self, request: Request, body: bytes, *, version: int) -> Response:
        if request.method != "POST":
            return Response(status_code=405)
        if version == 2:
            key = request.headers.get("Ocp-Apim-Subscription-Key")
            if not key:
                return JSONResponse({"statusCode": 401, "message": _APIM_401}, status_code=401)
            if key != self.credentials.subscription_key:
                return JSONResponse({"statusCode": 401, "message": _APIM_401_INVALID}, status_code=401)
        forced = self.take_forced()
        if forced is not None:
            return forced
        budget = (
            ("sub:" + self.credentials.subscription_key, self.rate_per_second)
            if version == 2
            else ("app:" + self.credentials.application_key, self.v1_rate_per_second)
        )
        if self.over_limit(*budget):
            return Response(status_code=429, headers={"Retry-After": "1"})
        auth = request.headers.get("Authorization", "")
        expected = base64.b64encode(
            f"{self.credentials.application_key}:{self.credentials.client_key}".encode()
        ).decode()
        if not auth.lower().startswith("basic ") or auth[6:].strip() != expected:
            return JSONResponse(
                {"error": "invalid_client", "error_description": "The client credentials are invalid."},
                status_code=400,
            )
        form = dict(pair.split("=", 1) for pair in body.decode("utf-8", "replace").split("&") if "=" in pair)
        if form.get("grant_type") != "client_credentials":
            return JSONResponse(
                {
                    "error": "unsupported_grant_type",
                    "error_description": "Only client_credentials is supported.",
                },
                status_code=400,
            )
        ttl = self.token_ttl if version == 2 else self.v1_token_ttl
        token = self._jwt(ttl)
        self._tokens[token] = _Token(expires=self.clock.now() + ttl, version=version)
        return JSONResponse({"access_token": token, "token_type": "bearer", "expires_in": ttl})

    def _jwt(self, ttl: int) -> str:
        def part(data: Mapping[str, Any]) -> str:
            return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")

        now = int(self.clock.now())
        claims = {
            "goClientId": "7d3c6a7e-0000-4000-8000-000000000001",
            "goClientName": "Sandbox AS",
            "goUserId": "00000000-0000-4000-8000-000000000002",
            "goActiveClientSubscriptions": [p for p in ALL_PRIVILEGES if p not in self.invalid_privileges],
            "goInvalidPrivileges": [f"{p}_Full" for p in sorted(self.invalid_privileges)]
            + sorted(self.invalid_privileges),
            "role": [f"{p}_Full" for p in ALL_PRIVILEGES],
            "iat": now,
            "exp": now + ttl,
            "jti": secrets.token_hex(8),
        }
        return f"{part({'alg': 'HS256', 'typ': 'JWT'})}.{part(claims)}.{secrets.token_urlsafe(16)}"

    def bearer_ok(self, request: Request, version: int) -> bool:
        auth = request.headers.get("Authorization", "")
        if not auth.lower().startswith("bearer "):
            return False
        token = self._tokens.get(auth[7:].strip())
        return token is not None and token.version == version and self.clock.now() < token.expires

    # ------------------------------------------------------------------------------------------- v2

    def _v2(self, request: Request, body: bytes, segments: list[str]) -> Response:
        key = request.headers.get("Ocp-Apim-Subscription-Key")
        if not key:
            return JSONResponse({"statusCode": 401, "message": _APIM_401}, status_code=401)
        if key != self.credentials.subscription_key:
            return JSONResponse({"statusCode": 401, "message": _APIM_401_INVALID}, status_code=401)
        forced = self.take_forced()
        if forced is not None:
            return forced
        if self.over_limit("sub:" + key, self.rate_per_second):
            return Response(status_code=429, headers={"Retry-After": "1"})
        if not self.bearer_ok(request, 2):
            return Response(status_code=401, headers={"WWW-Authenticate": 'Bearer error="invalid_token"'})
        if not segments or segments[0].casefold() not in V2_RESOURCES:
            return problem(ApiProblem(404, "Not Found", "No such endpoint."))
        res = V2_RESOURCES[segments[0].casefold()]
        if res.privilege in self.invalid_privileges:
            return Response(status_code=403)
        try:
            return self._v2_route(request, body, res, segments[1:])
        except ApiProblem as exc:
            return problem(exc)

    def _v2_route(self, request: Request, body: bytes, res: Resource, rest: list[str]) -> Response:
        method = request.method
        lower = [s.lower() for s in rest]
        if res is SALES_ORDERS and rest:
            if lower == ["complete"]:
                if method != "POST":
                    raise ApiProblem(405, "Method Not Allowed")
                return JSONResponse(self._create_order(_json(body, res)), status_code=201)
            if len(rest) >= 2:
                order = self._find(res, rest[0])
                if lower[1:] == ["complete"] and method == "GET":
                    return JSONResponse(out(res, order))
                if lower[1] == "lines":
                    return self._lines_route(request, body, order, rest[2:])
                raise ApiProblem(404, "Not Found", "No such endpoint.")
        if not rest:
            if method == "GET":
                return self._list(request, res)
            if method == "POST" and res.writable and res is not SALES_ORDERS:
                return JSONResponse(self._create(res, _json(body, res)), status_code=res.post_status)
            raise ApiProblem(405, "Method Not Allowed", f"{method} is not allowed on /{res.name}.")
        if len(rest) != 1:
            raise ApiProblem(404, "Not Found", "No such endpoint.")
        record = self._find(res, rest[0])
        if method == "GET":
            return JSONResponse(out(res, record, lines=False))
        if not res.writable:
            raise ApiProblem(405, "Method Not Allowed", f"{method} is not allowed on /{res.name}.")
        if method == "PATCH":
            return JSONResponse(out(res, self._patch(request, body, res, record), lines=False))
        if method == "DELETE":
            self._delete(res, record)
            return Response(status_code=200)
        raise ApiProblem(405, "Method Not Allowed", f"{method} is not allowed on /{res.name}/{{id}}.")

    def _find(self, res: Resource, raw_id: str) -> dict[str, Any]:
        key = raw_id.lower() if res.id_kind == "guid" else raw_id
        if res.id_kind in ("contact", "int") and not raw_id.lstrip("-").isdigit():
            raise ApiProblem(400, "Validation error(s)", f"The value '{raw_id}' is not valid.")
        found = self.store[res.name].get(key)
        if found is None:
            raise ApiProblem(404, "Object(s) not found", f"{res.title} with id = {raw_id} not found.")
        return found

    def _list(self, request: Request, res: Resource) -> Response:
        query = {k.casefold(): v for k, v in request.query_params.items()}
        page = _int_param(query, "pagenumber", 1)
        size = _int_param(query, "pagesize", 5000)
        if page < 1:
            raise ApiProblem(400, "Validation error(s)", "PageNumber must be 1 or more.")
        if size < 1 or size > self.max_page_size:
            raise ApiProblem(
                400,
                "Validation error(s)",
                f"PageSize must be between 1 and MaxPageSize ({self.max_page_size}); it was {size}.",
            )
        records = [r for r in self.store[res.name].values() if self._matches(res, r, query)]
        total = len(records)
        chunk = records[(page - 1) * size : page * size]
        pages = (total + size - 1) // size
        kept = [(k, v) for k, v in request.query_params.multi_items() if k.casefold() not in ("pagenumber", "pagesize")]

        def link(number: int) -> str:
            params = [*kept, ("PageNumber", str(number)), ("PageSize", str(size))]
            return str(request.url.replace(query="&".join(f"{k}={_quote(v)}" for k, v in params)))

        meta = {
            "totalCount": total,
            "pageSize": size,
            "currentPage": page,
            "totalPages": pages,
            "previousPageLink": link(page - 1) if 1 < page <= pages + 1 else None,
            "nextPageLink": link(page + 1) if page < pages else None,
        }
        headers = {"X-Pagination": json.dumps(meta)}
        if not chunk:
            return Response(status_code=204, headers=headers)
        fields = [f.strip().casefold() for f in query.get("fields", "").split(",") if f.strip()]
        items = [out(res, r, lines=False) for r in chunk]
        if fields:
            items = [{k: v for k, v in item.items() if k.casefold() in fields} for item in items]
        return JSONResponse(items, headers=headers)

    def _matches(self, res: Resource, record: dict[str, Any], query: dict[str, str]) -> bool:
        def after(param: str, field: str) -> bool:
            raw = query.get(param.casefold())
            if not raw:
                return True
            try:
                limit = parse_ticks(raw)
            except ValueError:
                raise ApiProblem(400, "Unable to cast object(s)", f"{param} is not a valid date-time.") from None
            value = record.get(field)
            return value is not None and parse_ticks(str(value)) > limit

        if res.changed and not after("lastChangedDateTimeOffsetGreaterThan", "LastChangedDateTimeOffset"):
            return False
        if res.created_filter and res.created_field and not after(res.created_filter, res.created_field):
            return False
        if res.number_filter and query.get(res.number_filter.casefold(), "").strip():
            ranges = parse_number_ranges(query[res.number_filter.casefold()], res.number_filter)
            if not in_ranges(record.get("Number"), ranges):
                return False
        if (
            res is SALES_ORDERS
            and query.get("customernos", "").strip()
            and not in_ranges(record.get("CustomerNo"), parse_number_ranges(query["customernos"], "customerNos"))
        ):
            return False
        for param, field in res.filters.items():
            raw = query.get(param.casefold(), "")
            if raw.strip():
                wanted = {v.strip().casefold() for v in raw.split(",") if v.strip()}
                if str(record.get(field) or "").casefold() not in wanted:
                    return False
        for param, field in (("isactive", "IsActive"), ("isarchived", "IsArchived")):
            raw = query.get(param, "").strip().lower()
            if raw in ("true", "false") and field in record and bool(record[field]) != (raw == "true"):
                return False
        return True

    # ------------------------------------------------------------------------------------- v2 writes

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
                for other in self.store[other_res.name].values():
                    if other.get("ExternalImportReference") == ext and other[res.id_field] != record[res.id_field]:
                        what = "contact" if res.external_class == "contact" else res.title.lower()
                        raise ApiProblem(
                            400,
                            title,
                            f"ExternalImportReference is already in use. '{ext}' is used on ({what}) "
                            f"Id = {other[res.id_field]}.",
                        )
        if res.number_field == "Number" and record.get("Number") is not None:
            for other in self.store[res.name].values():
                if other["Number"] == record["Number"] and other["Id"] != record["Id"]:
                    raise ApiProblem(400, title, f"{res.title} number {record['Number']} is already in use.")
        if res in (DEPARTMENTS, PRODUCTS) and record.get("Code") is not None:
            for other in self.store[res.name].values():
                if str(other.get("Code")) == str(record["Code"]) and other["Id"] != record["Id"]:
                    raise ApiProblem(400, title, f"Code '{record['Code']}' is already in use.")
        self._resolve_refs(res, record)

    def _resolve_refs(self, res: Resource, record: dict[str, Any]) -> None:
        title = f"{res.title} validation error(s)"
        refs = (("Department", DEPARTMENTS, "DepartmentId", "DepartmentCode"),)
        for what, target, id_field, code_field in refs:
            if id_field not in record:
                continue
            if record.get(id_field) is not None:
                found = self.store[target.name].get(str(record[id_field]))
                if found is None:
                    raise ApiProblem(404, title, f"{what} with id = {record[id_field]} not found.")
                record[code_field] = found.get("Code")
            elif record.get(code_field):
                match = [r for r in self.store[target.name].values() if str(r.get("Code")) == str(record[code_field])]
                if not match:
                    raise ApiProblem(404, title, f"{what} with code = '{record[code_field]}' not found.")
                record[id_field] = match[0]["Id"]

    def _create(self, res: Resource, body: Any) -> dict[str, Any]:
        if not isinstance(body, dict):
            raise ApiProblem(400, f"{res.title} validation error(s)", "The request body must be a JSON object.")
        self._check_fields(res, body)
        record = normalise(res, body)
        record[res.id_field] = "pending"
        self._validate(res, record, creating=True)
        record[res.id_field] = self.next_id(res)
        if res.number_field and record.get(res.number_field) is None:
            record[res.number_field] = self.next_number(res)
        if res in (DEPARTMENTS, PRODUCTS) and not record.get("Code"):
            record["Code"] = str(record["Id"])
        self.stamp(res, record, created=True)
        self.store[res.name][str(record[res.id_field])] = record
        return out(res, record)

    def _patch(self, request: Request, body: bytes, res: Resource, record: dict[str, Any]) -> dict[str, Any]:
        content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if content_type != "application/json-patch+json":
            raise ApiProblem(415, "Unsupported Media Type", "Send JSON Patch as application/json-patch+json.")
        if res is SALES_ORDERS and record.get("SalesOrderStatus") == "Confirmed":
            raise ApiProblem(400, f"{res.title} validation error(s)", "A confirmed sales order cannot be edited.")
        patched = apply_patch(res, {k: v for k, v in record.items() if k != "SalesOrderLines"}, _json(body, res))
        self._validate(res, patched, creating=False)
        if res is SALES_ORDERS:
            patched["SalesOrderLines"] = record.get("SalesOrderLines", [])
        self.stamp(res, patched)
        record.clear()
        record.update(patched)
        return record

    def in_use(self, res: Resource, record: dict[str, Any]) -> str | None:
        """Why ``record`` cannot be deleted, or ``None``."""
        rid = record.get(res.id_field)
        if res in CONTACT_RESOURCES:
            for other in CONTACT_RESOURCES:
                if other is not res and str(rid) in self.store[other.name]:
                    return f"is also an active {other.title.lower()}"
        if res is CUSTOMERS:
            if any(o.get("CustomerId") == rid for o in self.store[SALES_ORDERS.name].values()):
                return "has sales orders"
            if any(str(p.get("partyId")) == str(rid) for p in self.store[CONTACT_PERSONS.name].values()):
                return "has contact persons"
        if res is PRODUCTS:
            for order in self.store[SALES_ORDERS.name].values():
                if any(line.get("ProductId") == rid for line in order.get("SalesOrderLines", [])):
                    return "is used on sales order lines"
        if res is DEPARTMENTS:
            for other in (*CONTACT_RESOURCES, SALES_ORDERS):
                if any(r.get("DepartmentId") == rid for r in self.store[other.name].values()):
                    return f"is used by {other.name.lower()}"
        return None

    def _delete(self, res: Resource, record: dict[str, Any]) -> None:
        reason = self.in_use(res, record)
        if reason:
            raise ApiProblem(
                409,
                f"{res.title} conflict",
                f"{res.title} with id = {record[res.id_field]} is in use and cannot be deleted ({reason}).",
            )
        del self.store[res.name][str(record[res.id_field])]

    # -------------------------------------------------------------------------------- sales orders

    def complete_line(self, order: dict[str, Any], raw: Mapping[str, Any], *, checked: bool = False) -> dict[str, Any]:
        """A line in full: ids, the product's defaults, VAT and amounts."""
        title = "SalesOrderLine validation error(s)"
        line = normalise(SALES_ORDER_LINES, raw)
        if line.get("Id") is None:
            line["Id"] = str(uuid.uuid4())
        line["SalesOrderId"] = order["Id"]
        if line.get("ProductId") is not None:
            product = self.store[PRODUCTS.name].get(str(line["ProductId"]))
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
        vat = next((v for v in self.store[VATCODES.name].values() if str(v.get("Code")) == "3"), None)
        line["VatCode"] = line.get("VatCode") or "3"
        line["VatId"] = vat["Id"] if vat else None
        line["VatRate"] = float(vat["Rate"]) if vat else 0.25
        net = float(line.get("Quantity") or 0) * float(line.get("ProductUnitPrice") or 0)
        net *= 1 - float(line.get("Allowance") or 0) / 100
        line["NetAmount"] = round(net, 2)
        line["VatAmount"] = round(net * line["VatRate"], 2)
        line["TotalAmount"] = round(line["NetAmount"] + line["VatAmount"], 2)

    def total_order(self, order: dict[str, Any]) -> None:
        lines = order.get("SalesOrderLines") or []
        order["LineCount"] = len(lines)
        order["NetAmount"] = round(sum(line["NetAmount"] for line in lines), 2)
        order["TotalAmount"] = round(sum(line["TotalAmount"] for line in lines), 2)

    def _create_order(self, body: Any) -> dict[str, Any]:
        res = SALES_ORDERS
        title = "SalesOrder validation error(s)"
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
            customer = self.store[CUSTOMERS.name].get(str(order["CustomerId"]))
            if customer is None:
                raise ApiProblem(404, title, f"Customer with id = {order['CustomerId']} not found.")
        elif order.get("CustomerNo") is not None:
            customer = next(
                (c for c in self.store[CUSTOMERS.name].values() if c["Number"] == order["CustomerNo"]), None
            )
            if customer is None:
                raise ApiProblem(404, title, f"Customer with number = {order['CustomerNo']} not found.")
        else:
            raise ApiProblem(400, title, "CustomerId or CustomerNo is required.")
        order["CustomerId"], order["CustomerNo"] = customer["Id"], customer["Number"]
        order["Id"] = "pending"
        self._validate(res, order, creating=True)
        order["Id"] = self.next_id(res)
        order["SalesOrderLines"] = [self.complete_line(order, raw, checked=True) for raw in raw_lines or []]
        for i, line in enumerate(order["SalesOrderLines"]):
            line["SortOrder"] = line.get("SortOrder") or i
        order["SalesOrderNo"] = self.next_number(res)
        self.total_order(order)
        self.stamp(res, order, created=True)
        self.store[res.name][order["Id"]] = order
        return out(res, order)

    def _lines_route(self, request: Request, body: bytes, order: dict[str, Any], rest: list[str]) -> Response:
        method = request.method
        lines: list[dict[str, Any]] = order.setdefault("SalesOrderLines", [])
        if not rest:
            if method == "GET":
                if not lines:
                    return Response(status_code=204)
                return JSONResponse(copy.deepcopy(lines))
            if method == "POST":
                raw = _json(body, SALES_ORDER_LINES)
                self._check_fields(SALES_ORDER_LINES, raw)
                line = self.complete_line(order, raw, checked=True)
                lines.append(line)
                self._order_changed(order)
                return JSONResponse(copy.deepcopy(line), status_code=201)
            raise ApiProblem(405, "Method Not Allowed")
        line_id = rest[0].lower()
        index = next((i for i, line in enumerate(lines) if str(line["Id"]).lower() == line_id), None)
        if index is None or len(rest) != 1:
            raise ApiProblem(404, "Object(s) not found", f"SalesOrderLine with id = {rest[0]} not found.")
        if method == "GET":
            return JSONResponse(copy.deepcopy(lines[index]))
        if order.get("SalesOrderStatus") == "Confirmed":
            raise ApiProblem(400, "SalesOrderLine validation error(s)", "A confirmed sales order cannot be edited.")
        if method == "PATCH":
            content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
            if content_type != "application/json-patch+json":
                raise ApiProblem(415, "Unsupported Media Type", "Send JSON Patch as application/json-patch+json.")
            patched = apply_patch(SALES_ORDER_LINES, lines[index], _json(body, SALES_ORDER_LINES))
            lines[index] = self.complete_line(order, patched, checked=True)
            self._order_changed(order)
            return JSONResponse(copy.deepcopy(lines[index]))
        if method == "DELETE":
            del lines[index]
            self._order_changed(order)
            return Response(status_code=200)
        raise ApiProblem(405, "Method Not Allowed")

    def _order_changed(self, order: dict[str, Any]) -> None:
        self.total_order(order)
        self.stamp(SALES_ORDERS, order)


def out(res: Resource, record: Mapping[str, Any], *, lines: bool = True) -> dict[str, Any]:
    """A record as the API returns it: sensitive numbers hidden, an order's lines only where asked."""
    item = copy.deepcopy(dict(record))
    if item.get("NationalIdNumber"):
        item["NationalIdNumber"] = "hidden"
    if res is SALES_ORDERS and not lines:
        item.pop("SalesOrderLines", None)
    return item


def problem(exc: ApiProblem) -> Response:
    """A ProblemDetails response, in ASP.NET Core's lower-case keys."""
    body = {
        "type": _PROBLEM_TYPES.get(exc.status, "about:blank"),
        "title": exc.title,
        "status": exc.status,
        "detail": exc.detail or None,
        "traceId": f"00-{secrets.token_hex(16)}-{secrets.token_hex(8)}-00",
    }
    return JSONResponse(body, status_code=exc.status, media_type="application/problem+json")


def _json(body: bytes, res: Resource) -> Any:
    try:
        data = json.loads(body or b"null")
    except ValueError:
        raise ApiProblem(400, f"{res.title} validation error(s)", "The request body is not valid JSON.") from None
    if data is None:
        raise ApiProblem(400, f"{res.title} validation error(s)", "A non-empty request body is required.")
    return data


def _int_param(query: Mapping[str, str], name: str, default: int) -> int:
    raw = query.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise ApiProblem(400, "Validation error(s)", f"The value '{raw}' is not valid for {name}.") from None


def _quote(value: str) -> str:
    return quote(value, safe=",")
