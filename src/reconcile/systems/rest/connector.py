"""The generic REST system: reads and writes any system a system file describes.

Every call goes through the shared plumbing (:class:`~reconcile.systems.http.HttpClient`: the auth header,
the rate limit the system file declares, retries with backoff on 429, 502-504 and timeouts only, a circuit
breaker per endpoint). The system file's ``type``-tagged tables are resolved here through two registries:
:data:`AUTH_HEADERS` (auth style -> the headers of a call) and :data:`PAGINATORS` (paging style -> the loop
that walks the pages).

- **read** walks the entity's pages, takes the records from where the system file says they sit, and casts
  them to the catalogue's types (:func:`~reconcile.systems.files.typed_frame`, the one casting there is).
- **write** refuses, before any call, what the catalogue says will fail (a read-only entity or field, a
  required field missing, a value that is not its field's type); sends creates through the entity's bulk
  endpoint where the system file names one (an array of at most ``size`` records a call), everything else
  one call per record; takes new ids from the answers. A create whose answer was lost is looked for among
  the records before it is reported as failed, so that the next run does not create it twice. A failure of
  the system itself (credentials refused, a limit that outlasts the retries, an open breaker) stops the batch:
  what was not sent is reported as such.

The wire contract a system file cannot express, and which the generic emulator honours:

- a list answers the records at the entity's ``records`` path (or a bare array), 204 for none;
- a create answers the new record (at the same path, or bare), with its id;
- a bulk call answers an array at that path with one entry per record sent, in order: the record, or an
  object with an ``error`` (a message, or an object with a ``message``);
- an error answers JSON with ``error``, ``message``, ``detail`` or ``title``, or plain text.
"""

from __future__ import annotations

import base64
import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import httpx
import polars as pl

from reconcile.errors import ConfigError, RemoteError, SystemFailure
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
from reconcile.model.systemfile import Endpoint, SystemFile
from reconcile.model.values import EXPECTED, cast_value, flatten_record, json_value, key_text, nest_record, typed_frame
from reconcile.systems.base import System, WriteKind, WriteOp, WriteResult
from reconcile.systems.http.breaker import CircuitBreaker
from reconcile.systems.http.client import HttpClient, NetworkError
from reconcile.systems.http.limits import RateLimiter, SlidingWindowLimiter
from reconcile.systems.http.retry import RetryPolicy

__all__ = ["AUTH_HEADERS", "PAGINATORS", "RestSystem", "read_secrets"]

MAX_PAGES = 100_000

# ---------------------------------------------------------------------------------------------------- auth


def _bearer(auth: Auth, secrets: Mapping[str, str]) -> dict[str, str]:
    return {"Authorization": f"Bearer {secrets['token']}"}


def _api_key(auth: Auth, secrets: Mapping[str, str]) -> dict[str, str]:
    assert isinstance(auth, ApiKeyAuth)
    return {auth.header: secrets["key"]}


def _basic(auth: Auth, secrets: Mapping[str, str]) -> dict[str, str]:
    pair = f"{secrets['username']}:{secrets['password']}".encode()
    return {"Authorization": "Basic " + base64.b64encode(pair).decode("ascii")}


AUTH_HEADERS: dict[str, Callable[[Auth, Mapping[str, str]], dict[str, str]]] = {
    BearerAuth.type: _bearer,
    ApiKeyAuth.type: _api_key,
    BasicAuth.type: _basic,
    "none": lambda auth, secrets: {},
}
"""Auth style -> the headers of one call, from the style's config and its secrets (by role)."""


def read_secrets(spec: SystemFile) -> dict[str, str]:
    """The secrets of ``spec``'s auth, from the environment variables it names; messages never hold a value."""
    secrets: dict[str, str] = {}
    auth = spec.connection.auth
    for role, env in auth.secret_env().items():
        key = auth.secrets[role]
        if env is None:
            raise ConfigError(
                f'{spec.name}: auth "{auth.type}" needs {key}, the environment variable that holds the {role}; '
                f"name it in the system file's [auth] table or in the connections file's [{spec.name}] table"
            )
        value = os.environ.get(env)
        if not value:
            raise ConfigError(
                f"{spec.name}: the environment variable {env} (named by {key}) is not set; "
                f"set it to the {role} before running"
            )
        secrets[role] = value
    return secrets


# -------------------------------------------------------------------------------------------------- paging

Fetch = Callable[[str, Mapping[str, Any]], tuple[httpx.Response, list[dict[str, Any]]]]
"""(url, query) -> (the answer, the records it holds)."""


def _no_paging(paging: Paging, fetch: Fetch, path: str) -> Iterator[list[dict[str, Any]]]:
    yield fetch(path, {})[1]


def _page_number(paging: Paging, fetch: Fetch, path: str) -> Iterator[list[dict[str, Any]]]:
    assert isinstance(paging, PageNumberPaging)
    page = paging.first_page
    while True:
        records = fetch(path, {paging.page_param: page, paging.size_param: paging.size})[1]
        yield records
        if len(records) < paging.size:
            return
        page += 1


def _offset(paging: Paging, fetch: Fetch, path: str) -> Iterator[list[dict[str, Any]]]:
    assert isinstance(paging, OffsetPaging)
    offset = 0
    while True:
        records = fetch(path, {paging.offset_param: offset, paging.limit_param: paging.limit})[1]
        yield records
        if len(records) < paging.limit:
            return
        offset += len(records)


def _cursor(paging: Paging, fetch: Fetch, path: str) -> Iterator[list[dict[str, Any]]]:
    assert isinstance(paging, CursorPaging)
    params: dict[str, Any] = {paging.size_param: paging.size} if paging.size_param else {}
    seen: set[str] = set()
    while True:
        response, records = fetch(path, params)
        yield records
        if paging.cursor_header:
            cursor = response.headers.get(paging.cursor_header)
        else:
            assert paging.cursor_field is not None
            cursor = _at(response.json(), paging.cursor_field) if response.content else None
        if cursor in (None, "") or not records:
            return
        if str(cursor) in seen:
            raise RemoteError("", f"GET {path} named the same cursor twice; the pages do not end")
        seen.add(str(cursor))
        params = {**params, paging.cursor_param: cursor}


def _link_header(paging: Paging, fetch: Fetch, path: str) -> Iterator[list[dict[str, Any]]]:
    assert isinstance(paging, LinkHeaderPaging)
    url: str | None = path
    params: dict[str, Any] = {paging.size_param: paging.size} if paging.size_param else {}
    seen: set[str] = set()
    while url is not None:
        response, records = fetch(url, params)
        yield records
        params = {}  # the next link carries the whole query
        url = response.links.get("next", {}).get("url") if records else None
        if url is not None:
            if url in seen:
                raise RemoteError("", f"GET {path} linked to the same next page twice; the pages do not end")
            seen.add(url)


PAGINATORS: dict[str, Callable[[Paging, Fetch, str], Iterator[list[dict[str, Any]]]]] = {
    "none": _no_paging,
    PageNumberPaging.type: _page_number,
    OffsetPaging.type: _offset,
    CursorPaging.type: _cursor,
    LinkHeaderPaging.type: _link_header,
}
"""Paging style -> a loop that yields the records of each page, given how to fetch one."""


def _at(body: Any, path: str) -> Any:
    """The value at a dotted ``path`` in a JSON body ("" is the body itself); None where there is none."""
    node = body
    for part in path.split(".") if path else []:
        if not isinstance(node, dict):
            return None
        node = node.get(part)
    return node


def error_message(response: httpx.Response) -> str:
    """A system's own words for a failed call: from a JSON error body, else its text (shortened)."""
    try:
        body = response.json()
    except ValueError:
        text = response.text.strip()
        return f"{response.status_code}: {text[:300]}" if text else f"answered {response.status_code}"
    return f"{response.status_code}: {_error_text(body)}"


def _error_text(body: Any) -> str:
    if isinstance(body, dict):
        for key in ("error", "message", "detail", "title", "errors"):
            if body.get(key):
                return _error_text(body[key])
    if isinstance(body, list) and body:
        return "; ".join(_error_text(item) for item in body[:5])
    return str(body)[:300]


# -------------------------------------------------------------------------------------------------- system


class _Refused(Exception):
    """A write the catalogue says would fail; its message is the failed result's error."""


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
        headers_of = AUTH_HEADERS[conn.auth.type]
        auth, known = conn.auth, dict(secrets or {})
        self.http = HttpClient(
            self.name,
            base_url,
            auth=lambda: headers_of(auth, known),
            limiter=limiter,
            retry=retry,
            breaker=CircuitBreaker(self.name, max_errors=conn.limits.max_errors, clock=self.clock),
            clock=self.clock,
            timeout=conn.timeout,
            headers={"Accept": "application/json"},
            transport=transport,
        )

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

    def _entity(self, name: str) -> tuple[Entity, Endpoint]:
        ent = self.catalogue.entity(name)
        if ent is None:
            raise ConfigError(f'{self.name}: no entity "{name}"{self.catalogue.suggest(name)}')
        return ent, self.spec.endpoint(ent.name)

    # -- read ----------------------------------------------------------------------------------------------

    def read(self, entity: str) -> pl.DataFrame:
        ent, ep = self._entity(entity)
        records = [flatten_record(r) for r in self._records(ep)]
        return typed_frame(ent, records, f"{self.name} {ent.name} (GET {ep.path})")

    def _records(self, ep: Endpoint) -> Iterator[dict[str, Any]]:
        def fetch(url: str, params: Mapping[str, Any]) -> tuple[httpx.Response, list[dict[str, Any]]]:
            # No params at all (not an empty dict) keeps the query of a next-page link.
            response = self.http.request("GET", url, endpoint=ep.path, params=params or None)
            if response.status_code == 204:
                return response, []
            if response.status_code != 200:
                raise RemoteError(self.name, f"GET {ep.path} failed: {error_message(response)}", response.status_code)
            return response, self._listed(response, ep, "GET")

        for pages, page in enumerate(PAGINATORS[ep.paging.type](ep.paging, fetch, ep.path), start=1):
            if pages > MAX_PAGES:
                raise RemoteError(self.name, f"GET {ep.path} gave more than {MAX_PAGES} pages; the pages do not end")
            yield from page

    def _listed(self, response: httpx.Response, ep: Endpoint, method: str) -> list[dict[str, Any]]:
        try:
            body = response.json()
        except ValueError:
            raise RemoteError(self.name, f"{method} {ep.path} answered something that is not JSON") from None
        records = _at(body, ep.records)
        where = f'at "{ep.records}"' if ep.records else "as a bare array"
        if not isinstance(records, list) or not all(isinstance(r, dict) for r in records):
            raise RemoteError(self.name, f"{method} {ep.path} answered no array of records {where}")
        return records

    # -- write ---------------------------------------------------------------------------------------------

    def write(self, entity: str, ops: Sequence[WriteOp]) -> list[WriteResult]:
        """One result per op, in order; bulk where the system file has a bulk endpoint, else one call each."""
        ent, ep = self._entity(entity)
        results: list[WriteResult | None] = [None] * len(ops)
        bodies: dict[int, dict[str, Any]] = {}
        for i, op in enumerate(ops):
            try:
                bodies[i] = self._body(ent, op)
            except _Refused as refused:
                results[i] = _failed(op, str(refused))
        bulk_creates = [
            i for i in bodies if ops[i].kind == "create" and not ops[i].children and ep.bulk and ep.bulk.create
        ]
        bulk_updates = [i for i in bodies if ops[i].kind == "update" and ep.bulk and ep.bulk.update]
        stopped: str | None = None
        try:
            if ep.bulk is not None:
                for indexes, path in ((bulk_creates, ep.bulk.create), (bulk_updates, ep.bulk.update)):
                    for start in range(0, len(indexes), ep.bulk.size):
                        chunk = indexes[start : start + ep.bulk.size]
                        assert path is not None
                        for i, result in zip(
                            chunk,
                            self._bulk(ent, ep, path, [ops[i] for i in chunk], [bodies[i] for i in chunk]),
                            strict=True,
                        ):
                            results[i] = result
            for i in bodies:
                if results[i] is None:
                    results[i] = self._one(ent, ep, ops[i], bodies[i])
        except SystemFailure as exc:
            stopped = f"not sent: {exc}"
        return [
            r if r is not None else _failed(op, stopped or "not sent", retryable=True, stopped=True)
            for r, op in zip(results, ops, strict=True)
        ]

    def _body(self, ent: Entity, op: WriteOp) -> dict[str, Any]:
        """The JSON an op sends; :class:`_Refused` for what the catalogue says would fail."""
        where = f"{self.name} {ent.name}"
        if op.kind is WriteKind.DELETE:
            if ent.read_only or not ent.deletable:
                raise _Refused(f"{where} records cannot be deleted")
            if not op.key:
                raise _Refused("a delete needs the record's key")
            return {}
        if ent.read_only:
            raise _Refused(
                f"{where} is read-only: records cannot be {'created' if op.kind is WriteKind.CREATE else 'changed'}"
            )
        if op.kind is WriteKind.UPDATE:
            if not op.key:
                raise _Refused(f"an update needs the record's {ent.key}")
            if op.children:
                raise _Refused("embedded records are only sent with a new record")
            values = {k: v for k, v in op.values.items() if not (k == ent.key and key_text(v) == op.key)}
            wire = self._wire(ent, values, create=False)
            emptied = [n for n, v in wire.items() if ent.fields[n].required and v is None]
            if emptied:
                raise _Refused(f"required and cannot be emptied: {', '.join(emptied)}")
            return nest_record(wire)
        body = self._checked_create(ent, op.values)
        if op.children:
            if ent.embedded is None:
                raise _Refused(f"{where} takes no embedded records")
            child = self.catalogue.entities[ent.embedded.entity]
            lines = []
            for number, line in enumerate(op.children, start=1):
                try:
                    if line.kind is not WriteKind.CREATE:
                        raise _Refused("embedded records can only be created")
                    values = {k: v for k, v in line.values.items() if k != ent.embedded.parent_field}
                    lines.append(self._checked_create(child, values, filled_by_parent=ent.embedded.parent_field))
                except _Refused as refused:
                    raise _Refused(f"{child.name} {number}: {refused}") from None
            body[ent.embedded.field] = lines
        return body

    def _checked_create(
        self, ent: Entity, values: Mapping[str, Any], filled_by_parent: str | None = None
    ) -> dict[str, Any]:
        wire = self._wire(ent, values, create=True)
        missing = [
            f.name
            for f in ent.fields.values()
            if f.required and not f.read_only and f.name != filled_by_parent and wire.get(f.name) in (None, "")
        ]
        if missing:
            raise _Refused(f"required on create and missing: {', '.join(missing)}")
        return nest_record(wire)

    def _wire(self, ent: Entity, values: Mapping[str, Any], *, create: bool) -> dict[str, Any]:
        wire: dict[str, Any] = {}
        for name, value in values.items():
            f = ent.fields.get(name)
            if f is None:
                raise _Refused(f'"{name}" is not a field of {self.name} {ent.name}{ent.suggest(name)}')
            if f.read_only:
                raise _Refused(f"{name} is read-only in {self.name}")
            if f.create_only and not create:
                raise _Refused(f"{name} can only be set when the record is created")
            try:
                wire[name] = json_value(cast_value(value, f.type))
            except ValueError:
                raise _Refused(f"{name} = {value!r} is not {EXPECTED[f.type]}") from None
        return wire

    def _one(self, ent: Entity, ep: Endpoint, op: WriteOp, body: dict[str, Any]) -> WriteResult:
        if op.kind is WriteKind.CREATE:
            return self._create(ent, ep, op, body)
        assert op.key is not None
        verb = ep.update if op.kind is WriteKind.UPDATE else ep.delete
        if op.kind is WriteKind.UPDATE and verb.method == "PUT":
            whole = self._whole(ent, ep, op.key, body)
            if whole is None:
                return _failed(op, f"no {ent.name} with {ent.key} = {op.key} in {self.name}")
            body = whole
        try:
            response = self.http.request(
                verb.method,
                verb.url(op.key),
                endpoint=verb.path,
                json=body if op.kind is WriteKind.UPDATE else None,
                idempotent=verb.method != "POST",
            )
        except NetworkError as exc:
            return _failed(op, str(exc), retryable=True)
        status = response.status_code
        if status < 300 or (
            op.kind is WriteKind.DELETE and status in (404, 410)
        ):  # gone already is what a delete wants
            return WriteResult(op.row_id, ok=True, key=op.key)
        return _failed(op, error_message(response), retryable=status >= 500)

    def _whole(self, ent: Entity, ep: Endpoint, key: str, changes: dict[str, Any]) -> dict[str, Any] | None:
        """The record as a PUT replaces it: its writable fields now, with ``changes`` laid over them."""
        response = self.http.request("GET", ep.get.url(key), endpoint=ep.get.path)
        if response.status_code == 404:
            return None
        if response.status_code != 200:
            raise RemoteError(self.name, f"GET {ep.get.path} failed: {error_message(response)}", response.status_code)
        current = _at(response.json(), ep.records) if ep.records else response.json()
        if not isinstance(current, dict):
            current = response.json()
        flat = {k: v for k, v in flatten_record(current).items() if k in ent.fields and not ent.fields[k].read_only}
        return nest_record({**flat, **flatten_record(changes)})

    def _create(self, ent: Entity, ep: Endpoint, op: WriteOp, body: dict[str, Any]) -> WriteResult:
        sent_at = datetime.now(UTC)
        try:
            response = self.http.request(
                "POST" if ep.create.method == "POST" else "PUT",
                ep.create.url(),
                endpoint=ep.create.path,
                json=body,
                idempotent=False,
            )
        except NetworkError as exc:
            if not exc.maybe_applied:
                return _failed(op, str(exc), retryable=True)
            return self._recover(ent, ep, [op], [body], sent_at, str(exc))[0]
        if response.status_code >= 500:
            return self._recover(ent, ep, [op], [body], sent_at, error_message(response))[0]
        if response.status_code >= 300:
            return _failed(op, error_message(response))
        try:
            answer = response.json()
        except ValueError:
            answer = None
        record = _at(answer, ep.records) if ep.records and isinstance(_at(answer, ep.records), dict) else answer
        return self._created(ent, op, record)

    def _created(self, ent: Entity, op: WriteOp, record: Any) -> WriteResult:
        if not isinstance(record, dict):
            return _failed(op, f"{self.name} answered the create without the new record")
        flat = flatten_record(record)
        key = key_text(flat.get(ent.key))
        if key is None:
            return _failed(op, f"{self.name} answered the create without the new record's {ent.key}")
        children: tuple[WriteResult, ...] = ()
        if op.children and ent.embedded is not None:
            child = self.catalogue.entities[ent.embedded.entity]
            lines = record.get(ent.embedded.field)
            lines = lines if isinstance(lines, list) else []
            children = tuple(
                WriteResult(c.row_id, ok=True, key=key_text(flatten_record(line).get(child.key)))
                if isinstance(line, dict) and key_text(flatten_record(line).get(child.key))
                else _failed(c, f"{self.name} answered the create without this {child.name}'s {child.key}")
                for c, line in zip(op.children, [*lines, *([None] * len(op.children))], strict=False)
            )
        return WriteResult(op.row_id, ok=True, key=key, children=children)

    def _bulk(
        self, ent: Entity, ep: Endpoint, path: str, ops: list[WriteOp], bodies: list[dict[str, Any]]
    ) -> list[WriteResult]:
        """One call for a chunk of creates or updates; one result per op, from the answer's array."""
        creating = ops[0].kind == "create"
        if not creating:
            bodies = [
                {**nest_record({ent.key: _key_value(ent, op.key)}), **b} for op, b in zip(ops, bodies, strict=True)
            ]
        sent_at = datetime.now(UTC)
        method = "POST" if creating else "PATCH"
        try:
            response = self.http.request(method, path, endpoint=path, json=bodies, idempotent=not creating)
        except NetworkError as exc:
            if creating and exc.maybe_applied:
                return self._recover(ent, ep, ops, bodies, sent_at, str(exc))
            return [_failed(op, str(exc), retryable=True) for op in ops]
        if response.status_code >= 500 and creating:
            return self._recover(ent, ep, ops, bodies, sent_at, error_message(response))
        if response.status_code >= 300:
            return [_failed(op, error_message(response), retryable=response.status_code >= 500) for op in ops]
        items = self._listed(response, ep, method)
        if len(items) != len(ops):
            message = f"{self.name} answered {len(items)} results for {len(ops)} records"
            return (
                self._recover(ent, ep, ops, bodies, sent_at, message)
                if creating
                else [_failed(op, message, retryable=True) for op in ops]
            )
        results = []
        for op, item in zip(ops, items, strict=True):
            if item.get("error"):
                results.append(_failed(op, _error_text(item["error"])))
            elif creating:
                results.append(self._created(ent, op, item))
            else:
                results.append(WriteResult(op.row_id, ok=True, key=op.key))
        return results

    def _recover(
        self, ent: Entity, ep: Endpoint, ops: list[WriteOp], bodies: list[dict[str, Any]], sent_at: datetime, why: str
    ) -> list[WriteResult]:
        """After a create whose answer was lost: find each record it may have made, before failing it.

        A record counts as the one sent when it holds every value sent and, where the entity has a modified
        time, was changed after the call went out. Exactly one such record (not claimed by another op) is it.
        """
        try:
            records = [flatten_record(r) for r in self._records(ep)]
        except SystemFailure:
            records = []
        if ent.modified is not None:
            since = sent_at.timestamp() - 5
            records = [r for r in records if _after(r.get(ent.modified), since)]
        claimed: set[str] = set()
        results = []
        for op, body in zip(ops, bodies, strict=True):
            sent = {k: v for k, v in flatten_record(body).items() if v is not None and k in ent.fields}
            found = [
                key
                for r in records
                if (key := key_text(r.get(ent.key))) is not None
                and key not in claimed
                and all(_same(r.get(k), v, ent.fields[k].type) for k, v in sent.items())
            ]
            if len(found) == 1:
                claimed.add(found[0])
                results.append(WriteResult(op.row_id, ok=True, key=found[0]))
            else:
                results.append(_failed(op, f"{why}; whether it was created could not be told", retryable=True))
        return results


def _failed(op: WriteOp, error: str, *, retryable: bool = False, stopped: bool = False) -> WriteResult:
    children = tuple(
        WriteResult(c.row_id, ok=False, error="not created: its parent was not", retryable=retryable)
        for c in op.children
    )
    return WriteResult(
        op.row_id, ok=False, key=op.key, error=error, retryable=retryable, stopped=stopped, children=children
    )


def _key_value(ent: Entity, key: str | None) -> Any:
    """A key as the wire holds it: a number for an int key, else text."""
    if key is not None and ent.fields[ent.key].type == "int" and key.lstrip("-").isdigit():
        return int(key)
    return key


def _same(have: Any, sent: Any, ftype: Any) -> bool:
    try:
        return bool(cast_value(have, ftype) == cast_value(sent, ftype))
    except ValueError:
        return False


def _after(value: Any, since: float) -> bool:
    try:
        when = cast_value(value, "datetime")
    except ValueError:
        return True
    return when is None or when.timestamp() >= since
