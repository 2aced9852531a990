"""The plan hash: the same plan hashes alike in any row order; a change a person decides on changes it."""

from __future__ import annotations

import polars as pl

from reconcile.engine.fingerprint import fingerprints
from reconcile.report.runfolder import plan_hash


def _rows(new: str = "Ola") -> pl.DataFrame:
    change = pl.Struct({"property": pl.Utf8, "field": pl.Utf8, "old": pl.Utf8, "new": pl.Utf8, "base": pl.Utf8})
    rows = pl.DataFrame(
        {
            "row_id": ["m:1", "m:2", "m:3"],
            "action": ["update_target", "in_sync", "create"],
            "reason": ["source_changed", "in_sync", "new_in_source"],
            "detail": [None, None, None],
            "changes": [[{"property": "Name", "field": "Name", "old": "Kari", "new": new, "base": "Kari"}], [], []],
            "candidates": [None, None, None],
            "label": ["x", "y", "z"],
        },
        schema_overrides={
            "changes": pl.List(change),
            "candidates": pl.List(pl.Struct({"target_id": pl.Utf8, "label": pl.Utf8})),
            "detail": pl.Utf8,
        },
    )
    return rows.with_columns(fingerprints(rows))


def test_the_same_plan_in_another_order_has_the_same_hash_and_a_changed_value_another() -> None:
    rows = _rows()
    assert plan_hash(rows) == plan_hash(rows.reverse()) == plan_hash(rows.drop("fingerprint"))
    assert plan_hash(rows) == plan_hash(rows.with_columns(pl.lit("renamed").alias("label")))
    assert plan_hash(rows) != plan_hash(_rows(new="Ole"))
    assert plan_hash(rows) != plan_hash(rows.head(2))
