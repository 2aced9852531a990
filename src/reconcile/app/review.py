"""Review: carry out exactly what a person decided in a run's workbook, and nothing else.

The workbook is checked against the state's review key first: a line whose id, action or shown values were
changed, or that came from another workbook, refuses the workbook whole, naming the cells. Only the Decision
cells are read; values typed into the sheet are never written. The plan is then built again and each decision
is carried out if its row is still what the reviewer saw (:mod:`reconcile.app.decide`). A workbook is applied
once: applying it again says so and writes nothing.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from pathlib import Path

import polars as pl

from reconcile.app.decide import DECISION_SCHEMA, Reviewed
from reconcile.app.nightly import RunResult, RunSettings, execute
from reconcile.errors import ConfigError
from reconcile.report.decisions import read_review_workbook
from reconcile.state.reviews import applied_by, review_key
from reconcile.state.store import STATE_FILE, read_state


@dataclass(frozen=True)
class Review:
    """A reviewed workbook, checked: its decisions, the plan they were made on, and the flow to run."""

    workbook: Path
    folder: Path
    flow_file: Path
    reviewed: Reviewed

    @property
    def decided(self) -> int:
        return self.reviewed.decisions.height


@dataclass(frozen=True)
class PlannedWith:
    """Where the plan of a run folder was made: its state, its connections file and its report directory, each
    an absolute path (None where the folder does not say, as those of older versions do not)."""

    state_dir: Path | None
    connections: Path | None
    report_root: Path


def planned_with(report: Path) -> PlannedWith:
    """What the run folder ``report`` (or its ``plan.xlsx``) recorded of where its plan was made, so that
    ``apply`` works from any directory; a ConfigError when its ``plan.json`` does not read."""
    folder = (report if report.is_dir() else report.parent).resolve()
    summary_file = folder / "plan.json"
    if not summary_file.exists():  # read_review says what the folder lacks
        return PlannedWith(None, None, folder.parent)
    try:
        summary = json.loads(summary_file.read_text(encoding="utf-8"))
        state, connections = summary.get("state_dir") or None, summary.get("connections") or None
    except (OSError, ValueError, AttributeError) as exc:
        raise ConfigError(f"{summary_file}: not the plan.json of `reconcile plan` ({exc})") from exc
    return PlannedWith(
        Path(state) if isinstance(state, str) else None,
        Path(connections) if isinstance(connections, str) else None,
        folder.parent,
    )


def read_review(report: Path, state_dir: Path) -> Review:
    """The review in a run folder (or its ``plan.xlsx``), checked with the review key of ``state_dir``."""
    folder = report if report.is_dir() else report.parent
    workbook = report if report.is_file() else folder / "plan.xlsx"
    summary_file = folder / "plan.json"
    missing = [f.name for f in (summary_file, workbook, folder / "plan.parquet") if not f.exists()]
    if missing:
        raise ConfigError(f"{report}: not a run folder of `reconcile plan`: it has no {' and no '.join(missing)}")
    try:
        summary = json.loads(summary_file.read_text(encoding="utf-8"))
        flow_file, run_id = Path(summary["flow_file"]), str(summary["run_id"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ConfigError(f"{summary_file}: not the plan.json of `reconcile plan` ({exc!r})") from exc
    try:
        stored = pl.read_parquet(folder / "plan.parquet")
    except (OSError, pl.exceptions.PolarsError) as exc:
        raise ConfigError(f"{folder / 'plan.parquet'}: the plan the workbook shows cannot be read ({exc})") from exc
    read = read_review_workbook(workbook, review_key(state_dir, make=False))
    if not read.decisions:
        raise ConfigError(
            f"{workbook}: no line has a decision: choose one from the Decision drop-down of each line to settle, "
            "save the workbook, and apply it again; nothing was written"
        )
    if read.run_id != run_id:
        raise ConfigError(
            f"{workbook}: the workbook is of run {read.run_id}, but its folder holds run {run_id}; "
            f"apply the folder of run {read.run_id}"
        )
    decisions = pl.DataFrame(
        [
            {
                "row_id": d.row_id,
                "decision": d.decision.value,
                "property": d.property,
                "target_id": d.target_id,
                "where": d.where,
            }
            for d in read.decisions
        ],
        schema=DECISION_SCHEMA,
    )
    return Review(workbook, folder, flow_file, Reviewed(run_id, decisions, stored))


def already_applied(review: Review, state_dir: Path) -> str | None:
    """The run that applied this very review already, if one did: a workbook is applied once.

    The same workbook with other decisions than those carried out is refused: it cannot be applied again,
    and saying "already applied" of it would hide that its new decisions were never carried out.
    """
    if not (state_dir / STATE_FILE).is_file():
        return None
    with read_state(state_dir) as store:
        earlier = applied_by(store, review.reviewed.plan_run_id)
    if earlier is None:
        return None
    run, digest = earlier
    if digest != review.reviewed.digest:
        raise ConfigError(
            f"{review.workbook}: this plan's workbook was applied by run {run}, with other decisions than it "
            "holds now; a workbook is applied once, so the decisions made since were not carried out. Run "
            "`reconcile plan` again and decide on the new workbook"
        )
    return run


def apply_review(review: Review, settings: RunSettings) -> RunResult:
    """Plan the review's flow again and carry out its decisions, row by row."""
    return execute(review.flow_file, replace(settings, review=review.reviewed))
