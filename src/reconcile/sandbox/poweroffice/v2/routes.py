"""API v2 of the PowerOffice Go emulator: the routes of ``/v2/...``.

See :mod:`reconcile.sandbox.poweroffice.emulator` for what is emulated. Paths are matched without regard
to case; the lists are in :mod:`.lists`, the writes in :mod:`.writes`; keys, tokens and limits are checked
first (:mod:`reconcile.sandbox.poweroffice.access`).
"""

from __future__ import annotations

import copy
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from reconcile.sandbox.poweroffice.access import Access
from reconcile.sandbox.poweroffice.model import V2_RESOURCES
from reconcile.sandbox.poweroffice.problem import ApiProblem, problem
from reconcile.sandbox.poweroffice.resources.orders import SALES_ORDERS
from reconcile.sandbox.poweroffice.resources.resource import Resource
from reconcile.sandbox.poweroffice.store import PowerOfficeStore
from reconcile.sandbox.poweroffice.v2.lists import list_page
from reconcile.sandbox.poweroffice.v2.records import out
from reconcile.sandbox.poweroffice.v2.writes import V2Writes


class V2Api:
    """Routes ``/v2/...``: lists, reads and writes over the store, behind the access checks."""

    def __init__(self, store: PowerOfficeStore, access: Access, *, max_page_size: int) -> None:
        self.store = store
        self.access = access
        self.max_page_size = max_page_size
        self.writes = V2Writes(store)

    def handle(self, request: Request, body: bytes, segments: list[str]) -> Response:
        """The answer to a call of ``/v2/{segments}``."""
        refused = self.access.admit_v2(request)
        if refused is not None:
            return refused
        if not segments or segments[0].casefold() not in V2_RESOURCES:
            return problem(ApiProblem(404, "Not Found", "No such endpoint."))
        res = V2_RESOURCES[segments[0].casefold()]
        if not self.access.allows(res.privilege):
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
                return JSONResponse(self.writes.create_order(body), status_code=201)
            if len(rest) >= 2:
                order = self._find(res, rest[0])
                if lower[1:] == ["complete"] and method == "GET":
                    return JSONResponse(out(res, order))
                if lower[1] == "lines":
                    return self._lines_route(request, body, order, rest[2:])
                raise ApiProblem(404, "Not Found", "No such endpoint.")
        if not rest:
            if method == "GET":
                return list_page(request, res, self.store.records[res.name].values(), self.max_page_size)
            if method == "POST" and res.writable and res is not SALES_ORDERS:
                return JSONResponse(self.writes.create(res, body), status_code=res.post_status)
            raise ApiProblem(405, "Method Not Allowed", f"{method} is not allowed on /{res.name}.")
        if len(rest) != 1:
            raise ApiProblem(404, "Not Found", "No such endpoint.")
        record = self._find(res, rest[0])
        if method == "GET":
            return JSONResponse(out(res, record, lines=False))
        if not res.writable:
            raise ApiProblem(405, "Method Not Allowed", f"{method} is not allowed on /{res.name}.")
        if method == "PATCH":
            patched = self.writes.patch(res, record, body, _content_type(request))
            return JSONResponse(out(res, patched, lines=False))
        if method == "DELETE":
            self.writes.delete(res, record)
            return Response(status_code=200)
        raise ApiProblem(405, "Method Not Allowed", f"{method} is not allowed on /{res.name}/{{id}}.")

    def _find(self, res: Resource, raw_id: str) -> dict[str, Any]:
        key = raw_id.lower() if res.id_kind == "guid" else raw_id
        if res.id_kind in ("contact", "int") and not raw_id.lstrip("-").isdigit():
            raise ApiProblem(400, "Validation error(s)", f"The value '{raw_id}' is not valid.")
        found = self.store.records[res.name].get(key)
        if found is None:
            raise ApiProblem(404, "Object(s) not found", f"{res.title} with id = {raw_id} not found.")
        return found

    def _lines_route(self, request: Request, body: bytes, order: dict[str, Any], rest: list[str]) -> Response:
        method = request.method
        lines: list[dict[str, Any]] = order.setdefault("SalesOrderLines", [])
        if not rest:
            if method == "GET":
                if not lines:
                    return Response(status_code=204)
                return JSONResponse(copy.deepcopy(lines))
            if method == "POST":
                return JSONResponse(self.writes.add_line(order, body), status_code=201)
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
            return JSONResponse(self.writes.patch_line(order, index, body, _content_type(request)))
        if method == "DELETE":
            self.writes.delete_line(order, index)
            return Response(status_code=200)
        raise ApiProblem(405, "Method Not Allowed")


def _content_type(request: Request) -> str:
    return request.headers.get("content-type", "").split(";")[0].strip().lower()
