"""A run's outcome: the rows that wait for a person, and the outcome in words with its exit code."""

from __future__ import annotations

import polars as pl

from reconcile.app.audit import ReviewReport
from reconcile.model.flow import Flow
from reconcile.model.plan import CHANGES, REVIEW, Action, Outcome


def _n(count: int, noun: str) -> str:
    return f"{count} {noun}" + ("" if count == 1 else "s")


def reported_deletes(flow: Flow, plan: pl.DataFrame) -> pl.DataFrame:
    """The deletes a run only reports (``delete = "report"``): a person decides what becomes of the record."""
    reporting = [m.name for m in flow.mappings if m.delete == "report"]
    return plan.filter(
        (pl.col("action") == Action.DELETE.value)
        & ~pl.col("both_gone")
        & pl.col("mapping").is_in(reporting)
        & pl.col("remembered").is_null()
    )


def questions(flow: Flow, plan: pl.DataFrame) -> pl.DataFrame:
    """The rows that wait for a person's decision: neither settled earlier nor a problem of the flow itself."""
    asked = plan.filter(pl.col("action").is_in(REVIEW) & pl.col("remembered").is_null() & ~pl.col("structural"))
    return pl.concat([asked, reported_deletes(flow, plan)])


def flow_problems(plan: pl.DataFrame) -> pl.DataFrame:
    """mapping, reason, records, detail: the problems of the flow itself (one line each), not of single records."""
    return (
        plan.filter(pl.col("structural"))
        .group_by("mapping", "reason", maintain_order=True)
        .agg(pl.len().alias("records"), pl.col("detail").first())
    )


def run_outcome(flow: Flow, plan: pl.DataFrame, dry_run: bool, applied: int, failed: int) -> tuple[Outcome, str, int]:
    """(code, words, exit code) of a finished run. A reported delete waits for review: it is not "in sync"."""
    review = questions(flow, plan).height
    problems = flow_problems(plan).height
    writes = plan.filter(pl.col("action").is_in(CHANGES) & pl.col("remembered").is_null()).height
    waiting = f"{_n(review, 'row')} {'waits' if review == 1 else 'wait'} for review"
    if problems:
        waiting += f"; {_n(problems, 'problem')} of the flow itself (see the summary)"
        review += problems
    if dry_run:
        return (Outcome.DRY_RUN, f"dry run, nothing written; {_n(writes, 'write')} planned, {waiting}", 0)
    if failed:
        return (Outcome.FAILED_WRITES, f"applied {_n(applied, 'write')}; {failed} failed and {waiting}", 1)
    if review:
        return (Outcome.REVIEW, f"applied {_n(applied, 'write')}; {waiting}", 1)
    differs = plan.filter(pl.col("action") == Action.DIFFERS.value).height
    # A difference left unwritten on purpose is said, never passed off as in sync.
    unwritten = f"; {_n(differs, 'row')} {'differs' if differs == 1 else 'differ'} where nothing is written" * bool(
        differs
    )
    if writes == 0:
        return (Outcome.IN_SYNC, ("nothing to write" if differs else "in sync") + unwritten, 0)
    return (Outcome.APPLIED, f"applied {_n(applied, 'write')}" + unwritten, 0)


def review_outcome(reviewed: ReviewReport) -> tuple[Outcome, str, int]:
    """(code, words, exit code) of an applied review: a decision not carried out asks a person to look again."""
    undone = reviewed.failed + reviewed.stale + reviewed.skipped
    words = f"carried out {reviewed.decided - undone} of {_n(reviewed.decided, 'decision')}"
    words += f" ({_n(reviewed.written, 'write')})"
    for count, what in (
        (reviewed.failed, "failed"),
        (reviewed.skipped, "skipped"),
        (reviewed.stale, "refused as stale (they are in the next plan)"),
    ):
        if count:
            words += f"; {count} {what}"
    if reviewed.failed:
        return Outcome.FAILED_WRITES, words, 1
    return (Outcome.REVIEW, words, 1) if undone else (Outcome.APPLIED, words, 0)
