"""The generic emulator: any system file's API, served over real HTTP from a folder of records.

:class:`RestEmulator` is an ASGI app that serves each entity of a system file at its declared paths, with
its declared paging style (page number, offset, cursor in a body field or a header, ``Link`` header, none),
auth style (bearer token, API key header, basic) and write verbs, and its bulk endpoints. It behaves as a
careful real system would: it assigns ids (the next number for an int key, a new GUID for a guid key),
keeps the entity's modified time, refuses unknown and read-only fields (400), a missing required field or a
value of the wrong type (422), writes to a read-only entity (405), and answers 401 to a wrong credential.
A declared rate limit answers 429 with ``Retry-After`` on the emulator's clock. ``faults`` lets a test
make the next answers fail (a 503, a 429) to show the connector's retries.

Its state is the folder layout of the seed data (``<Entity>.json``, an array of records): :meth:`load` reads
a folder, :meth:`dump` writes back the entities that changed, atomically, so that the local sandbox keeps its
state between runs in the same files it was seeded from. :func:`open_rest_sandbox` starts it for a command
and points the real connector at it.

The sandbox's secrets are public values (:func:`sandbox_secrets`): the local sandbox sets them itself.
"""

from __future__ import annotations

import base64
import json
import math
import uuid
from collections import Counter, deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from reconcile.atomic import write_text_atomically
from reconcile.model.catalogue import Entity
from reconcile.model.clock import Clock, SystemClock
from reconcile.model.styles import (
    ApiKeyAuth,
    Auth,
    BasicAuth,
    BearerAuth,
    CursorPaging,
    LinkHeaderPaging,
    OffsetPaging,
    PageNumberPaging,
    Paging,
)
from reconcile.model.systemfile import Endpoint, Limits, SystemFile
from reconcile.model.values import EXPECTED, cast_value, flatten_record, json_value, key_text, nest_record

__all__ = ["SERVE_PAGING", "RestEmulator", "sandbox_secrets"]

MAX_PAGE = 1000
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


class _Problem(Exception):
    def __init__(self, status: int, message: str) -> None:
        self.status = status
        self.message = message
        super().__init__(message)


# --------------------------------------------------------------------------------------------- server paging

Page = tuple[list[dict[str, Any]], dict[str, str], dict[str, Any]]
"""(the page's records, headers to add, body fields to add at their dotted paths)."""


def _int(request: Request, name: str | None, default: int, low: int = 0) -> int:
    raw = request.query_params.get(name) if name else None
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise _Problem(400, f'query parameter {name} must be a whole number, not "{raw}"') from None
    if value < low:
        raise _Problem(400, f"query parameter {name} must be at least {low}")
    return value


def _serve_none(paging: Paging, request: Request, rows: list[dict[str, Any]]) -> Page:
    return rows, {}, {}


def _serve_page_number(paging: Paging, request: Request, rows: list[dict[str, Any]]) -> Page:
    assert isinstance(paging, PageNumberPaging)
    page = _int(request, paging.page_param, paging.first_page, low=paging.first_page)
    size = min(_int(request, paging.size_param, paging.size, low=1), MAX_PAGE)
    start = (page - paging.first_page) * size
    return rows[start : start + size], {}, {}


def _serve_offset(paging: Paging, request: Request, rows: list[dict[str, Any]]) -> Page:
    assert isinstance(paging, OffsetPaging)
    offset = _int(request, paging.offset_param, 0)
    limit = min(_int(request, paging.limit_param, paging.limit, low=1), MAX_PAGE)
    return rows[offset : offset + limit], {}, {}


def _cursor_text(offset: int) -> str:
    return base64.urlsafe_b64encode(f"after:{offset}".encode()).decode("ascii").rstrip("=")


def _cursor_offset(cursor: str) -> int:
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        return int(text.removeprefix("after:"))
    except ValueError:
        raise _Problem(400, "the cursor is not one this API gave out") from None


def _serve_cursor(paging: Paging, request: Request, rows: list[dict[str, Any]]) -> Page:
    assert isinstance(paging, CursorPaging)
    cursor = request.query_params.get(paging.cursor_param)
    start = _cursor_offset(cursor) if cursor else 0
    size = min(_int(request, paging.size_param, paging.size, low=1), MAX_PAGE)
    page = rows[start : start + size]
    following = _cursor_text(start + size) if start + size < len(rows) else None
    if paging.cursor_header:
        return page, ({paging.cursor_header: following} if following else {}), {}
    assert paging.cursor_field is not None
    return page, {}, {paging.cursor_field: following}


def _serve_link_header(paging: Paging, request: Request, rows: list[dict[str, Any]]) -> Page:
    assert isinstance(paging, LinkHeaderPaging)
    start = _int(request, "after", 0)
    size = min(_int(request, paging.size_param, paging.size, low=1), MAX_PAGE)
    page = rows[start : start + size]
    if start + size >= len(rows):
        return page, {}, {}
    query = {"after": start + size, **({paging.size_param: size} if paging.size_param else {})}
    following = request.url.include_query_params(**query)
    return page, {"Link": f'<{following}>; rel="next"'}, {}


SERVE_PAGING: dict[str, Callable[[Paging, Request, list[dict[str, Any]]], Page]] = {
    "none": _serve_none,
    PageNumberPaging.type: _serve_page_number,
    OffsetPaging.type: _serve_offset,
    CursorPaging.type: _serve_cursor,
    LinkHeaderPaging.type: _serve_link_header,
}
"""Paging style -> how the emulator cuts a page from the records."""


def _put(body: dict[str, Any], path: str, value: Any) -> None:
    *parents, leaf = path.split(".")
    node = body
    for part in parents:
        node = node.setdefault(part, {})
    node[leaf] = value


# ----------------------------------------------------------------------------------------------- emulator


@dataclass(frozen=True)
class _Route:
    method: str
    template: str
    entity: str
    action: str

    def match(self, path: str) -> str | None:
        """The ``{id}`` of ``path`` ("" when the template has none), or None when it does not match."""
        head, sep, tail = self.template.partition("{id}")
        if not sep:
            return "" if path == head else None
        if path.startswith(head) and path.endswith(tail) and len(path) > len(head) + len(tail):
            key = path[len(head) : len(path) - len(tail)]
            return key if "/" not in key else None
        return None


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
        self.tables: dict[str, dict[str, dict[str, Any]]] = {name: {} for name in spec.endpoints}
        self.changed: set[str] = set()
        self.calls: Counter[str] = Counter()
        """Answered calls by ``"METHOD /template"`` (401s and 429s included), for tests to count."""
        self.faults: deque[int] = deque()
        """Statuses to answer the next calls with, before anything else (a test's 503 or 429)."""
        self._sent: deque[float] = deque()
        self._routes = self._build_routes()
        self.app = Starlette(routes=[Route("/{path:path}", self._dispatch, methods=_METHODS)])

    @classmethod
    def from_folder(cls, spec: SystemFile, folder: Path, **options: Any) -> RestEmulator:
        emulator = cls(spec, **options)
        emulator.load(folder)
        return emulator

    # -- state ---------------------------------------------------------------------------------------------

    def load(self, folder: Path) -> None:
        """Hold the records of ``folder/<Entity>.json`` (an entity without a file holds none)."""
        for name in self.tables:
            path = folder / f"{name}.json"
            rows = json.loads(path.read_text(encoding="utf-8") or "[]") if path.exists() else []
            if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
                raise ValueError(f"{path}: must hold a JSON array of objects, one per record")
            self.put_records(name, rows)
        self.changed.clear()

    def put_records(self, entity: str, rows: list[dict[str, Any]]) -> None:
        """Replace an entity's records (nested JSON objects, each with its key)."""
        ent = self._entity(entity)
        table: dict[str, dict[str, Any]] = {}
        for row in rows:
            flat = flatten_record(row)
            key = key_text(flat.get(ent.key))
            if key is not None:
                table[key] = flat
        self.tables[ent.name] = table
        self.changed.add(ent.name)

    def records(self, entity: str) -> list[dict[str, Any]]:
        """An entity's records as the API shows them."""
        return [nest_record(r) for r in self.tables[self._entity(entity).name].values()]

    def dump(self, folder: Path) -> None:
        """Write the entities that changed back to ``folder`` (one record a line), each file atomically."""
        folder.mkdir(parents=True, exist_ok=True)
        for name in sorted(self.changed):
            lines = [json.dumps(nest_record(r), ensure_ascii=False) for r in self.tables[name].values()]
            text = "[\n" + ",\n".join(lines) + ("\n]\n" if lines else "]\n")
            write_text_atomically(folder / f"{name}.json", text)
        self.changed.clear()

    # -- routing -------------------------------------------------------------------------------------------

    def _entity(self, name: str) -> Entity:
        ent = self.spec.catalogue.entity(name)
        if ent is None:
            raise KeyError(name)
        return ent

    def _build_routes(self) -> list[_Route]:
        fixed: list[_Route] = []
        by_id: list[_Route] = []
        for name, ep in self.spec.endpoints.items():
            if ep.bulk is not None and ep.bulk.create:
                fixed.insert(0, _Route("POST", ep.bulk.create, name, "bulk_create"))
            if ep.bulk is not None and ep.bulk.update:
                fixed.insert(0, _Route("PATCH", ep.bulk.update, name, "bulk_update"))
            fixed.append(_Route("GET", ep.path, name, "list"))
            (by_id if "{id}" in ep.create.path else fixed).append(
                _Route(ep.create.method, ep.create.path, name, "create")
            )
            by_id.append(_Route("GET", ep.get.path, name, "get"))
            by_id.append(_Route(ep.update.method, ep.update.path, name, "update"))
            by_id.append(_Route(ep.delete.method, ep.delete.path, name, "delete"))
        return fixed + by_id

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
            except _Problem as problem:
                return _error(problem.status, problem.message)
        self.calls[f"{method} {path}"] += 1
        return _error(405, f"{method} is not allowed here") if allowed else _error(404, f"no such resource: {path}")

    def _gate(self) -> Response | None:
        """A fault a test asked for, a wrong credential or a rate limit, before the call is handled."""
        if self.faults:
            status = self.faults.popleft()
            return _error(status, "injected", headers={"Retry-After": "1"} if status == 429 else None)
        return None

    async def _handle(self, route: _Route, key: str, request: Request) -> Response:
        self._authorise(request)
        self._limit()
        ent = self._entity(route.entity)
        ep = self.spec.endpoints[route.entity]
        if route.action == "list":
            return self._list(ent, ep, request)
        if route.action == "get":
            return self._wrap(ep, self._existing(ent, key), 200)
        if route.action == "delete":
            if ent.read_only or not ent.deletable:
                raise _Problem(405, f"{ent.name} records cannot be deleted")
            self._existing(ent, key)
            del self.tables[ent.name][key]
            self.changed.add(ent.name)
            return Response(status_code=204)
        body = await _json(request)
        if route.action == "create":
            if not isinstance(body, dict):
                raise _Problem(400, "the body must be a JSON object: the record")
            return self._wrap(ep, self._create(ent, body), 201)
        if route.action == "update":
            if not isinstance(body, dict):
                raise _Problem(400, "the body must be a JSON object: the fields to change")
            return self._wrap(ep, self._update(ent, key, body, replace=route.method == "PUT"), 200)
        if not isinstance(body, list):
            raise _Problem(400, "the body must be a JSON array of records")
        limit = ep.bulk.size if ep.bulk is not None else MAX_PAGE
        if len(body) > limit:
            raise _Problem(413, f"at most {limit} records a call")
        return self._wrap(ep, [self._bulk_item(ent, route.action, item) for item in body], 200)

    def _authorise(self, request: Request) -> None:
        auth = self.auth
        header = request.headers.get("Authorization", "")
        if isinstance(auth, BearerAuth):
            ok = header == f"Bearer {self.secrets['token']}"
        elif isinstance(auth, ApiKeyAuth):
            ok = request.headers.get(auth.header) == self.secrets["key"]
        elif isinstance(auth, BasicAuth):
            pair = f"{self.secrets['username']}:{self.secrets['password']}".encode()
            ok = header == "Basic " + base64.b64encode(pair).decode("ascii")
        else:
            ok = True
        if not ok:
            raise _Problem(401, "the credentials were not accepted")

    def _limit(self) -> None:
        if self.limits is None or not self.limits.calls:
            return
        now = self.clock.now()
        while self._sent and self._sent[0] <= now - self.limits.window:
            self._sent.popleft()
        if len(self._sent) >= self.limits.calls:
            wait = self._sent[0] + self.limits.window - now
            raise _Problem(429, f"too many requests; retry after {math.ceil(wait)} s")
        self._sent.append(now)

    # -- handlers ------------------------------------------------------------------------------------------

    def _wrap(self, ep: Endpoint, payload: Any, status: int) -> Response:
        if isinstance(payload, dict):
            payload = nest_record(payload)
        if not ep.records:
            return JSONResponse(payload, status_code=status)
        body: dict[str, Any] = {}
        _put(body, ep.records, payload)
        return JSONResponse(body, status_code=status)

    def _list(self, ent: Entity, ep: Endpoint, request: Request) -> Response:
        rows = list(self.tables[ent.name].values())
        page, headers, extra = SERVE_PAGING[ep.paging.type](ep.paging, request, rows)
        payload = [nest_record(r) for r in page]
        if not ep.records:
            return JSONResponse(payload, headers=headers)
        body: dict[str, Any] = {}
        _put(body, ep.records, payload)
        for where, value in extra.items():
            _put(body, where, value)
        return JSONResponse(body, headers=headers)

    def _existing(self, ent: Entity, key: str) -> dict[str, Any]:
        record = self.tables[ent.name].get(key)
        if record is None:
            raise _Problem(404, f"no {ent.name} with {ent.key} {key}")
        return record

    def _values(
        self, ent: Entity, body: dict[str, Any], *, create: bool, current: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        values: dict[str, Any] = {}
        for name, value in flatten_record(body).items():
            f = ent.fields.get(name)
            if f is None:
                raise _Problem(400, f'"{name}" is not a field of {ent.name}')
            if current is not None and name == ent.key and key_text(value) == key_text(current.get(name)):
                continue
            if f.read_only:
                if current is not None and value == current.get(name):
                    continue  # a PUT that sends a read-only field back unchanged
                raise _Problem(400, f"{name} is read-only")
            if f.create_only and not create:
                raise _Problem(400, f"{name} can only be set when the record is created")
            try:
                values[name] = json_value(cast_value(value, f.type))
            except ValueError:
                raise _Problem(422, f"{name}: {json.dumps(value)} is not {EXPECTED[f.type]}") from None
        return values

    def _now(self, ent: Entity) -> Any:
        assert ent.modified is not None
        return json_value(cast_value(datetime.fromtimestamp(self.clock.now(), UTC), ent.fields[ent.modified].type))

    def _create(self, ent: Entity, body: dict[str, Any], parent: tuple[str, Any] | None = None) -> dict[str, Any]:
        if ent.read_only:
            raise _Problem(405, f"{ent.name} records cannot be created")
        lines = body.pop(ent.embedded.field, None) if ent.embedded is not None else None
        values = self._values(ent, body, create=True)
        if parent is not None:
            values[parent[0]] = parent[1]
        missing = [
            f.name for f in ent.fields.values() if f.required and not f.read_only and values.get(f.name) in (None, "")
        ]
        if missing:
            raise _Problem(422, f"missing required field(s): {', '.join(missing)}")
        if lines is not None and (ent.embedded is None or not isinstance(lines, list)):
            raise _Problem(400, f"{ent.embedded.field if ent.embedded else 'lines'} must be an array of records")
        table = self.tables[ent.name]
        key = key_text(values.get(ent.key))
        if key is None:
            key = self._new_key(ent)
            values[ent.key] = int(key) if ent.fields[ent.key].type == "int" else key
        elif key in table:
            raise _Problem(409, f"{ent.name} {ent.key} {key} already exists")
        if ent.modified is not None:
            values[ent.modified] = self._now(ent)
        record = {ent.key: values.pop(ent.key), **values}
        table[key] = record
        self.changed.add(ent.name)
        if ent.embedded is None or not lines:
            return record
        child = self._entity(ent.embedded.entity)
        link = (ent.embedded.parent_field, record[ent.key])
        made = [nest_record(self._create(child, dict(line), parent=link)) for line in lines if isinstance(line, dict)]
        return {**record, ent.embedded.field: made}

    def _new_key(self, ent: Entity) -> str:
        ftype = ent.fields[ent.key].type
        if ftype == "int":
            numbers = [int(k) for k in self.tables[ent.name] if k.lstrip("-").isdigit()]
            return str(max(numbers, default=0) + 1)
        return str(uuid.uuid4()) if ftype == "guid" else uuid.uuid4().hex

    def _update(self, ent: Entity, key: str, body: dict[str, Any], *, replace: bool) -> dict[str, Any]:
        if ent.read_only:
            raise _Problem(405, f"{ent.name} records cannot be changed")
        current = self._existing(ent, key)
        values = self._values(ent, body, create=False, current=current)
        if replace:  # PUT: every writable field the body leaves out is emptied
            for f in ent.fields.values():
                if not f.read_only and f.name != ent.key and not f.create_only:
                    values.setdefault(f.name, None)
        emptied = [n for n, v in values.items() if ent.fields[n].required and v in (None, "")]
        if emptied:
            raise _Problem(422, f"required and cannot be emptied: {', '.join(emptied)}")
        updated = {**current, **values}
        if ent.modified is not None:
            updated[ent.modified] = self._now(ent)
        self.tables[ent.name][key] = updated
        self.changed.add(ent.name)
        return updated

    def _bulk_item(self, ent: Entity, action: str, item: Any) -> dict[str, Any]:
        try:
            if not isinstance(item, dict):
                raise _Problem(400, "each item must be a JSON object")
            if action == "bulk_create":
                return nest_record(self._create(ent, dict(item)))
            key = key_text(flatten_record(item).get(ent.key))
            if key is None:
                raise _Problem(400, f"each item must hold its {ent.key}")
            return nest_record(self._update(ent, key, item, replace=False))
        except _Problem as problem:
            return {"error": {"status": problem.status, "message": problem.message}}


async def _json(request: Request) -> Any:
    raw = await request.body()
    try:
        return json.loads(raw or b"null")
    except ValueError:
        raise _Problem(400, "the body is not JSON") from None


def _error(status: int, message: str, headers: Mapping[str, str] | None = None) -> Response:
    extra = dict(headers or {})
    if status == 401:
        extra["WWW-Authenticate"] = f'Bearer error="invalid_token", error_description="{message}"'
    if status == 429 and "Retry-After" not in extra:
        extra["Retry-After"] = message.rsplit("after ", 1)[-1].split(" ", 1)[0] if "after " in message else "1"
    return JSONResponse({"error": {"status": status, "message": message}}, status_code=status, headers=extra)
