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
Exact's limits by following the ``X-RateLimit-*`` headers (:class:`ExactRateLimiter`), kept in the state
directory for the processes that follow (``limits_dir``): a rerun right after a crash sends no call into a 429.

**Cached snapshots.** Given a ``cache_dir``, an entity with a sync endpoint (Accounts, Contacts, Addresses,
Items, Employees, sales orders and quotations with their lines) is read through it, and its snapshot is kept
(:mod:`reconcile.systems.cache`) with the highest ``Timestamp`` seen. The next read asks only for
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

The connector owns its parts and wires them together: an API client
(:class:`~reconcile.systems.exact.api.ExactApi`: the HTTP client, the division, the catalogue, paging) shared
by a reader (:class:`~reconcile.systems.exact.reader.ExactReader`: full snapshots and their typing), the
cached snapshots (:class:`~reconcile.systems.exact.sync.ExactSync`) and a writer
(:class:`~reconcile.systems.exact.writer.ExactWriter`, with :mod:`~reconcile.systems.exact.checks`). Tokens
are :mod:`~reconcile.systems.exact.auth`'s, the limits :mod:`~reconcile.systems.exact.ratelimit`'s and the
wire format :mod:`~reconcile.systems.exact.wire`'s.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import httpx
import polars as pl

from reconcile.config.connections import resolve_secret
from reconcile.model.catalogue import Catalogue
from reconcile.model.clock import Clock, SystemClock
from reconcile.systems.base import WriteOp, WriteResult
from reconcile.systems.cache import SnapshotCache, secret_digest
from reconcile.systems.catalogues import builtin_catalogue
from reconcile.systems.exact.api import SYSTEM, ExactApi
from reconcile.systems.exact.auth import TokenManager
from reconcile.systems.exact.ratelimit import ExactRateLimiter
from reconcile.systems.exact.reader import ExactReader
from reconcile.systems.exact.sync import CACHE_MAX_AGE, ExactSync, has_sync
from reconcile.systems.exact.writer import ExactWriter
from reconcile.systems.http.breaker import CircuitBreaker
from reconcile.systems.http.client import HttpClient
from reconcile.systems.http.retry import RetryPolicy
from reconcile.systems.http.spent import SpentCalls


class ExactSystem:
    """Exact Online as one side of a flow (see the module docs): reads and writes handed to its parts."""

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
        limits_dir: Path | None = None,
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
        shared = None
        if limits_dir is not None:
            # Exact counts per app and division: what the last answers said is kept for every process.
            key = secret_digest(base_url.rstrip("/"), tokens.client_id, str(self.division))
            shared = SpentCalls(limits_dir, f"exact-{key}")
        self.limiter = ExactRateLimiter(clock=self.clock, shared=shared)
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
        self.api = ExactApi(self.http, base_url=base_url, division=self.division, catalogue=self.catalogue)
        self.reader = ExactReader(self.api)
        self.sync = None if self.cache is None else ExactSync(self.api, self.reader, self.cache, self.clock)
        self.writer = ExactWriter(self.api, self.clock)

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
        limits_dir: Path | None = None,
        catalogue: Catalogue | None = None,
    ) -> ExactSystem:
        """The connector for an ``[exact]`` connection table (see ``reconcile.systems.connections``).

        ``client_secret`` overrides the ``client_secret_env`` variable (the local sandbox's secret is public).
        ``cache_dir`` keeps snapshots between runs (see the module docs); ``cache_id`` names the connection
        in it when the base URL does not (the local sandbox). ``limits_dir`` keeps what the division's calls
        have spent of Exact's limits for every process (:class:`~reconcile.systems.http.spent.SpentCalls`).
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
            limits_dir=limits_dir,
            catalogue=catalogue,
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

    def read(self, entity: str) -> pl.DataFrame:
        """A full snapshot of ``entity``: one row per record, one column per catalogue field.

        With a cache, an entity that has a sync endpoint is refreshed from its cached snapshot instead
        (see the module docs); the frame is the same either way, ordered by key.
        """
        ent = self.api.entity(entity)
        if self.sync is not None and has_sync(ent):
            return self.sync.read(ent)
        return self.reader.read(ent)

    def write(self, entity: str, ops: Sequence[WriteOp]) -> list[WriteResult]:
        """Apply a batch: one call per op, each with its own result (see :meth:`ExactWriter.write`)."""
        return self.writer.write(entity, ops)
