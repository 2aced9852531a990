"""The Exact Online connector: full snapshots in and per-record writes out, over Exact's REST API.

Reads use the bulk endpoint of an entity when it has one (1000 rows a page, ``$select`` of the catalogue's
fields) and the regular endpoint otherwise (60 a page), following ``__next`` one page at a time: Exact
gives duplicates or gaps when pages are fetched in parallel. Values come back typed as the catalogue says:
``/Date(ms)/`` (Amsterdam wall-clock) becomes ``pl.Date`` or ``pl.Datetime(UTC)``, padded codes and country
codes lose their spaces, guids are lower case, the key column is text.

Writes go one record a call, as Exact has no working ``$batch``; orders and quotations carry their lines
embedded in the header's POST. Before any call each operation is checked against the catalogue (read-only
entities and fields, fields that cannot change after creation, required fields, guids, lengths, allowed
values): what would fail is a failed result with the reason, and no call is spent on it, because Exact
blocks an API key that sends more than ten bad requests an hour to one endpoint. A create whose answer was
lost (a timeout, a gateway error) is not sent again blindly: the connector looks for the record by its
natural key among the records created since, and adopts it when there is exactly one, or reports the
create as retryable when there is none.

The division is pinned by the connection; ``/current/Me`` is never consulted for it. Calls stay within
Exact's limits by following the ``X-RateLimit-*`` headers (:class:`ExactRateLimiter`).

**Cached snapshots.** Given a ``cache_dir``, an entity with a sync endpoint (Accounts, Contacts, Addresses,
Items, Employees, sales orders and quotations with their lines) is read through it, and its snapshot is kept
(:mod:`reconcile.systems.snapshot_cache`) with the highest ``Timestamp`` seen. The next read asks only for
``Timestamp gt <that>``, lays those rows over the snapshot, drops the keys ``sync/Deleted`` lists for the
entity's type since the last read, and returns what a full read would: a few calls instead of one per
thousand records. A first read pages the sync endpoint from ``Timestamp gt 1`` (and the deletion log from 1,
as Exact's reference says to do) to learn where to start. A snapshot last read in full more than
``cache_max_age`` ago (30 days by default, well inside the deletion log's two months of retention) is read
in full again.

Some values Exact computes from another entity: a contact's code, city, postcode, country and main-contact
flag come from its account, an order's or quotation's amount from its lines. A change there may not move
this entity's ``Timestamp``, so such an entity also keeps a cursor on the other one and is read in full
when anything there changed or was deleted since.

Not seen: a division moved to another Exact database restarts its timestamps (Exact's reference:
``system/Divisions`` ``DivisionMoveDate``). Checking that costs a call per read on an endpoint the catalogue
and the sandbox do not have, so it is not checked: after a move, ``cache_max_age`` bounds how long changes
can go unseen; clear the cache folder (or lower the age) when Exact announces a move.
"""

from __future__ import annotations

import datetime as dt
import re
import threading
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import polars as pl

from reconcile.errors import ConfigError, RateLimited, RemoteError, SystemFailure
from reconcile.systems.base import WriteOp, WriteResult
from reconcile.systems.catalogue import DTYPES, Catalogue, Entity, Field, builtin_catalogue
from reconcile.systems.connections import resolve_secret
from reconcile.systems.exact_auth import TokenManager
from reconcile.systems.exact_wire import (
    CET,
    date_literal,
    error_message,
    format_datetime,
    guid_literal,
    is_transient,
    parse_date,
    parse_datetime,
    string_literal,
    unwrap,
)
from reconcile.systems.http import (
    CircuitBreaker,
    Clock,
    HttpClient,
    NetworkError,
    RateLimiter,
    RetryPolicy,
    SystemClock,
)
from reconcile.systems.snapshot_cache import Snapshot, SnapshotCache

__all__ = ["ExactRateLimiter", "ExactSystem"]

SYSTEM = "exact"
_GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_LINES_PER_READ = 50
_NATURAL_KEYS = ("Code", "YourRef", "Email", "Name", "Description", "LastName", "FirstName")
CACHE_MAX_AGE = 30 * 86400.0
"""How long ago a cached snapshot may have been read in full: well inside the two months ``sync/Deleted``
keeps, and a bound on how long changes can go unseen after an unnoticed division move."""
DERIVED_FROM = {"Contacts": "Accounts", "SalesOrders": "SalesOrderLines", "Quotations": "QuotationLines"}
"""Entities with values Exact computes from another entity's records, whose changes may not move their own
``Timestamp`` (a contact's city comes from its account, an order's amount from its lines)."""


class ExactRateLimiter(RateLimiter):
    """Keeps within Exact's per-division limits by following its ``X-RateLimit-*`` headers.

    Every division-scoped answer says how many calls are left in the current calendar minute and day and
    when each resets (epoch milliseconds). When the minute is used up the limiter sleeps until its reset
    (plus a margin), so no call runs into a 429. A used-up day is not waited out (it resets at midnight UTC):
    it raises :class:`~reconcile.errors.RateLimited`. Between answers it counts down locally, so that
    several threads sharing the limiter do not all spend the last call.
    """

    def __init__(self, *, clock: Clock | None = None, margin: float = 0.5) -> None:
        self.clock: Clock = clock or SystemClock()
        self.margin = margin
        self.minute_remaining: int | None = None
        self.minute_reset = 0.0
        self.day_remaining: int | None = None
        self.day_reset = 0.0
        self.waited = 0.0
        self._lock = threading.Lock()

    def before_request(self, endpoint: str) -> None:
        with self._lock:
            now = self.clock.now()
            if self.day_remaining is not None and self.day_remaining <= 0 and now < self.day_reset:
                reset = dt.datetime.fromtimestamp(self.day_reset, dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
                raise RateLimited(SYSTEM, f"the daily limit of API calls for this division is used up until {reset}")
            if self.minute_remaining is not None and self.minute_remaining <= 0:
                wait = max(0.0, self.minute_reset - now) + self.margin
                self.waited += wait
                self.clock.sleep(wait)
                self.minute_remaining = None
            elif self.minute_remaining is not None:
                self.minute_remaining -= 1
            if self.day_remaining is not None:
                self.day_remaining -= 1

    def after_response(self, endpoint: str, response: httpx.Response) -> None:
        headers = response.headers
        with self._lock:
            minute = _int_header(headers, "X-RateLimit-Minutely-Remaining")
            if minute is not None:
                self.minute_remaining = minute
                self.minute_reset = (_int_header(headers, "X-RateLimit-Minutely-Reset") or 0) / 1000
            day = _int_header(headers, "X-RateLimit-Remaining")
            if day is not None:
                self.day_remaining = day
                self.day_reset = (_int_header(headers, "X-RateLimit-Reset") or 0) / 1000


def _int_header(headers: httpx.Headers, name: str) -> int | None:
    value = headers.get(name)
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


class ExactSystem:
    """Exact Online as one side of a flow (see the module docs)."""

    name = "exact"

    def __init__(
        self,
        *,
        base_url: str,
        division: int,
        tokens: TokenManager,
        clock: Clock | None = None,
        retry: RetryPolicy | None = None,
        max_errors: int = 5,
        timeout: float = 60.0,
        transport: httpx.BaseTransport | None = None,
        catalogue: Catalogue | None = None,
        cache_dir: Path | None = None,
        cache_id: str | None = None,
        cache_max_age: float = CACHE_MAX_AGE,
    ) -> None:
        self.catalogue = catalogue or builtin_catalogue("exact")
        self.division = int(division)
        self.clock: Clock = clock or SystemClock()
        self.cache: SnapshotCache | None = None
        if cache_dir is not None:
            # The connection is the host and the division; the local sandbox names itself (its port changes).
            identity = cache_id or f"{base_url.rstrip('/')}|division {self.division}"
            self.cache = SnapshotCache(
                cache_dir, system=SYSTEM, connection=identity, clock=self.clock, max_age=cache_max_age
            )
        self.tokens = tokens
        self.limiter = ExactRateLimiter(clock=self.clock)
        self.breaker = CircuitBreaker(SYSTEM, max_errors=max_errors, clock=self.clock)
        self.http = HttpClient(
            SYSTEM,
            base_url,
            auth=tokens.headers,
            on_unauthorized=tokens.invalidate,
            limiter=self.limiter,
            retry=retry,
            breaker=self.breaker,
            clock=self.clock,
            timeout=timeout,
            headers={"Accept": "application/json"},
            transport=transport,
        )
        self._origin = httpx.URL(base_url)

    @classmethod
    def from_connection(
        cls,
        conn: Mapping[str, Any],
        *,
        clock: Clock | None = None,
        client_secret: str | None = None,
        transport: httpx.BaseTransport | None = None,
        retry: RetryPolicy | None = None,
        cache_dir: Path | None = None,
        cache_id: str | None = None,
        cache_max_age: float = CACHE_MAX_AGE,
    ) -> ExactSystem:
        """The connector for an ``[exact]`` connection table (see ``reconcile.systems.connections``).

        ``client_secret`` overrides the ``client_secret_env`` variable (the local sandbox's secret is public).
        ``cache_dir`` keeps snapshots between runs (see the module docs); ``cache_id`` names the connection
        in it when the base URL does not (the local sandbox).
        """
        secret = client_secret or resolve_secret(conn, "client_secret_env", system=SYSTEM)
        tokens = TokenManager(
            base_url=str(conn["base_url"]),
            client_id=str(conn["client_id"]),
            client_secret=secret,
            token_file=Path(conn["token_file"]),
            clock=clock,
            transport=transport,
        )
        return cls(
            base_url=str(conn["base_url"]),
            division=int(conn["division"]),
            tokens=tokens,
            clock=clock,
            transport=transport,
            retry=retry,
            cache_dir=cache_dir,
            cache_id=cache_id,
            cache_max_age=cache_max_age,
        )

    @property
    def calls(self) -> int:
        """HTTP calls sent to the API so far (token calls not included)."""
        return self.http.calls

    def calls_left(self) -> int | None:
        """Calls the daily limit still allows, as Exact's last answer said; None before any call."""
        return self.limiter.day_remaining

    def close(self) -> None:
        self.http.close()
        self.tokens.close()

    # ------------------------------------------------------------------------------------------ reads

    def read(self, entity: str) -> pl.DataFrame:
        """A full snapshot of ``entity``: one row per record, one column per catalogue field.

        With a cache, an entity that has a sync endpoint is refreshed from its cached snapshot instead
        (see the module docs); the frame is the same either way, ordered by key.
        """
        ent = self._entity(entity)
        if self.cache is not None and ent.api.get("sync") and ent.api.get("deleted") is not None:
            return self._synced(ent, self.cache)
        path = str(ent.api.get("bulk") or ent.api["service"])
        params = {"$select": ",".join(ent.fields)}
        rows = self._get_all(path, params, what=f"reading {ent.name}")
        return self._frame(ent, rows)

    def _synced(self, ent: Entity, cache: SnapshotCache) -> pl.DataFrame:
        """``ent`` through its sync endpoint: the cached snapshot refreshed, or else read in full."""
        source = self._entity(DERIVED_FROM[ent.name]) if ent.name in DERIVED_FROM else None
        needs = {"timestamp": int, "deleted": int, **({"source": int} if source is not None else {})}
        snapshot = cache.load(ent.name, self._frame(ent, []).schema, needs)
        cursor: dict[str, int] = {}
        if snapshot is not None:
            cursor = {name: int(value) for name, value in snapshot.cursor.items()}
            frame = self._refresh(ent, source, snapshot.frame, cursor)
            if frame is not None:
                cache.save(ent.name, Snapshot(frame, cursor, snapshot.full_at))
                return frame
        full_at = self.clock.now()
        # Where the next refresh starts must be known before the records are read, not after: what
        # changes while they are read is then read again next time rather than missed.
        if "deleted" not in cursor:
            cursor["deleted"] = _highest(self._deleted_rows(1), 1)
        if source is not None and "source" not in cursor:
            cursor["source"] = _highest(self._sync_rows(source, 1, select="Timestamp"), 1)
        rows = self._sync_rows(ent, 1)
        cursor["timestamp"] = _highest(rows, 1)
        frame = _merge(self._frame(ent, []), self._frame(ent, rows), ent.key, set())
        cache.save(ent.name, Snapshot(frame, cursor, full_at))
        return frame

    def _refresh(
        self, ent: Entity, source: Entity | None, cached: pl.DataFrame, cursor: dict[str, int]
    ) -> pl.DataFrame | None:
        """``cached`` brought up to date, moving ``cursor`` on; None when it must be read in full.

        On None, ``cursor`` holds only positions a full read may start from.
        """
        if source is not None:
            changed = self._sync_rows(source, cursor["source"], select="Timestamp")
            if changed:
                cursor["source"] = _highest(changed, cursor["source"])
                del cursor["timestamp"]
                return None
        rows = self._sync_rows(ent, cursor["timestamp"])
        deleted = self._deleted_rows(cursor["deleted"])
        cursor["deleted"] = _highest(deleted, cursor["deleted"])
        if source is not None and _keys_of_type(deleted, source):
            del cursor["timestamp"]
            return None
        cursor["timestamp"] = _highest(rows, cursor["timestamp"])
        return _merge(cached, self._frame(ent, rows), ent.key, _keys_of_type(deleted, ent))

    def _sync_rows(self, ent: Entity, since: int, *, select: str | None = None) -> list[dict[str, Any]]:
        """The records of ``ent`` changed or created after ``since`` (a ``Timestamp``), oldest first."""
        params = {"$select": select or ",".join(["Timestamp", *ent.fields]), "$filter": f"Timestamp gt {since}L"}
        return self._get_all(str(ent.api["sync"]), params, what=f"reading {ent.name} changed since {since}")

    def _deleted_rows(self, since: int) -> list[dict[str, Any]]:
        """The deletion log after ``since``: every entity type, oldest first."""
        params = {"$select": "Timestamp,EntityKey,EntityType", "$filter": f"Timestamp gt {since}L"}
        return self._get_all("sync/Deleted", params, what=f"reading the deletion log since {since}")

    def _get_all(self, path: str, params: Mapping[str, str], *, what: str) -> list[dict[str, Any]]:
        url: str | None = f"/api/v1/{self.division}/{path}"
        query: Mapping[str, str] | None = params
        rows: list[dict[str, Any]] = []
        while url is not None:
            response = self.http.request("GET", url, endpoint=path, params=query, transient=is_transient)
            if response.status_code != 200:
                raise RemoteError(SYSTEM, f"{what}: {error_message(response)}", response.status_code)
            try:
                page, nxt = unwrap(response.json())
            except ValueError as exc:
                raise RemoteError(SYSTEM, f"{what}: the answer was not OData JSON", response.status_code) from exc
            rows.extend(page)
            url, query = (self._same_origin(nxt, what), None) if nxt else (None, None)
        return rows

    def _same_origin(self, link: str, what: str) -> str:
        """A next-page link, refused unless it points at the connection's own host (it gets our token)."""
        url = self._origin.join(link)
        if (url.scheme, url.host, url.port) != (self._origin.scheme, self._origin.host, self._origin.port):
            raise RemoteError(SYSTEM, f"{what}: a next-page link points at another host; not followed")
        return str(url)

    def _frame(self, ent: Entity, rows: list[dict[str, Any]]) -> pl.DataFrame:
        padded = set(ent.api.get("padded", []))
        columns: list[pl.Series] = []
        for name, fdef in ent.fields.items():
            raw = [row.get(name) for row in rows]
            series = _column(name, fdef, raw, strip=name in padded or fdef.format in ("country", "currency"))
            if name == ent.key:
                series = series.cast(pl.String)
            columns.append(series)
        return pl.DataFrame(columns)

    # ----------------------------------------------------------------------------------------- writes

    def write(self, entity: str, ops: Sequence[WriteOp]) -> list[WriteResult]:
        """Apply a batch: one call per op (an order with its lines is one op), each with its own result.

        A failure that stops every further call (the token refused, the day's calls used up, the endpoint's
        breaker open) fails the remaining ops as retryable, without sending them, instead of raising: the
        results of the ops already applied are kept.
        """
        ent = self._entity(entity)
        results: list[WriteResult] = []
        stopped: str | None = None
        for op in ops:
            refusal = self._refusal(ent, op)
            if refusal is not None:
                results.append(_failed(op, refusal))
                continue
            if stopped is not None:
                results.append(_failed(op, stopped, retryable=True, stopped=True))
                continue
            try:
                if op.kind == "create":
                    results.append(self._create(ent, op))
                elif op.kind == "update":
                    results.append(self._update(ent, op))
                else:
                    results.append(self._delete(ent, op))
            except NetworkError as exc:
                results.append(_failed(op, str(exc), retryable=True))
            except SystemFailure as exc:
                stopped = f"not sent: {exc}"
                results.append(_failed(op, str(exc), retryable=True, stopped=True))
        if stopped is None:
            self._read_back_lines(ent, ops, results)
        return results

    def _refusal(self, ent: Entity, op: WriteOp) -> str | None:
        """Why the catalogue knows ``op`` would fail, or None."""
        if ent.read_only:
            return f"Exact {ent.name} are read-only through the API: they cannot be {op.kind}d"
        if op.key and ent.fields[ent.key].type == "guid" and not _GUID.match(op.key):
            return f"{op.key!r} is not an Exact {ent.name} id (a guid)"
        if op.kind == "delete":
            if not op.key:
                return "a delete needs the record's key"
            return None if ent.deletable else f"Exact {ent.name} cannot be deleted through the API"
        if op.kind == "update":
            if not op.key:
                return "an update needs the record's key"
            if op.children:
                return f"lines are only sent with a new {ent.name} record; update them as records of their own"
            return _check_values(ent, op.values, creating=False)
        problem = _check_values(ent, op.values, creating=True)
        if problem:
            return problem
        if op.children and ent.embedded is None:
            return f"Exact {ent.name} has no embedded lines"
        if ent.embedded is not None:
            if ent.api.get("lines_required") and not op.children:
                return f"missing required {ent.embedded.field}: Exact creates {ent.name} with their lines only"
            child = self._entity(ent.embedded.entity)
            for number, line in enumerate(op.children, start=1):
                if line.kind != "create":
                    return f"line {number}: embedded lines can only be created"
                problem = _check_values(child, line.values, creating=True, skip=ent.embedded.parent_field)
                if problem:
                    return f"line {number}: {problem}"
        return None

    def _url(self, ent: Entity, key: str | None = None) -> str:
        url = f"/api/v1/{self.division}/{ent.api['service']}"
        if key is None:
            return url
        kind = ent.fields[ent.key].type
        if kind == "guid":
            return f"{url}({guid_literal(key)})"
        if kind == "int":
            return f"{url}({int(key)})"
        return f"{url}({string_literal(key)})"

    def _create(self, ent: Entity, op: WriteOp) -> WriteResult:
        body = _body(ent, op.values)
        if ent.embedded is not None and op.children:
            child = self._entity(ent.embedded.entity)
            body[ent.embedded.field] = [_body(child, line.values) for line in op.children]
        endpoint = str(ent.api["service"])
        sent_at = self.clock.now()
        try:
            response = self.http.request(
                "POST",
                self._url(ent),
                endpoint=endpoint,
                json=body,
                headers={"Prefer": "return=representation"},
                transient=is_transient,
            )
        except NetworkError as exc:
            if not exc.maybe_applied:
                raise
            return self._recover(ent, op, sent_at, str(exc))
        if response.status_code == 201:
            rows, _ = unwrap(response.json())
            created = rows[0] if rows else {}
            key = _key_text(created.get(ent.key))
            if key is None:
                return _failed(op, "Exact answered 201 without the new record's key")
            return WriteResult(op.row_id, True, key=key, children=self._inline_lines(ent, op, created))
        if is_transient(response):
            return self._recover(ent, op, sent_at, error_message(response))
        return _failed(op, error_message(response))

    def _inline_lines(self, ent: Entity, op: WriteOp, created: Mapping[str, Any]) -> tuple[WriteResult, ...]:
        """The new lines' ids when the POST answer holds them inline; () when they must be read back."""
        if ent.embedded is None or not op.children:
            return ()
        inline = created.get(ent.embedded.field)
        if isinstance(inline, dict) and isinstance(inline.get("results"), list):
            return self._match_lines(ent, op, list(inline["results"]))
        if isinstance(inline, list):
            return self._match_lines(ent, op, list(inline))
        return ()

    def _match_lines(self, ent: Entity, op: WriteOp, lines: list[dict[str, Any]]) -> tuple[WriteResult, ...]:
        assert ent.embedded is not None
        child = self._entity(ent.embedded.entity)
        lines = sorted(lines, key=lambda r: int(r.get("LineNumber") or 0))
        results = []
        for index, line in enumerate(op.children):
            line_key = _key_text(lines[index].get(child.key)) if index < len(lines) else None
            if line_key is None:
                results.append(_failed(line, f"the {ent.name} record was created, but line {index + 1} was not"))
            else:
                results.append(WriteResult(line.row_id, True, key=line_key))
        return tuple(results)

    def _read_back_lines(self, ent: Entity, ops: Sequence[WriteOp], results: list[WriteResult]) -> None:
        """Fill in the line ids of new records whose POST answer left them out, many records a call."""
        if ent.embedded is None:
            return
        pending = [
            i
            for i, (op, result) in enumerate(zip(ops, results, strict=True))
            if op.kind == "create" and op.children and result.ok and result.key and not result.children
        ]
        child = self._entity(ent.embedded.entity)
        parent_field = ent.embedded.parent_field
        # Exact refuses URLs over 6000 characters: a guid clause costs about 60.
        for start in range(0, len(pending), _LINES_PER_READ):
            chunk = pending[start : start + _LINES_PER_READ]
            keys = [str(results[i].key) for i in chunk]
            try:
                rows = self._get_all(
                    str(child.api["service"]),
                    {
                        "$select": f"{child.key},{parent_field},LineNumber",
                        "$filter": " or ".join(f"{parent_field} eq {guid_literal(k)}" for k in keys),
                    },
                    what=f"reading back the lines of new {ent.name} records",
                )
            except SystemFailure as exc:
                for i in chunk:
                    problem = f"the {ent.name} record was created but its lines' ids could not be read: {exc}"
                    children = tuple(_failed(line, problem) for line in ops[i].children)
                    results[i] = replace(results[i], children=children)
                continue
            by_parent: dict[str, list[dict[str, Any]]] = {}
            for row in rows:
                by_parent.setdefault(str(_key_text(row.get(parent_field))), []).append(row)
            for i in chunk:
                lines = by_parent.get(str(results[i].key), [])
                results[i] = replace(results[i], children=self._match_lines(ent, ops[i], lines))

    def _recover(self, ent: Entity, op: WriteOp, sent_at: float, problem: str) -> WriteResult:
        """After a create whose outcome is unknown: look for it before anyone sends it again."""
        clauses = []
        for name in _NATURAL_KEYS:
            value = op.values.get(name)
            if isinstance(value, str) and value.strip() and name in ent.fields:
                if name == "Code" and ent.api.get("padded"):
                    clauses.append(f"trim(Code) eq {string_literal(value.strip())}")
                else:
                    clauses.append(f"{name} eq {string_literal(value)}")
        for name, fdef in ent.fields.items():
            value = op.values.get(name)
            if fdef.type == "guid" and fdef.required and isinstance(value, str):
                clauses.append(f"{name} eq {guid_literal(value)}")
        if not clauses or "Created" not in ent.fields:
            return _failed(op, f"{problem}; the create may not have happened: retry it", retryable=True)
        # Exact's clock and ours may differ a little: look a minute back from when the create was sent.
        since = dt.datetime.fromtimestamp(sent_at - 60, dt.UTC)
        clauses.append(f"Created ge {date_literal(since)}")
        try:
            found = self._get_all(
                str(ent.api["service"]),
                {"$select": ent.key, "$filter": " and ".join(clauses)},
                what=f"looking for a {ent.name} record whose create was interrupted",
            )
        except SystemFailure as exc:
            return _failed(op, f"{problem}; checking whether it was created failed too ({exc})", retryable=True)
        if not found:
            return _failed(op, f"{problem}; it was not created: retry it", retryable=True)
        if len(found) > 1:
            return _failed(op, f"{problem}; {len(found)} records now match it: check them in Exact")
        key = _key_text(found[0].get(ent.key))
        assert key is not None
        return WriteResult(op.row_id, True, key=key)

    def _update(self, ent: Entity, op: WriteOp) -> WriteResult:
        assert op.key is not None
        if not op.values:
            return WriteResult(op.row_id, True, key=op.key)
        response = self.http.request(
            "PUT",
            self._url(ent, op.key),
            endpoint=str(ent.api["service"]),
            json=_body(ent, op.values),
            transient=is_transient,
        )
        if response.status_code in (200, 204):
            return WriteResult(op.row_id, True, key=op.key)
        return _failed(op, error_message(response), retryable=is_transient(response))

    def _delete(self, ent: Entity, op: WriteOp) -> WriteResult:
        assert op.key is not None
        response = self.http.request(
            "DELETE", self._url(ent, op.key), endpoint=str(ent.api["service"]), transient=is_transient
        )
        # A 404 means it is gone already: a delete repeated after a lost answer has done its job.
        if response.status_code in (200, 204, 404):
            return WriteResult(op.row_id, True, key=op.key)
        return _failed(op, error_message(response), retryable=is_transient(response))

    def _entity(self, name: str) -> Entity:
        ent = self.catalogue.entity(name)
        if ent is None:
            raise ConfigError(f'Exact has no entity "{name}"' + self.catalogue.suggest(name))
        return ent


# ---------------------------------------------------------------------------------------------- helpers


def _highest(rows: Sequence[Mapping[str, Any]], floor: int) -> int:
    """The highest ``Timestamp`` among ``rows`` (Int64 values may come as text), at least ``floor``."""
    stamps = [int(r["Timestamp"]) for r in rows if r.get("Timestamp") not in (None, "")]
    return max([floor, *stamps])


def _keys_of_type(deleted: Sequence[Mapping[str, Any]], ent: Entity) -> set[str]:
    """The keys of ``ent``'s records in a stretch of the deletion log (lower case, as snapshots hold them)."""
    code = int(ent.api.get("deleted", -1))
    return {str(r.get("EntityKey") or "").lower() for r in deleted if int(r.get("EntityType") or 0) == code}


def _merge(cached: pl.DataFrame, changed: pl.DataFrame, key: str, gone: set[str]) -> pl.DataFrame:
    """``cached`` with ``changed`` laid over it (the last version of a key wins) less ``gone``, by key."""
    merged = pl.concat([cached, changed]) if changed.height else cached
    merged = merged.unique(subset=[key], keep="last", maintain_order=True)
    if gone:
        merged = merged.filter(~pl.col(key).is_in(sorted(gone)))
    return merged.sort(key)


def _failed(op: WriteOp, error: str, *, retryable: bool = False, stopped: bool = False) -> WriteResult:
    children = tuple(_failed(c, "not sent: its parent failed", retryable=retryable) for c in op.children)
    return WriteResult(
        op.row_id, False, key=op.key, error=error, retryable=retryable, children=children, stopped=stopped
    )


def _key_text(value: Any) -> str | None:
    if value is None or value == "":
        return None
    return str(value).lower() if isinstance(value, str) and _GUID.match(value) else str(value)


def _check_values(ent: Entity, values: Mapping[str, Any], *, creating: bool, skip: str | None = None) -> str | None:
    """What the catalogue says is wrong with ``values`` for ``ent``, in words, or None."""
    problems: list[str] = []
    for name, value in values.items():
        fdef = ent.fields.get(name)
        if fdef is None:
            problems.append(f"{name} is not a field of Exact {ent.name}{ent.suggest(name)}")
            continue
        if name == skip:
            continue
        if fdef.read_only:
            problems.append(f"{name} is read-only in Exact {ent.name}")
        elif fdef.create_only and not creating:
            problems.append(f"{name} cannot be changed after an Exact {ent.name} record is created")
        elif value is not None:
            problem = _check_value(fdef, value)
            if problem:
                problems.append(f"{name} {problem}")
        elif fdef.required and not creating:
            problems.append(f"{name} is required and cannot be emptied")
    if creating:
        missing = [
            f.name for f in ent.fields.values() if f.required and f.name != skip and values.get(f.name) in (None, "")
        ]
        if missing:
            problems.insert(0, f"missing required field{'s' if len(missing) > 1 else ''}: {', '.join(missing)}")
    return "; ".join(problems) if problems else None


def _check_value(fdef: Field, value: Any) -> str | None:
    if fdef.type == "guid" and not (isinstance(value, str) and _GUID.match(value)):
        return f"must be a guid, not {value!r}"
    if fdef.type in ("string", "guid") and not isinstance(value, str):
        return f"must be text, not {type(value).__name__}"
    if isinstance(value, str) and fdef.required and not value.strip():
        return "is required and cannot be blank"
    if fdef.max_length is not None and isinstance(value, str) and len(value.strip()) > fdef.max_length:
        return f"is longer than {fdef.max_length} characters"
    if fdef.values is not None and str(value) not in fdef.values:
        return f"must be one of {', '.join(fdef.values)}, not {value!r}"
    if fdef.type == "int" and (isinstance(value, bool) or not isinstance(value, int)):
        return f"must be a whole number, not {value!r}"
    if fdef.type == "float" and (isinstance(value, bool) or not isinstance(value, int | float)):
        return f"must be a number, not {value!r}"
    if fdef.type == "bool" and not isinstance(value, bool):
        return f"must be true or false, not {value!r}"
    if fdef.type in ("date", "datetime") and not isinstance(value, dt.date):
        return f"must be a date, not {value!r}"
    return None


def _body(ent: Entity, values: Mapping[str, Any]) -> dict[str, Any]:
    """A JSON body for Exact: dates as Amsterdam wall-clock ISO text, everything else as it is."""
    body: dict[str, Any] = {}
    for name, value in values.items():
        fdef = ent.fields[name]
        if isinstance(value, dt.date) and fdef.type in ("date", "datetime"):
            body[name] = format_datetime(value)
        elif fdef.type == "float" and isinstance(value, int):
            body[name] = float(value)
        else:
            body[name] = value
    return body


def _column(name: str, fdef: Field, raw: list[Any], *, strip: bool) -> pl.Series:
    """One snapshot column from the raw JSON values, typed as the catalogue says."""
    kind = fdef.type
    dtype = DTYPES[kind]
    if kind in ("date", "datetime"):
        text = pl.Series(name, [v if isinstance(v, str) and v else None for v in raw], dtype=pl.String)
        ms = text.str.extract(r"^/Date\((-?\d+)", 1).cast(pl.Int64)
        if ms.null_count() != text.null_count():
            # Not all /Date(ms)/: parse value by value (rare; ISO text from a proxy, say).
            parse = parse_date if kind == "date" else parse_datetime
            return pl.Series(name, [parse(v) for v in text.to_list()], dtype=dtype)
        wall = pl.from_epoch(ms, "ms")
        if kind == "date":
            return wall.dt.date().alias(name)
        zone = str(CET.key)
        local = wall.dt.replace_time_zone(zone, ambiguous="earliest", non_existent="null")
        return local.dt.convert_time_zone("UTC").alias(name)
    if kind == "string":
        values = [None if v is None else str(v) for v in raw]
        if strip:
            values = [None if v is None else v.strip() for v in values]
        return pl.Series(name, values, dtype=dtype)
    if kind == "guid":
        return pl.Series(name, [None if v is None else str(v).lower() for v in raw], dtype=dtype)
    if kind == "int":
        # Int64 values may arrive as JSON strings (OData v2 writes Edm.Int64 so).
        return pl.Series(name, [None if v is None or v == "" else int(v) for v in raw], dtype=dtype)
    if kind == "float":
        return pl.Series(name, [None if v is None or v == "" else float(v) for v in raw], dtype=dtype)
    return pl.Series(name, [None if v is None else bool(v) for v in raw], dtype=dtype)
