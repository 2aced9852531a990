"""The generic emulator: any system file's API, served over real HTTP from a folder of records.

:class:`RestEmulator` is an ASGI app that serves each entity of a system file at its declared paths
(:mod:`.routes`), with its declared paging style (page number, offset, cursor in a body field or a header,
``Link`` header, none) and auth style (bearer token, API key header, basic), each style serving its side of
the wire itself (:mod:`reconcile.model.styles`), and its write verbs and bulk endpoints. It behaves as a
careful real system would (:mod:`.store`): it assigns ids, keeps the entity's modified time, refuses what a
real system refuses, and answers 401 to a wrong credential. A declared rate limit answers 429 with
``Retry-After`` on the emulator's clock. ``faults`` lets a test make the next answers fail (a 503, a 429) to
show the connector's retries.

Its state is the folder layout of the seed data (``<Entity>.json``, an array of records): :meth:`load` reads
a folder, :meth:`dump` writes back the entities that changed, atomically, so that the local sandbox keeps its
state between runs in the same files it was seeded from.
:func:`~reconcile.sandbox.openers.open_rest_sandbox` starts it for a command and points the real connector
at it.

The sandbox's secrets are public values (:func:`sandbox_secrets`): the local sandbox sets them itself.
"""

from __future__ import annotations

import json
import math
from collections import Counter, deque
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route as StarletteRoute

from reconcile.atomic import write_text_atomically
from reconcile.model.catalogue import Entity
from reconcile.model.clock import Clock, SystemClock
from reconcile.model.styles import Auth, BadQuery
from reconcile.model.systemfile import Endpoint, Limits, SystemFile
from reconcile.model.values import nest_record
from reconcile.sandbox.rest.answers import Problem, answer, error, json_body
from reconcile.sandbox.rest.routes import Action, Route, build_routes
from reconcile.sandbox.rest.store import RecordStore

MAX_PAGE = 1000
"""The most records one call answers or takes, whatever a client asks for."""
_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"]


def sandbox_secrets(system: str, auth: Auth) -> dict[str, str]:
    """The sandbox's public credentials of ``system``, by role (token, key, username, password)."""
    values = {
        "token": f"sandbox-{system}-token",
        "key": f"sandbox-{system}-key",
        "username": "sandbox",
        "password": f"sandbox-{system}-password",
    }
    return {role: values[role] for role in auth.secrets}


class RestEmulator:
    """A system file's API over the records of one folder (see the module docs)."""

    def __init__(
        self,
        spec: SystemFile,
        *,
        secrets: Mapping[str, str] | None = None,
        clock: Clock | None = None,
        limits: Limits | None = None,
    ) -> None:
        self.spec = spec
        self.name = spec.name
        self.auth = spec.connection.auth
        self.secrets = dict(secrets) if secrets is not None else sandbox_secrets(spec.name, self.auth)
        self.clock: Clock = clock or SystemClock()
        self.limits = limits
        self.store = RecordStore(spec, self.clock)
        self.calls: Counter[str] = Counter()
        """Answered calls by ``"METHOD /template"`` (401s and 429s included), for tests to count."""
        self.faults: deque[int] = deque()
        """Statuses to answer the next calls with, before anything else (a test's 503 or 429)."""
        self._sent: deque[float] = deque()
        self._routes = build_routes(spec)
        self.app = Starlette(routes=[StarletteRoute("/{path:path}", self._dispatch, methods=_METHODS)])

    @classmethod
    def from_folder(cls, spec: SystemFile, folder: Path, **options: Any) -> RestEmulator:
        emulator = cls(spec, **options)
        emulator.load(folder)
        return emulator

    # -- state ---------------------------------------------------------------------------------------------

    def load(self, folder: Path) -> None:
        """Hold the records of ``folder/<Entity>.json`` (an entity without a file holds none)."""
        for name in self.store.tables:
            path = folder / f"{name}.json"
            rows = json.loads(path.read_text(encoding="utf-8") or "[]") if path.exists() else []
            if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
                raise ValueError(f"{path}: must hold a JSON array of objects, one per record")
            self.store.put(name, rows)
        self.store.changed.clear()

    def put_records(self, entity: str, rows: list[dict[str, Any]]) -> None:
        """Replace an entity's records (nested JSON objects, each with its key)."""
        self.store.put(entity, rows)

    def records(self, entity: str) -> list[dict[str, Any]]:
        """An entity's records as the API shows them."""
        return [nest_record(r) for r in self.store.tables[self.store.entity(entity).name].values()]

    def dump(self, folder: Path) -> None:
        """Write the entities that changed back to ``folder`` (one record a line), each file atomically."""
        folder.mkdir(parents=True, exist_ok=True)
        for name in sorted(self.store.changed):
            lines = [json.dumps(nest_record(r), ensure_ascii=False) for r in self.store.tables[name].values()]
            text = "[\n" + ",\n".join(lines) + ("\n]\n" if lines else "]\n")
            write_text_atomically(folder / f"{name}.json", text)
        self.store.changed.clear()

    # -- routing -------------------------------------------------------------------------------------------

    async def _dispatch(self, request: Request) -> Response:
        path = "/" + request.path_params["path"]
        method = request.method
        allowed = False
        for route in self._routes:
            key = route.match(path)
            if key is None:
                continue
            if route.method != method:
                allowed = True
                continue
            self.calls[f"{method} {route.template}"] += 1
            refused = self._gate()
            if refused is not None:
                return refused
            try:
                return await self._handle(route, key, request)
            except Problem as problem:
                return error(problem.status, problem.message)
        self.calls[f"{method} {path}"] += 1
        return error(405, f"{method} is not allowed here") if allowed else error(404, f"no such resource: {path}")

    def _gate(self) -> Response | None:
        """A fault a test asked for, before the call is handled."""
        if self.faults:
            status = self.faults.popleft()
            return error(status, "injected", headers={"Retry-After": "1"} if status == 429 else None)
        return None

    async def _handle(self, route: Route, key: str, request: Request) -> Response:
        if not self.auth.accepts(request.headers, self.secrets):
            raise Problem(401, "the credentials were not accepted")
        self._limit()
        ent = self.store.entity(route.entity)
        ep = self.spec.endpoints[route.entity]
        if route.action is Action.LIST:
            return self._list(ent, ep, request)
        if route.action is Action.GET:
            return answer(ep, nest_record(self.store.existing(ent, key)))
        if route.action is Action.DELETE:
            self.store.delete(ent, key)
            return Response(status_code=204)
        body = await json_body(request)
        if route.action is Action.CREATE:
            if not isinstance(body, dict):
                raise Problem(400, "the body must be a JSON object: the record")
            return answer(ep, nest_record(self.store.create(ent, body)), 201)
        if route.action is Action.UPDATE:
            if not isinstance(body, dict):
                raise Problem(400, "the body must be a JSON object: the fields to change")
            return answer(ep, nest_record(self.store.update(ent, key, body, replace=route.method == "PUT")))
        if not isinstance(body, list):
            raise Problem(400, "the body must be a JSON array of records")
        limit = ep.bulk.size if ep.bulk is not None else MAX_PAGE
        if len(body) > limit:
            raise Problem(413, f"at most {limit} records a call")
        creating = route.action is Action.BULK_CREATE
        return answer(ep, [self.store.bulk_item(ent, creating, item) for item in body])

    def _limit(self) -> None:
        if self.limits is None or not self.limits.calls:
            return
        now = self.clock.now()
        while self._sent and self._sent[0] <= now - self.limits.window:
            self._sent.popleft()
        if len(self._sent) >= self.limits.calls:
            wait = self._sent[0] + self.limits.window - now
            raise Problem(429, f"too many requests; retry after {math.ceil(wait)} s")
        self._sent.append(now)

    def _list(self, ent: Entity, ep: Endpoint, request: Request) -> Response:
        rows = list(self.store.tables[ent.name].values())
        try:
            page = ep.paging.serve_page(rows, request.query_params, str(request.url), most=MAX_PAGE)
        except BadQuery as bad:
            raise Problem(400, str(bad)) from None
        payload = [nest_record(r) for r in page.records]
        return answer(ep, payload, headers=page.headers, fields=page.body_fields)
