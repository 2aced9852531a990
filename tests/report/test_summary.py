"""The console summary and the counts for plan.json."""
# ruff: noqa: E501 (the console table is wider than a line of code)

from __future__ import annotations

from textwrap import dedent

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
    "link": 0,
    "move_link": 0,
    "differs": 0,
    "in_sync": 0,
}


def test_render_summary_is_a_fixed_width_table_with_totals_and_outcome() -> None:
    text = render_summary(sample_plan(), flow="powerofficego-to-exact", run_id="r42", outcome="dry run")
    assert text == dedent(
        """\
        flow powerofficego-to-exact, run r42
        mapping      create  upd→target  upd→source  conflict  delete  cannot write  ambiguous  link?  move link  differs  in sync
        -----------  ------  ----------  ----------  --------  ------  ------------  ---------  -----  ---------  -------  -------
        customers         1           1           1         1       1             0          0      0          0        0        1
        products          0           0           0         0       0             1          1      0          0        0        0
        departments       0           0           0         0       0             0          0      0          0        0        2
        -----------  ------  ----------  ----------  --------  ------  ------------  ---------  -----  ---------  -------  -------
        total             1           1           1         1       1             1          1      0          0        0        3
        outcome: dry run
        """
    )


def test_render_summary_is_plain_text() -> None:
    text = render_summary(sample_plan(), flow="f", run_id="r", outcome="applied")
    assert "\x1b" not in text
    assert all(line == line.rstrip() for line in text.splitlines())


def test_render_summary_of_an_empty_plan() -> None:
    text = render_summary(plan_of([]), flow="f", run_id="r", outcome="in sync")
    lines = text.splitlines()
    assert "(the plan is empty)" in lines
    assert lines[-2].split() == ["total", *["0"] * 11]
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


def test_differences_left_unwritten_are_counted_as_differs_never_as_in_sync() -> None:
    """Issue 9, item 11: a forward property edited in the target, a blank kept, has a count of its own."""
    plan = plan_of(
        [
            row("1", "customers", "in_sync", "in_sync"),
            row("2", "customers", "differs", "forward_only", detail="not written: Segment (only flows forward)"),
            row("3", "customers", "differs", "blank_kept"),
        ]
    )
    assert counts_json(plan)["customers"] == {**ALL_ZERO, "in_sync": 1, "differs": 2}
    lines = render_summary(plan, flow="f", run_id="r", outcome="in sync").splitlines()
    header, customers = lines[1].split("  "), lines[3]
    assert [h.strip() for h in header if h.strip()][-2:] == ["differs", "in sync"]
    assert customers.split()[-2:] == ["2", "1"]
