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

The emulator is put together from one module per concern: :mod:`~reconcile.sandbox.exact_store` (records,
ids, timestamps, load and dump), :mod:`~reconcile.sandbox.exact_oauth` (apps and tokens),
:mod:`~reconcile.sandbox.exact_ratelimit`, :mod:`~reconcile.sandbox.exact_faults` (failures tests inject),
:mod:`~reconcile.sandbox.exact_reads` (queries, paging, sync, rendering), :mod:`~reconcile.sandbox.exact_writes`
(validation and computed fields) and :mod:`~reconcile.sandbox.exact_odata` (``$filter``). This one holds the
routes and the dispatch.
"""

from __future__ import annotations

import copy
import json
import re
import threading
import urllib.parse
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route

from reconcile.model.catalogue import Catalogue
from reconcile.model.clock import Clock, SystemClock
from reconcile.sandbox.exact.faults import ExactFaults, _Failure, _failure_response
from reconcile.sandbox.exact.oauth import (
    MIN_REFRESH_INTERVAL,
    SANDBOX_CLIENT_ID,
    SANDBOX_CLIENT_SECRET,
    SANDBOX_REDIRECT_URI,
    ExactOAuth,
)
from reconcile.sandbox.exact.protocol import _error, _Reply
from reconcile.sandbox.exact.ratelimit import ExactRateLimits, _Rate
from reconcile.sandbox.exact.reads import _Route
from reconcile.sandbox.exact.writes import ExactWrites
from reconcile.systems.catalogues import builtin_catalogue

__all__ = [
    "DEFAULT_DIVISION",
    "SANDBOX_CLIENT_ID",
    "SANDBOX_CLIENT_SECRET",
    "SANDBOX_REDIRECT_URI",
    "ExactEmulator",
    "RequestLog",
]

DEFAULT_DIVISION = 123456

_KEYED = re.compile(r"^(?P<path>.+?)\((?P<key>[^)]*)\)(?P<nav>/[A-Za-z]+)?$")


@dataclass
class RequestLog:
    """One request the emulator answered."""

    method: str
    path: str
    status: int
    query: str = ""


class ExactEmulator(ExactWrites, ExactOAuth, ExactRateLimits, ExactFaults):
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
        self.minute_limit = minute_limit
        self.day_limit = day_limit
        self.page_size = page_size
        self.bulk_page_size = bulk_page_size
        self.token_ttl = token_ttl
        self.division = division
        self.current_division = division
        self.min_refresh_interval = MIN_REFRESH_INTERVAL
        self.require_select = True
        self.requests: list[RequestLog] = []
        self._lock = threading.RLock()
        self._failures: list[_Failure] = []
        self._rates: dict[tuple[str, int], _Rate] = {}
        self._state: dict[str, Any] = {}
        self._routes: dict[str, _Route] = {}
        for entity in self.catalogue.entities.values():
            api = entity.api
            for kind in ("regular", "bulk", "sync"):
                path = api.get("service" if kind == "regular" else kind)
                if isinstance(path, str):
                    self._routes[path.casefold()] = _Route(entity, kind, path)
        self.reset()
        self._app: Starlette | None = None

    # ------------------------------------------------------------------------------------------ state

    def reset(self) -> None:
        """Empty every table, forget every token; keep the sandbox client."""
        with self._lock:
            self._state = {
                "division": self.division,
                "timestamp": 1000,
                "tables": {str(self.division): {name: {} for name in self.catalogue.entities}},
                "deleted": [],
                "clients": {SANDBOX_CLIENT_ID: {"secret": SANDBOX_CLIENT_SECRET, "redirect_uri": SANDBOX_REDIRECT_URI}},
                "codes": {},
                "refresh_tokens": {},
                "access_tokens": {},
                "user_id": str(uuid.UUID(int=0x51A4DB0C5E5E4E4E9A1B2C3D4E5F6071)),
            }
            self._rates.clear()

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

    # ------------------------------------------------------------------------------- tests' helpers

    def api_calls(self, method: str | None = None, contains: str = "") -> int:
        """How many division-scoped API calls were answered (optionally one method, one path part)."""
        return sum(
            1
            for r in self.requests
            if r.path.startswith("/api/v1/")
            and (method is None or r.method == method.upper())
            and contains.casefold() in r.path.casefold()
        )

    # -------------------------------------------------------------------------------------- the app

    @property
    def app(self) -> Starlette:
        """The ASGI app."""
        if self._app is None:
            methods = ["GET", "POST", "PUT", "DELETE"]
            self._app = Starlette(
                routes=[
                    Route("/api/oauth2/auth", self._auth, methods=["GET"]),
                    Route("/api/oauth2/token", self._token, methods=["POST"]),
                    Route("/api/v1/{rest:path}", self._api, methods=methods),
                ]
            )
        return self._app

    async def _auth(self, request: Request) -> Response:
        q = request.query_params
        client = self._state["clients"].get(q.get("client_id", ""))
        redirect = q.get("redirect_uri", "")
        if client is None or redirect != client["redirect_uri"] or q.get("response_type") != "code":
            response: Response = PlainTextResponse("Bad Request", status_code=400)
        else:
            code = self.issue_code(q["client_id"])
            query = {"code": code}
            if q.get("state"):
                query["state"] = q["state"]
            response = RedirectResponse(f"{redirect}?{urllib.parse.urlencode(query)}", status_code=302)
        self._log(request, response)
        return response

    async def _token(self, request: Request) -> Response:
        body = (await request.body()).decode("utf-8", "replace")
        form = {k: v[0] for k, v in urllib.parse.parse_qs(body, keep_blank_values=True).items()}
        try:
            with self._lock:
                response = self._token_grant(form)
        except _Reply as reply:
            response = reply.response
        self._log(request, response)
        return response

    async def _api(self, request: Request) -> Response:
        body = await request.body()
        try:
            with self._lock:
                response = self._handle(request, body)
        except _Reply as reply:
            response = reply.response
        self._log(request, response)
        return response

    def _log(self, request: Request, response: Response) -> None:
        with self._lock:
            self.requests.append(RequestLog(request.method, request.url.path, response.status_code, request.url.query))

    # ---------------------------------------------------------------------------------- api dispatch

    def _handle(self, request: Request, body: bytes) -> Response:
        client_id = self._authenticate(request)
        rest = request.path_params["rest"]
        first, _, path = rest.partition("/")
        if first == "current":
            if path.casefold() != "me" or request.method != "GET":
                raise _error(404, "Not found")
            return self._me(request)
        if not first.isdigit():
            raise _error(404, "Not found")
        division = int(first)
        headers = self._count_call(client_id, division)
        try:
            response = self._dispatch(request, division, path, body)
        except _Reply as reply:
            response = reply.response
        response.headers.update(headers)
        return response

    def _me(self, request: Request) -> Response:
        base = str(request.base_url).rstrip("/")
        user = self._state["user_id"]
        row = {
            "__metadata": {
                "uri": f"{base}/api/v1/current/Me(guid'{user}')",
                "type": "Exact.Web.Api.System.Me",
            },
            "UserID": user,
            "CurrentDivision": self.current_division,
            "FullName": "Sandbox User",
            "UserName": "sandbox",
            "LanguageCode": "en-GB",
        }
        select = request.query_params.get("$select")
        if select:
            wanted = {s.strip() for s in select.split(",")}
            row = {k: v for k, v in row.items() if k == "__metadata" or k in wanted}
        return JSONResponse({"d": {"results": [row]}})

    def _dispatch(self, request: Request, division: int, path: str, body: bytes) -> Response:
        if str(division) not in self._state["tables"]:
            raise _error(403, "Forbidden")
        method = request.method
        if path.casefold() == "sync/deleted":
            if method != "GET":
                raise _error(405, "The HTTP method is not allowed on this resource.")
            return self._sync_deleted(request, division)
        count = path.endswith("/$count")
        if count:
            path = path[: -len("/$count")]
        keyed = _KEYED.match(path)
        key_text = None
        if keyed:
            path, key_text = keyed.group("path"), keyed.group("key")
            if keyed.group("nav"):
                raise _error(404, "Not found")
        route = self._routes.get(path.casefold())
        if route is None:
            raise _error(404, f"Resource not found for the segment '{path.rsplit('/', 1)[-1]}'.")
        entity = route.entity
        injected = self._injected(method, entity.name)
        if injected is not None and not injected.apply:
            return _failure_response(injected)
        if route.kind != "regular":
            if method != "GET" or key_text is not None:
                raise _error(405, "The HTTP method is not allowed on this resource.")
            response = self._list(request, division, route)
        elif method == "GET":
            if count:
                return PlainTextResponse(str(len(self._matching(request, division, route))))
            if key_text is not None:
                response = self._get_one(request, division, route, key_text)
            else:
                response = self._list(request, division, route)
        elif entity.read_only:
            raise _error(405, f"The HTTP method '{method}' is not allowed: {entity.name} can only be read.")
        elif method == "POST":
            if key_text is not None:
                raise _error(405, "The HTTP method is not allowed on this resource.")
            response = self._create(request, division, route, body)
        elif key_text is None:
            raise _error(405, "The HTTP method is not allowed on this resource.")
        elif method == "PUT":
            response = self._update(division, entity, key_text, body)
        else:
            response = self._remove(division, entity, key_text)
        if injected is not None:
            return _failure_response(injected)
        return response


def copy_state(emulator: ExactEmulator) -> dict[str, Any]:
    """A deep copy of the emulator's state, for tests that compare before and after."""
    with emulator._lock:
        return copy.deepcopy(emulator._state)
