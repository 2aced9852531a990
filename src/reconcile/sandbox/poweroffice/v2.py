"""API v2 of the PowerOffice Go emulator: lists, creates, JSON Patch updates, deletes, sales orders.

Routes ``/v2/...`` (see :mod:`reconcile.sandbox.poweroffice` for what is emulated); the state, clock,
tokens and limits belong to the :class:`~reconcile.sandbox.poweroffice.PowerOfficeEmulator`.
"""

from __future__ import annotations

import copy
import json
import secrets
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from reconcile.sandbox.poweroffice.model import (
    CONTACT_PERSONS,
    CUSTOMERS,
    DEPARTMENTS,
    EMAIL,
    EMPLOYEES,
    PRODUCTS,
    RESOURCES,
    SALES_ORDER_LINES,
    SALES_ORDERS,
    SUPPLIERS,
    V2_RESOURCES,
    ApiProblem,
    Resource,
    apply_patch,
    in_ranges,
    normalise,
    parse_number_ranges,
    parse_ticks,
)

if TYPE_CHECKING:
    from reconcile.sandbox.poweroffice.emulator import PowerOfficeEmulator

CONTACT_RESOURCES = (CUSTOMERS, SUPPLIERS, EMPLOYEES)
APIM_401 = (
    "Access denied due to missing subscription key. Make sure to include subscription key when making "
    "requests to an API."
)
APIM_401_INVALID = (
    "Access denied due to invalid subscription key. Make sure to provide a valid key for an active subscription."
)
_PROBLEM_TYPES = {
    400: "https://tools.ietf.org/html/rfc7231#section-6.5.1",
    404: "https://tools.ietf.org/html/rfc7231#section-6.5.4",
    405: "https://tools.ietf.org/html/rfc7231#section-6.5.5",
    409: "https://tools.ietf.org/html/rfc7231#section-6.5.8",
    415: "https://tools.ietf.org/html/rfc7231#section-6.5.13",
}


class V2Api:
    """Routes ``/v2/...`` of the emulator."""

    def __init__(self, emulator: PowerOfficeEmulator) -> None:
        self.emu = emulator

    def handle(self, request: Request, body: bytes, segments: list[str]) -> Response:
        key = request.headers.get("Ocp-Apim-Subscription-Key")
        if not key:
            return JSONResponse({"statusCode": 401, "message": APIM_401}, status_code=401)
        if key != self.emu.credentials.subscription_key:
            return JSONResponse({"statusCode": 401, "message": APIM_401_INVALID}, status_code=401)
        forced = self.emu.take_forced()
        if forced is not None:
            return forced
        if self.emu.over_limit("sub:" + key, self.emu.rate_per_second):
            return Response(status_code=429, headers={"Retry-After": "1"})
        if not self.emu.bearer_ok(request, 2):
            return Response(status_code=401, headers={"WWW-Authenticate": 'Bearer error="invalid_token"'})
        if not segments or segments[0].casefold() not in V2_RESOURCES:
            return problem(ApiProblem(404, "Not Found", "No such endpoint."))
        res = V2_RESOURCES[segments[0].casefold()]
        if res.privilege in self.emu.invalid_privileges:
            return Response(status_code=403)
        try:
            return self._route(request, body, res, segments[1:])
        except ApiProblem as exc:
            return problem(exc)

    def _route(self, request: Request, body: bytes, res: Resource, rest: list[str]) -> Response:
        method = request.method
        lower = [s.lower() for s in rest]
        if res is SALES_ORDERS and rest:
            if lower == ["complete"]:
                if method != "POST":
                    raise ApiProblem(405, "Method Not Allowed")
                return JSONResponse(self._create_order(_json(body, res)), status_code=201)
            if len(rest) >= 2:
                order = self._find(res, rest[0])
                if lower[1:] == ["complete"] and method == "GET":
                    return JSONResponse(out(res, order))
                if lower[1] == "lines":
                    return self._lines_route(request, body, order, rest[2:])
                raise ApiProblem(404, "Not Found", "No such endpoint.")
        if not rest:
            if method == "GET":
                return self._list(request, res)
            if method == "POST" and res.writable and res is not SALES_ORDERS:
                return JSONResponse(self._create(res, _json(body, res)), status_code=res.post_status)
            raise ApiProblem(405, "Method Not Allowed", f"{method} is not allowed on /{res.name}.")
        if len(rest) != 1:
            raise ApiProblem(404, "Not Found", "No such endpoint.")
        record = self._find(res, rest[0])
        if method == "GET":
            return JSONResponse(out(res, record, lines=False))
        if not res.writable:
            raise ApiProblem(405, "Method Not Allowed", f"{method} is not allowed on /{res.name}.")
        if method == "PATCH":
            return JSONResponse(out(res, self._patch(request, body, res, record), lines=False))
        if method == "DELETE":
            self._delete(res, record)
            return Response(status_code=200)
        raise ApiProblem(405, "Method Not Allowed", f"{method} is not allowed on /{res.name}/{{id}}.")

    def _find(self, res: Resource, raw_id: str) -> dict[str, Any]:
        key = raw_id.lower() if res.id_kind == "guid" else raw_id
        if res.id_kind in ("contact", "int") and not raw_id.lstrip("-").isdigit():
            raise ApiProblem(400, "Validation error(s)", f"The value '{raw_id}' is not valid.")
        found = self.emu.store[res.name].get(key)
        if found is None:
            raise ApiProblem(404, "Object(s) not found", f"{res.title} with id = {raw_id} not found.")
        return found

    def _list(self, request: Request, res: Resource) -> Response:
        query = {k.casefold(): v for k, v in request.query_params.items()}
        page = _int_param(query, "pagenumber", 1)
        size = _int_param(query, "pagesize", min(5000, self.emu.max_page_size))
        if page < 1:
            raise ApiProblem(400, "Validation error(s)", "PageNumber must be 1 or more.")
        if size < 1 or size > self.emu.max_page_size:
            raise ApiProblem(
                400,
                "Validation error(s)",
                f"PageSize must be between 1 and MaxPageSize ({self.emu.max_page_size}); it was {size}.",
            )
        records = [r for r in self.emu.store[res.name].values() if self._matches(res, r, query)]
        total = len(records)
        chunk = records[(page - 1) * size : page * size]
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

    def _matches(self, res: Resource, record: dict[str, Any], query: dict[str, str]) -> bool:
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

    # ------------------------------------------------------------------------------------- v2 writes

    def _check_fields(self, res: Resource, body: Mapping[str, Any], extra: frozenset[str] = frozenset()) -> None:
        title = f"{res.title} validation error(s)"
        allowed = {k.casefold(): k for k in res.template if (k not in res.read_only or k in res.post_only)}
        allowed.update({k.casefold(): k for k in res.post_only | extra})
        for key, value in body.items():
            name = allowed.get(key.casefold())
            if name is None:
                raise ApiProblem(400, title, f"{res.title}PostDto: Could not find member '{key}' on object.")
            nested = res.template.get(name)
            if isinstance(nested, dict) and isinstance(value, Mapping):
                inner = {k.casefold() for k in nested if f"{name}.{k}" not in res.read_only}
                for ikey in value:
                    if ikey.casefold() not in inner:
                        raise ApiProblem(400, title, f"{name}: Could not find member '{ikey}' on object.")

    def _validate(self, res: Resource, record: dict[str, Any], *, creating: bool) -> None:
        title = f"{res.title} validation error(s)"
        if res in CONTACT_RESOURCES and res is not EMPLOYEES:
            if record.get("IsPerson"):
                for name in ("FirstName", "LastName"):
                    if not record.get(name):
                        raise ApiProblem(400, title, f"{name} is required when IsPerson is true.")
                record["Name"] = f"{record['FirstName']} {record['LastName']}"
            elif not record.get("Name"):
                raise ApiProblem(400, title, "Name is required.")
        for name in res.required:
            if record.get(name) in (None, ""):
                raise ApiProblem(400, title, f"The {name} field is required.")
        address = record.get("MailAddress")
        if (
            creating
            and isinstance(address, dict)
            and any(address.get(k) for k in ("AddressLine1", "AddressLine2", "City", "ZipCode"))
        ):
            for name in ("City", "ZipCode"):
                if not address.get(name):
                    raise ApiProblem(400, title, f"MailAddress: The {name} field is required.")
        email = record.get("EmailAddress")
        if email and not EMAIL.match(str(email)):
            raise ApiProblem(400, title, f"EmailAddress '{email}' is not a valid e-mail address.")
        ext = record.get("ExternalImportReference")
        if ext is not None and res.external_class:
            if len(str(ext)) > 50:
                raise ApiProblem(400, title, "ExternalImportReference can be at most 50 characters.")
            for other_res in RESOURCES.values():
                if other_res.external_class != res.external_class:
                    continue
                for other in self.emu.store[other_res.name].values():
                    if other.get("ExternalImportReference") == ext and other[res.id_field] != record[res.id_field]:
                        what = "contact" if res.external_class == "contact" else res.title.lower()
                        raise ApiProblem(
                            400,
                            title,
                            f"ExternalImportReference is already in use. '{ext}' is used on ({what}) "
                            f"Id = {other[res.id_field]}.",
                        )
        if res.number_field == "Number" and record.get("Number") is not None:
            for other in self.emu.store[res.name].values():
                if other["Number"] == record["Number"] and other["Id"] != record["Id"]:
                    raise ApiProblem(400, title, f"{res.title} number {record['Number']} is already in use.")
        if res in (DEPARTMENTS, PRODUCTS) and record.get("Code") is not None:
            for other in self.emu.store[res.name].values():
                if str(other.get("Code")) == str(record["Code"]) and other["Id"] != record["Id"]:
                    raise ApiProblem(400, title, f"Code '{record['Code']}' is already in use.")
        self._resolve_refs(res, record)

    def _resolve_refs(self, res: Resource, record: dict[str, Any]) -> None:
        title = f"{res.title} validation error(s)"
        refs = (("Department", DEPARTMENTS, "DepartmentId", "DepartmentCode"),)
        for what, target, id_field, code_field in refs:
            if id_field not in record:
                continue
            if record.get(id_field) is not None:
                found = self.emu.store[target.name].get(str(record[id_field]))
                if found is None:
                    raise ApiProblem(404, title, f"{what} with id = {record[id_field]} not found.")
                record[code_field] = found.get("Code")
            elif record.get(code_field):
                match = [
                    r for r in self.emu.store[target.name].values() if str(r.get("Code")) == str(record[code_field])
                ]
                if not match:
                    raise ApiProblem(404, title, f"{what} with code = '{record[code_field]}' not found.")
                record[id_field] = match[0]["Id"]

    def _create(self, res: Resource, body: Any) -> dict[str, Any]:
        if not isinstance(body, dict):
            raise ApiProblem(400, f"{res.title} validation error(s)", "The request body must be a JSON object.")
        self._check_fields(res, body)
        record = normalise(res, body)
        record[res.id_field] = "pending"
        self._validate(res, record, creating=True)
        record[res.id_field] = self.emu.next_id(res)
        if res.number_field and record.get(res.number_field) is None:
            record[res.number_field] = self.emu.next_number(res)
        if res in (DEPARTMENTS, PRODUCTS) and not record.get("Code"):
            record["Code"] = str(record["Id"])
        self.emu.stamp(res, record, created=True)
        self.emu.store[res.name][str(record[res.id_field])] = record
        return out(res, record)

    def _patch(self, request: Request, body: bytes, res: Resource, record: dict[str, Any]) -> dict[str, Any]:
        content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if content_type != "application/json-patch+json":
            raise ApiProblem(415, "Unsupported Media Type", "Send JSON Patch as application/json-patch+json.")
        if res is SALES_ORDERS and record.get("SalesOrderStatus") == "Confirmed":
            raise ApiProblem(400, f"{res.title} validation error(s)", "A confirmed sales order cannot be edited.")
        patched = apply_patch(res, {k: v for k, v in record.items() if k != "SalesOrderLines"}, _json(body, res))
        self._validate(res, patched, creating=False)
        if res is SALES_ORDERS:
            patched["SalesOrderLines"] = record.get("SalesOrderLines", [])
        self.emu.stamp(res, patched)
        record.clear()
        record.update(patched)
        return record

    def in_use(self, res: Resource, record: dict[str, Any]) -> str | None:
        """Why ``record`` cannot be deleted, or ``None``."""
        rid = record.get(res.id_field)
        if res in CONTACT_RESOURCES:
            for other in CONTACT_RESOURCES:
                if other is not res and str(rid) in self.emu.store[other.name]:
                    return f"is also an active {other.title.lower()}"
        if res is CUSTOMERS:
            if any(o.get("CustomerId") == rid for o in self.emu.store[SALES_ORDERS.name].values()):
                return "has sales orders"
            if any(str(p.get("partyId")) == str(rid) for p in self.emu.store[CONTACT_PERSONS.name].values()):
                return "has contact persons"
        if res is PRODUCTS:
            for order in self.emu.store[SALES_ORDERS.name].values():
                if any(line.get("ProductId") == rid for line in order.get("SalesOrderLines", [])):
                    return "is used on sales order lines"
        if res is DEPARTMENTS:
            for other in (*CONTACT_RESOURCES, SALES_ORDERS):
                if any(r.get("DepartmentId") == rid for r in self.emu.store[other.name].values()):
                    return f"is used by {other.name.lower()}"
        return None

    def _delete(self, res: Resource, record: dict[str, Any]) -> None:
        reason = self.in_use(res, record)
        if reason:
            raise ApiProblem(
                409,
                f"{res.title} conflict",
                f"{res.title} with id = {record[res.id_field]} is in use and cannot be deleted ({reason}).",
            )
        del self.emu.store[res.name][str(record[res.id_field])]

    def _create_order(self, body: Any) -> dict[str, Any]:
        res = SALES_ORDERS
        title = "SalesOrder validation error(s)"
        if not isinstance(body, dict):
            raise ApiProblem(400, title, "The request body must be a JSON object.")
        raw_lines: Any = None
        for key in [k for k in body if k.casefold() == "salesorderlines"]:
            raw_lines = body.pop(key)
        self._check_fields(res, body)
        for raw in raw_lines or []:
            if not isinstance(raw, dict):
                raise ApiProblem(400, title, "SalesOrderLines must hold objects.")
            self._check_fields(SALES_ORDER_LINES, raw)
        order = normalise(res, body)
        customer = None
        if order.get("CustomerId") is not None:
            customer = self.emu.store[CUSTOMERS.name].get(str(order["CustomerId"]))
            if customer is None:
                raise ApiProblem(404, title, f"Customer with id = {order['CustomerId']} not found.")
        elif order.get("CustomerNo") is not None:
            customer = next(
                (c for c in self.emu.store[CUSTOMERS.name].values() if c["Number"] == order["CustomerNo"]), None
            )
            if customer is None:
                raise ApiProblem(404, title, f"Customer with number = {order['CustomerNo']} not found.")
        else:
            raise ApiProblem(400, title, "CustomerId or CustomerNo is required.")
        order["CustomerId"], order["CustomerNo"] = customer["Id"], customer["Number"]
        order["Id"] = "pending"
        self._validate(res, order, creating=True)
        order["Id"] = self.emu.next_id(res)
        order["SalesOrderLines"] = [self.emu.complete_line(order, raw, checked=True) for raw in raw_lines or []]
        for i, line in enumerate(order["SalesOrderLines"]):
            line["SortOrder"] = line.get("SortOrder") or i
        order["SalesOrderNo"] = self.emu.next_number(res)
        self.emu.total_order(order)
        self.emu.stamp(res, order, created=True)
        self.emu.store[res.name][order["Id"]] = order
        return out(res, order)

    def _lines_route(self, request: Request, body: bytes, order: dict[str, Any], rest: list[str]) -> Response:
        method = request.method
        lines: list[dict[str, Any]] = order.setdefault("SalesOrderLines", [])
        if not rest:
            if method == "GET":
                if not lines:
                    return Response(status_code=204)
                return JSONResponse(copy.deepcopy(lines))
            if method == "POST":
                raw = _json(body, SALES_ORDER_LINES)
                self._check_fields(SALES_ORDER_LINES, raw)
                line = self.emu.complete_line(order, raw, checked=True)
                lines.append(line)
                self._order_changed(order)
                return JSONResponse(copy.deepcopy(line), status_code=201)
            raise ApiProblem(405, "Method Not Allowed")
        line_id = rest[0].lower()
        index = next((i for i, line in enumerate(lines) if str(line["Id"]).lower() == line_id), None)
        if index is None or len(rest) != 1:
            raise ApiProblem(404, "Object(s) not found", f"SalesOrderLine with id = {rest[0]} not found.")
        if method == "GET":
            return JSONResponse(copy.deepcopy(lines[index]))
        if order.get("SalesOrderStatus") == "Confirmed":
            raise ApiProblem(400, "SalesOrderLine validation error(s)", "A confirmed sales order cannot be edited.")
        if method == "PATCH":
            content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
            if content_type != "application/json-patch+json":
                raise ApiProblem(415, "Unsupported Media Type", "Send JSON Patch as application/json-patch+json.")
            patched = apply_patch(SALES_ORDER_LINES, lines[index], _json(body, SALES_ORDER_LINES))
            lines[index] = self.emu.complete_line(order, patched, checked=True)
            self._order_changed(order)
            return JSONResponse(copy.deepcopy(lines[index]))
        if method == "DELETE":
            del lines[index]
            self._order_changed(order)
            return Response(status_code=200)
        raise ApiProblem(405, "Method Not Allowed")

    def _order_changed(self, order: dict[str, Any]) -> None:
        self.emu.total_order(order)
        self.emu.stamp(SALES_ORDERS, order)


def out(res: Resource, record: Mapping[str, Any], *, lines: bool = True) -> dict[str, Any]:
    """A record as the API returns it: sensitive numbers hidden, an order's lines only where asked."""
    item = copy.deepcopy(dict(record))
    if item.get("NationalIdNumber"):
        item["NationalIdNumber"] = "hidden"
    if res is SALES_ORDERS and not lines:
        item.pop("SalesOrderLines", None)
    return item


def problem(exc: ApiProblem) -> Response:
    """A ProblemDetails response, in ASP.NET Core's lower-case keys."""
    body = {
        "type": _PROBLEM_TYPES.get(exc.status, "about:blank"),
        "title": exc.title,
        "status": exc.status,
        "detail": exc.detail or None,
        "traceId": f"00-{secrets.token_hex(16)}-{secrets.token_hex(8)}-00",
    }
    return JSONResponse(body, status_code=exc.status, media_type="application/problem+json")


def _json(body: bytes, res: Resource) -> Any:
    try:
        data = json.loads(body or b"null")
    except ValueError:
        raise ApiProblem(400, f"{res.title} validation error(s)", "The request body is not valid JSON.") from None
    if data is None:
        raise ApiProblem(400, f"{res.title} validation error(s)", "A non-empty request body is required.")
    return data


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
