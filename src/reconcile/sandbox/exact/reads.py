"""The reads of the Exact Online emulator: query options, paging, the sync endpoints and the OData rendering.

Regular endpoints page by ``page_size`` (60) in key order, ``bulk/…`` and ``sync/…`` by ``bulk_page_size``
(1000), with ``__next`` links carrying a ``$skiptoken``. ``$select`` (mandatory on bulk and sync, and a
``$select`` or ``$top=1`` on regular endpoints), ``$filter`` (only ``Timestamp gt N`` on sync), ``$top``,
``$inlinecount``, ``$orderby`` and ``$expand`` of lines are honoured; ``$skip`` is refused. Records go out
in the OData v2 verbose shape, dates as ``/Date(ms)/``.
"""

from __future__ import annotations

import re
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response

from reconcile.model.catalogue import Catalogue, Entity
from reconcile.sandbox.exact.odata import FilterError, compile_filter
from reconcile.sandbox.exact.protocol import SYNTAX, error, key_literal, parse_key
from reconcile.sandbox.exact.store import ExactStore


class EndpointKind(StrEnum):
    """The three endpoints an entity may have: each pages and filters in its own way."""

    REGULAR = "regular"
    BULK = "bulk"
    SYNC = "sync"


@dataclass
class Endpoint:
    """One endpoint of an entity: its regular, bulk or sync path."""

    entity: Entity
    kind: EndpointKind
    path: str


def endpoint_table(catalogue: Catalogue) -> dict[str, Endpoint]:
    """Every endpoint of the catalogue's entities, by its path case-folded."""
    endpoints: dict[str, Endpoint] = {}
    for entity in catalogue.entities.values():
        api = entity.api
        for kind in EndpointKind:
            path = api.get("service" if kind is EndpointKind.REGULAR else kind.value)
            if isinstance(path, str):
                endpoints[path.casefold()] = Endpoint(entity, kind, path)
    return endpoints


@dataclass
class _Query:
    select: list[str] | None
    predicate: Any
    top: int | None
    skiptoken: str | None
    inlinecount: bool
    orderby: list[tuple[str, bool]] = field(default_factory=list)
    expand: bool = False


class ReadHandlers:
    """GET on the entity endpoints, ``sync/Deleted``, and the rendering of records.

    Tests may change the page sizes between calls.
    """

    def __init__(self, store: ExactStore, *, page_size: int, bulk_page_size: int, require_select: bool = True) -> None:
        self.store = store
        self.page_size = page_size
        self.bulk_page_size = bulk_page_size
        self.require_select = require_select

    def _fields_of(self, endpoint: Endpoint) -> dict[str, str]:
        fields: dict[str, str] = {name: f.type for name, f in endpoint.entity.fields.items()}
        if endpoint.kind is EndpointKind.SYNC:
            fields["Timestamp"] = "int"
        return fields

    def _parse_query(self, request: Request, endpoint: Endpoint, *, counting: bool = False) -> _Query:
        q = request.query_params
        entity = endpoint.entity
        fields = self._fields_of(endpoint)
        type_name = str(entity.api.get("type", f"Exact.Web.Api.Models.{entity.name}"))
        if "$skip" in q:
            raise error(400, "The query parameter '$skip' is not supported on this endpoint. Use $skiptoken.")
        select: list[str] | None = None
        if q.get("$select"):
            select = [s.strip() for s in q["$select"].split(",") if s.strip()]
            lines = entity.embedded.field if entity.embedded else None
            for name in select:
                if name not in fields and name != lines and name != "*":
                    raise error(400, f"No property '{name}' exists in type '{type_name}'.")
            if "*" in select:
                select = None
        elif endpoint.kind is not EndpointKind.REGULAR:
            raise error(400, "It is mandatory to provide the $select query option.")
        top = None
        if q.get("$top"):
            if not q["$top"].isdigit():
                raise error(400, SYNTAX)
            top = int(q["$top"])
        if (
            endpoint.kind is EndpointKind.REGULAR
            and self.require_select
            and not counting
            and select is None
            and top != 1
        ):
            raise error(400, "Please add a $select or a $top=1 statement to the query string.")
        predicate = None
        if q.get("$filter"):
            text = q["$filter"]
            if endpoint.kind is EndpointKind.SYNC and not re.fullmatch(r"\s*Timestamp\s+gt\s+\d+L?\s*", text):
                raise error(400, "Only the Timestamp field is allowed as a filter on this endpoint.")
            try:
                predicate = compile_filter(text, fields, type_name)
            except FilterError as exc:
                raise error(400, str(exc)) from exc
        orderby: list[tuple[str, bool]] = []
        if q.get("$orderby"):
            for part in q["$orderby"].split(","):
                words = part.split()
                if not words or words[0] not in fields or len(words) > 2 or words[1:] not in ([], ["asc"], ["desc"]):
                    raise error(400, SYNTAX)
                orderby.append((words[0], words[1:] == ["desc"]))
        expand = q.get("$expand", "")
        if expand and (entity.embedded is None or expand != entity.embedded.field):
            raise error(400, f"Unknown navigation property '{expand}'.")
        return _Query(
            select=select,
            predicate=predicate,
            top=top,
            skiptoken=q.get("$skiptoken"),
            inlinecount=q.get("$inlinecount") == "allpages",
            orderby=orderby,
            expand=bool(expand),
        )

    def _rows(self, division: int, endpoint: Endpoint) -> list[dict[str, Any]]:
        table = self.store.table(endpoint.entity.name, division)
        return [self.store.derived(endpoint.entity, row, division) for row in table.values()]

    def count(self, request: Request, division: int, endpoint: Endpoint) -> Response:
        """``…/$count``: how many records match the ``$filter``, as plain text."""
        query = self._parse_query(request, endpoint, counting=True)
        rows = self._rows(division, endpoint)
        return PlainTextResponse(str(len([r for r in rows if query.predicate is None or query.predicate(r)])))

    def get_list(self, request: Request, division: int, endpoint: Endpoint) -> Response:
        """A GET on a collection: one page of the matching records, with a ``__next`` link to the next."""
        query = self._parse_query(request, endpoint)
        entity = endpoint.entity
        rows = [r for r in self._rows(division, endpoint) if query.predicate is None or query.predicate(r)]
        total = len(rows)
        if endpoint.kind is EndpointKind.SYNC:
            rows.sort(key=lambda r: int(r["Timestamp"]))
            position = _sync_position(rows, query.skiptoken)
        else:
            rows.sort(key=lambda r: str(r.get(entity.key)))
            for name, desc in reversed(query.orderby):
                rows.sort(key=_sorter(name), reverse=desc)
            position = _key_position(rows, entity, query.skiptoken)
        rows = rows[position:]
        size = self.page_size if endpoint.kind is EndpointKind.REGULAR else self.bulk_page_size
        limit = size if query.top is None else min(size, query.top)
        page, more = rows[:limit], len(rows) > limit
        base = str(request.base_url).rstrip("/")
        results = [self.serialise(base, division, entity, row, query.select, query.expand) for row in page]
        d: dict[str, Any] = {"results": results}
        if query.inlinecount:
            d["__count"] = str(total)
        if more and page and (query.top is None or query.top > limit):
            last = page[-1]
            token = (
                f"{last['Timestamp']}L" if endpoint.kind is EndpointKind.SYNC else key_literal(entity, last[entity.key])
            )
            params = [(k, v) for k, v in request.query_params.multi_items() if k != "$skiptoken"]
            if query.top is not None:
                params = [(k, v) for k, v in params if k != "$top"] + [("$top", str(query.top - limit))]
            params.append(("$skiptoken", token))
            d["__next"] = f"{base}{request.url.path}?" + urllib.parse.urlencode(
                params, quote_via=urllib.parse.quote, safe=",$'()"
            )
        return JSONResponse({"d": d})

    def get_one(self, request: Request, division: int, endpoint: Endpoint, key_text: str) -> Response:
        """A GET of one record by its key literal; a 404 when there is no such record."""
        entity = endpoint.entity
        key = parse_key(entity, key_text)
        row = self.store.table(entity.name, division).get(key)
        if row is None:
            raise error(404, f"{entity.name}: the record does not exist.")
        query = self._parse_query_lenient(request, endpoint)
        base = str(request.base_url).rstrip("/")
        return JSONResponse(
            {"d": self.serialise(base, division, entity, self.store.derived(entity, row, division), query, False)}
        )

    def _parse_query_lenient(self, request: Request, endpoint: Endpoint) -> list[str] | None:
        select = request.query_params.get("$select")
        if not select:
            return None
        names = [s.strip() for s in select.split(",") if s.strip()]
        fields = self._fields_of(endpoint)
        lines = endpoint.entity.embedded.field if endpoint.entity.embedded else None
        for name in names:
            if name not in fields and name != lines:
                raise error(400, f"No property '{name}' exists in this type.")
        return names

    def sync_deleted(self, request: Request, division: int) -> Response:
        """A GET on ``sync/Deleted``: the deletion log after a ``Timestamp``, a page of ``bulk_page_size``."""
        q = request.query_params
        if not q.get("$select"):
            raise error(400, "It is mandatory to provide the $select query option.")
        fields = {"Timestamp", "ID", "EntityKey", "EntityType", "DeletedBy", "DeletedDate", "Division"}
        select = [s.strip() for s in q["$select"].split(",")]
        if any(s not in fields for s in select):
            raise error(400, "No property exists with that name in type 'Exact.Web.Api.Models.Sync.Deleted'.")
        since = 0
        if q.get("$filter"):
            match = re.fullmatch(r"\s*Timestamp\s+gt\s+(\d+)L?\s*", q["$filter"])
            if not match:
                raise error(400, "Only the Timestamp field is allowed as a filter on this endpoint.")
            since = int(match.group(1))
        if q.get("$skiptoken"):
            since = max(since, int(q["$skiptoken"].rstrip("L")))
        rows = self.store.deletions(division, since)
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

    def serialise(
        self,
        base: str,
        division: int,
        entity: Entity,
        row: Mapping[str, Any],
        select: list[str] | None,
        expand: bool,
    ) -> dict[str, Any]:
        """A record in the OData v2 verbose shape: its ``__metadata``, ``select``'s fields, lines if ``expand``."""
        service = str(entity.api["service"])
        uri = f"{base}/api/v1/{division}/{service}({key_literal(entity, row[entity.key])})"
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
                    child = self.store.entity(entity.embedded.entity)
                    lines = [
                        self.serialise(base, division, child, r, None, False)
                        for r in sorted(
                            self.store.table(child.name, division).values(),
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


def _key_position(rows: list[dict[str, Any]], entity: Entity, token: str | None) -> int:
    if not token:
        return 0
    key = parse_key(entity, token)
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
        raise error(400, SYNTAX) from exc
    return sum(1 for row in rows if int(row["Timestamp"]) <= after)


def _sorter(name: str) -> Any:
    return lambda row: _sort_key(row.get(name))


def _sort_key(value: Any) -> tuple[int, Any]:
    if value is None:
        return (0, "")
    return (1, value.casefold() if isinstance(value, str) else value)
