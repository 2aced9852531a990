"""Review: apply exactly the rows a person approved in a run's workbook, and nothing else.

Only the workbook's Decision cells are read; values typed into the sheet are never written. The plan is
built again and must match the workbook's plan (its content hash) exactly, else nothing is applied.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from pathlib import Path

from reconcile.app.nightly import RunResult, RunSettings, execute
from reconcile.errors import ConfigError
from reconcile.model.plan import ReviewDecision
from reconcile.report.decisions import read_decisions, read_plan_hash


@dataclass(frozen=True)
class Review:
    """A reviewed workbook: which rows were approved, of how many, and the plan they belong to."""

    workbook: Path
    flow_file: Path
    plan_hash: str
    approved: frozenset[str]
    rows: int


def read_review(report: Path) -> Review:
    """The review in a run folder of ``reconcile plan`` (or its ``plan.xlsx``)."""
    folder = report if report.is_dir() else report.parent
    workbook = report if report.is_file() else folder / "plan.xlsx"
    summary_file = folder / "plan.json"
    if not summary_file.exists() or not workbook.exists():
        raise ConfigError(f"{report}: not a run folder of `reconcile plan` (no plan.json and plan.xlsx)")
    try:
        summary = json.loads(summary_file.read_text(encoding="utf-8"))
        flow_file = Path(summary["flow_file"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ConfigError(f"{summary_file}: not the plan.json of `reconcile plan` ({exc!r})") from exc
    decisions = read_decisions(workbook)
    approved = frozenset(row for row, decision in decisions.items() if decision is ReviewDecision.APPROVE)
    return Review(workbook, flow_file, read_plan_hash(workbook), approved, len(decisions))


def apply_review(review: Review, settings: RunSettings) -> RunResult:
    """Plan the review's flow again and apply its approved rows, refusing a plan that changed since."""
    return execute(review.flow_file, replace(settings, approved=review.approved, expect_hash=review.plan_hash))
