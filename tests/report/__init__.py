"""A small plan and run that the report tests share.

The plan, mapping by mapping:

- ``customers`` (Customers -> Accounts, properties Name, City, Phone, PostCode, CreditLimit, Since, Notes):
  ``c1`` a create of "Ærøskøbing Bådelaug" with a phone ``+47 22 33 44 55``, a postcode ``0150``, a credit
  limit ``1500.50``, a date and a note that starts with ``=``; ``c2`` an update of the target (City
  Oslo -> Bergen, the name unchanged); ``c3`` an update of the source (Name); ``c4`` a conflict on City
  (target Tromsø, source Bodø, last synced Narvik); ``c5`` a delete; ``c6`` in sync.
- ``products`` (Items -> Items, properties Code, Description, Price): ``p1`` a reject with a detail and
  a note ``@SUM(A1)``; ``p2`` an ambiguous merge of "IJzerhandel" with two candidates, T7 "IJzerhandel AS" and
  T9 "IJzerhandel Oslo".
- ``departments``: two rows, both in sync, so no sheet.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import polars as pl

from reconcile.model.plan import PLAN_SCHEMA
from reconcile.report.info import MappingInfo, RunInfo

CUSTOMER_FIELDS = ("Name", "City", "Phone", "PostCode", "CreditLimit", "Since", "Notes")
KEY = b"k" * 32
"""The review key the report tests sign with."""


def change(prop: str, old: str | None, new: str | None, base: str | None = None) -> dict[str, Any]:
    return {"property": prop, "field": prop, "old": old, "new": new, "base": base}


def row(
    row_id: str,
    mapping: str,
    action: str,
    reason: str,
    changes: list[dict[str, Any]] | None = None,
    *,
    source_id: str | None = None,
    target_id: str | None = None,
    label: str | None = None,
    detail: str | None = None,
    candidates: list[tuple[str, str]] | None = None,
    structural: bool = False,
    remembered: str | None = None,
) -> dict[str, Any]:
    return {
        "candidates": [{"target_id": t, "label": label} for t, label in candidates or ()],
        "structural": structural,
        "remembered": remembered,
        "row_id": row_id,
        "mapping": mapping,
        "action": action,
        "reason": reason,
        "detail": detail,
        "source_id": source_id,
        "target_id": target_id,
        "label": label,
        "changes": changes or [],
        "parents": [],
    }


def plan_of(rows: list[dict[str, Any]]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema=PLAN_SCHEMA)


def sample_plan() -> pl.DataFrame:
    return plan_of(
        [
            row(
                "c1",
                "customers",
                "create",
                "new_in_source",
                [
                    change("Name", None, "Ærøskøbing Bådelaug"),
                    change("Phone", None, "+47 22 33 44 55"),
                    change("PostCode", None, "0150"),
                    change("CreditLimit", None, "1500.50"),
                    change("Since", None, "2024-03-01"),
                    change("Notes", None, '=HYPERLINK("http://example.invalid","click")'),
                ],
                source_id="00017",
                label="Ærøskøbing Bådelaug",
            ),
            row(
                "c2",
                "customers",
                "update_target",
                "source_changed",
                [
                    change("Name", "Fjord AS", "Fjord AS", "Fjord AS"),
                    change("City", "Oslo", "Bergen", "Oslo"),
                ],
                source_id="18",
                target_id="A-18",
                label="Fjord AS",
            ),
            row(
                "c3",
                "customers",
                "update_source",
                "target_changed",
                [
                    change("Name", "Old name", "New name", "Old name"),
                    change("CreditLimit", "100", "250", "100"),
                ],
                source_id="19",
                target_id="A-19",
                label="New name",
            ),
            row(
                "c4",
                "customers",
                "conflict",
                "conflict_manual",
                [change("City", "Tromsø", "Bodø", "Narvik")],
                source_id="20",
                target_id="A-20",
                label="Nordlys",
            ),
            row("c5", "customers", "delete", "source_deleted", source_id="21", target_id="A-21", label="Gone"),
            row("c6", "customers", "in_sync", "in_sync", source_id="22", target_id="A-22", label="Same"),
            row(
                "p1",
                "products",
                "reject",
                "invalid_value",
                [change("Code", None, "X1"), change("Description", None, "@SUM(A1)")],
                source_id="P1",
                label="Widget",
                detail="Price: -5 is below 0",
            ),
            row(
                "p2",
                "products",
                "ambiguous",
                "ambiguous_merge",
                [change("Code", None, "IJ-1")],
                source_id="P2",
                label="IJzerhandel",
                detail="candidates: T7, T9",
                candidates=[("T7", "IJzerhandel AS"), ("T9", "IJzerhandel Oslo")],
            ),
            row("d1", "departments", "in_sync", "in_sync", source_id="1", target_id="1", label="Sales"),
            row("d2", "departments", "in_sync", "in_sync", source_id="2", target_id="2", label="Support"),
        ]
    )


def sample_info(**overrides: Any) -> RunInfo:
    values: dict[str, Any] = {
        "run_id": "20240601-020000-ab12",
        "flow": "powerofficego-to-exact",
        "source": "poweroffice",
        "target": "exact",
        "source_title": "PowerOffice Go",
        "target_title": "Exact Online",
        "started_at": datetime(2024, 6, 1, 2, 0, tzinfo=UTC),
        "dry_run": True,
        "plan_hash": "sha256:0123abcd",
        "guards": (),
        "mappings": (
            MappingInfo("departments", "Departments", "Departments", ("Code",)),
            MappingInfo("customers", "Customers", "Accounts", CUSTOMER_FIELDS),
            MappingInfo("products", "Items", "Items", ("Code", "Description", "Price")),
        ),
    }
    values.update(overrides)
    return RunInfo(**values)
