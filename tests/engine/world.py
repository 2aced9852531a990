"""A tiny world for engine tests: two systems with customers and orders, written out in full.

``crm`` (source) and ``books`` (target). books.Customer requires Name (at most 20 characters); Email must be
an email address; Country a two-letter code; books.Customer.Code is read-only; books.Region is a read-only
entity. books.Order refers to its customer. books.Invoice is created with its InvoiceLines embedded (from
crm.Bill and crm.BillLine, in the flow only when asked for with ``bills=True``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

import polars as pl

from reconcile.apply.applier import Applier
from reconcile.config.catalogue import parse_catalogue
from reconcile.config.flow import parse_flow
from reconcile.engine.build import LINK_SCHEMA, SHADOW_SCHEMA, FlowPlan, build_plan
from reconcile.model.catalogue import Catalogue, Entity
from reconcile.model.flow import Flow
from reconcile.model.values import put_at
from reconcile.state.store import StateStore
from reconcile.systems.base import WriteKind, WriteOp, WriteResult
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
                    "segment": {},
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
            "Bill": {"key": "id", "fields": {"id": {}, "number": {}}},
            "BillLine": {"key": "id", "fields": {"id": {}, "bill": {"ref": "Bill"}, "text": {}}},
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
                    "Segment": {},
                    "Type": {},
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
            "Invoice": {
                "key": "ID",
                "embedded": {"entity": "InvoiceLine", "parent_field": "Invoice", "field": "Lines"},
                "fields": {"ID": {"read_only": True}, "Number": {"required": True}, "Lines": {}},
            },
            "InvoiceLine": {
                "key": "ID",
                "fields": {
                    "ID": {"read_only": True},
                    "Invoice": {"required": True, "ref": "Invoice"},
                    "Text": {"required": True},
                },
            },
        },
    },
    "books.toml",
)
CATALOGUES: dict[str, Catalogue] = {"crm": CRM, "books": BOOKS}


def flow(
    conflict: str = "newest",
    delete: str = "report",
    blank_overwrites: bool = False,
    merge: bool | list[list[list[str]]] = True,
    extra: tuple[dict[str, object], ...] = (),
    customer_options: dict[str, object] | None = None,
    bills: bool = False,
    guards: dict[str, object] | None = None,
) -> Flow:
    """The crm-to-books flow: orders (refer to customers), customers (merged by email), areas (read-only).

    ``merge`` is True for the email rule, False for none, or the merge combinations to use; ``extra`` adds
    customer properties; ``customer_options`` sets keys of the customers mapping (its own conflict policy);
    ``bills`` adds bills -> Invoice and billlines -> InvoiceLine (embedded in the invoice).
    """
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
            *extra,
        ],
        **(customer_options or {}),
    }
    if merge is True:
        customers["merge"] = [[["email", "Email"]]]
    elif merge:
        customers["merge"] = merge
    mappings: list[dict[str, object]] = [
        {
            "name": "orders",
            "source": "Sale",
            "target": "Order",
            "properties": [
                {"source": "client", "target": "Customer", "ref": "customers"},
                {"source": "total", "target": "Amount", "type": "float"},
            ],
        },
        customers,
        {
            "name": "areas",
            "source": "Area",
            "target": "Region",
            "properties": [{"source": "code", "target": "Code"}],
        },
    ]
    if bills:
        mappings += [
            {
                "name": "billlines",
                "source": "BillLine",
                "target": "InvoiceLine",
                "properties": [
                    {"source": "bill", "target": "Invoice", "ref": "bills"},
                    {"source": "text", "target": "Text"},
                ],
            },
            {
                "name": "bills",
                "source": "Bill",
                "target": "Invoice",
                "properties": [{"source": "number", "target": "Number"}],
            },
        ]
    defaults: dict[str, object] = {"conflict": conflict, "delete": delete, "blank_overwrites": blank_overwrites}
    if guards is not None:
        defaults["guards"] = guards
    return parse_flow(
        {"name": "crm-to-books", "source": "crm", "target": "books", "defaults": defaults, "mapping": mappings},
        "crm-to-books.toml",
    )


def clients(*rows: Mapping[str, object]) -> pl.DataFrame:
    """Client rows; ``country`` goes into the nested ``address`` struct."""
    data = []
    for r in rows:
        data.append(
            {
                "id": r.get("id"),
                "name": r.get("name"),
                "email": r.get("email"),
                "born": r.get("born"),
                "address": {"country": r.get("country")},
                "changed": r.get("changed"),
                "code": r.get("code"),
                "segment": r.get("segment"),
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
            "segment": pl.Utf8,
        },
    )


CUSTOMER_COLUMNS: dict[str, pl.DataType] = {
    "ID": pl.Utf8(),
    "Name": pl.Utf8(),
    "Email": pl.Utf8(),
    "BirthDate": pl.Date(),
    "Country": pl.Utf8(),
    "Modified": pl.Utf8(),
    "Code": pl.Utf8(),
    "Segment": pl.Utf8(),
    "Type": pl.Utf8(),
}


def customers(*rows: Mapping[str, object]) -> pl.DataFrame:
    """Customer rows; ``BirthDate`` is a ``datetime.date``, ``Modified`` an ISO text."""
    return pl.DataFrame(
        [{k: r.get(k) for k in CUSTOMER_COLUMNS} for r in rows],
        schema=CUSTOMER_COLUMNS,
    )


def sales(*rows: Mapping[str, object]) -> pl.DataFrame:
    return pl.DataFrame(list(rows), schema={"id": pl.Int64, "client": pl.Int64, "total": pl.Float64})


def orders(*rows: Mapping[str, object]) -> pl.DataFrame:
    return pl.DataFrame(list(rows), schema={"ID": pl.Utf8, "Customer": pl.Utf8, "Amount": pl.Float64})


def bills_(*rows: Mapping[str, object]) -> pl.DataFrame:
    return pl.DataFrame(list(rows), schema={"id": pl.Utf8, "number": pl.Utf8})


def billlines(*rows: Mapping[str, object]) -> pl.DataFrame:
    return pl.DataFrame(list(rows), schema={"id": pl.Utf8, "bill": pl.Utf8, "text": pl.Utf8})


def invoices(*rows: Mapping[str, object]) -> pl.DataFrame:
    return pl.DataFrame(list(rows), schema={"ID": pl.Utf8, "Number": pl.Utf8})


def invoicelines(*rows: Mapping[str, object]) -> pl.DataFrame:
    return pl.DataFrame(list(rows), schema={"ID": pl.Utf8, "Invoice": pl.Utf8, "Text": pl.Utf8})


def links(*rows: tuple[str, str, str]) -> pl.DataFrame:
    return pl.DataFrame(
        [dict(zip(("mapping", "source_id", "target_id"), r, strict=True)) for r in rows], schema=LINK_SCHEMA
    )


def shadows(*rows: tuple[str, str, str, str | None]) -> pl.DataFrame:
    return pl.DataFrame(
        [dict(zip(("mapping", "source_id", "property", "value"), r, strict=True)) for r in rows],
        schema=SHADOW_SCHEMA,
    )


def snapshots(
    client_rows: pl.DataFrame,
    customer_rows: pl.DataFrame,
    sale_rows: pl.DataFrame | None = None,
    order_rows: pl.DataFrame | None = None,
    extra: dict[tuple[str, str], pl.DataFrame] | None = None,
) -> dict[tuple[str, str], pl.DataFrame]:
    """Every snapshot the flow reads; the ones not given are empty (areas: one each side, never matching)."""
    return {
        ("crm", "Client"): client_rows,
        ("books", "Customer"): customer_rows,
        ("crm", "Sale"): sale_rows if sale_rows is not None else sales(),
        ("books", "Order"): order_rows if order_rows is not None else orders(),
        ("crm", "Area"): pl.DataFrame({"id": ["a1"], "code": ["N"]}),
        ("books", "Region"): pl.DataFrame({"Code": ["S"], "Name": ["South"]}),
        ("crm", "Bill"): bills_(),
        ("crm", "BillLine"): billlines(),
        ("books", "Invoice"): invoices(),
        ("books", "InvoiceLine"): invoicelines(),
        **(extra or {}),
    }


def plan(
    the_flow: Flow,
    client_rows: pl.DataFrame,
    customer_rows: pl.DataFrame,
    link_rows: pl.DataFrame | None = None,
    shadow_rows: pl.DataFrame | None = None,
    sale_rows: pl.DataFrame | None = None,
    order_rows: pl.DataFrame | None = None,
    extra: dict[tuple[str, str], pl.DataFrame] | None = None,
    catalogues: Mapping[str, Catalogue] | None = None,
    unlinked: Sequence[tuple[str, str]] | None = None,
    decided: pl.DataFrame | None = None,
) -> FlowPlan:
    """The flow's plan of these rows; ``catalogues`` replace the world's, ``unlinked`` lists (mapping, source
    id) of the records unlinked on purpose, ``decided`` the decisions remembered from earlier reviews."""
    kwargs: dict[str, Any] = {"decided": decided}
    if unlinked is not None:
        kwargs["unlinked"] = pl.DataFrame(list(unlinked), schema=["mapping", "source_id"], orient="row")
    return build_plan(
        the_flow,
        catalogues or CATALOGUES,
        snapshots(client_rows, customer_rows, sale_rows, order_rows, extra),
        link_rows if link_rows is not None else links(),
        shadow_rows if shadow_rows is not None else shadows(),
        validate=validate_rows,
        **kwargs,
    )


def marked(entity: str, field: str, **facts: Any) -> dict[str, Catalogue]:
    """The world's catalogues with one books field given other facts (``unique=True``, ``decimals=2``)."""
    found = BOOKS.entities[entity]
    fields = {**found.fields, field: replace(found.fields[field], **facts)}
    books = replace(BOOKS, entities={**BOOKS.entities, entity: replace(found, fields=fields)})
    return {**CATALOGUES, "books": books}


def rows_of(result: FlowPlan, mapping: str) -> list[tuple[str | None, str, str]]:
    """(source_id, action, reason) of every row of ``mapping``, sorted."""
    frame = result.rows.filter(pl.col("mapping") == mapping)
    return sorted(frame.select("source_id", "action", "reason").iter_rows(), key=lambda r: (r[0] or "", r[1], r[2]))


def row(result: FlowPlan, mapping: str, source_id: str, action: str | None = None) -> dict[str, Any]:
    """The one plan row of ``mapping`` for ``source_id`` (and ``action``, when a record has several)."""
    found = result.rows.filter((pl.col("mapping") == mapping) & (pl.col("source_id") == source_id))
    if action is not None:
        found = found.filter(pl.col("action") == action)
    assert found.height == 1, found
    return found.row(0, named=True)


def changes(
    result: FlowPlan, mapping: str, source_id: str, action: str | None = None
) -> dict[str, tuple[str | None, str | None]]:
    """property -> (old, new) of the row."""
    r = row(result, mapping, source_id, action)
    return {c["property"]: (c["old"], c["new"]) for c in r["changes"]}


# ------------------------------------------------------------------------------------------- as two systems

NOW = "2030-01-01T00:00:00"
"""The time the systems stamp on a record they create or update."""


class MemorySystem:
    """One side of the world as a :class:`~reconcile.systems.base.System`: records in dicts, read as frames.

    Each entity keeps the columns (and types) of the frame it was seeded from, so the odd ones stay odd (crm's
    ``born`` is text although the catalogue says date). Writes take the Python values the applier casts to
    the catalogue's types and store them as a JSON API would: a date in a text column as ISO text. A record
    created or updated is stamped with :data:`NOW` in its entity's modified field, as real systems stamp
    their own; a new record's id is ``new1``, ``new2``...
    """

    def __init__(self, name: str, frames: Mapping[str, pl.DataFrame]) -> None:
        self.name = name
        self.catalogue = CATALOGUES[name]
        self.schemas = {entity: frame.schema for entity, frame in frames.items()}
        self.records: dict[str, dict[str, dict[str, Any]]] = {
            entity: {str(row[self._entity(entity).key]): row for row in frame.to_dicts()}
            for entity, frame in frames.items()
        }
        self.made = 0

    def _entity(self, name: str) -> Entity:
        found = self.catalogue.entity(name)
        assert found is not None, name
        return found

    def read(self, entity: str) -> pl.DataFrame:
        return pl.DataFrame(list(self.records[entity].values()), schema=self.schemas[entity])

    def write(self, entity: str, ops: Sequence[WriteOp]) -> list[WriteResult]:
        return [self._write(entity, op) for op in ops]

    def _write(self, entity: str, op: WriteOp) -> WriteResult:
        records, schema, found = self.records[entity], self.schemas[entity], self._entity(entity)
        if op.kind is WriteKind.CREATE:
            self.made += 1
            key = f"new{self.made}"
            records[key] = dict.fromkeys(schema) | {found.key: key}
        else:
            key = op.key or ""
            if key not in records:
                return WriteResult(op.row_id, False, key=op.key, error=f"no {entity} {key}")
            if op.kind is WriteKind.DELETE:
                del records[key]
                return WriteResult(op.row_id, True, key=key)
        record = records[key]
        for name, value in op.values.items():
            text_column = schema.get(name.split(".")[0]) == pl.Utf8
            put_at(record, name, value.isoformat() if text_column and isinstance(value, dt.date) else value)
        if found.modified:
            record[found.modified] = NOW
        return WriteResult(op.row_id, True, key=key)

    def calls_left(self) -> int | None:
        return None

    def close(self) -> None:
        pass


def memory_systems(
    client_rows: pl.DataFrame,
    customer_rows: pl.DataFrame,
    sale_rows: pl.DataFrame | None = None,
    order_rows: pl.DataFrame | None = None,
) -> dict[str, MemorySystem]:
    """crm and books holding these rows and the :func:`snapshots` of every other entity."""
    frames = snapshots(client_rows, customer_rows, sale_rows, order_rows)
    return {
        name: MemorySystem(name, {entity: frame for (system, entity), frame in frames.items() if system == name})
        for name in CATALOGUES
    }


# ------------------------------------------------------------------------------------------ night after night


@contextmanager
def stored(the_flow: Flow, link_rows: pl.DataFrame, shadow_rows: pl.DataFrame) -> Iterator[StateStore]:
    """A state store (SQLite in memory) holding these links and shadows."""
    with StateStore(Path(":memory:")) as store:
        with store.transaction() as db:
            store.add_links(db, the_flow.name, link_rows.iter_rows())
            store.set_shadows(db, the_flow.name, shadow_rows.iter_rows())
        yield store


def night(the_flow: Flow, systems: Mapping[str, MemorySystem], store: StateStore, run_id: str) -> FlowPlan:
    """One run as the nightly job makes it: plan from both systems and the state, then apply the plan."""
    frames = {(s.name, entity): s.read(entity) for s in systems.values() for entity in s.records}
    name = the_flow.name
    result = build_plan(
        the_flow,
        CATALOGUES,
        frames,
        store.links(name),
        store.shadows(name),
        validate=validate_rows,
        unlinked=store.unlinked(name),
    )
    Applier(the_flow, CATALOGUES, dict(systems), store, run_id=run_id).apply(result)
    return result
