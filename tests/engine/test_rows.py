"""Plan rows: every producer yields the whole plan schema, with defaults for what it does not know."""

from __future__ import annotations

import polars as pl

from reconcile.engine.rows import plan_rows
from reconcile.model.plan import PLAN_SCHEMA, Action, Reason


def test_plan_rows_fill_the_review_columns_with_defaults() -> None:
    frame = pl.DataFrame(
        {"source_id": ["1"], "target_id": [None], "label": ["Ola"]}, schema_overrides={"target_id": pl.Utf8}
    )
    rows = plan_rows(frame, "customers", Action.CREATE, Reason.NEW_IN_SOURCE)
    assert dict(rows.schema) == PLAN_SCHEMA
    r = rows.row(0, named=True)
    assert (r["candidates"], r["structural"], r["remembered"], r["fingerprint"]) == ([], False, None, None)


def test_plan_rows_can_be_marked_structural() -> None:
    frame = pl.DataFrame(
        {"source_id": ["1"], "target_id": [None], "label": ["Ola"]}, schema_overrides={"target_id": pl.Utf8}
    )
    rows = plan_rows(frame, "areas", Action.REJECT, Reason.NO_MERGE_RULE_READ_ONLY, structural=True)
    assert rows["structural"].to_list() == [True]
