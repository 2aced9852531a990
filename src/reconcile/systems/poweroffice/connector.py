"""PowerOffice Go: reads full snapshots and writes batches through API v2 (and v1 for four entities).

Which API and endpoint serves an entity is data, in the catalogue's ``api`` tables
(``systems/poweroffice/catalogue.toml``). The connector is put together from three parts that share one
API client:

- :class:`~reconcile.systems.poweroffice.api.PowerOfficeApi`: both hosts' HTTP clients and tokens, the
  calls with their 403s explained, list paging, and the limits (10 calls a second per subscription key,
  retries on 429, 502/503/504 and timeouts);
- :class:`~reconcile.systems.poweroffice.reads.PowerOfficeReader`: snapshots, "person" entities told from
  companies, order lines from each order's ``/Complete``;
- :class:`~reconcile.systems.poweroffice.writes.PowerOfficeWriter`: v2 creates, JSON Patch updates and
  deletes, v1 upserts; creates carry ``ExternalImportReference`` (the op's own, else
  :meth:`PowerOfficeSystem.identity_stamp` of its row), so that a create whose answer is lost is found
  instead of being made twice.

Every op gets its own :class:`~reconcile.systems.base.WriteResult`; an op the catalogue says must fail
(a read-only entity or field, a missing required field) is refused without a call.

**Cached order lines.** Order lines cost a call per order (10 a second), every other entity a call per
5000-20000 records. Given a ``cache_dir``, the lines are kept as a snapshot
(:mod:`reconcile.systems.cache`) with, per order, the ``LastChangedDateTimeOffset`` its lines were
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

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import httpx
import polars as pl

from reconcile.config.connections import resolve_secret
from reconcile.model.catalogue import Catalogue, Entity
from reconcile.model.clock import Clock, SystemClock
from reconcile.systems.base import WriteOp, WriteResult
from reconcile.systems.cache import SnapshotCache, secret_digest
from reconcile.systems.catalogues import builtin_catalogue
from reconcile.systems.http.retry import RetryPolicy
from reconcile.systems.poweroffice.api import SYSTEM, PowerOfficeApi
from reconcile.systems.poweroffice.reads import PowerOfficeReader
from reconcile.systems.poweroffice.writes import PowerOfficeWriter, identity_stamp, reference_field

CACHE_MAX_AGE = 20 * 3600.0
"""How long ago cached order lines may have been read in full (see the module docs)."""


class PowerOfficeSystem:
    """PowerOffice Go as a :class:`~reconcile.systems.base.System`: an API client, a reader and a writer.

    ``base_url`` is the v2 host (``/v2/...`` and ``/OAuth/Token`` below it), ``v1_base_url`` the v1 host.
    ``page_size`` caps every page (tests use small pages); by default each endpoint's largest page is used.
    ``cache_dir`` keeps order lines between runs (see the module docs); ``cache_id`` names the connection
    there when the hosts and keys do not (the local sandbox). ``limits_dir`` keeps the calls of the last
    second for every process that uses the keys.
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
        limits_dir: Path | None = None,
    ) -> None:
        self.clock: Clock = clock or SystemClock()
        self.cache: SnapshotCache | None = None
        if cache_dir is not None:
            # One Go client per (hosts, keys); the keys enter only as a one-way digest.
            identity = cache_id or (
                f"{base_url.rstrip('/')}|{v1_base_url.rstrip('/')}|client " + secret_digest(application_key, client_key)
            )
            self.cache = SnapshotCache(
                cache_dir, system=SYSTEM, connection=identity, clock=self.clock, max_age=cache_max_age
            )
        self.api = PowerOfficeApi(
            base_url=base_url,
            v1_base_url=v1_base_url,
            application_key=application_key,
            client_key=client_key,
            subscription_key=subscription_key,
            catalogue=catalogue or builtin_catalogue(SYSTEM),
            clock=self.clock,
            page_size=page_size,
            rate_per_second=rate_per_second,
            v1_rate_per_second=v1_rate_per_second,
            retry=retry,
            timeout=timeout,
            transport=transport,
            limits_dir=limits_dir,
        )
        self.reader = PowerOfficeReader(self.api, self.cache)
        self.writer = PowerOfficeWriter(self.api, self.reader)

    @classmethod
    def from_connection(cls, conn: Mapping[str, Any], **options: Any) -> PowerOfficeSystem:
        """A system for a ``[poweroffice]`` table of the connections file; secrets come from its variables."""
        rates = {key: conn[key] for key in ("rate_per_second", "v1_rate_per_second") if conn.get(key) is not None}
        return cls(
            base_url=str(conn["base_url"]),
            v1_base_url=str(conn["v1_base_url"]),
            application_key=resolve_secret(conn, "application_key_env", system=SYSTEM),
            client_key=resolve_secret(conn, "client_key_env", system=SYSTEM),
            subscription_key=resolve_secret(conn, "subscription_key_env", system=SYSTEM),
            **{**rates, **options},
        )

    @property
    def catalogue(self) -> Catalogue:
        """The entities and fields of PowerOffice Go, and which endpoint serves each (the API client's)."""
        return self.api.catalogue

    @catalogue.setter
    def catalogue(self, catalogue: Catalogue) -> None:
        self.api.catalogue = catalogue

    @property
    def calls(self) -> int:
        """HTTP calls made so far (tokens included)."""
        return self.api.calls

    def calls_left(self) -> int | None:
        """PowerOffice Go has no daily limit, only one per second."""
        return None

    def close(self) -> None:
        self.api.close()

    def entity(self, name: str) -> Entity:
        return self.api.entity(name)

    def read(self, entity: str) -> pl.DataFrame:
        """A full snapshot of ``entity``; see the module docs for where each entity comes from."""
        return self.reader.read(self.entity(entity))

    def write(self, entity: str, ops: Sequence[WriteOp]) -> list[WriteResult]:
        """One result per op, in order; a refused or failed op never stops the others.

        A failure of the system itself (auth, limits that outlast the retries, the network) raises when it
        meets the batch's first op; later in the batch, the ops not yet done get failed, retryable results
        so that what was written is still reported.
        """
        return self.writer.write(self.entity(entity), ops)

    def identity_field(self, entity: str) -> str | None:
        """The field a create of ``entity`` carries its writer's identity in (``ExternalImportReference``), if any.

        See :class:`~reconcile.systems.base.CarriesIdentity`: Go refuses a second record of a contact class
        with one reference, and lists records by it, so a create sent twice or answered never is harmless.
        """
        return reference_field(self.entity(entity))

    def identity_stamp(self, row_id: str) -> str:
        """The ``ExternalImportReference`` a create of plan row ``row_id`` carries (at most 50 characters)."""
        return identity_stamp(row_id)

    def find_by_reference(self, entity: str, reference: str) -> str | None:
        """The id of the record of ``entity`` whose ``ExternalImportReference`` is ``reference``."""
        return self.writer.find_by_reference(self.entity(entity), reference)
