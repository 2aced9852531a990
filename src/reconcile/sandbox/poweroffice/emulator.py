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

The emulator is put together from parts: :mod:`~reconcile.sandbox.poweroffice.store` (records, ids,
stamps, what Go computes), :mod:`~reconcile.sandbox.poweroffice.access` (keys, tokens, limits),
:mod:`~reconcile.sandbox.poweroffice.v2` and :mod:`~reconcile.sandbox.poweroffice.v1` (the routes), over
the collections defined as data in :mod:`~reconcile.sandbox.poweroffice.resources`.
"""

from __future__ import annotations

import copy
import json
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from reconcile.atomic import write_text_atomically
from reconcile.model.clock import Clock, SystemClock
from reconcile.sandbox.poweroffice.access import Access, EmulatorCredentials
from reconcile.sandbox.poweroffice.model import RESOURCES
from reconcile.sandbox.poweroffice.problem import ApiProblem, problem
from reconcile.sandbox.poweroffice.resources.registers import DEFAULT_VATCODES, VATCODES
from reconcile.sandbox.poweroffice.resources.v1 import CURRENCIES, DEFAULT_CURRENCIES
from reconcile.sandbox.poweroffice.store import PowerOfficeStore
from reconcile.sandbox.poweroffice.v1.routes import V1Api
from reconcile.sandbox.poweroffice.v2.routes import V2Api


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
        self.credentials = credentials or EmulatorCredentials(
            application_key=str(uuid.UUID(int=0x5EED_0001)),
            client_key=str(uuid.UUID(int=0x5EED_0002)),
            subscription_key="8614510ab41041e992959512b78ed229",
        )
        self.requests: list[dict[str, Any]] = []
        self.store = PowerOfficeStore(self.clock)
        self.access = Access(
            clock=self.clock,
            credentials=self.credentials,
            rate_per_second=rate_per_second,
            v1_rate_per_second=v1_rate_per_second,
            token_ttl=token_ttl,
            v1_token_ttl=v1_token_ttl,
        )
        self._v1 = V1Api(self.store, self.access, max_page_size=v1_max_page_size)
        self._v2 = V2Api(self.store, self.access, max_page_size=max_page_size)
        self.app = Starlette(
            routes=[
                Route(
                    "/{path:path}",
                    self._endpoint,
                    methods=["GET", "POST", "PATCH", "DELETE", "PUT"],
                )
            ]
        )

    @property
    def invalid_privileges(self) -> set[str]:
        """Privileges the client lacks the module subscription for: their endpoints answer 403."""
        return self.access.invalid_privileges

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
        """Write the whole state (records and sequences) to one JSON file (on one line: the fast encoder)."""
        with self.store.lock:
            text = json.dumps(self.store.state(), ensure_ascii=False)
        write_text_atomically(path, text)

    def load(self, path: Path) -> None:
        """Replace the state with one written by :meth:`dump`."""
        self.store.restore(json.loads(path.read_text(encoding="utf-8")), str(path))

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
        with self.store.lock:
            self.access.force(429, count)

    def fail_next(self, count: int = 1, status: int = 503) -> None:
        """Answer the next ``count`` API calls with ``status`` (a 5xx, say) and an empty body."""
        with self.store.lock:
            self.access.force(status, count)

    def expire_tokens(self) -> None:
        """Make every token issued so far invalid (as when it outlives its 20 minutes)."""
        with self.store.lock:
            self.access.expire_tokens()

    def records(self, resource: str) -> list[dict[str, Any]]:
        """Copies of every record of ``resource`` (a seed file name: ``Customers``, ``ContactPersons``)."""
        with self.store.lock:
            return copy.deepcopy(list(self.store.records[resource].values()))

    def record(self, resource: str, record_id: Any) -> dict[str, Any] | None:
        with self.store.lock:
            found = self.store.records[resource].get(str(record_id))
            return copy.deepcopy(found) if found is not None else None

    def add(self, resource: str, record: Mapping[str, Any], *, stamp_missing: bool = True) -> str:
        """Store a record as it stands (no API validation); returns its id."""
        return self.store.add(resource, record, stamp_missing=stamp_missing)

    def modify(self, resource: str, record_id: Any, changes: Mapping[str, Any]) -> dict[str, Any]:
        """Change a record directly (as a user in Go's GUI would) and stamp it as changed."""
        return self.store.modify(resource, record_id, changes)

    def remove(self, resource: str, record_id: Any) -> None:
        with self.store.lock:
            del self.store.records[resource][str(record_id)]

    # ---------------------------------------------------------------------------------------- the app

    async def _endpoint(self, request: Request) -> Response:
        body = await request.body()
        with self.store.lock:
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
            return self.access.token(request, body, version=2)
        if lower == ["v1", "oauth", "token"]:
            return self.access.token(request, body, version=1)
        if lower[:1] == ["v2"]:
            return self._v2.handle(request, body, segments[1:])
        if lower[:1] == ["v1"]:
            return self._v1.handle(request, body, segments[1:])
        return problem(ApiProblem(404, "Not Found", "No such endpoint."))
