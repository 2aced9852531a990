"""The fields of the scale benchmark's customers, apart from the data so that DuckDB's process imports no Polars."""

from __future__ import annotations

KEY = "CustomerNo"
"""The merge key: unique on both sides, never changed."""
ADDRESS = ("Street", "City", "Zip")
CHANGEABLE = (
    "Name",
    "Email",
    "Phone",
    "Country",
    "Address.Street",
    "Address.City",
    "Address.Zip",
    "Since",
    "LastOrder",
    "Balance",
    "CreditLimit",
    "Orders",
    "Active",
    "Newsletter",
)
"""The 14 properties an edit may change (1 to 3 of them per changed record)."""
PROPERTIES = (KEY, *CHANGEABLE)
TYPES = {
    KEY: "string",
    "Name": "string",
    "Email": "string",
    "Phone": "string",
    "Country": "string",
    "Address.Street": "string",
    "Address.City": "string",
    "Address.Zip": "string",
    "Since": "date",
    "LastOrder": "datetime",
    "Balance": "float",
    "CreditLimit": "float",
    "Orders": "int",
    "Active": "bool",
    "Newsletter": "bool",
}
