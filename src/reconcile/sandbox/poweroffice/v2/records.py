"""Records in and out of API v2: request bodies parsed as Go parses them, records answered as Go answers them."""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping
from typing import Any

from reconcile.sandbox.poweroffice.problem import ApiProblem
from reconcile.sandbox.poweroffice.resources.orders import SALES_ORDERS
from reconcile.sandbox.poweroffice.resources.resource import Resource


def out(res: Resource, record: Mapping[str, Any], *, lines: bool = True) -> dict[str, Any]:
    """A record as the API returns it: sensitive numbers hidden, an order's lines only where asked."""
    item = copy.deepcopy(dict(record))
    if item.get("NationalIdNumber"):
        item["NationalIdNumber"] = "hidden"
    if res is SALES_ORDERS and not lines:
        item.pop("SalesOrderLines", None)
    return item


def json_body(body: bytes, res: Resource) -> Any:
    """The JSON of a request body; a 400 worded for ``res`` when it is not JSON or empty."""
    try:
        data = json.loads(body or b"null")
    except ValueError:
        raise ApiProblem(400, f"{res.title} validation error(s)", "The request body is not valid JSON.") from None
    if data is None:
        raise ApiProblem(400, f"{res.title} validation error(s)", "A non-empty request body is required.")
    return data
