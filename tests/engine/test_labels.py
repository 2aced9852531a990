"""Labels: a record is named by its entity's ``label`` fields in words, a line through its order's number.

``shop`` (source) holds orders, their lines and products; ``erp`` (target) holds invoices and their lines,
with a line's invoice number on the line itself. Orders label by number, date, amount and currency; lines by
their order (a reference), sort order, product (a reference) and amount.
"""

from __future__ import annotations

import datetime as dt

import polars as pl

from reconcile.config.catalogue import parse_catalogue
from reconcile.config.flow import parse_flow
from reconcile.engine.build import LINK_SCHEMA, SHADOW_SCHEMA, build_plan
from reconcile.engine.labels import reference_labels
from reconcile.engine.project import LABEL, project_source, project_target

SHOP = parse_catalogue(
    {
        "system": "shop",
        "entities": {
            "Orders": {
                "key": "Id",
                "label": ["SalesOrderNo", "SalesOrderDate", "TotalAmount", "CurrencyCode"],
                "fields": {
                    "Id": {"type": "guid"},
                    "SalesOrderNo": {"type": "int"},
                    "SalesOrderDate": {"type": "date"},
                    "TotalAmount": {"type": "float", "decimals": 2},
                    "CurrencyCode": {"format": "currency"},
                    "Note": {},
                },
            },
            "Lines": {
                "key": "Id",
                "label": ["OrderId", "SortOrder", "ProductId", "TotalAmount"],
                "fields": {
                    "Id": {"type": "guid"},
                    "OrderId": {"type": "guid", "ref": "Orders"},
                    "SortOrder": {"type": "int"},
                    "ProductId": {"ref": "Products"},
                    "TotalAmount": {"type": "float", "decimals": 2},
                    "Text": {},
                },
            },
            "Products": {"key": "Id", "label": ["Code", "Name"], "fields": {"Id": {}, "Code": {}, "Name": {}}},
            "People": {
                "key": "Id",
                "label": ["FirstName", "LastName", "Email"],
                "fields": {"Id": {}, "FirstName": {}, "LastName": {}, "Email": {"format": "email"}},
            },
        },
    },
    "shop.toml",
)
ERP = parse_catalogue(
    {
        "system": "erp",
        "entities": {
            "Invoices": {
                "key": "ID",
                "label": ["InvoiceNumber"],
                "fields": {"ID": {}, "InvoiceNumber": {"type": "int", "description": "Invoice number; ours"}},
            },
            "InvoiceLines": {
                "key": "ID",
                "label": ["Invoice", "LineNumber", "Amount"],
                "fields": {
                    "ID": {},
                    "Invoice": {"ref": "Invoices"},
                    "LineNumber": {"type": "int"},
                    "Amount": {"type": "float"},
                    "Text": {},
                },
            },
        },
    },
    "erp.toml",
)
FLOW = parse_flow(
    {
        "name": "shop-to-erp",
        "source": "shop",
        "target": "erp",
        "mapping": [
            {
                "name": "orders",
                "source": "Orders",
                "target": "Invoices",
                "properties": [{"source": "Note", "target": "InvoiceNumber"}],
            },
            {
                "name": "lines",
                "source": "Lines",
                "target": "InvoiceLines",
                "properties": [
                    {"source": "OrderId", "target": "Invoice", "ref": "orders"},
                    {"source": "Text", "target": "Text"},
                ],
            },
        ],
    },
    "shop-to-erp.toml",
)
ORDERS, LINES, PEOPLE = SHOP.entities["Orders"], SHOP.entities["Lines"], SHOP.entities["People"]
INVOICES, INVOICE_LINES = ERP.entities["Invoices"], ERP.entities["InvoiceLines"]


def orders(*rows: dict[str, object]) -> pl.DataFrame:
    schema = {
        "Id": pl.Utf8,
        "SalesOrderNo": pl.Int64,
        "SalesOrderDate": pl.Date,
        "TotalAmount": pl.Float64,
        "CurrencyCode": pl.Utf8,
        "Note": pl.Utf8,
    }
    return pl.DataFrame([{k: r.get(k) for k in schema} for r in rows], schema=schema)


def lines(*rows: dict[str, object]) -> pl.DataFrame:
    schema = {
        "Id": pl.Utf8,
        "OrderId": pl.Utf8,
        "SortOrder": pl.Int64,
        "ProductId": pl.Utf8,
        "TotalAmount": pl.Float64,
        "Text": pl.Utf8,
    }
    return pl.DataFrame([{k: r.get(k) for k in schema} for r in rows], schema=schema)


PRODUCTS = pl.DataFrame({"Id": ["p1"], "Code": ["VH-1200"], "Name": ["Vernehansker"]})
ORDER = {"Id": "o1", "SalesOrderNo": 10023, "SalesOrderDate": dt.date(2025, 10, 25), "TotalAmount": 5657.78}


def test_a_label_says_the_label_fields_in_words() -> None:
    """A whole number with its header, a date as it is, an amount at its decimals with its currency after it."""
    frame = project_source(
        orders({**ORDER, "CurrencyCode": "nok"}, {**ORDER, "Id": "o2", "TotalAmount": 120.5, "CurrencyCode": "EUR"}),
        FLOW.mapping("orders"),
        ORDERS,
        INVOICES,
    )
    assert frame[LABEL].to_list() == [
        "Sales order no 10023, 2025-10-25, 5657.78 NOK",
        "Sales order no 10023, 2025-10-25, 120.50 EUR",
    ]


def test_a_lines_label_names_its_order_by_number_and_its_product_by_code() -> None:
    refs = reference_labels(LINES, SHOP, {"Orders": orders(ORDER), "Products": PRODUCTS})
    frame = project_source(
        lines({"Id": "l1", "OrderId": "o1", "SortOrder": 2, "ProductId": "p1", "TotalAmount": 5657.78}),
        FLOW.mapping("lines"),
        LINES,
        INVOICE_LINES,
        refs,
    )
    assert frame[LABEL].to_list() == ["Sales order no 10023, line 2, VH-1200, 5657.78"]


def test_nulls_are_left_out_of_a_label() -> None:
    """A blank field, an amount without its currency, a line whose order is not in the snapshot: each left out."""
    source = project_source(
        orders({"Id": "o1", "SalesOrderNo": 10024, "TotalAmount": 80.0}, {"Id": "o2", "CurrencyCode": "NOK"}),
        FLOW.mapping("orders"),
        ORDERS,
        INVOICES,
    )
    assert source[LABEL].to_list() == ["Sales order no 10024, 80.00", "NOK"]
    refs = reference_labels(LINES, SHOP, {"Orders": orders(ORDER), "Products": PRODUCTS})
    line = project_source(
        lines({"Id": "l1", "OrderId": "o9", "SortOrder": 1, "ProductId": "p1"}),
        FLOW.mapping("lines"),
        LINES,
        INVOICE_LINES,
        refs,
    )
    assert line[LABEL].to_list() == ["line 1, VH-1200"]


def test_a_record_with_no_label_field_filled_is_named_by_the_mapping() -> None:
    frame = project_source(lines({"Id": "l1", "Text": "Gloves"}), FLOW.mapping("lines"), LINES, INVOICE_LINES)
    assert frame[LABEL].to_list() == ["Gloves"]


def test_a_persons_names_go_together() -> None:
    people = pl.DataFrame({"Id": ["1", "2"], "FirstName": ["Kari", None], "LastName": ["Nordmann", "Berg"]})
    labels = project_source(
        people.with_columns(pl.lit("kari@x.no").alias("Email"), pl.lit("n").alias("Note")),
        FLOW.mapping("orders"),
        PEOPLE,
        INVOICES,
    )[LABEL]
    assert labels.to_list() == ["Kari Nordmann, kari@x.no", "Berg, kari@x.no"]


def test_the_target_side_is_labelled_by_the_targets_own_label_fields() -> None:
    invoices = pl.DataFrame({"ID": ["i1"], "InvoiceNumber": ["7001"]})
    refs = reference_labels(INVOICE_LINES, ERP, {"Invoices": invoices})
    frame = project_target(
        pl.DataFrame({"ID": ["il1"], "Invoice": ["i1"], "LineNumber": [3], "Amount": [61288.0], "Text": ["x"]}),
        FLOW.mapping("lines"),
        INVOICE_LINES,
        {},
        refs,
    )
    assert frame[LABEL].to_list() == ["Invoice number 7001, line 3, 61288"]


def test_a_plan_labels_a_line_through_its_orders_snapshot() -> None:
    """build_plan hands each side the snapshots of its own system, so a line's row names its order."""
    result = build_plan(
        FLOW,
        {"shop": SHOP, "erp": ERP},
        {
            ("shop", "Orders"): orders({**ORDER, "Note": "7001"}),
            ("shop", "Lines"): lines({"Id": "l1", "OrderId": "o1", "SortOrder": 1, "TotalAmount": 10.0, "Text": "x"}),
            ("shop", "Products"): PRODUCTS,
            ("erp", "Invoices"): pl.DataFrame(schema={"ID": pl.Utf8, "InvoiceNumber": pl.Utf8}),
            ("erp", "InvoiceLines"): pl.DataFrame(
                schema={
                    "ID": pl.Utf8,
                    "Invoice": pl.Utf8,
                    "LineNumber": pl.Int64,
                    "Amount": pl.Float64,
                    "Text": pl.Utf8,
                }
            ),
        },
        pl.DataFrame(schema=LINK_SCHEMA),
        pl.DataFrame(schema=SHADOW_SCHEMA),
    )
    labels = dict(zip(result.rows["mapping"], result.rows["label"], strict=True))
    assert labels == {
        "orders": "Sales order no 10023, 2025-10-25, 5657.78",
        "lines": "Sales order no 10023, line 1, 10.00",
    }
