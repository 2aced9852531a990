"""A tiny world for engine tests: two systems with customers and orders, written out in full.

``crm`` (source) and ``books`` (target). books.Customer requires Name; Email must be an email address;
books.Customer.Code is read-only; books.Region is a read-only entity. books.Order refers to its customer.
"""

from __future__ import annotations

import polars as pl

from reconcile.engine.build import LINK_SCHEMA, SHADOW_SCHEMA, FlowPlan, build_plan
from reconcile.flow.load import parse_flow
from reconcile.flow.model import Flow
from reconcile.systems.catalogue import Catalogue, parse_catalogue
from reconcile.validate import validate_rows

CRM = parse_catalogue(
    {
        "system": "crm",
        "entities": {
            "Client": {
                "key": "id",
                "modified": "changed",
                "fields": {
                    "id": {"type": "int"},
                    "name": {},
                    "email": {},
                    "born": {"type": "date"},
                    "address": {},
                    "address.country": {},
                    "changed": {"type": "datetime"},
                    "code": {},
                },
            },
            "Sale": {
                "key": "id",
                "fields": {
                    "id": {"type": "int"},
                    "client": {"type": "int", "ref": "Client"},
                    "total": {"type": "float"},
                },
            },
            "Area": {"key": "id", "fields": {"id": {}, "code": {}}},
        },
    },
    "crm.toml",
)
BOOKS = parse_catalogue(
    {
        "system": "books",
        "entities": {
            "Customer": {
                "key": "ID",
                "modified": "Modified",
                "fields": {
                    "ID": {"type": "guid", "read_only": True},
                    "Name": {"required": True, "max_length": 20},
                    "Email": {"format": "email"},
                    "BirthDate": {"type": "date"},
                    "Country": {"format": "country"},
                    "Modified": {"type": "datetime", "read_only": True},
                    "Code": {"read_only": True},
                },
            },
            "Order": {
                "key": "ID",
                "fields": {
                    "ID": {"type": "guid", "read_only": True},
                    "Customer": {"type": "guid", "required": True, "ref": "Customer"},
                    "Amount": {"type": "float"},
                },
            },
            "Region": {"key": "Code", "read_only": True, "fields": {"Code": {}, "Name": {}}},
        },
    },
    "books.toml",
)
CATALOGUES: dict[str, Catalogue] = {"crm": CRM, "books": BOOKS}


def flow(conflict: str = "newest", delete: str = "report", blank_overwrites: bool = False, merge: bool = True) -> Flow:
    customers: dict[str, object] = {
        "name": "customers",
        "source": "Client",
        "target": "Customer",
        "properties": [
            {"source": "name", "target": "Name"},
            {"source": "email", "target": "Email"},
            {"source": "born", "target": "BirthDate"},
            {"source": "address.country", "target": "Country"},
            {"source": "code", "target": "Code"},
        ],
    }
    if merge:
        customers["merge"] = [[["email", "Email"]]]
    return parse_flow(
        {
            "name": "crm-to-books",
            "source": "crm",
            "target": "books",
            "defaults": {"conflict": conflict, "delete": delete, "blank_overwrites": blank_overwrites},
            "mapping": [
                {
                    "name": "orders",
                    "source": "Sale",
                    "target": "Order",
                    "properties": [
                        {"source": "client", "target": "Customer", "ref": "customers"},
                        {"source": "total", "target": "Amount"},
                    ],
                },
                customers,
                {
                    "name": "areas",
                    "source": "Area",
                    "target": "Region",
                    "properties": [{"source": "code", "target": "Code"}],
                },
            ],
        },
        "crm-to-books.toml",
    )


def clients(*rows: dict[str, object]) -> pl.DataFrame:
    """Client rows; ``country`` goes into the nested ``address`` struct."""
    data = []
    for r in rows:
        r = dict(r)
        data.append(
            {
                "id": r.get("id"),
                "name": r.get("name"),
                "email": r.get("email"),
                "born": r.get("born"),
                "address": {"country": r.get("country")},
                "changed": r.get("changed"),
                "code": r.get("code"),
            }
        )
    return pl.DataFrame(
        data,
        schema={
            "id": pl.Int64,
            "name": pl.Utf8,
            "email": pl.Utf8,
            "born": pl.Utf8,
            "address": pl.Struct({"country": pl.Utf8}),
            "changed": pl.Utf8,
            "code": pl.Utf8,
        },
    )


def customers(*rows: dict[str, object]) -> pl.DataFrame:
    return pl.DataFrame(
        list(rows),
        schema={
            "ID": pl.Utf8,
            "Name": pl.Utf8,
            "Email": pl.Utf8,
            "BirthDate": pl.Date,
            "Country": pl.Utf8,
            "Modified": pl.Utf8,
            "Code": pl.Utf8,
        },
    )


def sales(*rows: dict[str, object]) -> pl.DataFrame:
    return pl.DataFrame(list(rows), schema={"id": pl.Int64, "client": pl.Int64, "total": pl.Float64})


def orders(*rows: dict[str, object]) -> pl.DataFrame:
    return pl.DataFrame(list(rows), schema={"ID": pl.Utf8, "Customer": pl.Utf8, "Amount": pl.Float64})


def links(*rows: tuple[str, str, str]) -> pl.DataFrame:
    return pl.DataFrame(
        [dict(zip(("mapping", "source_id", "target_id"), r, strict=True)) for r in rows], schema=LINK_SCHEMA
    )


def shadows(*rows: tuple[str, str, str, str | None]) -> pl.DataFrame:
    return pl.DataFrame(
        [dict(zip(("mapping", "source_id", "property", "value"), r, strict=True)) for r in rows],
        schema=SHADOW_SCHEMA,
    )


def plan(
    the_flow: Flow,
    client_rows: pl.DataFrame,
    customer_rows: pl.DataFrame,
    link_rows: pl.DataFrame | None = None,
    shadow_rows: pl.DataFrame | None = None,
    sale_rows: pl.DataFrame | None = None,
    order_rows: pl.DataFrame | None = None,
) -> FlowPlan:
    snapshots = {
        ("crm", "Client"): client_rows,
        ("books", "Customer"): customer_rows,
        ("crm", "Sale"): sale_rows if sale_rows is not None else sales(),
        ("books", "Order"): order_rows if order_rows is not None else orders(),
        ("crm", "Area"): pl.DataFrame({"id": ["a1"], "code": ["N"]}),
        ("books", "Region"): pl.DataFrame({"Code": ["S"], "Name": ["South"]}),
    }
    return build_plan(
        the_flow,
        CATALOGUES,
        snapshots,
        link_rows if link_rows is not None else links(),
        shadow_rows if shadow_rows is not None else shadows(),
        validate=validate_rows,
    )


def row(result: FlowPlan, mapping: str, source_id: str) -> dict[str, object]:
    """The one plan row of ``mapping`` for ``source_id``."""
    found = result.rows.filter((pl.col("mapping") == mapping) & (pl.col("source_id") == source_id))
    assert found.height == 1, found
    return found.row(0, named=True)


def changes(result: FlowPlan, mapping: str, source_id: str) -> dict[str, tuple[object, object]]:
    """property -> (old, new) of the row."""
    r = row(result, mapping, source_id)
    return {c["property"]: (c["old"], c["new"]) for c in r["changes"]}  # type: ignore[attr-defined]
