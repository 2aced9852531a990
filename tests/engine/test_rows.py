"""Plan rows: every producer yields the whole plan schema, with defaults for what it does not know."""

from __future__ import annotations

import polars as pl

from reconcile.engine.rows import plan_rows, row_lists
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


def test_each_row_lists_its_values_in_column_order_as_concat_list_does() -> None:
    frame = pl.DataFrame(
        {
            "a": [{"p": "a1", "v": 1}, None, {"p": "a3", "v": None}],
            "b": [{"p": "b1", "v": 2}, {"p": "b2", "v": 5}, None],
            "c": [{"p": "c1", "v": 3}, {"p": "c2", "v": 6}, {"p": "c3", "v": 9}],
        }
    )
    lists = row_lists(frame, ["a", "b", "c"])
    assert lists.to_list() == [
        [{"p": "a1", "v": 1}, {"p": "b1", "v": 2}, {"p": "c1", "v": 3}],
        [None, {"p": "b2", "v": 5}, {"p": "c2", "v": 6}],
        [{"p": "a3", "v": None}, None, {"p": "c3", "v": 9}],
    ]
    assert lists.equals(frame.select(pl.concat_list("a", "b", "c")).to_series(), check_names=False)
    assert row_lists(frame.clear(), ["a", "b"]).to_list() == []
