"""PowerOffice Go: reads full snapshots and writes batches through API v2 (and v1 for four entities).

Which API and endpoint serves an entity is data, in the catalogue's ``api`` tables
(``systems/poweroffice/catalogue.toml``); this module is the wire protocol around them:

- **Auth**: client-credentials tokens (:mod:`reconcile.systems.poweroffice_auth`), renewed before they
  expire; the subscription key on every v2 call. A 403 is explained: the privilege the call needed, and
  whether the token lists it as invalid (the client lacks the module subscription) or the integration
  lacks it.
- **Reads**: v2 lists page with ``PageNumber`` / ``PageSize`` (the largest page the endpoint allows) and
  stop at the first of a 204, an empty or short page, or an ``X-Pagination`` without ``nextPageLink``.
  "Customers person" and "Suppliers person" are the records with ``IsPerson = true`` of the same endpoints.
  Order lines come from each order's ``/Complete`` and carry ``sesam_SalesOrderId``. v1 lists page with
  ``$top`` / ``$skip`` / ``$orderby`` until ``count`` records are in.
- **Writes**: v2 POST creates (sales orders with their lines through ``/SalesOrders/Complete``), JSON Patch
  updates holding only the fields the op changes, DELETE (409 "in use" is that row's failure); v1 POST
  upserts, sending the whole record since v1 replaces it. Creates carry ``ExternalImportReference``
  (the op's own, else :meth:`PowerOfficeSystem.identity_stamp` of its row): when the create's answer is
  lost, or the record turns out to exist, the record is found by it instead of being made twice.
- **Limits**: 10 calls in any one second per subscription key (a sliding window, shared by the token
  calls), retries with backoff on 429 (honouring ``Retry-After``, at least a second), 502/503/504 and
  timeouts (:mod:`reconcile.systems.http`).

Every op gets its own :class:`~reconcile.systems.base.WriteResult`; an op the catalogue says must fail
(a read-only entity or field, a missing required field) is refused without a call.

**Cached order lines.** Order lines cost a call per order (10 a second), every other entity a call per
5000-20000 records. Given a ``cache_dir``, the lines are kept as a snapshot
(:mod:`reconcile.systems.snapshot_cache`) with, per order, the ``LastChangedDateTimeOffset`` its lines were
read at. The next read lists the order headers in full (a call or two), reads the lines of the orders that
are new or whose stamp differs, keeps the cached lines of the others and drops those of orders gone from the
list. The trade-off: whether a change to a line always moves its order's stamp is not documented (for
customers the reference says sub-entity changes do not move it), so the snapshot is read in full again
once it is older than ``cache_max_age`` (20 hours by default): a nightly run reads every line, as before,
while the runs of one day (a plan, then its run; the demo's two nights; tests) share one full read. Set it
to 0 to read the lines in full every time.

The other lists stay full reads: refreshing them from ``lastChangedDateTimeOffsetGreaterThan`` would
still need the full id list to see deletions, as many calls as the records themselves, and customers',
suppliers' and employees' stamps miss changes to their addresses.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import httpx
import polars as pl

from reconcile.config.connections import Key, register, resolve_secret
from reconcile.errors import AuthError, ConfigError, RemoteError
from reconcile.model.catalogue import Catalogue, Entity
from reconcile.model.clock import Clock, SystemClock
from reconcile.systems.base import WriteOp, WriteResult
from reconcile.systems.cache import Snapshot, SnapshotCache, secret_digest
from reconcile.systems.catalogues import builtin_catalogue
from reconcile.systems.http.breaker import CircuitBreaker
from reconcile.systems.http.client import HttpClient
from reconcile.systems.http.limits import SlidingWindowLimiter
from reconcile.systems.http.retry import RetryPolicy
from reconcile.systems.poweroffice.auth import SUBSCRIPTION_HEADER, TokenSource
from reconcile.systems.poweroffice.wire import fold, problem_text, selects, to_frame, token_claims, v1_error
from reconcile.systems.poweroffice.writes import Writer, identity_stamp

__all__ = ["POWEROFFICE_KEYS", "PowerOfficeSystem"]

SYSTEM = "poweroffice"
CACHE_MAX_AGE = 20 * 3600.0
"""How long ago cached order lines may have been read in full (see the module docs)."""

POWEROFFICE_KEYS = (
    Key("base_url", "url", description="the API v2 host: https://goapi.poweroffice.net (demo: .../Demo)"),
    Key("v1_base_url", "url", description="the API v1 host: https://api.poweroffice.net"),
    Key("application_key_env", "env", description="the variable holding the integration's application key"),
    Key("client_key_env", "env", description="the variable holding the client key of the Go client"),
    Key("subscription_key_env", "env", description="the variable holding the API v2 subscription key"),
)
register(SYSTEM, POWEROFFICE_KEYS)


class PowerOfficeSystem:
    """PowerOffice Go as a :class:`~reconcile.systems.base.System`.

    ``base_url`` is the v2 host (``/v2/...`` and ``/OAuth/Token`` below it), ``v1_base_url`` the v1 host.
    ``page_size`` caps every page (tests use small pages); by default each endpoint's largest page is used.
    ``cache_dir`` keeps order lines between runs (see the module docs); ``cache_id`` names the connection
    there when the hosts and keys do not (the local sandbox).
    """

    name = SYSTEM

    def __init__(
        self,
        *,
        base_url: str,
        v1_base_url: str,
        application_key: str,
        client_key: str,
        subscription_key: str,
        catalogue: Catalogue | None = None,
        clock: Clock | None = None,
        page_size: int | None = None,
        rate_per_second: int = 10,
        v1_rate_per_second: int = 50,
        retry: RetryPolicy | None = None,
        timeout: float = 60.0,
        transport: httpx.BaseTransport | None = None,
        cache_dir: Path | None = None,
        cache_id: str | None = None,
        cache_max_age: float = CACHE_MAX_AGE,
    ) -> None:
        self.catalogue = catalogue or builtin_catalogue(SYSTEM)
        self.clock: Clock = clock or SystemClock()
        self.page_size = page_size
        self.cache: SnapshotCache | None = None
        if cache_dir is not None:
            # One Go client per (hosts, keys); the keys enter only as a one-way digest.
            identity = cache_id or (
                f"{base_url.rstrip('/')}|{v1_base_url.rstrip('/')}|client " + secret_digest(application_key, client_key)
            )
            self.cache = SnapshotCache(
                cache_dir, system=SYSTEM, connection=identity, clock=self.clock, max_age=cache_max_age
            )
        retry = retry or RetryPolicy(attempts=6, base_delay=1.0, max_delay=30.0)
        # PowerOffice blocks no key for failed calls; the breaker only stops hammering a broken endpoint.
        breaker = CircuitBreaker(SYSTEM, max_errors=100, period=60.0, clock=self.clock)
        v2_limiter = SlidingWindowLimiter(rate_per_second, 1.0, clock=self.clock)
        v1_limiter = SlidingWindowLimiter(v1_rate_per_second, 1.0, clock=self.clock)
        common: dict[str, Any] = {"retry": retry, "clock": self.clock, "timeout": timeout, "transport": transport}
        base_url, v1_base_url = base_url.rstrip("/"), v1_base_url.rstrip("/")
        self._clients: list[HttpClient] = []
        self.v2_tokens = TokenSource(
            self._client(base_url, limiter=v2_limiter, breaker=breaker, **common),
            application_key=application_key,
            client_key=client_key,
            subscription_key=subscription_key,
            clock=self.clock,
            label="v2",
        )
        self.v1_tokens = TokenSource(
            self._client(v1_base_url, limiter=v1_limiter, breaker=breaker, **common),
            application_key=application_key,
            client_key=client_key,
            subscription_key=None,
            clock=self.clock,
            label="v1",
        )
        self.v2 = self._client(
            base_url + "/v2",
            auth=self.v2_tokens.headers,
            on_unauthorized=self.v2_tokens.invalidate,
            limiter=v2_limiter,
            breaker=breaker,
            headers={SUBSCRIPTION_HEADER: subscription_key, "Accept": "application/json"},
            **common,
        )
        self.v1 = self._client(
            v1_base_url,
            auth=self.v1_tokens.headers,
            on_unauthorized=self.v1_tokens.invalidate,
            limiter=v1_limiter,
            breaker=breaker,
            headers={"Accept": "application/json"},
            **common,
        )
        self._line_orders: dict[str, str] = {}
        self._writer = Writer(self)

    def _client(self, base_url: str, **options: Any) -> HttpClient:
        client = HttpClient(SYSTEM, base_url, **options)
        self._clients.append(client)
        return client

    @classmethod
    def from_connection(cls, conn: Mapping[str, Any], **options: Any) -> PowerOfficeSystem:
        """A system for a ``[poweroffice]`` table of the connections file; secrets come from its variables."""
        return cls(
            base_url=str(conn["base_url"]),
            v1_base_url=str(conn["v1_base_url"]),
            application_key=resolve_secret(conn, "application_key_env", system=SYSTEM),
            client_key=resolve_secret(conn, "client_key_env", system=SYSTEM),
            subscription_key=resolve_secret(conn, "subscription_key_env", system=SYSTEM),
            **options,
        )

    @property
    def calls(self) -> int:
        """HTTP calls made so far (tokens included)."""
        return sum(c.calls for c in self._clients)

    def calls_left(self) -> int | None:
        """PowerOffice Go has no daily limit, only one per second."""
        return None

    def close(self) -> None:
        for client in self._clients:
            client.close()

    def entity(self, name: str) -> Entity:
        found = self.catalogue.entity(name)
        if found is None:
            raise ConfigError(f'PowerOffice Go has no entity "{name}"{self.catalogue.suggest(name)}')
        return found

    # ------------------------------------------------------------------------------------------ reads

    def read(self, entity: str) -> pl.DataFrame:
        """A full snapshot of ``entity``; see the module docs for where each entity comes from."""
        ent = self.entity(entity)
        if ent.api.get("split") and self.cache is not None:
            return self._cached_lines(ent, self.cache)
        return to_frame(ent, self.fetch(ent))

    def fetch(self, ent: Entity) -> list[dict[str, Any]]:
        """The records of ``ent`` as the API returns them (keys in the API's casing)."""
        api = ent.api
        if api.get("split"):
            return self._read_lines(ent)
        if api.get("version") == 1:
            return self._v1_list(ent)
        records = self._v2_list(ent, str(api["path"]))
        wanted = {k.casefold(): v for k, v in dict(api.get("filter", {})).items()}
        if wanted:
            records = [r for r in records if selects(fold(r), wanted)]
        return records

    def _page_size(self, ent: Entity, default: int) -> int:
        size = int(ent.api.get("page_size", default))
        return min(size, self.page_size) if self.page_size else size

    def _v2_list(self, ent: Entity, path: str, params: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
        size = self._page_size(ent, 5000)
        records: list[dict[str, Any]] = []
        page = 1
        while True:
            query = {**dict(params or {}), "PageNumber": page, "PageSize": size}
            response = self._v2_call("GET", path, ent, params=query)
            if response.status_code == 204:
                break
            if response.status_code != 200:
                raise RemoteError(SYSTEM, f"reading {ent.name}: {problem_text(response)}", response.status_code)
            items = response.json()
            if not isinstance(items, list):
                raise RemoteError(SYSTEM, f"reading {ent.name}: expected a JSON array from {path}")
            records.extend(items)
            if not items or len(items) < size:
                break
            header = response.headers.get("X-Pagination")
            if header:
                try:
                    meta = fold(json.loads(header))
                except ValueError:
                    meta = {}
                if not meta.get("nextpagelink"):
                    break
            # Without the header a full page may not be the last: ask for the next (a 204 ends it).
            page += 1
        return records

    def _read_lines(self, ent: Entity) -> list[dict[str, Any]]:
        parent = self.entity(str(ent.api["parent"]))
        lines: list[dict[str, Any]] = []
        for order in self._v2_list(parent, str(parent.api["path"])):
            lines.extend(self._order_lines(ent, parent, str(fold(order).get("id")))[0])
        return lines

    def _order_lines(self, ent: Entity, parent: Entity, order_id: str) -> tuple[list[dict[str, Any]], str | None]:
        """The lines of one order (from its ``/Complete``) and the order's stamp they were read at."""
        response = self._v2_call("GET", f"{parent.api['path']}/{order_id}/Complete", ent)
        if response.status_code == 404:
            return [], None  # deleted since the list was read
        if response.status_code != 200:
            raise RemoteError(SYSTEM, f"reading {ent.name}: {problem_text(response)}", response.status_code)
        complete = fold(response.json())
        stamp = complete.get("lastchangeddatetimeoffset")
        lines: list[dict[str, Any]] = []
        for line in complete.get(str(ent.api["split"]).casefold()) or []:
            item = dict(line)
            item["sesam_SalesOrderId"] = order_id
            item["sesam_LastChangedDateTimeOffset"] = stamp
            self._line_orders[str(fold(item).get("id")).lower()] = order_id
            lines.append(item)
        return lines, None if stamp is None else str(stamp)

    def _cached_lines(self, ent: Entity, cache: SnapshotCache) -> pl.DataFrame:
        """Order lines from the cached snapshot, read again only for orders that are new or changed.

        The cursor maps each order id (lower case) to the stamp its lines were read at, as the API wrote
        it: stamps are compared as text, since Go's seven decimals are finer than a datetime holds.
        """
        parent = self.entity(str(ent.api["parent"]))
        snapshot = cache.load(ent.name, to_frame(ent, []).schema, {"orders": dict})
        read_at: Mapping[str, Any] = snapshot.cursor.get("orders", {}) if snapshot is not None else {}
        full_at = snapshot.full_at if snapshot is not None else self.clock.now()
        orders: dict[str, str | None] = {}
        kept: list[str] = []
        fresh: list[dict[str, Any]] = []
        for order in self._v2_list(parent, str(parent.api["path"])):
            folded = fold(order)
            order_id = str(folded.get("id"))
            key = order_id.lower()
            stamp = folded.get("lastchangeddatetimeoffset")
            if snapshot is not None and stamp is not None and read_at.get(key) == str(stamp):
                kept.append(key)
                orders[key] = str(stamp)
                continue
            lines, orders[key] = self._order_lines(ent, parent, order_id)
            fresh.extend(lines)
        frames = [to_frame(ent, fresh)]
        if snapshot is not None and kept:
            frames.insert(0, snapshot.frame.filter(pl.col("sesam_SalesOrderId").is_in(kept)))
        position = {key: i for i, key in enumerate(orders)}
        # In the order of the header list, each order's lines as it holds them: as a full read has them.
        frame = (
            pl.concat(frames)
            .with_columns(pl.col("sesam_SalesOrderId").replace_strict(position, default=None).alias("__order"))
            .sort("__order", maintain_order=True)
            .drop("__order")
        )
        for line_id, order_id in zip(frame["Id"].to_list(), frame["sesam_SalesOrderId"].to_list(), strict=True):
            self._line_orders.setdefault(str(line_id).lower(), str(order_id))
        cursor = {"orders": {key: stamp for key, stamp in orders.items() if stamp is not None}}
        cache.save(ent.name, Snapshot(frame, cursor, full_at))
        return frame

    def _v1_list(self, ent: Entity) -> list[dict[str, Any]]:
        size = self._page_size(ent, 1000)
        records: list[dict[str, Any]] = []
        while True:
            params = {"$orderby": ent.api.get("order_by", "Id"), "$top": size, "$skip": len(records)}
            body = self._v1_body(self._v1_call("GET", str(ent.api["path"]), ent, params=params), ent, "reading")
            data = fold(body).get("data")
            if not isinstance(data, list):
                raise RemoteError(SYSTEM, f"reading {ent.name}: the v1 answer holds no list", 200)
            records.extend(data)
            count = fold(body).get("count")
            if not data or (isinstance(count, int) and len(records) >= count) or (count is None and len(data) < size):
                return records

    # ------------------------------------------------------------------------------------------ calls

    def _v2_call(self, method: str, path: str, ent: Entity, **options: Any) -> httpx.Response:
        response = self.v2.request(method, path, endpoint=f"v2 {ent.name}", **options)
        if response.status_code == 403:
            raise self._forbidden(ent, write=method != "GET")
        return response

    def _v1_call(self, method: str, path: str, ent: Entity, **options: Any) -> httpx.Response:
        response = self.v1.request(method, path, endpoint=f"v1 {ent.name}", **options)
        if response.status_code == 403:
            raise AuthError(SYSTEM, f"PowerOffice Go refused {ent.name} (403, API v1): the integration lacks access")
        return response

    def _forbidden(self, ent: Entity, *, write: bool) -> AuthError:
        privilege = str(ent.api.get("privilege", ent.name))
        role = f"{privilege}_Full" if write else privilege
        invalid = token_claims(self.v2_tokens.token or "").get("goInvalidPrivileges") or []
        if role in invalid or privilege in invalid:
            why = (
                f"the Go client has no subscription to the module behind the privilege {role} (the token "
                "lists it in goInvalidPrivileges); the client must add that module in PowerOffice Go"
            )
        else:
            why = f"the integration lacks the privilege {role}; grant it in the integration's settings"
        return AuthError(SYSTEM, f"PowerOffice Go refused {'writing' if write else 'reading'} {ent.name} (403): {why}")

    def _v1_body(self, response: httpx.Response, ent: Entity, doing: str) -> dict[str, Any]:
        """The v1 envelope of a response; a ``success: false`` (HTTP 200) is a :class:`RemoteError`."""
        if response.status_code != 200:
            raise RemoteError(SYSTEM, f"{doing} {ent.name}: {problem_text(response)}", response.status_code)
        if not response.content.strip():
            raise RemoteError(
                SYSTEM,
                f"{doing} {ent.name}: PowerOffice Go (v1) answered with an empty body, as it does for an "
                "invalid value such as an e-mail address",
                200,
            )
        try:
            body = response.json()
        except ValueError:
            raise RemoteError(SYSTEM, f"{doing} {ent.name}: the v1 answer is not JSON", 200) from None
        error = v1_error(body)
        if error is not None:
            raise RemoteError(SYSTEM, f"{doing} {ent.name}: PowerOffice Go (v1) reported an error: {error}", 200)
        assert isinstance(body, dict)
        return body

    # ----------------------------------------------------------------------------------------- writes

    def write(self, entity: str, ops: Sequence[WriteOp]) -> list[WriteResult]:
        """One result per op, in order; a refused or failed op never stops the others.

        A failure of the system itself (auth, limits that outlast the retries, the network) raises when it
        meets the batch's first op; later in the batch, the ops not yet done get failed, retryable results
        so that what was written is still reported.
        """
        return self._writer.write(self.entity(entity), ops)

    def identity_stamp(self, row_id: str) -> str:
        """The ``ExternalImportReference`` a create of plan row ``row_id`` carries (at most 50 characters)."""
        return identity_stamp(row_id)

    def find_by_reference(self, entity: str, reference: str) -> str | None:
        """The id of the record of ``entity`` whose ``ExternalImportReference`` is ``reference``."""
        return self._writer.find_by_reference(self.entity(entity), reference)
