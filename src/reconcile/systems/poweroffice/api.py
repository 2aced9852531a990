"""The PowerOffice Go API client: both hosts' HTTP clients and tokens, the calls, and the list paging.

One :class:`PowerOfficeApi` is shared by the reader (:mod:`reconcile.systems.poweroffice.reads`) and the
writer (:mod:`reconcile.systems.poweroffice.writes`) of a connection. It holds what both need:

- **Auth**: client-credentials tokens (:mod:`reconcile.systems.poweroffice.auth`), renewed before they
  expire; the subscription key on every v2 call. A 403 is explained: the privilege the call needed, and
  whether the token lists it as invalid (the client lacks the module subscription) or the integration
  lacks it.
- **Lists**: v2 lists page with ``PageNumber`` / ``PageSize`` (the largest page the endpoint allows) and
  stop at the first of a 204, an empty or short page, or an ``X-Pagination`` without ``nextPageLink``.
  v1 lists page with ``$top`` / ``$skip`` / ``$orderby`` until ``count`` records are in.
- **Limits**: 10 calls in any one second per subscription key (a sliding window, shared by the token
  calls), retries with backoff on 429 (honouring ``Retry-After``, at least a second), 502/503/504 (any
  5xx for a read) and timeouts (:mod:`reconcile.systems.http.client`).
- **The catalogue**: which API and endpoint serves an entity is data, in the catalogue's ``api`` tables.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import httpx

from reconcile.errors import AuthError, ConfigError, RemoteError
from reconcile.model.catalogue import Catalogue, Entity
from reconcile.model.clock import Clock
from reconcile.systems.cache import secret_digest
from reconcile.systems.http.breaker import CircuitBreaker
from reconcile.systems.http.client import HttpClient
from reconcile.systems.http.limits import SlidingWindowLimiter
from reconcile.systems.http.retry import RetryPolicy, server_error, whole_json
from reconcile.systems.http.spent import SpentCalls
from reconcile.systems.poweroffice.auth import SUBSCRIPTION_HEADER, TokenSource
from reconcile.systems.poweroffice.wire import fold, json_of, problem_text, token_claims, v1_error

SYSTEM = "poweroffice"


class PowerOfficeApi:
    """The calls to one PowerOffice Go client, over API v2 and v1, with the catalogue that says where.

    ``base_url`` is the v2 host (``/v2/...`` and ``/OAuth/Token`` below it), ``v1_base_url`` the v1 host.
    ``page_size`` caps every page (tests use small pages); by default each endpoint's largest page is used.
    ``limits_dir`` keeps the last second's calls for every process that uses the keys
    (:class:`~reconcile.systems.http.spent.SpentCalls`), so that a rerun right after a crash meets no 429.
    """

    def __init__(
        self,
        *,
        base_url: str,
        v1_base_url: str,
        application_key: str,
        client_key: str,
        subscription_key: str,
        catalogue: Catalogue,
        clock: Clock,
        page_size: int | None = None,
        rate_per_second: int = 10,
        v1_rate_per_second: int = 50,
        retry: RetryPolicy | None = None,
        timeout: float = 60.0,
        transport: httpx.BaseTransport | None = None,
        limits_dir: Path | None = None,
    ) -> None:
        self.catalogue = catalogue
        self.clock = clock
        self.page_size = page_size
        retry = retry or RetryPolicy(attempts=6, base_delay=1.0, max_delay=30.0)
        # PowerOffice blocks no key for failed calls; the breaker only stops hammering a broken endpoint.
        breaker = CircuitBreaker(SYSTEM, max_errors=100, period=60.0, clock=clock)
        v2_spent = v1_spent = None
        if limits_dir is not None:
            # Go counts v2 calls per subscription key and v1 calls per integration: every process's count.
            v2_spent = SpentCalls(limits_dir, f"poweroffice-v2-{secret_digest(subscription_key)}")
            v1_spent = SpentCalls(limits_dir, f"poweroffice-v1-{secret_digest(application_key)}")
        v2_limiter = SlidingWindowLimiter(rate_per_second, 1.0, clock=clock, shared=v2_spent)
        v1_limiter = SlidingWindowLimiter(v1_rate_per_second, 1.0, clock=clock, shared=v1_spent)
        common: dict[str, Any] = {"retry": retry, "clock": clock, "timeout": timeout, "transport": transport}
        base_url, v1_base_url = base_url.rstrip("/"), v1_base_url.rstrip("/")
        self.clients: list[HttpClient] = []
        self.v2_tokens = TokenSource(
            self._client(base_url, limiter=v2_limiter, breaker=breaker, **common),
            application_key=application_key,
            client_key=client_key,
            subscription_key=subscription_key,
            clock=clock,
            label="v2",
        )
        self.v1_tokens = TokenSource(
            self._client(v1_base_url, limiter=v1_limiter, breaker=breaker, **common),
            application_key=application_key,
            client_key=client_key,
            subscription_key=None,
            clock=clock,
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

    def _client(self, base_url: str, **options: Any) -> HttpClient:
        client = HttpClient(SYSTEM, base_url, **options)
        self.clients.append(client)
        return client

    @property
    def calls(self) -> int:
        """HTTP calls made so far (tokens included)."""
        return sum(c.calls for c in self.clients)

    def close(self) -> None:
        for client in self.clients:
            client.close()

    def entity(self, name: str) -> Entity:
        """The catalogue's entity ``name``; a :class:`ConfigError` with a suggestion when there is none."""
        found = self.catalogue.entity(name)
        if found is None:
            raise ConfigError(f'PowerOffice Go has no entity "{name}"{self.catalogue.suggest(name)}')
        return found

    # ------------------------------------------------------------------------------------------ calls

    def v2_call(self, method: str, path: str, ent: Entity, **options: Any) -> httpx.Response:
        """One v2 call for ``ent``; a 403 raises :meth:`forbidden`'s explanation.

        A read is sent again after any 5xx, or an answer that broke off.
        """
        if method == "GET":
            options.setdefault("transient", server_error)
            options.setdefault("complete", whole_json)
        response = self.v2.request(method, path, endpoint=f"v2 {ent.name}", **options)
        if response.status_code == 403:
            raise self.forbidden(ent, write=method != "GET")
        return response

    def v1_call(self, method: str, path: str, ent: Entity, **options: Any) -> httpx.Response:
        """One v1 call for ``ent``; a 403 is an :class:`AuthError`. A read is sent again as a v2 read is."""
        if method == "GET":
            options.setdefault("transient", server_error)
            options.setdefault("complete", whole_json)
        response = self.v1.request(method, path, endpoint=f"v1 {ent.name}", **options)
        if response.status_code == 403:
            raise AuthError(SYSTEM, f"PowerOffice Go refused {ent.name} (403, API v1): the integration lacks access")
        return response

    def forbidden(self, ent: Entity, *, write: bool) -> AuthError:
        """Why a v2 call for ``ent`` was refused: a missing module subscription, or a missing privilege."""
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

    def v1_body(self, response: httpx.Response, ent: Entity, doing: str) -> dict[str, Any]:
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

    # ------------------------------------------------------------------------------------------ lists

    def page_size_for(self, ent: Entity, default: int) -> int:
        """The page size to ask ``ent``'s endpoint for: its own largest, capped by ``page_size``."""
        size = int(ent.api.get("page_size", default))
        return min(size, self.page_size) if self.page_size else size

    def v2_list(self, ent: Entity, path: str, params: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
        """Every record of a v2 list, page by page (see the module docs for where it stops)."""
        size = self.page_size_for(ent, 5000)
        records: list[dict[str, Any]] = []
        page = 1
        while True:
            query = {**dict(params or {}), "PageNumber": page, "PageSize": size}
            response = self.v2_call("GET", path, ent, params=query)
            if response.status_code == 204:
                break
            if response.status_code != 200:
                raise RemoteError(SYSTEM, f"reading {ent.name}: {problem_text(response)}", response.status_code)
            items = json_of(response)
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

    def v1_list(self, ent: Entity) -> list[dict[str, Any]]:
        """Every record of a v1 list, ``$top`` at a time, until its ``count`` is in."""
        size = self.page_size_for(ent, 1000)
        records: list[dict[str, Any]] = []
        while True:
            params = {"$orderby": ent.api.get("order_by", "Id"), "$top": size, "$skip": len(records)}
            body = self.v1_body(self.v1_call("GET", str(ent.api["path"]), ent, params=params), ent, "reading")
            data = fold(body).get("data")
            if not isinstance(data, list):
                raise RemoteError(SYSTEM, f"reading {ent.name}: the v1 answer holds no list", 200)
            records.extend(data)
            count = fold(body).get("count")
            if not data or (isinstance(count, int) and len(records) >= count) or (count is None and len(data) < size):
                return records
