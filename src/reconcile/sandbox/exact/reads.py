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
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from reconcile.model.catalogue import Entity
from reconcile.sandbox.exact.odata import FilterError, compile_filter
from reconcile.sandbox.exact.protocol import _SYNTAX, _error, _key_literal, _parse_key
from reconcile.sandbox.exact.store import ExactStore


@dataclass
class _Route:
    entity: Entity
    kind: str  # "regular", "bulk", "sync"
    path: str


@dataclass
class _Query:
    select: list[str] | None
    predicate: Any
    top: int | None
    skiptoken: str | None
    inlinecount: bool
    orderby: list[tuple[str, bool]] = field(default_factory=list)
    expand: bool = False


class ExactReads(ExactStore):
    """GET on the entity endpoints, ``sync/Deleted``, and the rendering of records."""

    page_size: int
    bulk_page_size: int
    require_select: bool

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
