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

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from reconcile.atomic import write_text_atomically
from reconcile.model.clock import Clock, SystemClock
from reconcile.sandbox.poweroffice.model import (
    ADDRESSES,
    CONTACT_PERSONS,
    CURRENCIES,
    CUSTOMERS,
    DEFAULT_CURRENCIES,
    DEFAULT_VATCODES,
    PRODUCTS,
    RESOURCES,
    SALES_ORDER_LINES,
    SALES_ORDERS,
    SUPPLIERS,
    TICKS_PER_SECOND,
    VATCODES,
    ApiProblem,
    Resource,
    format_ticks,
    format_v1_stamp,
    normalise,
)
from reconcile.sandbox.poweroffice.v1 import V1Api
from reconcile.sandbox.poweroffice.v2 import APIM_401, APIM_401_INVALID, V2Api, problem

__all__ = ["EmulatorCredentials", "PowerOfficeEmulator"]

ALL_PRIVILEGES = ("Customer", "Supplier", "Employee", "Department", "Product", "SalesOrders", "CommonServices")


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
        self._v2 = V2Api(self)
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
        write_text_atomically(path, text)

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

    def connection(self, url: str) -> dict[str, str]:
        """The connector's settings for this emulator served at ``url``: hosts and keys."""
        return {
            "base_url": url,
            "v1_base_url": f"{url}/v1",
            "application_key": self.credentials.application_key,
            "client_key": self.credentials.client_key,
            "subscription_key": self.credentials.subscription_key,
        }

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
            if res in (CUSTOMERS, SUPPLIERS) and full.get("IsPerson") and not full.get("Name"):
                full["Name"] = f"{full.get('FirstName') or ''} {full.get('LastName') or ''}".strip()
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
            return self._v2.handle(request, body, segments[1:])
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
                return JSONResponse({"statusCode": 401, "message": APIM_401}, status_code=401)
            if key != self.credentials.subscription_key:
                return JSONResponse({"statusCode": 401, "message": APIM_401_INVALID}, status_code=401)
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
