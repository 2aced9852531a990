"""An emulator of Exact Online's REST API, faithful to the documented behaviour, unpleasant parts included.

It serves, under any host it runs on:

- ``GET /api/oauth2/auth`` (redirects to the client's redirect URI with a code) and ``POST /api/oauth2/token``
  (form body; authorisation codes valid 3 minutes and once; access tokens of ``token_ttl`` seconds with
  ``expires_in`` as a string; single-use rotating refresh tokens; a refresh less than 570 seconds after the
  last one refused; Exact's OAuth error bodies);
- ``GET /api/v1/current/Me`` (a results array holding ``CurrentDivision``);
- ``/api/v1/{division}/{service}/{Entity}`` for every entity of the Exact catalogue: GET (paged by 60 with
  ``__next``; ``$select``, ``$filter``, ``$top``, ``$skiptoken``, ``$inlinecount``, ``$orderby``, ``$expand``
  of lines; ``$skip`` refused; a ``$select`` or ``$top=1`` demanded), GET by key (``(guid'…')``, ``(123)``,
  ``('EUR')``), ``/$count``, POST (201 with the stored entity), PUT (204), DELETE (204);
- ``bulk/…`` and ``sync/…`` endpoints (GET only, 1000 a page, ``$select`` mandatory; sync takes only a
  ``Timestamp gt N`` filter) and ``sync/Deleted``.

Every division-scoped response carries the six ``X-RateLimit-*`` headers; past the minute limit (a fixed
calendar minute) or the day limit (UTC day) the answer is an empty 429 with only that limit's headers. Errors
use Exact's envelope ``{"error": {"code": "", "message": {"lang": "", "value": "…"}}}``; some validation
errors are 500s, as on the real service. Dates go out as ``/Date(ms)/`` in Amsterdam wall-clock time.

The state (records, tokens, sequences, the deletion log) is plain JSON: :meth:`ExactEmulator.dump` and
:meth:`ExactEmulator.load` keep it between runs. Tests drive the clock, issue tokens, inject failures and read
or change records directly.

The emulator owns one part per concern and wires them together: the store
(:class:`~reconcile.sandbox.exact.store.ExactStore`: records, ids, timestamps, load and dump), the OAuth part
(:class:`~reconcile.sandbox.exact.oauth.ExactOAuth`: apps and tokens), the rate limits
(:class:`~reconcile.sandbox.exact.ratelimit.ExactRateLimits`), the failures tests inject
(:class:`~reconcile.sandbox.exact.faults.ExactFaults`), the read handlers
(:class:`~reconcile.sandbox.exact.reads.ReadHandlers`: queries, paging, sync, rendering, with
:mod:`~reconcile.sandbox.exact.odata` for ``$filter``), the write handlers
(:class:`~reconcile.sandbox.exact.writes.WriteHandlers`: validation and computed fields) and the routes
(:class:`~reconcile.sandbox.exact.routes.ExactRoutes`: the app, the dispatch, the request log). Tests change
a part's settings on the part (``emulator.limits.minute_limit``, ``emulator.reads.bulk_page_size``,
``emulator.store.current_division``); the methods below hand the rest to the part that does it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from starlette.applications import Starlette

from reconcile.model.catalogue import Catalogue
from reconcile.model.clock import Clock, SystemClock
from reconcile.sandbox.exact.faults import ExactFaults
from reconcile.sandbox.exact.oauth import ExactOAuth
from reconcile.sandbox.exact.ratelimit import ExactRateLimits
from reconcile.sandbox.exact.reads import ReadHandlers
from reconcile.sandbox.exact.routes import ExactRoutes, RequestLog
from reconcile.sandbox.exact.store import ExactStore
from reconcile.sandbox.exact.writes import WriteHandlers
from reconcile.systems.catalogues import builtin_catalogue

DEFAULT_DIVISION = 123456
SANDBOX_CLIENT_ID = "reconcile-sandbox"
SANDBOX_CLIENT_SECRET = "sandbox-secret"
SANDBOX_REDIRECT_URI = "http://localhost/callback"
"""The app every emulator knows from the start; its secret is public, as the sandbox's is."""


class ExactEmulator:
    """The state and the ASGI app of one emulated Exact Online environment."""

    def __init__(
        self,
        *,
        catalogue: Catalogue | None = None,
        clock: Clock | None = None,
        minute_limit: int = 60,
        day_limit: int = 5000,
        page_size: int = 60,
        bulk_page_size: int = 1000,
        token_ttl: int = 600,
        division: int = DEFAULT_DIVISION,
    ) -> None:
        self.catalogue = catalogue or builtin_catalogue("exact")
        self.clock: Clock = clock or SystemClock()
        self.store = ExactStore(self.catalogue, self.clock, division)
        self.oauth = ExactOAuth(self.store, token_ttl=token_ttl)
        self.limits = ExactRateLimits(self.clock, minute_limit=minute_limit, day_limit=day_limit)
        self.faults = ExactFaults(self.store.lock)
        self.reads = ReadHandlers(self.store, page_size=page_size, bulk_page_size=bulk_page_size)
        self.writes = WriteHandlers(self.store, self.reads)
        self.routes = ExactRoutes(self.store, self.oauth, self.limits, self.faults, self.reads, self.writes)
        self.reset()

    @classmethod
    def from_seed(
        cls,
        seed_dir: Path,
        *,
        clock: Clock | None = None,
        minute_limit: int = 60,
        day_limit: int = 5000,
        page_size: int = 60,
        bulk_page_size: int = 1000,
        token_ttl: int = 600,
        division: int = DEFAULT_DIVISION,
    ) -> ExactEmulator:
        """An emulator holding ``seed_dir/<Entity>.json`` (arrays of records keyed by catalogue field names).

        Seeds are loaded in catalogue order without reference checks, so files may refer to each other
        freely. Dates are ISO strings (a date-time without an offset is Amsterdam time), ids guid strings.
        """
        emulator = cls(
            clock=clock,
            minute_limit=minute_limit,
            day_limit=day_limit,
            page_size=page_size,
            bulk_page_size=bulk_page_size,
            token_ttl=token_ttl,
            division=division,
        )
        for name in emulator.catalogue.entities:
            path = Path(seed_dir) / f"{name}.json"
            if not path.exists():
                continue
            rows = json.loads(path.read_text(encoding="utf-8"))
            if not isinstance(rows, list):
                raise ValueError(f"{path}: a seed file holds a JSON array of records")
            for row in rows:
                emulator.insert(name, row)
        return emulator

    @property
    def app(self) -> Starlette:
        """The ASGI app."""
        return self.routes.app

    @property
    def requests(self) -> list[RequestLog]:
        """Every request answered so far, in order."""
        return self.routes.requests

    def api_calls(self, method: str | None = None, contains: str = "") -> int:
        """How many division-scoped API calls were answered (optionally one method, one path part)."""
        return self.routes.api_calls(method, contains)

    # ------------------------------------------------------------------------------------------ state

    def reset(self) -> None:
        """Empty every table, forget every token; keep the sandbox client."""
        with self.store.lock:
            self.store.reset()
            self.oauth.add_client(SANDBOX_CLIENT_ID, SANDBOX_CLIENT_SECRET, SANDBOX_REDIRECT_URI)
            self.limits.clear()

    def dump(self, path: Path) -> None:
        """Write the whole state to one JSON file."""
        self.store.dump(path)

    def load(self, path: Path) -> None:
        """Replace the state with one written by :meth:`dump`."""
        self.store.load(path)

    def add_division(self, code: int, description: str = "") -> None:
        """Give the user access to another (empty) division."""
        self.store.add_division(code, description)

    def records(self, entity: str, division: int | None = None) -> list[dict[str, Any]]:
        """Every record of ``entity`` as stored (dates as ISO strings)."""
        return self.store.records(entity, division)

    def record(self, entity: str, key: Any, division: int | None = None) -> dict[str, Any] | None:
        """One record by key, or None."""
        return self.store.record(entity, key, division)

    def insert(self, entity: str, values: Mapping[str, Any], division: int | None = None) -> str:
        """Store a record directly, without validation (a seed, a change made in Exact's own screens)."""
        return self.store.insert(entity, values, division)

    def modify(self, entity: str, key: Any, values: Mapping[str, Any], division: int | None = None) -> None:
        """Change a record directly (as a person in Exact would), bumping Modified and Timestamp."""
        self.store.modify(entity, key, values, division)

    def remove(self, entity: str, key: Any, division: int | None = None) -> None:
        """Delete a record directly, logging it for ``sync/Deleted``."""
        self.store.remove(entity, key, division)

    # ------------------------------------------------------------------------------------------- tokens

    def add_client(self, client_id: str, secret: str, redirect_uri: str) -> None:
        """Register an app (client id, secret, redirect URI) as the Exact App Center would."""
        self.oauth.add_client(client_id, secret, redirect_uri)

    def issue_code(self, client_id: str = SANDBOX_CLIENT_ID) -> str:
        """An authorisation code, as if a person had consented."""
        return self.oauth.issue_code(client_id)

    def issue_refresh_token(self, client_id: str = SANDBOX_CLIENT_ID) -> str:
        """A fresh refresh token for ``client_id`` (the start of a token chain)."""
        return self.oauth.issue_refresh_token(client_id)

    def expire_refresh_token(self, token: str) -> None:
        """Make a refresh token unused for longer than 30 days."""
        self.oauth.expire_refresh_token(token)

    def end_access_tokens(self) -> None:
        """End every access token now, as Exact may before the time it announced."""
        self.oauth.end_access_tokens()

    def live_refresh_tokens(self) -> list[str]:
        """The refresh tokens that would still be accepted."""
        return self.oauth.live_refresh_tokens()
