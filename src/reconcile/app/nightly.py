"""One run of a flow: load, plan, guard, apply, record, report.

``plan`` (a dry run) stops after the report; ``run`` applies. Each run has an id and a folder under the
report directory holding the snapshots, the plan (Parquet and a JSON summary with a content hash), the
workbook and the log.

Systems without a connection are stood in for by a :class:`Sandbox` the caller passes in settings (the
command line passes the local sandbox, :class:`reconcile.app.sandbox.LocalSandbox`); without one, every system
of a flow needs a connection.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

import polars as pl

from reconcile.app.audit import ReviewReport, finish_review
from reconcile.app.decide import Carried, Reviewed, carry_out
from reconcile.app.locks import writer_locks
from reconcile.app.outcome import flow_problems, questions, review_outcome, run_outcome
from reconcile.app.progress import QuietReporter, Reporter
from reconcile.app.recover import recover_pending
from reconcile.app.snapshots import read_snapshots, readable_part, skipped_words
from reconcile.apply.applier import Applier
from reconcile.config.check import check_flow, raise_on_errors
from reconcile.config.flow import load_flow
from reconcile.engine.build import FlowPlan, build_plan
from reconcile.engine.guards import check_budget, check_first_sync, check_guards, check_shrink
from reconcile.errors import ConfigError, GuardTripped, ReconcileError, SystemFailure
from reconcile.model.clock import Clock, SystemClock
from reconcile.model.flow import Flow
from reconcile.model.plan import CHANGES, Action, Outcome, Status
from reconcile.report.runfolder import write_run_folder
from reconcile.report.summary import counts_json, render_questions, render_summary
from reconcile.state.locks import hold_systems
from reconcile.state.reviews import decided as decided_rows
from reconcile.state.reviews import review_key
from reconcile.state.store import StateStore, open_state
from reconcile.systems.base import System
from reconcile.systems.registry import Closer, Systems
from reconcile.validate import validate_rows

log = logging.getLogger("reconcile")


class Sandbox(Protocol):
    """Stands in for the systems a run has no connection for: emulators with bundled data."""

    def open(self, name: str, systems: Systems, /) -> tuple[System, Closer]:
        """The local stand-in for system ``name`` and what closes it."""
        ...

    def prepare(self, store: StateStore, systems: Systems, flow: Flow) -> None:
        """Ready the state for a flow that runs against stand-ins (the sandbox's previous night, say)."""
        ...


@dataclass(frozen=True)
class RunSettings:
    """Where a run finds its state, writes its reports, and what it may do."""

    state_dir: Path
    report_root: Path
    connections: Path | None = None
    dry_run: bool = False
    force: bool = False
    batch_size: int = 50
    now: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    review: Reviewed | None = None
    """Carry out these decisions of a reviewed workbook, and write nothing else; None applies the whole plan."""
    reporter: Reporter = field(default_factory=QuietReporter)
    cache: bool = True
    """Refresh cached snapshots incrementally where the API allows; False reads everything in full."""
    workbook: bool = True
    """Write the review workbook into the run folder (``--no-workbook``: everything else only)."""
    sandbox: Sandbox | None = None
    """What stands in for systems without a connection; None: every system needs one."""
    first_sync: bool = False
    """The flow's first run may create records in a target that already holds some (``--first-sync``)."""
    lock_wait: float = 4 * 3600.0
    """Seconds a run waits for another run that writes one of its systems to finish."""
    clock: Clock = field(default_factory=SystemClock)
    """What waits for a system's lock."""


@dataclass(frozen=True)
class RunResult:
    run_id: str
    flow: str
    report_dir: Path
    plan: pl.DataFrame
    status: Outcome
    outcome: str
    """The outcome in words, as the summary and ``plan.json`` say it."""
    exit_code: int
    summary: str
    guards: tuple[str, ...] = ()
    questions: int = 0
    """Rows that wait for a person's decision (settled ones and the flow's own problems aside)."""
    problems: int = 0
    """Problems of the flow itself, one per mapping and reason."""
    counts: dict[str, dict[str, int]] = field(default_factory=dict)
    """The plan's rows per mapping and action (:func:`~reconcile.report.summary.counts_json`)."""


def load_checked_flow(path: Path, systems: Systems) -> Flow:
    """A flow file that holds against the systems' catalogues, or a FlowError naming what does not."""
    flow = load_flow(path)
    catalogues = {name: systems.catalogue(name) for name in (flow.source, flow.target)}
    raise_on_errors(check_flow(flow, catalogues))
    return flow


def open_systems(flows_dir: Path, settings: RunSettings) -> Systems:
    """The systems of a run: connections from the settings, the settings' sandbox for the rest."""
    return Systems(
        flows_dir=flows_dir,
        state_dir=settings.state_dir,
        connections=settings.connections,
        cache=settings.cache,
        sandbox=settings.sandbox.open if settings.sandbox is not None else None,
    )


def execute(flow_path: Path, settings: RunSettings) -> RunResult:
    """Run (or with ``dry_run``, plan) one flow end to end; returns what a caller prints and exits with."""
    started = settings.now()
    with open_systems(flow_path.resolve().parent, settings) as systems:
        flow = load_checked_flow(flow_path, systems)
        run_id = f"{started:%Y%m%dT%H%M%S}.{started.microsecond // 1000:03d}-{flow.name}-{secrets.token_hex(2)}"
        report_dir = settings.report_root / run_id
        try:
            report_dir.mkdir(parents=True, exist_ok=True)
            handler = logging.FileHandler(report_dir / "run.log", encoding="utf-8")
        except OSError as exc:
            raise ConfigError(f"{report_dir}: the run's report folder cannot be made: {exc.strerror or exc}") from exc
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
        log.addHandler(handler)
        try:
            with open_state(settings.state_dir) as store:
                if settings.sandbox is not None:
                    settings.sandbox.prepare(store, systems, flow)
                # A run is recorded once it holds its locks: one refused because another run holds them is no
                # failed run of the flow (the refusal is its error and its exit code).
                try:
                    if settings.dry_run:
                        store.start_run(run_id, flow.name, settings.dry_run, str(report_dir))
                        result = _execute(flow, systems, store, settings, run_id, report_dir, started)
                    else:
                        held = hold_systems(
                            writer_locks(flow, systems),
                            run_id,
                            wait=settings.lock_wait,
                            clock=settings.clock,
                            waiting=log.warning,
                        )
                        with store.lock(flow.name, flow.target, run_id), held:
                            store.start_run(run_id, flow.name, settings.dry_run, str(report_dir))
                            try:
                                result = _execute(flow, systems, store, settings, run_id, report_dir, started)
                            finally:
                                # A system that keeps its writes until it is closed settles them under the lock.
                                systems.close()
                except GuardTripped as exc:
                    store.end_run(run_id, Outcome.GUARD, {"error": str(exc)})
                    raise
                except ReconcileError as exc:
                    store.end_run(run_id, Outcome.FAILED, {"error": str(exc)})
                    raise
                store.end_run(run_id, result.status, result.counts)
                return result
        finally:
            log.removeHandler(handler)
            handler.close()


def _execute(
    flow: Flow,
    systems: Systems,
    store: StateStore,
    settings: RunSettings,
    run_id: str,
    report_dir: Path,
    started: datetime,
) -> RunResult:
    loaded = read_snapshots(flow, systems, report_dir / "snapshots", settings.reporter)
    catalogues = {flow.source: systems.catalogue(flow.source), flow.target: systems.catalogue(flow.target)}
    # A read that failed leaves out only the mappings that need it: the rest run, and the outcome says so.
    flow, skipped = readable_part(flow, catalogues, loaded)
    snapshots = loaded.frames
    links = store.links(flow.name)
    check_shrink(flow, snapshots, store.last_counts(flow.name), links, settings.force)
    if not settings.dry_run:
        recover_pending(flow, store, catalogues[flow.target], snapshots)
        links = store.links(flow.name)
    shadows, unlinked, decided = store.shadow_scan(flow.name), store.unlinked(flow.name), decided_rows(store, flow.name)

    def planned(extra_links: pl.DataFrame | None = None, extra_decided: pl.DataFrame | None = None) -> FlowPlan:
        return build_plan(
            flow,
            catalogues,
            snapshots,
            links if extra_links is None else pl.concat([links, extra_links]),
            shadows,
            validate=validate_rows,
            unlinked=unlinked,
            decided=decided if extra_decided is None else pl.concat([decided, extra_decided]),
        )

    plan = planned()
    loaded.kept()  # no plan is written, and nothing applied, from a snapshot the run folder does not hold
    carried: Carried | None = None
    if settings.review is not None:
        carried = carry_out(settings.review.decisions, settings.review.stored, plan, flow, planned)
        plan = carried.plan
    guards = check_guards(flow, plan.rows, snapshots, catalogues)
    budgets = {name: systems.open(name).calls_left() for name in (flow.source, flow.target)}
    guards += check_budget(flow, plan.rows, budgets)
    first = [] if settings.first_sync else check_first_sync(flow, plan.rows, snapshots, catalogues, links)
    if first:
        first.append(
            f"the state {settings.state_dir} holds no links of flow {flow.name}: if the flow has run before, its "
            "state is elsewhere (check --state and the directory the job starts in)"
        )
    # A plan shows a first sync, for a person to look at before saying --first-sync; only a run stops at it.
    overrides = (["--force"] if guards and not settings.force else []) + (
        ["--first-sync"] if first and not settings.dry_run else []
    )
    guards += first
    tripped = bool(overrides)
    rows = plan.rows
    failed = applied = 0
    stopped: str | None = None
    reviewed: ReviewReport | None = None
    if not settings.dry_run and not tripped:
        applier = Applier(
            flow,
            catalogues,
            {flow.source: systems.open(flow.source), flow.target: systems.open(flow.target)},
            store,
            run_id,
            batch_size=settings.batch_size,
            progress=settings.reporter.wrote,
        )
        to_write = plan.rows.filter(pl.col("action").is_in(CHANGES) & pl.col("remembered").is_null())
        if carried is not None:
            to_write = to_write.filter(pl.col("row_id").is_in(sorted(carried.approval.rows)))
        settings.reporter.writing(flow.name, to_write.height)
        try:
            outcomes = applier.apply(plan, carried.approval if carried is not None else None)
        finally:
            settings.reporter.finished()
        failed = outcomes.filter(pl.col("status") == Status.FAILED).height
        applied = outcomes.filter(pl.col("status") == Status.APPLIED).height
        rows = rows.join(
            outcomes.select("row_id", "status", pl.col("error").alias("write_error")), on="row_id", how="left"
        )
        store.record_counts(run_id, flow.name, {k: v.height for k, v in snapshots.items()})
        stopped = applier.stopped
        if carried is not None and settings.review is not None:
            reviewed = finish_review(
                store,
                flow.name,
                run_id,
                report_dir,
                settings.review,
                carried,
                outcomes,
                settings.now(),
                titles=(catalogues[flow.source].title, catalogues[flow.target].title),
            )
    asked = plan.rows.filter(pl.col("action") != Action.IN_SYNC.value)  # what the outcome and summary count
    status, outcome, code = run_outcome(flow, asked, settings.dry_run or tripped, applied, failed)
    if reviewed is not None:
        status, outcome, code = review_outcome(reviewed)
    if skipped:
        status, outcome, code = Outcome.PARTIAL, f"{outcome}; {skipped_words(skipped)}", 4
    if tripped:
        status, outcome = Outcome.GUARD, "stopped by a guard, nothing written"
    if stopped:
        status, outcome = Outcome.FAILED, f"stopped: {stopped}"
    counted = counts_json(plan.rows)
    write_run_folder(
        flow,
        plan,
        rows,
        report_dir,
        run_id,
        started,
        settings.dry_run or tripped,
        guards,
        outcome,
        key=review_key(settings.state_dir),
        catalogues=catalogues,
        workbook=settings.workbook,
        counts=counted,
        state_dir=settings.state_dir,
        connections=settings.connections,
    )
    summary = render_summary(plan.rows, flow=flow.name, run_id=run_id, outcome=outcome, counted=counted)
    if settings.review is None:
        # After a review, the plan it was carried out on still shows what was just decided: the next plan says
        # what waits now.
        remembered = asked.filter(pl.col("remembered").is_not_null()).height
        summary += render_questions(questions(flow, asked), flow_problems(asked), remembered)
    if reviewed is not None:
        summary += "".join(line + "\n" for line in reviewed.lines)
    if stopped:
        raise SystemFailure(flow.target, f"{stopped}\nthe run stopped; the report is in {report_dir}")
    if tripped:
        raise GuardTripped(
            "\n".join(guards)
            + f"\nthe plan is in {report_dir}; run again with {' and '.join(overrides)} to apply it anyway"
        )
    return RunResult(
        run_id,
        flow.name,
        report_dir,
        rows,
        status,
        outcome,
        code,
        summary,
        tuple(guards),
        questions=questions(flow, asked).height,
        problems=flow_problems(asked).height,
        counts=counted,
    )
