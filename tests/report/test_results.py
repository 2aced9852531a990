"""The results workbook of an applied review: each decision with what became of it, in words."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl
from openpyxl import load_workbook

from reconcile.report.results import write_results


def fate(row_id: str, status: str, message: str, **values: Any) -> dict[str, Any]:
    return {
        "where": f"sheet 'customers' cell A{len(row_id) + 1}",
        "mapping": "customers",
        "row_id": row_id,
        "action": "update_target",
        "label": values.pop("label", f"Customer {row_id}"),
        "decision": "approve",
        "property": None,
        "target_id": None,
        "status": status,
        "message": message,
        "user": "ann",
        "host": "office-pc",
        "applied_at": datetime(2024, 6, 2, 8, 0, tzinfo=UTC),
        **values,
    }


def test_results_say_what_became_of_each_decision_failures_first(tmp_path: Path) -> None:
    rows = pl.DataFrame(
        [
            fate("c1", "written", "written"),
            fate("c2", "failed", "failed: 400 City is too long (Authorization: Bearer abcdefghijkl123)"),
            fate("c3", "stale", "refused: stale, City changed in the source since the plan"),
            fate("c4", "skipped", "skipped: the record it belongs to was not written"),
            fate("c5", "done", "remembered: not asked again until it changes", decision="keep_target", property="City"),
        ]
    )
    path = write_results(
        tmp_path / "results.xlsx",
        rows,
        plan_run_id="20240601-020000-ab12",
        run_id="20240602-080000-cd34",
        flow="powerofficego-to-exact",
        source_title="PowerOffice Go",
        target_title="Exact Online",
    )
    ws = load_workbook(path)["Results"]
    lines = [[c.value for c in r] for r in ws.iter_rows()]
    facts = {r[0]: r[1] for r in lines[:8] if r[0]}
    assert facts["Applied by run"] == "20240602-080000-cd34"
    assert facts["Plan of run"] == "20240601-020000-ab12"
    assert facts["Applied by"] == "ann on office-pc"
    assert facts["Applied at"] == datetime(2024, 6, 2, 8, 0)
    start = next(i for i, r in enumerate(lines) if r[0] == "Record")
    assert lines[start] == ["Record", "Mapping", "Decided in", "Action", "Decision", "Status", "What happened"]
    table = lines[start + 1 :]
    assert [r[5] for r in table] == ["failed", "refused: stale", "skipped", "written", "done"]
    assert table[0][6] == "failed: 400 City is too long (Authorization: Bearer (hidden))"
    assert table[1][6] == "refused: stale, City changed in the source since the plan"
    assert table[4][4] == "keep Exact Online's value (City)"
    assert table[3][:5] == [
        "Customer c1",
        "customers",
        "sheet 'customers' cell A3",
        "update in Exact Online",
        "approve",
    ]  # the systems named
    counts = {r[0]: r[1] for r in lines[:start] if r[0] in ("Decisions", "failed", "written", "refused: stale")}
    assert counts == {"Decisions": 5, "failed": 1, "refused: stale": 1, "written": 1}
    assert ws.freeze_panes == f"A{start + 2}"
