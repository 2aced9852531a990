"""API v2's lists: filters, ``PageNumber`` / ``PageSize`` paging, an ``X-Pagination`` header, 204 when empty.

Filters: ``lastChangedDateTimeOffsetGreaterThan`` (strictly greater) and the created ones, number ranges
(:mod:`.ranges`), code and name lists, ``isActive`` / ``isArchived``; ``fields`` picks the fields answered.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from reconcile.sandbox.poweroffice.problem import ApiProblem
from reconcile.sandbox.poweroffice.resources.orders import SALES_ORDERS
from reconcile.sandbox.poweroffice.resources.resource import Resource
from reconcile.sandbox.poweroffice.ticks import parse_ticks
from reconcile.sandbox.poweroffice.v2.ranges import in_ranges, parse_number_ranges
from reconcile.sandbox.poweroffice.v2.records import out


def list_page(request: Request, res: Resource, records: Iterable[dict[str, Any]], max_page_size: int) -> Response:
    """One page of the ``records`` of ``res`` that match the request's filters, with ``X-Pagination``."""
    query = {k.casefold(): v for k, v in request.query_params.items()}
    page = _int_param(query, "pagenumber", 1)
    size = _int_param(query, "pagesize", min(5000, max_page_size))
    if page < 1:
        raise ApiProblem(400, "Validation error(s)", "PageNumber must be 1 or more.")
    if size < 1 or size > max_page_size:
        raise ApiProblem(
            400,
            "Validation error(s)",
            f"PageSize must be between 1 and MaxPageSize ({max_page_size}); it was {size}.",
        )
    found = [r for r in records if matches(res, r, query)]
    total = len(found)
    chunk = found[(page - 1) * size : page * size]
    pages = (total + size - 1) // size
    kept = [(k, v) for k, v in request.query_params.multi_items() if k.casefold() not in ("pagenumber", "pagesize")]

    def link(number: int) -> str:
        params = [*kept, ("PageNumber", str(number)), ("PageSize", str(size))]
        return str(request.url.replace(query="&".join(f"{k}={_quote(v)}" for k, v in params)))

    meta = {
        "totalCount": total,
        "pageSize": size,
        "currentPage": page,
        "totalPages": pages,
        "previousPageLink": link(page - 1) if 1 < page <= pages + 1 else None,
        "nextPageLink": link(page + 1) if page < pages else None,
    }
    headers = {"X-Pagination": json.dumps(meta)}
    if not chunk:
        return Response(status_code=204, headers=headers)
    fields = [f.strip().casefold() for f in query.get("fields", "").split(",") if f.strip()]
    items = [out(res, r, lines=False) for r in chunk]
    if fields:
        items = [{k: v for k, v in item.items() if k.casefold() in fields} for item in items]
    return JSONResponse(items, headers=headers)


def matches(res: Resource, record: dict[str, Any], query: dict[str, str]) -> bool:
    """Whether ``record`` passes the list filters of ``query`` (lower-case keys)."""

    def after(param: str, field: str) -> bool:
        raw = query.get(param.casefold())
        if not raw:
            return True
        try:
            limit = parse_ticks(raw)
        except ValueError:
            raise ApiProblem(400, "Unable to cast object(s)", f"{param} is not a valid date-time.") from None
        value = record.get(field)
        return value is not None and parse_ticks(str(value)) > limit

    if res.changed and not after("lastChangedDateTimeOffsetGreaterThan", "LastChangedDateTimeOffset"):
        return False
    if res.created_filter and res.created_field and not after(res.created_filter, res.created_field):
        return False
    if res.number_filter and query.get(res.number_filter.casefold(), "").strip():
        ranges = parse_number_ranges(query[res.number_filter.casefold()], res.number_filter)
        if not in_ranges(record.get("Number"), ranges):
            return False
    if (
        res is SALES_ORDERS
        and query.get("customernos", "").strip()
        and not in_ranges(record.get("CustomerNo"), parse_number_ranges(query["customernos"], "customerNos"))
    ):
        return False
    for param, field in res.filters.items():
        raw = query.get(param.casefold(), "")
        if raw.strip():
            wanted = {v.strip().casefold() for v in raw.split(",") if v.strip()}
            if str(record.get(field) or "").casefold() not in wanted:
                return False
    for param, field in (("isactive", "IsActive"), ("isarchived", "IsArchived")):
        raw = query.get(param, "").strip().lower()
        if raw in ("true", "false") and field in record and bool(record[field]) != (raw == "true"):
            return False
    return True


def _int_param(query: Mapping[str, str], name: str, default: int) -> int:
    raw = query.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise ApiProblem(400, "Validation error(s)", f"The value '{raw}' is not valid for {name}.") from None


def _quote(value: str) -> str:
    return quote(value, safe=",")
