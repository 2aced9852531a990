"""The audit trail of an applied review: what was decided, by whom, and what became of each decision.

The apply run's folder keeps ``decisions.parquet`` (one row per decided line: the row, the decision, the user
and host that applied it, the time, the status and a message) and ``results.xlsx``, the same in words for the
reviewer. The state remembers what must not be asked again and that this plan's review was applied.
"""

from __future__ import annotations

import getpass
import socket
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import polars as pl

from reconcile.app.decide import Carried, Fate, Reviewed
from reconcile.model.plan import Status
from reconcile.state.reviews import record_review, remember
from reconcile.state.store import StateStore


@dataclass(frozen=True)
class ReviewReport:
    """The review's figures and the lines a person must read on the console."""

    decided: int
    written: int
    failed: int
    stale: int
    skipped: int
    lines: tuple[str, ...]


def who() -> tuple[str, str]:
    """(user, host) of the person applying a review, as far as the machine knows them."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):  # no name for the uid (a container)
        user = "unknown"
    return user, socket.gethostname() or "unknown"


def finish_review(
    store: StateStore,
    flow: str,
    run_id: str,
    report_dir: Path,
    review: Reviewed,
    carried: Carried,
    outcomes: pl.DataFrame,
    applied_at: datetime,
    titles: tuple[str, str] = ("the source", "the target"),
) -> ReviewReport:
    """Record the review in the state and the run folder; returns what the console says of it."""
    user, host = who()
    fates = _fates(carried.fates, outcomes).with_columns(
        pl.lit(user).alias("user"), pl.lit(host).alias("host"), pl.lit(applied_at).alias("applied_at")
    )
    with store.transaction() as db:
        remember(db, flow, carried.remember, run_id, user, host)
        record_review(db, review.plan_run_id, flow, run_id, review.digest)
    fates.write_parquet(report_dir / "decisions.parquet")
    from reconcile.report.results import write_results  # its writer is imported only by a review that needs it

    write_results(
        report_dir / "results.xlsx",
        fates,
        plan_run_id=review.plan_run_id,
        run_id=run_id,
        flow=flow,
        source_title=titles[0],
        target_title=titles[1],
    )
    lines = [
        f"{where}, {label or row_id}: {message}"
        for where, label, row_id, message in fates.filter(
            pl.col("status").is_in([Fate.FAILED.value, Fate.STALE.value, Fate.SKIPPED.value])
        )
        .select("where", "label", "row_id", "message")
        .iter_rows()
    ]
    counts = fates.group_by("status").len()
    by_fate = dict(counts.iter_rows())
    return ReviewReport(
        decided=fates.height,
        written=by_fate.get(Fate.WRITTEN.value, 0),
        failed=by_fate.get(Fate.FAILED.value, 0),
        stale=by_fate.get(Fate.STALE.value, 0),
        skipped=by_fate.get(Fate.SKIPPED.value, 0),
        lines=tuple(lines),
    )


def _fates(fates: pl.DataFrame, outcomes: pl.DataFrame) -> pl.DataFrame:
    """Each decision with its status in words: the outcome of the row carried out for it, or its message."""
    joined = fates.join(
        outcomes.select(pl.col("row_id").alias("carried"), "status", "error").unique("carried", keep="last"),
        on="carried",
        how="left",
    )
    status = (
        pl.when(pl.col("fate").is_not_null())
        .then(pl.col("fate"))
        .when(pl.col("status") == Status.APPLIED.value)
        .then(pl.lit(Fate.WRITTEN.value))
        .when(pl.col("status") == Status.FAILED.value)
        .then(pl.lit(Fate.FAILED.value))
        .when(pl.col("carried").is_not_null())
        .then(pl.lit(Fate.SKIPPED.value))  # skipped by the run, or not sent at all
        .otherwise(pl.lit(Fate.DONE.value))
    )
    message = (
        pl.when(pl.col("status") == Status.APPLIED.value)
        .then(pl.lit("written"))
        .when(pl.col("status") == Status.FAILED.value)
        .then(pl.lit("failed: ") + pl.col("error").fill_null("the system refused the write"))
        .when(pl.col("status") == Status.SKIPPED.value)
        .then(pl.lit("skipped: ") + pl.col("error").fill_null("not sent"))
        .when(pl.col("carried").is_not_null() & pl.col("message").is_null())
        .then(pl.lit("not written: the run wrote nothing for it (see run.log)"))
        .otherwise(pl.col("message"))
    )
    return joined.select(
        "where",
        "mapping",
        "row_id",
        "action",
        "label",
        "decision",
        "property",
        "target_id",
        "carried",
        status.alias("status"),
        message.alias("message"),
    )
