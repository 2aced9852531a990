"""The generic REST system: reads and writes any system a system file describes.

Every call goes through the shared plumbing (:class:`~reconcile.systems.http.client.HttpClient`: the auth
headers, the rate limit the system file declares, retries with backoff on 429, 502-504 and timeouts only, a
circuit breaker per endpoint). The system file's ``type``-tagged tables are styles
(:mod:`reconcile.model.styles`): the auth style makes the headers of each call from the secrets
(:mod:`.secrets`), the paging style says which page to ask for next.

The system is one HTTP client composed into a reader and a writer:

- **read** (:mod:`.reader`) walks the entity's pages, takes the records from where the system file says
  they sit, and casts them to the catalogue's types (:func:`~reconcile.model.records.typed_frame`, the one
  casting there is).
- **write** (:mod:`.writer`) refuses, before any call, what the catalogue says will fail (:mod:`.bodies`);
  sends creates through the entity's bulk endpoint where the system file names one (:mod:`.bulk`),
  everything else one call per record; takes new ids from the answers, and looks for a create whose answer
  was lost among the records before it is reported as failed (:mod:`.outcomes`).

The wire contract a system file cannot express, and which the generic emulator honours, is in :mod:`.wire`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import httpx
import polars as pl

from reconcile.errors import ConfigError
from reconcile.model.clock import Clock, SystemClock
from reconcile.model.systemfile import SystemFile
from reconcile.systems.base import System, WriteOp, WriteResult
from reconcile.systems.http.breaker import CircuitBreaker
from reconcile.systems.http.client import HttpClient
from reconcile.systems.http.limits import RateLimiter, SlidingWindowLimiter
from reconcile.systems.http.retry import RetryPolicy
from reconcile.systems.rest.reader import RestReader
from reconcile.systems.rest.secrets import read_secrets
from reconcile.systems.rest.writer import RestWriter


class RestSystem(System):
    """A custom system over HTTP, as its system file describes it."""

    def __init__(
        self,
        spec: SystemFile,
        *,
        base_url: str,
        secrets: Mapping[str, str] | None = None,
        clock: Clock | None = None,
        limiter: RateLimiter | None = None,
        retry: RetryPolicy | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        if spec.kind != "rest":
            raise ConfigError(f'{spec.name}: a system of kind = "{spec.kind}" is not reached over HTTP')
        self.spec = spec
        self.name = spec.name
        self.catalogue = spec.catalogue
        conn = spec.connection
        self.clock: Clock = clock or SystemClock()
        if limiter is None and conn.limits.calls:
            limiter = SlidingWindowLimiter(conn.limits.calls, conn.limits.window, clock=self.clock)
        auth, known = conn.auth, dict(secrets or {})
        self.http = HttpClient(
            self.name,
            base_url,
            auth=lambda: auth.headers(known),
            limiter=limiter,
            retry=retry,
            breaker=CircuitBreaker(self.name, max_errors=conn.limits.max_errors, clock=self.clock),
            clock=self.clock,
            timeout=conn.timeout,
            headers={"Accept": "application/json"},
            transport=transport,
        )
        self.reader = RestReader(spec, self.http)
        self.writer = RestWriter(spec, self.http, self.reader)

    @classmethod
    def from_connection(cls, spec: SystemFile, **options: Any) -> RestSystem:
        """The system at the connection's ``base_url``, logged in with the secrets its variables hold."""
        if not spec.connection.base_url:
            raise ConfigError(
                f"{spec.name}: no base_url; give it in the connections file ([{spec.name}] base_url = ...) "
                "or in the system file"
            )
        return cls(spec, base_url=spec.connection.base_url, secrets=read_secrets(spec), **options)

    @property
    def calls(self) -> int:
        """HTTP calls sent so far (every attempt counts)."""
        return self.http.calls

    def calls_left(self) -> int | None:
        """A system file declares no daily budget."""
        return None

    def close(self) -> None:
        self.http.close()

    def read(self, entity: str) -> pl.DataFrame:
        return self.reader.read(entity)

    def write(self, entity: str, ops: Sequence[WriteOp]) -> list[WriteResult]:
        """One result per op, in order; bulk where the system file has a bulk endpoint, else one call each."""
        return self.writer.write(entity, ops)
