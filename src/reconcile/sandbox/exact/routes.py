"""The routes of the Exact Online emulator: the ASGI app, the dispatch of each call to its part, the request log.

``/api/oauth2/…`` goes to the OAuth part. A call under ``/api/v1/`` is authenticated; ``current/Me``
answers without counting, and a division-scoped call is counted against the rate limits, meets any injected
failure, and goes to the read or write handlers of its entity's endpoint. Every answer carries the rate
limit headers. A part that meets a problem raises :class:`~reconcile.sandbox.exact.protocol.Reply`; it is
caught here and sent. Calls are answered one at a time, under the store's lock.
"""

from __future__ import annotations

import re
import urllib.parse
from dataclasses import dataclass

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from reconcile.sandbox.exact.faults import ExactFaults
from reconcile.sandbox.exact.oauth import ExactOAuth
from reconcile.sandbox.exact.protocol import Reply, error
from reconcile.sandbox.exact.ratelimit import ExactRateLimits
from reconcile.sandbox.exact.reads import EndpointKind, ReadHandlers, endpoint_table
from reconcile.sandbox.exact.store import ExactStore
from reconcile.sandbox.exact.writes import WriteHandlers

_KEYED = re.compile(r"^(?P<path>.+?)\((?P<key>[^)]*)\)(?P<nav>/[A-Za-z]+)?$")


@dataclass
class RequestLog:
    """One request the emulator answered."""

    method: str
    path: str
    status: int
    query: str = ""


class ExactRoutes:
    """The ASGI app over the emulator's parts, and the log of every request it answered."""

    def __init__(
        self,
        store: ExactStore,
        oauth: ExactOAuth,
        limits: ExactRateLimits,
        faults: ExactFaults,
        reads: ReadHandlers,
        writes: WriteHandlers,
    ) -> None:
        self.store = store
        self.oauth = oauth
        self.limits = limits
        self.faults = faults
        self.reads = reads
        self.writes = writes
        self.requests: list[RequestLog] = []
        self._endpoints = endpoint_table(store.catalogue)
        self._app: Starlette | None = None

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

    def api_calls(self, method: str | None = None, contains: str = "") -> int:
        """How many division-scoped API calls were answered (optionally one method, one path part)."""
        return sum(
            1
            for r in self.requests
            if r.path.startswith("/api/v1/")
            and (method is None or r.method == method.upper())
            and contains.casefold() in r.path.casefold()
        )

    async def _auth(self, request: Request) -> Response:
        response = self.oauth.authorize(request.query_params)
        self._log(request, response)
        return response

    async def _token(self, request: Request) -> Response:
        body = (await request.body()).decode("utf-8", "replace")
        form = {k: v[0] for k, v in urllib.parse.parse_qs(body, keep_blank_values=True).items()}
        try:
            with self.store.lock:
                response = self.oauth.grant(form)
        except Reply as reply:
            response = reply.response
        self._log(request, response)
        return response

    async def _api(self, request: Request) -> Response:
        body = await request.body()
        try:
            with self.store.lock:
                response = self._handle(request, body)
        except Reply as reply:
            response = reply.response
        self._log(request, response)
        return response

    def _log(self, request: Request, response: Response) -> None:
        with self.store.lock:
            self.requests.append(RequestLog(request.method, request.url.path, response.status_code, request.url.query))

    def _handle(self, request: Request, body: bytes) -> Response:
        client_id = self.oauth.authenticate(request)
        rest = request.path_params["rest"]
        first, _, path = rest.partition("/")
        if first == "current":
            if path.casefold() != "me" or request.method != "GET":
                raise error(404, "Not found")
            return self._me(request)
        if not first.isdigit():
            raise error(404, "Not found")
        division = int(first)
        headers = self.limits.count_call(client_id, division)
        try:
            response = self._dispatch(request, division, path, body)
        except Reply as reply:
            response = reply.response
        response.headers.update(headers)
        return response

    def _me(self, request: Request) -> Response:
        base = str(request.base_url).rstrip("/")
        user = self.store.user_id
        row = {
            "__metadata": {
                "uri": f"{base}/api/v1/current/Me(guid'{user}')",
                "type": "Exact.Web.Api.System.Me",
            },
            "UserID": user,
            "CurrentDivision": self.store.current_division,
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
        if not self.store.has_division(division):
            raise error(403, "Forbidden")
        method = request.method
        if path.casefold() == "sync/deleted":
            if method != "GET":
                raise error(405, "The HTTP method is not allowed on this resource.")
            return self.reads.sync_deleted(request, division)
        count = path.endswith("/$count")
        if count:
            path = path[: -len("/$count")]
        keyed = _KEYED.match(path)
        key_text = None
        if keyed:
            path, key_text = keyed.group("path"), keyed.group("key")
            if keyed.group("nav"):
                raise error(404, "Not found")
        endpoint = self._endpoints.get(path.casefold())
        if endpoint is None:
            raise error(404, f"Resource not found for the segment '{path.rsplit('/', 1)[-1]}'.")
        entity = endpoint.entity
        injected = self.faults.injected(method, entity.name)
        if injected is not None and not injected.apply:
            return injected.response()
        if endpoint.kind is not EndpointKind.REGULAR:
            if method != "GET" or key_text is not None:
                raise error(405, "The HTTP method is not allowed on this resource.")
            response = self.reads.get_list(request, division, endpoint)
        elif method == "GET":
            if count:
                return self.reads.count(request, division, endpoint)
            if key_text is not None:
                response = self.reads.get_one(request, division, endpoint, key_text)
            else:
                response = self.reads.get_list(request, division, endpoint)
        elif entity.read_only:
            raise error(405, f"The HTTP method '{method}' is not allowed: {entity.name} can only be read.")
        elif method == "POST":
            if key_text is not None:
                raise error(405, "The HTTP method is not allowed on this resource.")
            response = self.writes.create(request, division, endpoint, body)
        elif key_text is None:
            raise error(405, "The HTTP method is not allowed on this resource.")
        elif method == "PUT":
            response = self.writes.update(division, entity, key_text, body)
        else:
            response = self.writes.remove(division, entity, key_text)
        if injected is not None:
            return injected.response()
        return response
