"""API v2's registers: departments, products and VAT codes (and the standard VAT codes a new client has)."""

from __future__ import annotations

from typing import Any

from reconcile.sandbox.poweroffice.resources.resource import Resource

DEPARTMENTS = Resource(
    name="Departments",
    title="Department",
    version=2,
    template={
        "Id": None,
        "Code": None,
        "Name": None,
        "IsActive": False,
        "ManagerEmployeeId": None,
        "ManagerEmployeeNo": None,
        "CreatedFromImportJournalId": None,
        "CreatedDateTimeOffset": None,
        "LastChangedDateTimeOffset": None,
    },
    read_only=frozenset({"Id", "CreatedFromImportJournalId", "CreatedDateTimeOffset", "LastChangedDateTimeOffset"}),
    required=("Name",),
    created_field="CreatedDateTimeOffset",
    created_filter="createdDateTimeOffsetGreaterThan",
    privilege="Department",
    filters={"codes": "Code", "name": "Name"},
)

PRODUCTS = Resource(
    name="Products",
    title="Product",
    version=2,
    template={
        "Id": None,
        "Code": None,
        "Name": None,
        "Description": None,
        "Gtin": None,
        "ProductType": "Product",
        "UnitOfMeasureCode": None,
        "UnitPrice": None,
        "UnitCost": None,
        "ProductGroupId": None,
        "ProductGroupCode": None,
        "IsArchived": False,
        "IsStockItem": False,
        "StockOnHand": None,
        "StockAvailable": None,
        "CreatedFromImportJournalId": None,
        "CreatedDateTimeOffset": None,
        "LastChangedDateTimeOffset": None,
    },
    read_only=frozenset(
        {
            "Id",
            "ProductGroupCode",
            "StockOnHand",
            "StockAvailable",
            "CreatedFromImportJournalId",
            "CreatedDateTimeOffset",
            "LastChangedDateTimeOffset",
        }
    ),
    required=("Name",),
    created_field="CreatedDateTimeOffset",
    created_filter="createdDateTimeOffsetGreaterThan",
    post_status=200,
    privilege="Product",
    filters={"codes": "Code", "names": "Name", "type": "ProductType"},
)

VATCODES = Resource(
    name="VatCodes",
    title="VatCode",
    version=2,
    template={
        "Id": None,
        "Code": None,
        "Name": None,
        "Description": None,
        "Rate": 0.0,
        "IsActive": True,
        "IsCustom": False,
        "BaseVatCodeId": None,
        "ValidFrom": None,
        "ValidTo": None,
        "VatBasisRatio": None,
        "VatBasisRatioValidFrom": None,
        "VatBasisRatios": [],
    },
    changed=False,
    writable=False,
    privilege="CommonServices",
)

DEFAULT_VATCODES: list[dict[str, Any]] = [
    {"Id": i, "Code": code, "Name": name, "Description": name, "Rate": rate, "ValidFrom": "2017-01-01"}
    for i, (code, name, rate) in enumerate(
        (
            ("0", "Ingen mva-behandling", 0.0),
            ("1", "Inngående mva, høy sats", 0.25),
            ("3", "Utgående mva, høy sats", 0.25),
            ("5", "Utgående mva, fritatt", 0.0),
            ("6", "Utgående mva, unntatt", 0.0),
            ("11", "Inngående mva, middels sats", 0.15),
            ("31", "Utgående mva, middels sats", 0.15),
            ("33", "Utgående mva, lav sats", 0.12),
        ),
        start=1,
    )
]
