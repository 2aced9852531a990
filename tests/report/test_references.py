"""A reference in the workbook names the record it refers to, never an id of the other system."""

from __future__ import annotations

import polars as pl

from reconcile.model.plan import PLAN_SCHEMA
from reconcile.report.references import shown_references


def _row(
    row_id: str, mapping: str, action: str, source_id: str, label: str, changes: list[dict[str, str | None]]
) -> dict[str, object]:
    return {
        "row_id": row_id,
        "mapping": mapping,
        "action": action,
        "source_id": source_id,
        "label": label,
        "changes": changes,
        "parents": [],
        "both_gone": False,
        "candidates": [],
        "structural": False,
    }


def test_a_reference_is_shown_by_the_label_of_the_record_it_refers_to() -> None:
    plan = pl.DataFrame(
        [
            _row("c|create|233|", "customers", "create", "233", "Martinsen Regnskap AS", []),
            _row("c|in_sync|7|1", "customers", "in_sync", "7", "Iversen Handel AS", []),
            _row(
                "p|update_target|1|5001",
                "projects",
                "update_target",
                "1",
                "P-1",
                [
                    {"property": "customer_id", "field": "customer_id", "old": "7", "new": "233", "base": "7"},
                    {"property": "name", "field": "name", "old": "7", "new": "Bygg", "base": None},
                ],
            ),
            _row(
                "p|create|2|",
                "projects",
                "create",
                "2",
                "P-2",
                [{"property": "customer_id", "field": "customer_id", "old": None, "new": "999", "base": None}],
            ),
        ],
        schema={
            k: PLAN_SCHEMA[k]
            for k in (
                "row_id",
                "mapping",
                "action",
                "source_id",
                "label",
                "changes",
                "parents",
                "both_gone",
                "candidates",
                "structural",
            )
        },
    )
    shown = shown_references(plan, {"projects": {"customer_id": "customers"}})
    update = shown.filter(pl.col("row_id") == "p|update_target|1|5001")["changes"].to_list()[0]
    assert update[0] == {
        "property": "customer_id",
        "field": "customer_id",
        "old": "Iversen Handel AS",
        "new": "Martinsen Regnskap AS",
        "base": "Iversen Handel AS",
    }
    assert update[1]["old"] == "7"  # not a reference: as it was
    unknown = shown.filter(pl.col("row_id") == "p|create|2|")["changes"].to_list()[0]
    assert unknown[0]["new"] == "999"  # a record with no row in the plan keeps its id
    assert shown.select("row_id").equals(plan.select("row_id"))  # every row, in its order
