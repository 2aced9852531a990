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
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import math
import re
import secrets
import threading
import urllib.parse
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route

from reconcile.sandbox.exact_odata import FilterError, compile_filter, wall_ms_of
from reconcile.systems.catalogue import Catalogue, Entity, builtin_catalogue
from reconcile.systems.http import Clock, SystemClock

__all__ = [
    "DEFAULT_DIVISION",
    "SANDBOX_CLIENT_ID",
    "SANDBOX_CLIENT_SECRET",
    "SANDBOX_REDIRECT_URI",
    "ExactEmulator",
    "RequestLog",
]

DEFAULT_DIVISION = 123456
SANDBOX_CLIENT_ID = "reconcile-sandbox"
SANDBOX_CLIENT_SECRET = "sandbox-secret"
SANDBOX_REDIRECT_URI = "http://localhost/callback"

CET = ZoneInfo("Europe/Amsterdam")
_EPOCH = dt.datetime(1970, 1, 1)
CODE_TTL = 180.0
REFRESH_TTL = 30 * 86400.0
MIN_REFRESH_INTERVAL = 570.0
GLOBAL_ENTITIES = ("Currencies", "Divisions")
_GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_KEYED = re.compile(r"^(?P<path>.+?)\((?P<key>[^)]*)\)(?P<nav>/[A-Za-z]+)?$")
_STREAM = "Error processing request stream. The request should be a valid top-level resource object."
_SYNTAX = "Bad Request - Error in query syntax."


class _Reply(Exception):
    """A finished response, raised from deep inside a handler."""

    def __init__(self, response: Response) -> None:
        self.response = response


@dataclass
class RequestLog:
    """One request the emulator answered."""

    method: str
    path: str
    status: int
    query: str = ""


@dataclass
class _Failure:
    method: str
    entity: str | None
    status: int
    skip: int
    times: int
    body: str | None
    apply: bool


@dataclass
class _Route:
    entity: Entity
    kind: str  # "regular", "bulk", "sync"
    path: str


@dataclass
class _Rate:
    minute: int = -1
    minute_count: int = 0
    day: int = -1
    day_count: int = 0


@dataclass
class _Query:
    select: list[str] | None
    predicate: Any
    top: int | None
    skiptoken: str | None
    inlinecount: bool
    orderby: list[tuple[str, bool]] = field(default_factory=list)
    expand: bool = False


def error_body(message: str) -> dict[str, Any]:
    """Exact's error envelope."""
    return {"error": {"code": "", "message": {"lang": "", "value": message}}}


def _error(status: int, message: str) -> _Reply:
    return _Reply(JSONResponse(error_body(message), status_code=status))


def _oauth_error(status: int, error: str, description: str | None = None) -> _Reply:
    body = {"error": error}
    if description is not None:
        body["error_description"] = description
    return _Reply(JSONResponse(body, status_code=status))


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

    def dump(self, path: Path) -> None:
        """Write the whole state to one JSON file."""
        with self._lock:
            text = json.dumps(self._state)
        tmp = Path(str(path) + ".tmp")
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(path)

    def load(self, path: Path) -> None:
        """Replace the state with one written by :meth:`dump`."""
        state = json.loads(Path(path).read_text(encoding="utf-8"))
        with self._lock:
            self._state = state
            self.division = int(state["division"])
            self.current_division = self.division

    # ------------------------------------------------------------------------------- tests' helpers

    def add_client(self, client_id: str, secret: str, redirect_uri: str) -> None:
        """Register an app (client id, secret, redirect URI) as the Exact App Center would."""
        with self._lock:
            self._state["clients"][client_id] = {"secret": secret, "redirect_uri": redirect_uri}

    def add_division(self, code: int, description: str = "") -> None:
        """Give the user access to another (empty) division."""
        with self._lock:
            self._state["tables"].setdefault(str(code), {name: {} for name in self.catalogue.entities})
        self.insert("Divisions", {"Code": code, "Description": description or f"Division {code}"})

    def issue_code(self, client_id: str = SANDBOX_CLIENT_ID) -> str:
        """An authorisation code, as if a person had consented."""
        code = "code!" + secrets.token_urlsafe(16)
        with self._lock:
            redirect = self._state["clients"][client_id]["redirect_uri"]
            self._state["codes"][code] = {
                "client_id": client_id,
                "redirect_uri": redirect,
                "expires": self.clock.now() + CODE_TTL,
            }
        return code

    def issue_refresh_token(self, client_id: str = SANDBOX_CLIENT_ID) -> str:
        """A fresh refresh token for ``client_id`` (the start of a token chain)."""
        with self._lock:
            return self._new_refresh(client_id, chain=secrets.token_hex(4), last_issue=None)

    def expire_refresh_token(self, token: str) -> None:
        """Make a refresh token unused for longer than 30 days."""
        with self._lock:
            self._state["refresh_tokens"][token]["expires"] = self.clock.now() - 1

    def end_access_tokens(self) -> None:
        """End every access token now, as Exact may before the time it announced."""
        with self._lock:
            for info in self._state["access_tokens"].values():
                info["expires"] = min(info["expires"], self.clock.now())

    def live_refresh_tokens(self) -> list[str]:
        """The refresh tokens that would still be accepted."""
        with self._lock:
            now = self.clock.now()
            return [
                t for t, info in self._state["refresh_tokens"].items() if not info["used"] and info["expires"] > now
            ]

    def fail(
        self,
        method: str,
        entity: str | None = None,
        *,
        status: int = 500,
        nth: int = 1,
        times: int = 1,
        body: str | None = None,
        apply: bool = False,
    ) -> None:
        """Make the ``nth`` matching call (and ``times - 1`` after it) answer ``status``.

        ``body`` is sent as is (default: an HTML error page, as a gateway would); ``apply=True`` carries
        the call out first and only then fails, as when an answer is lost after the write.
        """
        with self._lock:
            self._failures.append(_Failure(method.upper(), entity, status, nth - 1, times, body, apply))

    def api_calls(self, method: str | None = None, contains: str = "") -> int:
        """How many division-scoped API calls were answered (optionally one method, one path part)."""
        return sum(
            1
            for r in self.requests
            if r.path.startswith("/api/v1/")
            and (method is None or r.method == method.upper())
            and contains.casefold() in r.path.casefold()
        )

    def records(self, entity: str, division: int | None = None) -> list[dict[str, Any]]:
        """Every record of ``entity`` as stored (dates as ISO strings)."""
        ent = self._entity(entity)
        with self._lock:
            rows = list(self._table(ent.name, division).values())
            return [self._export(ent, row) for row in rows]

    def record(self, entity: str, key: Any, division: int | None = None) -> dict[str, Any] | None:
        """One record by key, or None."""
        ent = self._entity(entity)
        with self._lock:
            row = self._table(ent.name, division).get(_norm_key(ent, key))
            return None if row is None else self._export(ent, row)

    def insert(self, entity: str, values: Mapping[str, Any], division: int | None = None) -> str:
        """Store a record directly, without validation (a seed, a change made in Exact's own screens)."""
        ent = self._entity(entity)
        with self._lock:
            row = {name: self._internal(ent, name, value) for name, value in values.items() if name in ent.fields}
            key = row.get(ent.key)
            if key is None:
                key = str(uuid.uuid4()) if ent.fields[ent.key].type == "guid" else None
                row[ent.key] = key
            now = self._wall_now()
            for stamp in ("Created", "Modified"):
                if stamp in ent.fields:
                    row.setdefault(stamp, now)
            if "Division" in ent.fields:
                row["Division"] = division or self.division
            if ent.name == "Accounts" and row.get("Code") is not None:
                row["Code"] = _pad_code(str(row["Code"]))
            row["Timestamp"] = self._tick()
            self._table(ent.name, division)[str(key)] = row
            return str(key)

    def modify(self, entity: str, key: Any, values: Mapping[str, Any], division: int | None = None) -> None:
        """Change a record directly (as a person in Exact would), bumping Modified and Timestamp."""
        ent = self._entity(entity)
        with self._lock:
            row = self._table(ent.name, division)[_norm_key(ent, key)]
            for name, value in values.items():
                row[name] = self._internal(ent, name, value)
            self._touch(ent, row)

    def remove(self, entity: str, key: Any, division: int | None = None) -> None:
        """Delete a record directly, logging it for ``sync/Deleted``."""
        ent = self._entity(entity)
        with self._lock:
            self._delete(ent, _norm_key(ent, key), division or self.division)

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

    def _token_grant(self, form: Mapping[str, str]) -> Response:
        client_id = form.get("client_id", "")
        client = self._state["clients"].get(client_id)
        if client is None or form.get("client_secret") != client["secret"]:
            raise _oauth_error(400, "invalid_client")
        now = self.clock.now()
        grant = form.get("grant_type")
        if grant == "authorization_code":
            info = self._state["codes"].pop(form.get("code", ""), None)
            if info is None or info["client_id"] != client_id or info["expires"] <= now:
                raise _oauth_error(400, "invalid_request")
            if form.get("redirect_uri") != info["redirect_uri"]:
                raise _oauth_error(400, "invalid_request")
            chain = secrets.token_hex(4)
        elif grant == "refresh_token":
            token = form.get("refresh_token", "")
            info = self._state["refresh_tokens"].get(token)
            if info is None or info["client_id"] != client_id:
                raise _oauth_error(400, "invalid_grant", "Token is not allowed, because of invalid or empty chainId")
            if info["used"]:
                raise _oauth_error(401, "unauthorized_client", "Old refresh token used.")
            if info["expires"] <= now:
                raise _oauth_error(
                    400,
                    "invalid_request",
                    f"The refresh token expired at {_us_time(info['expires'])} and it is now {_us_time(now)}.",
                )
            last = info["last_issue"]
            if last is not None and now - last < self.min_refresh_interval:
                raise _oauth_error(401, "invalid_request", "Access token not expired")
            info["used"] = True
            chain = info["chain"]
        else:
            raise _oauth_error(400, "unsupported_grant_type")
        access = f"stampEMU001.{secrets.token_urlsafe(24)}"
        self._state["access_tokens"][access] = {"client_id": client_id, "expires": now + self.token_ttl}
        refresh = self._new_refresh(client_id, chain=chain, last_issue=now)
        return JSONResponse(
            {
                "access_token": access,
                "token_type": "bearer",
                "expires_in": str(self.token_ttl),
                "refresh_token": refresh,
            }
        )

    def _new_refresh(self, client_id: str, *, chain: str, last_issue: float | None) -> str:
        token = f"stampEMU001.{chain}!{secrets.token_urlsafe(24)}"
        self._state["refresh_tokens"][token] = {
            "client_id": client_id,
            "chain": chain,
            "used": False,
            "expires": self.clock.now() + REFRESH_TTL,
            "last_issue": last_issue,
        }
        return token

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

    def _authenticate(self, request: Request) -> str:
        header = request.headers.get("Authorization", "")
        token = header[7:] if header.startswith("Bearer ") else ""
        info = self._state["access_tokens"].get(token)
        if info is None or info["expires"] <= self.clock.now():
            description = "access token expired" if info is not None else "invalid access token"
            raise _Reply(
                Response(
                    status_code=401,
                    headers={"WWW-Authenticate": f'Bearer error="invalid_token", error_description="{description}"'},
                )
            )
        return str(info["client_id"])

    def _count_call(self, client_id: str, division: int) -> dict[str, str]:
        now = self.clock.now()
        minute, day = math.floor(now / 60), math.floor(now / 86400)
        rate = self._rates.setdefault((client_id, division), _Rate())
        if rate.minute != minute:
            rate.minute, rate.minute_count = minute, 0
        if rate.day != day:
            rate.day, rate.day_count = day, 0
        minutely = {
            "X-RateLimit-Minutely-Limit": str(self.minute_limit),
            "X-RateLimit-Minutely-Reset": str((minute + 1) * 60_000),
        }
        daily = {"X-RateLimit-Limit": str(self.day_limit), "X-RateLimit-Reset": str((day + 1) * 86_400_000)}
        if rate.day_count >= self.day_limit:
            raise _Reply(Response(status_code=429, headers={**daily, "X-RateLimit-Remaining": "0"}))
        if rate.minute_count >= self.minute_limit:
            raise _Reply(Response(status_code=429, headers={**minutely, "X-RateLimit-Minutely-Remaining": "0"}))
        rate.minute_count += 1
        rate.day_count += 1
        return {
            **minutely,
            "X-RateLimit-Minutely-Remaining": str(self.minute_limit - rate.minute_count),
            **daily,
            "X-RateLimit-Remaining": str(self.day_limit - rate.day_count),
        }

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

    def _injected(self, method: str, entity: str) -> _Failure | None:
        for failure in self._failures:
            if failure.method != method or (failure.entity and failure.entity.casefold() != entity.casefold()):
                continue
            if failure.times <= 0:
                continue
            if failure.skip > 0:
                failure.skip -= 1
                return None
            failure.times -= 1
            return failure
        return None

    # ---------------------------------------------------------------------------------------- reads

    def _fields_of(self, route: _Route) -> dict[str, str]:
        fields: dict[str, str] = {name: f.type for name, f in route.entity.fields.items()}
        if route.kind == "sync":
            fields["Timestamp"] = "int"
        return fields

    def _parse_query(self, request: Request, route: _Route, *, counting: bool = False) -> _Query:
        q = request.query_params
        entity = route.entity
        fields = self._fields_of(route)
        type_name = str(entity.api.get("type", f"Exact.Web.Api.Models.{entity.name}"))
        if "$skip" in q:
            raise _error(400, "The query parameter '$skip' is not supported on this endpoint. Use $skiptoken.")
        select: list[str] | None = None
        if q.get("$select"):
            select = [s.strip() for s in q["$select"].split(",") if s.strip()]
            lines = entity.embedded.field if entity.embedded else None
            for name in select:
                if name not in fields and name != lines and name != "*":
                    raise _error(400, f"No property '{name}' exists in type '{type_name}'.")
            if "*" in select:
                select = None
        elif route.kind != "regular":
            raise _error(400, "It is mandatory to provide the $select query option.")
        top = None
        if q.get("$top"):
            if not q["$top"].isdigit():
                raise _error(400, _SYNTAX)
            top = int(q["$top"])
        if route.kind == "regular" and self.require_select and not counting and select is None and top != 1:
            raise _error(400, "Please add a $select or a $top=1 statement to the query string.")
        predicate = None
        if q.get("$filter"):
            text = q["$filter"]
            if route.kind == "sync" and not re.fullmatch(r"\s*Timestamp\s+gt\s+\d+L?\s*", text):
                raise _error(400, "Only the Timestamp field is allowed as a filter on this endpoint.")
            try:
                predicate = compile_filter(text, fields, type_name)
            except FilterError as exc:
                raise _error(400, str(exc)) from exc
        orderby: list[tuple[str, bool]] = []
        if q.get("$orderby"):
            for part in q["$orderby"].split(","):
                words = part.split()
                if not words or words[0] not in fields or len(words) > 2 or words[1:] not in ([], ["asc"], ["desc"]):
                    raise _error(400, _SYNTAX)
                orderby.append((words[0], words[1:] == ["desc"]))
        expand = q.get("$expand", "")
        if expand and (entity.embedded is None or expand != entity.embedded.field):
            raise _error(400, f"Unknown navigation property '{expand}'.")
        return _Query(
            select=select,
            predicate=predicate,
            top=top,
            skiptoken=q.get("$skiptoken"),
            inlinecount=q.get("$inlinecount") == "allpages",
            orderby=orderby,
            expand=bool(expand),
        )

    def _rows(self, division: int, route: _Route) -> list[dict[str, Any]]:
        return [self._derive(route.entity, row, division) for row in self._table(route.entity.name, division).values()]

    def _matching(self, request: Request, division: int, route: _Route) -> list[dict[str, Any]]:
        query = self._parse_query(request, route, counting=True)
        rows = self._rows(division, route)
        return [r for r in rows if query.predicate is None or query.predicate(r)]

    def _list(self, request: Request, division: int, route: _Route) -> Response:
        query = self._parse_query(request, route)
        entity = route.entity
        rows = [r for r in self._rows(division, route) if query.predicate is None or query.predicate(r)]
        total = len(rows)
        if route.kind == "sync":
            rows.sort(key=lambda r: int(r["Timestamp"]))
            position = _sync_position(rows, query.skiptoken)
        else:
            rows.sort(key=lambda r: str(r.get(entity.key)))
            for name, desc in reversed(query.orderby):
                rows.sort(key=_sorter(name), reverse=desc)
            position = _key_position(rows, entity, query.skiptoken)
        rows = rows[position:]
        size = self.page_size if route.kind == "regular" else self.bulk_page_size
        limit = size if query.top is None else min(size, query.top)
        page, more = rows[:limit], len(rows) > limit
        base = str(request.base_url).rstrip("/")
        results = [self._serialise(base, division, entity, row, query.select, query.expand) for row in page]
        d: dict[str, Any] = {"results": results}
        if query.inlinecount:
            d["__count"] = str(total)
        if more and page and (query.top is None or query.top > limit):
            last = page[-1]
            token = f"{last['Timestamp']}L" if route.kind == "sync" else _key_literal(entity, last[entity.key])
            params = [(k, v) for k, v in request.query_params.multi_items() if k != "$skiptoken"]
            if query.top is not None:
                params = [(k, v) for k, v in params if k != "$top"] + [("$top", str(query.top - limit))]
            params.append(("$skiptoken", token))
            d["__next"] = f"{base}{request.url.path}?" + urllib.parse.urlencode(
                params, quote_via=urllib.parse.quote, safe=",$'()"
            )
        return JSONResponse({"d": d})

    def _get_one(self, request: Request, division: int, route: _Route, key_text: str) -> Response:
        entity = route.entity
        key = _parse_key(entity, key_text)
        row = self._table(entity.name, division).get(key)
        if row is None:
            raise _error(404, f"{entity.name}: the record does not exist.")
        query = self._parse_query_lenient(request, route)
        base = str(request.base_url).rstrip("/")
        return JSONResponse(
            {"d": self._serialise(base, division, entity, self._derive(entity, row, division), query, False)}
        )

    def _parse_query_lenient(self, request: Request, route: _Route) -> list[str] | None:
        select = request.query_params.get("$select")
        if not select:
            return None
        names = [s.strip() for s in select.split(",") if s.strip()]
        fields = self._fields_of(route)
        lines = route.entity.embedded.field if route.entity.embedded else None
        for name in names:
            if name not in fields and name != lines:
                raise _error(400, f"No property '{name}' exists in this type.")
        return names

    def _sync_deleted(self, request: Request, division: int) -> Response:
        q = request.query_params
        if not q.get("$select"):
            raise _error(400, "It is mandatory to provide the $select query option.")
        fields = {"Timestamp", "ID", "EntityKey", "EntityType", "DeletedBy", "DeletedDate", "Division"}
        select = [s.strip() for s in q["$select"].split(",")]
        if any(s not in fields for s in select):
            raise _error(400, "No property exists with that name in type 'Exact.Web.Api.Models.Sync.Deleted'.")
        since = 0
        if q.get("$filter"):
            match = re.fullmatch(r"\s*Timestamp\s+gt\s+(\d+)L?\s*", q["$filter"])
            if not match:
                raise _error(400, "Only the Timestamp field is allowed as a filter on this endpoint.")
            since = int(match.group(1))
        if q.get("$skiptoken"):
            since = max(since, int(q["$skiptoken"].rstrip("L")))
        rows = [r for r in self._state["deleted"] if r["Division"] == division and r["Timestamp"] > since]
        rows.sort(key=lambda r: int(r["Timestamp"]))
        page = rows[: self.bulk_page_size]
        base = str(request.base_url).rstrip("/")
        results = []
        for row in page:
            out: dict[str, Any] = {
                "__metadata": {
                    "uri": f"{base}/api/v1/{division}/sync/Deleted({row['Timestamp']}L)",
                    "type": "Exact.Web.Api.Models.Sync.Deleted",
                }
            }
            for name in select:
                value = row[name]
                out[name] = f"/Date({value})/" if name == "DeletedDate" else value
            results.append(out)
        d: dict[str, Any] = {"results": results}
        if len(rows) > len(page):
            params = [(k, v) for k, v in q.multi_items() if k != "$skiptoken"]
            params.append(("$skiptoken", f"{page[-1]['Timestamp']}L"))
            d["__next"] = f"{base}{request.url.path}?{urllib.parse.urlencode(params, quote_via=urllib.parse.quote)}"
        return JSONResponse({"d": d})

    # --------------------------------------------------------------------------------------- writes

    def _json_body(self, body: bytes) -> dict[str, Any]:
        try:
            data = json.loads(body or b"null")
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise _error(400, _STREAM) from exc
        if not isinstance(data, dict):
            raise _error(400, _STREAM)
        return data

    def _convert_body(
        self, entity: Entity, data: Mapping[str, Any], *, allow: set[str] | None = None
    ) -> dict[str, Any]:
        type_name = str(entity.api.get("type", entity.name))
        values: dict[str, Any] = {}
        for name, value in data.items():
            if name == "__metadata" or (allow and name in allow):
                continue
            fdef = entity.fields.get(name)
            if fdef is None:
                raise _error(
                    400,
                    f"Error processing request stream. The property name '{name}' specified for type "
                    f"'{type_name}' is not valid.",
                )
            if fdef.read_only:
                continue
            values[name] = self._wire_value(entity, name, value)
        return values

    def _wire_value(self, entity: Entity, name: str, value: Any) -> Any:
        fdef = entity.fields[name]
        if value is None:
            return None
        kind = fdef.type
        bad = _error(500, f"Error in converting value for property '{name}' to type '{_edm(kind)}'")
        if kind == "guid":
            if not isinstance(value, str) or not _GUID.match(value):
                raise bad
            return value.lower()
        if kind in ("date", "datetime"):
            if not isinstance(value, str):
                raise bad
            try:
                return _wall_ms_from_input(value)
            except ValueError as exc:
                raise bad from exc
        if kind == "int":
            if isinstance(value, bool) or not isinstance(value, int):
                raise bad
            return value
        if kind == "float":
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise bad
            return float(value)
        if kind == "bool":
            if not isinstance(value, bool):
                raise bad
            return value
        if not isinstance(value, str):
            raise bad
        return value

    def _check_required(self, entity: Entity, values: Mapping[str, Any], *, skip: str | None = None) -> list[str]:
        return [
            f"Mandatory: {f.name}"
            for f in entity.fields.values()
            if f.required and f.name != skip and values.get(f.name) in (None, "")
        ]

    def _check_refs(self, entity: Entity, values: Mapping[str, Any], division: int, *, skip: str | None = None) -> None:
        bad = []
        for name, value in values.items():
            fdef = entity.fields.get(name)
            if fdef is None or fdef.ref is None or value is None or name == skip:
                continue
            if value not in self._table(fdef.ref, division):
                bad.append(f"Invalid reference: {name}")
        if bad:
            raise _error(500, "\r\n".join(bad))

    def _create(self, request: Request, division: int, route: _Route, body: bytes) -> Response:
        entity = route.entity
        data = self._json_body(body)
        embedded = entity.embedded
        lines_raw: list[Any] = []
        if embedded is not None:
            raw = data.get(embedded.field)
            if raw is not None and not isinstance(raw, list):
                raise _error(400, _STREAM)
            lines_raw = list(raw or [])
        values = self._convert_body(entity, data, allow={embedded.field} if embedded else None)
        problems = self._check_required(entity, values)
        child = self._entity(embedded.entity) if embedded else None
        if embedded is not None and entity.api.get("lines_required") and not lines_raw:
            problems.append(f"Mandatory: {embedded.field}")
        lines: list[dict[str, Any]] = []
        for raw_line in lines_raw:
            if not isinstance(raw_line, dict) or child is None or embedded is None:
                raise _error(400, _STREAM)
            line = self._convert_body(child, raw_line)
            problems += self._check_required(child, line, skip=embedded.parent_field)
            lines.append(line)
        if problems:
            raise _error(400, "\r\n".join(dict.fromkeys(problems)))
        self._check_refs(entity, values, division)
        for line in lines:
            assert child is not None and embedded is not None
            self._check_refs(child, line, division, skip=embedded.parent_field)
        if entity.name == "Addresses":
            existing = self._same_address(values, division)
            if existing is not None:
                row = self._derive(entity, existing, division)
                base = str(request.base_url).rstrip("/")
                return JSONResponse({"d": self._serialise(base, division, entity, row, None, False)}, status_code=201)
        row = self._new_row(entity, values, division)
        table = self._table(entity.name, division)
        table[str(row[entity.key])] = row
        if embedded is not None and child is not None:
            for number, line in enumerate(lines, start=1):
                line[embedded.parent_field] = row[entity.key]
                line_row = self._new_row(child, line, division, parent=row, line_number=number)
                self._table(child.name, division)[str(line_row[child.key])] = line_row
            self._recompute_amounts(entity, row, division)
        base = str(request.base_url).rstrip("/")
        return JSONResponse(
            {"d": self._serialise(base, division, entity, self._derive(entity, row, division), None, False)},
            status_code=201,
        )

    def _new_row(
        self,
        entity: Entity,
        values: dict[str, Any],
        division: int,
        *,
        parent: Mapping[str, Any] | None = None,
        line_number: int | None = None,
    ) -> dict[str, Any]:
        row: dict[str, Any] = dict.fromkeys(entity.fields)
        row.update(values)
        row[entity.key] = str(uuid.uuid4())
        now = self._wall_now()
        for stamp in ("Created", "Modified"):
            if stamp in entity.fields:
                row[stamp] = now
        if "Division" in entity.fields:
            row["Division"] = division
        row["Timestamp"] = self._tick()
        table = self._table(entity.name, division)
        if entity.name == "Accounts":
            if row.get("Code") in (None, ""):
                codes = [
                    int(str(r["Code"]).strip()) for r in table.values() if str(r.get("Code") or "").strip().isdigit()
                ]
                row["Code"] = _pad_code(str(max(codes, default=0) + 1))
            else:
                code = str(row["Code"]).strip()
                if len(code) > 18:
                    raise _error(400, "Code: the value is longer than 18 characters.")
                if any(str(r.get("Code") or "").strip() == code for r in table.values()):
                    raise _error(400, f"Code {code} already exists.")
                row["Code"] = _pad_code(code)
            row["Type"] = "A"
            row["IsSales"] = row.get("Status") == "C"
        elif entity.name == "SalesOrders":
            if row.get("OrderNumber") is None:
                row["OrderNumber"] = 1 + max((int(r.get("OrderNumber") or 0) for r in table.values()), default=0)
            row["Status"] = 12
            row["StatusDescription"] = "Open"
        elif entity.name == "Quotations":
            row["QuotationNumber"] = 1 + max((int(r.get("QuotationNumber") or 0) for r in table.values()), default=0)
            row["VersionNumber"] = 1
            row["Status"] = 20
        elif entity.name in ("SalesOrderLines", "QuotationLines"):
            parent_field = "OrderID" if entity.name == "SalesOrderLines" else "QuotationID"
            parent_entity = "SalesOrders" if entity.name == "SalesOrderLines" else "Quotations"
            if parent is None:
                parent = self._table(parent_entity, division).get(str(row[parent_field]))
            if line_number is None:
                siblings = [r for r in table.values() if r.get(parent_field) == row[parent_field]]
                line_number = 1 + max((int(r.get("LineNumber") or 0) for r in siblings), default=0)
            row["LineNumber"] = line_number
            item = self._table("Items", division).get(str(row.get("Item")))
            if entity.name == "SalesOrderLines":
                row["OrderNumber"] = parent.get("OrderNumber") if parent else None
                row["ItemCode"] = item.get("Code") if item else None
                row["CostPriceFC"] = item.get("CostPriceStandard") if item else None
            if row.get("VATCode") is None and item is not None:
                row["VATCode"] = item.get("SalesVatCode")
            quantity, price = row.get("Quantity") or 0.0, row.get("UnitPrice") or 0.0
            if row.get("NetPrice") is None:
                row["NetPrice"] = price
            row["AmountFC"] = round(float(quantity) * float(row["NetPrice"]), 2)
        return row

    def _recompute_amounts(self, entity: Entity, row: dict[str, Any], division: int) -> None:
        if entity.embedded is None:
            return
        lines = self._table(entity.embedded.entity, division).values()
        total = sum(
            float(r.get("AmountFC") or 0.0) for r in lines if r.get(entity.embedded.parent_field) == row[entity.key]
        )
        row["AmountFC"] = row["AmountDC"] = round(total, 2)

    def _same_address(self, values: Mapping[str, Any], division: int) -> dict[str, Any] | None:
        keys = (
            "Account",
            "Type",
            "AddressLine1",
            "AddressLine2",
            "AddressLine3",
            "Postcode",
            "City",
            "Country",
        )
        for row in self._table("Addresses", division).values():
            if all(_fold(row.get(k)) == _fold(values.get(k)) for k in keys):
                return row
        return None

    def _update(self, division: int, entity: Entity, key_text: str, body: bytes) -> Response:
        key = _parse_key(entity, key_text)
        row = self._table(entity.name, division).get(key)
        if row is None:
            raise _error(404, f"{entity.name}: the record does not exist.")
        data = self._json_body(body)
        if entity.embedded is not None:
            data.pop(entity.embedded.field, None)
        values = self._convert_body(entity, data)
        problems = [
            f"Mandatory: {name}"
            for name, value in values.items()
            if entity.fields[name].required and value in (None, "")
        ]
        problems += [
            f"{name}: the value cannot be changed after creation."
            for name, value in values.items()
            if entity.fields[name].create_only and value != row.get(name)
        ]
        if problems:
            raise _error(400, "\r\n".join(problems))
        self._check_refs(entity, values, division)
        if entity.name == "Accounts" and "Code" in values:
            code = str(values["Code"] or "").strip()
            if any(
                k != key and str(r.get("Code") or "").strip() == code
                for k, r in self._table(entity.name, division).items()
            ):
                raise _error(400, f"Code {code} already exists.")
            values["Code"] = _pad_code(code)
        row.update(values)
        if entity.name == "Accounts" and "Status" in values:
            row["IsSales"] = row.get("Status") == "C"
        if entity.name in ("SalesOrderLines", "QuotationLines") and {
            "Quantity",
            "UnitPrice",
            "NetPrice",
        } & set(values):
            if "UnitPrice" in values and "NetPrice" not in values:
                row["NetPrice"] = row.get("UnitPrice")
            row["AmountFC"] = round(float(row.get("Quantity") or 0) * float(row.get("NetPrice") or 0), 2)
        self._touch(entity, row)
        return Response(status_code=204)

    def _remove(self, division: int, entity: Entity, key_text: str) -> Response:
        key = _parse_key(entity, key_text)
        if key not in self._table(entity.name, division):
            raise _error(404, f"{entity.name}: the record does not exist.")
        child = entity.embedded.entity if entity.embedded else None
        used: list[str] = []
        for other in self.catalogue.entities.values():
            if other.name == child:
                continue  # an order's own lines go with it
            for f in other.fields.values():
                rows = self._table(other.name, division).values()
                if f.ref == entity.name and any(r.get(f.name) == key for r in rows):
                    used.append(other.name)
        if used:
            row = self._table(entity.name, division)[key]
            label = str(row.get("Code") or key).strip()
            raise _error(
                500,
                f"Can't delete: {entity.name.rstrip('s')} {label} - Used in: " + ", ".join(dict.fromkeys(used)),
            )
        self._delete(entity, key, division)
        return Response(status_code=204)

    def _delete(self, entity: Entity, key: str, division: int) -> None:
        table = self._table(entity.name, division)
        table.pop(key, None)
        self._log_deleted(entity, key, division)
        if entity.embedded is not None:
            child = self._entity(entity.embedded.entity)
            lines = self._table(child.name, division)
            for line_key in [k for k, r in lines.items() if r.get(entity.embedded.parent_field) == key]:
                lines.pop(line_key)
                self._log_deleted(child, line_key, division)
        parent_of = [e for e in self.catalogue.entities.values() if e.embedded and e.embedded.entity == entity.name]
        for parent in parent_of:
            assert parent.embedded is not None
            for row in self._table(parent.name, division).values():
                self._recompute_amounts(parent, row, division)

    def _log_deleted(self, entity: Entity, key: str, division: int) -> None:
        code = entity.api.get("deleted")
        if code is None:
            return
        self._state["deleted"].append(
            {
                "Timestamp": self._tick(),
                "ID": str(uuid.uuid4()),
                "EntityKey": key,
                "EntityType": int(code),
                "DeletedBy": self._state["user_id"],
                "DeletedDate": self._wall_now(),
                "Division": division,
            }
        )

    # ---------------------------------------------------------------------------------------- helpers

    def _entity(self, name: str) -> Entity:
        entity = self.catalogue.entity(name)
        if entity is None:
            raise KeyError(f"no Exact entity {name}")
        return entity

    def _table(self, entity: str, division: int | None = None) -> dict[str, dict[str, Any]]:
        if entity in GLOBAL_ENTITIES:
            division = None
        tables = self._state["tables"].setdefault(
            str(division or self.division), {name: {} for name in self.catalogue.entities}
        )
        table: dict[str, dict[str, Any]] = tables.setdefault(entity, {})
        return table

    def _tick(self) -> int:
        self._state["timestamp"] += 1
        return int(self._state["timestamp"])

    def _wall_now(self) -> int:
        now = dt.datetime.fromtimestamp(self.clock.now(), dt.UTC).astimezone(CET).replace(tzinfo=None)
        return (now - _EPOCH) // dt.timedelta(milliseconds=1)

    def _touch(self, entity: Entity, row: dict[str, Any]) -> None:
        if "Modified" in entity.fields:
            row["Modified"] = self._wall_now()
        row["Timestamp"] = self._tick()

    def _internal(self, entity: Entity, name: str, value: Any) -> Any:
        fdef = entity.fields.get(name)
        if fdef is None or value is None:
            return value
        if fdef.type in ("date", "datetime"):
            return value if isinstance(value, int) else _wall_ms_from_input(str(value))
        if fdef.type == "guid":
            return str(value).lower()
        return value

    def _export(self, entity: Entity, row: Mapping[str, Any]) -> dict[str, Any]:
        out = {}
        for name, value in row.items():
            fdef = entity.fields.get(name)
            if fdef is not None and fdef.type in ("date", "datetime") and isinstance(value, int):
                wall = _EPOCH + dt.timedelta(milliseconds=value)
                out[name] = wall.date().isoformat() if fdef.type == "date" else wall.isoformat()
            else:
                out[name] = value
        return out

    def _derive(self, entity: Entity, row: dict[str, Any], division: int) -> dict[str, Any]:
        """A row with the fields Exact computes on read (a contact's code and city come from its account)."""
        if entity.name != "Contacts":
            return row
        derived = dict(row)
        account = self._table("Accounts", division).get(str(row.get("Account")))
        if account is not None:
            for name in ("City", "Country", "Postcode", "Code"):
                derived[name] = account.get(name)
            derived["IsMainContact"] = account.get("MainContact") == row.get("ID")
        parts = [row.get("FirstName"), row.get("MiddleName"), row.get("LastName")]
        derived["FullName"] = " ".join(str(p) for p in parts if p)
        return derived

    def _serialise(
        self,
        base: str,
        division: int,
        entity: Entity,
        row: Mapping[str, Any],
        select: list[str] | None,
        expand: bool,
    ) -> dict[str, Any]:
        service = str(entity.api["service"])
        uri = f"{base}/api/v1/{division}/{service}({_key_literal(entity, row[entity.key])})"
        out: dict[str, Any] = {
            "__metadata": {
                "uri": uri,
                "type": str(entity.api.get("type", f"Exact.Web.Api.Models.{entity.name}")),
            }
        }
        names = select or list(entity.fields)
        lines_field = entity.embedded.field if entity.embedded else None
        if select is None and lines_field:
            names = [*names, lines_field]
        for name in names:
            if name == lines_field and entity.embedded is not None:
                if expand:
                    child = self._entity(entity.embedded.entity)
                    lines = [
                        self._serialise(base, division, child, r, None, False)
                        for r in sorted(
                            self._table(child.name, division).values(),
                            key=lambda r: int(r.get("LineNumber") or 0),
                        )
                        if r.get(entity.embedded.parent_field) == row[entity.key]
                    ]
                    out[name] = {"results": lines}
                else:
                    out[name] = {"__deferred": {"uri": f"{uri}/{name}"}}
                continue
            value = row.get(name)
            fdef = entity.fields.get(name)
            if fdef is not None and fdef.type in ("date", "datetime") and value is not None:
                value = f"/Date({value})/"
            out[name] = value
        return out


# -------------------------------------------------------------------------------------------- helpers


def _failure_response(failure: _Failure) -> Response:
    if failure.body is not None:
        return Response(failure.body, status_code=failure.status, media_type="application/json")
    if failure.status >= 500:
        page = "<html><body><h1>Service Unavailable</h1></body></html>"
        return Response(page, status_code=failure.status, media_type="text/html")
    return JSONResponse(error_body("Bad Request"), status_code=failure.status)


def _pad_code(code: str) -> str:
    return code.strip().rjust(18)


def _fold(value: Any) -> Any:
    return value.strip().casefold() if isinstance(value, str) else value


def _edm(kind: str) -> str:
    return {
        "guid": "Guid",
        "date": "DateTime",
        "datetime": "DateTime",
        "int": "Int32",
        "float": "Double",
        "bool": "Boolean",
    }.get(kind, "String")


def _norm_key(entity: Entity, key: Any) -> str:
    return str(key).lower() if entity.fields[entity.key].type == "guid" else str(key)


def _parse_key(entity: Entity, text: str) -> str:
    text = text.strip()
    kind = entity.fields[entity.key].type
    if kind == "guid":
        match = re.fullmatch(r"guid'([^']*)'", text)
        if not match or not _GUID.match(match.group(1)):
            raise _error(400, _SYNTAX)
        return match.group(1).lower()
    if kind == "int":
        if not re.fullmatch(r"-?\d+", text):
            raise _error(400, _SYNTAX)
        return str(int(text))
    match = re.fullmatch(r"'((?:[^']|'')*)'", text)
    if not match:
        raise _error(400, _SYNTAX)
    return match.group(1).replace("''", "'")


def _key_literal(entity: Entity, key: Any) -> str:
    kind = entity.fields[entity.key].type
    if kind == "guid":
        return f"guid'{key}'"
    if kind == "int":
        return str(key)
    return "'" + str(key).replace("'", "''") + "'"


def _key_position(rows: list[dict[str, Any]], entity: Entity, token: str | None) -> int:
    if not token:
        return 0
    key = _parse_key(entity, token)
    for index, row in enumerate(rows):
        if str(row.get(entity.key)) == key:
            return index + 1
    # The row the token names is gone: continue after where it would sort.
    return sum(1 for row in rows if str(row.get(entity.key)) <= key)


def _sync_position(rows: list[dict[str, Any]], token: str | None) -> int:
    if not token:
        return 0
    try:
        after = int(token.rstrip("Ll"))
    except ValueError as exc:
        raise _error(400, _SYNTAX) from exc
    return sum(1 for row in rows if int(row["Timestamp"]) <= after)


def _sorter(name: str) -> Any:
    return lambda row: _sort_key(row.get(name))


def _sort_key(value: Any) -> tuple[int, Any]:
    if value is None:
        return (0, "")
    return (1, value.casefold() if isinstance(value, str) else value)


def _wall_ms_from_input(text: str) -> int:
    """A date or date-time from a body or a seed: ``/Date(ms)/``, or ISO (an offset converts to CET)."""
    match = re.fullmatch(r"/Date\((-?\d+)(?:[+-]\d{4})?\)/", text)
    if match:
        return int(match.group(1))
    parsed = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(CET).replace(tzinfo=None)
    return wall_ms_of(parsed.isoformat())


def _us_time(epoch: float) -> str:
    when = dt.datetime.fromtimestamp(epoch, dt.UTC)
    return f"{when.month}/{when.day}/{when.year} {when.strftime('%I:%M:%S %p').lstrip('0')}"


def copy_state(emulator: ExactEmulator) -> dict[str, Any]:
    """A deep copy of the emulator's state, for tests that compare before and after."""
    with emulator._lock:
        return copy.deepcopy(emulator._state)
