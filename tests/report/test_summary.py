"""The console summary and the counts for plan.json."""

from __future__ import annotations

import polars as pl

from reconcile.report.summary import counts, counts_json, render_summary
from tests.report import plan_of, row, sample_plan

ALL_ZERO = {
    "create": 0,
    "update_target": 0,
    "update_source": 0,
    "conflict": 0,
    "delete": 0,
    "reject": 0,
    "ambiguous": 0,
    "in_sync": 0,
}


def test_render_summary_is_a_fixed_width_table_with_totals_and_outcome() -> None:
    text = render_summary(sample_plan(), flow="powerofficego-to-exact", run_id="r42", outcome="dry run")
    assert text == (
        "flow powerofficego-to-exact, run r42\n"
        "mapping      create  upd→target  upd→source  conflict  delete  reject  ambiguous  in sync\n"
        "-----------  ------  ----------  ----------  --------  ------  ------  ---------  -------\n"
        "customers         1           1           1         1       1       0          0        1\n"
        "products          0           0           0         0       0       1          1        0\n"
        "departments       0           0           0         0       0       0          0        2\n"
        "-----------  ------  ----------  ----------  --------  ------  ------  ---------  -------\n"
        "total             1           1           1         1       1       1          1        3\n"
        "outcome: dry run\n"
    )


def test_render_summary_is_plain_text() -> None:
    text = render_summary(sample_plan(), flow="f", run_id="r", outcome="applied")
    assert "\x1b" not in text
    assert all(line == line.rstrip() for line in text.splitlines())


def test_render_summary_of_an_empty_plan() -> None:
    text = render_summary(plan_of([]), flow="f", run_id="r", outcome="in sync")
    lines = text.splitlines()
    assert "(the plan is empty)" in lines
    assert lines[-2].split() == ["total", "0", "0", "0", "0", "0", "0", "0", "0"]
    assert lines[-1] == "outcome: in sync"


def test_render_summary_shortens_long_mapping_names() -> None:
    plan = plan_of([row("a", "m" * 80, "create", "new_in_source")])
    line = render_summary(plan, flow="f", run_id="r", outcome="o").splitlines()[3]
    assert line.startswith("m" * 39 + "…  ")


def test_counts_lists_mappings_in_plan_order_and_actions_in_display_order() -> None:
    plan = plan_of(
        [
            row("1", "b", "in_sync", "in_sync"),
            row("2", "b", "create", "new_in_source"),
            row("3", "a", "reject", "invalid_value"),
            row("4", "b", "create", "new_in_source"),
        ]
    )
    assert counts(plan).to_dicts() == [
        {"mapping": "b", "action": "create", "count": 2},
        {"mapping": "b", "action": "in_sync", "count": 1},
        {"mapping": "a", "action": "reject", "count": 1},
    ]
    assert counts(plan).schema == pl.Schema({"mapping": pl.Utf8, "action": pl.Utf8, "count": pl.Int64})


def test_counts_json_has_every_action() -> None:
    plan = plan_of([row("1", "b", "create", "new_in_source"), row("2", "a", "delete", "source_deleted")])
    assert counts_json(plan) == {"b": {**ALL_ZERO, "create": 1}, "a": {**ALL_ZERO, "delete": 1}}
    assert list(counts_json(plan)["a"]) == list(ALL_ZERO)
    assert counts_json(plan_of([])) == {}
