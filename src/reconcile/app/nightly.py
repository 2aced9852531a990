"""One run of a flow: load, plan, guard, apply, record, report.

``plan`` (a dry run) stops after the report; ``run`` applies. Each run has an id and a folder under the
report directory holding the snapshots, the plan (Parquet and a JSON summary with a content hash), the
workbook and the log.
"""

from __future__ import annotations

import hashlib
import json
import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

import polars as pl

from reconcile.apply.applier import Applier
from reconcile.config.check import check_flow, raise_on_errors
from reconcile.config.flow import load_flow
from reconcile.engine.build import FlowPlan, build_plan
from reconcile.engine.guards import check_budget, check_guards, check_shrink
from reconcile.engine.project import project_target
from reconcile.engine.recover import find_created
from reconcile.errors import GuardTripped, PlanMismatch, ReconcileError, SystemFailure
from reconcile.model.catalogue import Entity
from reconcile.model.flow import Flow
from reconcile.model.plan import Action
from reconcile.report.summary import counts_json, render_summary
from reconcile.report.workbook import MappingInfo, RunInfo, write_workbook
from reconcile.sandbox.history import seed_history
from reconcile.sandbox.openers import open_sandbox
from reconcile.state.store import StateStore
from reconcile.systems.registry import Systems
from reconcile.validate import validate_rows

log = logging.getLogger("reconcile")

REVIEW = (Action.CONFLICT.value, Action.REJECT.value, Action.AMBIGUOUS.value)


class Reporter(Protocol):
    """Where a run says how far it is: a progress bar on a terminal, plain lines in a log."""

    def loading(self, system: str, entity: str) -> None: ...
    def loaded(self, system: str, entity: str, records: int) -> None: ...
    def writing(self, flow: str, total: int) -> None: ...
    def wrote(self, count: int) -> None: ...
    def finished(self) -> None: ...


class QuietReporter:
    """Says nothing: for tests and library use."""

    def loading(self, system: str, entity: str) -> None:
        pass

    def loaded(self, system: str, entity: str, records: int) -> None:
        pass

    def writing(self, flow: str, total: int) -> None:
        pass

    def wrote(self, count: int) -> None:
        pass

    def finished(self) -> None:
        pass


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
    approved: frozenset[str] | None = None
    """Apply only these row ids (an approved workbook); None applies the whole plan."""
    expect_hash: str | None = None
    """Refuse to apply unless the plan built now has this hash (the plan the workbook was made from)."""
    reporter: Reporter = field(default_factory=QuietReporter)
    cache: bool = True
    """Refresh cached snapshots incrementally where the API allows; False reads everything in full."""


@dataclass(frozen=True)
class RunResult:
    run_id: str
    flow: str
    report_dir: Path
    plan: pl.DataFrame
    status: str
    """in_sync, applied, review, failed_writes or dry_run."""
    outcome: str
    exit_code: int
    summary: str
    guards: tuple[str, ...] = ()


def load_checked_flow(path: Path, systems: Systems) -> Flow:
    """A flow file that holds against the systems' catalogues, or a FlowError naming what does not."""
    flow = load_flow(path)
    catalogues = {name: systems.catalogue(name) for name in (flow.source, flow.target)}
    raise_on_errors(check_flow(flow, catalogues))
    return flow


def state_store(state_dir: Path) -> StateStore:
    return StateStore(state_dir / "state.db")


def _seed_sandbox_history(store: StateStore, systems: Systems, flow: Flow) -> None:
    """Load the sandbox's previous night once, the first time a sandboxed flow runs on this state."""
    if not (systems.uses_sandbox(flow.source) and systems.uses_sandbox(flow.target)):
        return
    if store.meta("sandbox_history") is not None:
        return
    history = systems.seed_dir / "state.json"
    flows = []
    if history.exists():
        for path in sorted(systems.flows_dir.glob("*.toml")):
            other = load_flow(path)
            if systems.uses_sandbox(other.source) and systems.uses_sandbox(other.target):
                flows.append(other)
        catalogues = {name: systems.catalogue(name) for f in flows for name in (f.source, f.target)}
        count = seed_history(store, history, flows, catalogues)
        log.info("sandbox: loaded the previous night's %d links from %s", count, history)
    with store.transaction() as db:
        store.set_meta(db, "sandbox_history", "loaded")


def _read_snapshots(
    flow: Flow, systems: Systems, folder: Path, reporter: Reporter
) -> dict[tuple[str, str], pl.DataFrame]:
    """Every entity the flow touches, read once, kept as Parquet in the run folder."""
    wanted: dict[tuple[str, str], None] = {}
    for m in flow.mappings:
        for system, name in ((flow.source, m.source), (flow.target, m.target)):
            entity = systems.catalogue(system).entity(name)
            assert entity is not None
            wanted[(system, entity.name)] = None
    snapshots: dict[tuple[str, str], pl.DataFrame] = {}
    folder.mkdir(parents=True, exist_ok=True)
    for system, name in wanted:
        reporter.loading(system, name)
        frame = systems.open(system).read(name)
        reporter.loaded(system, name, frame.height)
        _refuse_duplicate_ids(system, systems.catalogue(system).entity(name), frame)
        snapshots[(system, name)] = frame
        frame.write_parquet(folder / f"{system}.{name.replace(' ', '_')}.parquet")
        log.info("read %s %s: %d records", system, name, frame.height)
    return snapshots


def _refuse_duplicate_ids(system: str, entity: Entity | None, frame: pl.DataFrame) -> None:
    """A snapshot where two records share an id cannot be linked safely: stop, naming the records."""
    if entity is None or entity.key not in frame.columns or frame.is_empty():
        return
    ids = frame.get_column(entity.key).cast(pl.Utf8)
    twice = ids.filter(ids.is_duplicated()).unique().sort()
    if not twice.is_empty():
        shown = ", ".join(twice.head(5).to_list()) + (" ..." if twice.len() > 5 else "")
        raise SystemFailure(
            system,
            f"{entity.name}: {twice.len()} ids occur more than once in the snapshot ({entity.key} = {shown}); "
            "nothing was planned",
        )


def _recover(flow: Flow, store: StateStore, systems: Systems, snapshots: dict[tuple[str, str], pl.DataFrame]) -> None:
    """Resolve the creates a run that died left pending: link what the target already has."""
    pending = store.pending(flow.name)
    if not pending:
        return
    links = store.links(flow.name)
    parent_links = {
        m: links.filter(pl.col("mapping") == m).select("source_id", "target_id") for m in links["mapping"].unique()
    }
    found_total = 0
    target_cat = systems.catalogue(flow.target)
    for mapping in flow.mappings:
        mine = [p for p in pending if p["mapping"] == mapping.name and p["kind"] == "create"]
        if not mine:
            continue
        entity = target_cat.entity(mapping.target)
        assert entity is not None
        wanted = pl.DataFrame(
            [{"source_id": p["source_id"], "property": k, "value": v} for p in mine for k, v in p["payload"].items()],
            schema={"source_id": pl.Utf8, "property": pl.Utf8, "value": pl.Utf8},
        )
        target = project_target(snapshots[(flow.target, entity.name)], mapping, entity, parent_links)
        linked = links.filter(pl.col("mapping") == mapping.name)["target_id"]
        found = find_created(wanted, target, linked)
        found_ids = dict(found.iter_rows())
        with store.transaction() as db:
            store.add_links(db, flow.name, [(mapping.name, s, t) for s, t in found.iter_rows()])
            for p in mine:
                target_id = found_ids.get(p["source_id"])
                if target_id is not None:
                    store.set_shadows(
                        db, flow.name, [(mapping.name, p["source_id"], k, v) for k, v in p["payload"].items()]
                    )
                    store.journal_finish(db, p["id"], "resolved", target_id=target_id)
                else:
                    store.journal_finish(db, p["id"], "failed", error="not found in the target after the run stopped")
        found_total += found.height
        links = store.links(flow.name)
        parent_links[mapping.name] = links.filter(pl.col("mapping") == mapping.name).select("source_id", "target_id")
    log.info("recovered %d of %d writes left pending by a run that stopped", found_total, len(pending))


def _calls_left(systems: Systems, name: str) -> int | None:
    """What the system's API still allows today, for systems that say (Exact's daily limit)."""
    calls_left = getattr(systems.open(name), "calls_left", None)
    return calls_left() if callable(calls_left) else None


def plan_hash(rows: pl.DataFrame) -> str:
    """A content hash of the plan: the same plan gives the same hash, whatever the row order."""
    canonical = rows.sort("row_id").drop("label")
    digest = hashlib.sha256()
    for line in canonical.write_ndjson().splitlines():
        digest.update(line.encode())
    return digest.hexdigest()[:16]


def _n(count: int, noun: str) -> str:
    return f"{count} {noun}" + ("" if count == 1 else "s")


def _outcome(plan: pl.DataFrame, dry_run: bool, applied: int, failed: int) -> tuple[str, str, int]:
    """(code, words, exit code) of a finished run."""
    review = plan.filter(pl.col("action").is_in(REVIEW)).height
    writes = plan.filter(
        pl.col("action").is_in([a.value for a in (Action.CREATE, Action.UPDATE_TARGET, Action.UPDATE_SOURCE)])
    ).height
    waiting = f"{_n(review, 'row')} {'waits' if review == 1 else 'wait'} for review"
    if dry_run:
        return ("dry_run", f"dry run, nothing written; {_n(writes, 'write')} planned, {waiting}", 0)
    if failed:
        return ("failed_writes", f"applied {_n(applied, 'write')}; {failed} failed and {waiting}", 1)
    if review:
        return ("review", f"applied {_n(applied, 'write')}; {waiting}", 1)
    return ("in_sync", "in sync", 0) if writes == 0 else ("applied", f"applied {_n(applied, 'write')}", 0)


def execute(flow_path: Path, settings: RunSettings) -> RunResult:
    """Run (or with ``dry_run``, plan) one flow end to end; returns what a caller prints and exits with."""
    flows_dir = flow_path.resolve().parent
    started = settings.now()
    with Systems(
        flows_dir=flows_dir,
        state_dir=settings.state_dir,
        connections=settings.connections,
        cache=settings.cache,
        sandbox=open_sandbox,
    ) as systems:
        flow = load_checked_flow(flow_path, systems)
        run_id = f"{started:%Y%m%dT%H%M%S}.{started.microsecond // 1000:03d}-{flow.name}-{secrets.token_hex(2)}"
        report_dir = settings.report_root / run_id
        report_dir.mkdir(parents=True, exist_ok=True)
        handler = logging.FileHandler(report_dir / "run.log", encoding="utf-8")
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
        log.addHandler(handler)
        try:
            with state_store(settings.state_dir) as store:
                _seed_sandbox_history(store, systems, flow)
                store.start_run(run_id, flow.name, settings.dry_run, str(report_dir))
                try:
                    if settings.dry_run:
                        result = _execute(flow, systems, store, settings, run_id, report_dir, started)
                    else:
                        with store.lock(flow.name, flow.target, run_id):
                            result = _execute(flow, systems, store, settings, run_id, report_dir, started)
                except GuardTripped as exc:
                    store.end_run(run_id, "guard", {"error": str(exc)})
                    raise
                except ReconcileError as exc:
                    store.end_run(run_id, "failed", {"error": str(exc)})
                    raise
                store.end_run(run_id, result.status, counts_json(result.plan))
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
    snapshots = _read_snapshots(flow, systems, report_dir / "snapshots", settings.reporter)
    links = store.links(flow.name)
    check_shrink(flow, snapshots, store.last_counts(flow.name), links, settings.force)
    if not settings.dry_run:
        _recover(flow, store, systems, snapshots)
        links = store.links(flow.name)
    catalogues = {flow.source: systems.catalogue(flow.source), flow.target: systems.catalogue(flow.target)}
    plan = build_plan(flow, catalogues, snapshots, links, store.shadows(flow.name), validate=validate_rows)
    if settings.expect_hash is not None and plan_hash(plan.rows) != settings.expect_hash:
        raise PlanMismatch(
            f"the systems or the state changed since the workbook's plan {settings.expect_hash} was made "
            f"(the plan is now {plan_hash(plan.rows)}); run `reconcile plan` again and review the new workbook"
        )
    guards = check_guards(flow, plan.rows, snapshots, catalogues)
    budgets = {name: _calls_left(systems, name) for name in (flow.source, flow.target)}
    guards += check_budget(flow, plan.rows, budgets)
    tripped = bool(guards) and not settings.force
    rows = plan.rows
    failed = applied = 0
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
        settings.reporter.writing(
            flow.name, plan.rows.filter(pl.col("action").is_in(["create", "update_target", "update_source"])).height
        )
        try:
            outcomes = applier.apply(plan, approved=set(settings.approved) if settings.approved is not None else None)
        finally:
            settings.reporter.finished()
        failed = outcomes.filter(pl.col("status") == "failed").height
        applied = outcomes.filter(pl.col("status") == "applied").height
        rows = rows.join(
            outcomes.select("row_id", "status", pl.col("error").alias("write_error")), on="row_id", how="left"
        )
        store.record_counts(run_id, flow.name, {k: v.height for k, v in snapshots.items()})
    stopped = applier.stopped if not settings.dry_run and not tripped else None
    status, outcome, code = _outcome(plan.rows, settings.dry_run or tripped, applied, failed)
    if tripped:
        status, outcome = "guard", "stopped by a guard, nothing written"
    if stopped:
        status, outcome = "failed", f"stopped: {stopped}"
    _write_report(flow, plan, rows, report_dir, run_id, started, settings.dry_run or tripped, guards, outcome)
    summary = render_summary(plan.rows, flow=flow.name, run_id=run_id, outcome=outcome)
    if stopped:
        raise SystemFailure(flow.target, f"{stopped}\nthe run stopped; the report is in {report_dir}")
    if tripped:
        raise GuardTripped(
            "\n".join(guards) + f"\nthe plan is in {report_dir}; run again with --force to apply it anyway"
        )
    return RunResult(run_id, flow.name, report_dir, rows, status, outcome, code, summary, tuple(guards))


def _write_report(
    flow: Flow,
    plan: FlowPlan,
    rows: pl.DataFrame,
    report_dir: Path,
    run_id: str,
    started: datetime,
    dry_run: bool,
    guards: list[str],
    outcome: str,
) -> None:
    digest = plan_hash(plan.rows)
    rows.write_parquet(report_dir / "plan.parquet")
    plan.merges.write_parquet(report_dir / "merges.parquet")
    plan.agreed.write_parquet(report_dir / "agreed.parquet")
    summary = {
        "run_id": run_id,
        "flow": flow.name,
        "flow_file": flow.path,
        "source": flow.source,
        "target": flow.target,
        "started_at": started.isoformat(timespec="seconds"),
        "dry_run": dry_run,
        "plan_hash": digest,
        "outcome": outcome,
        "guards": guards,
        "counts": counts_json(plan.rows),
    }
    (report_dir / "plan.json").write_text(json.dumps(summary, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    info = RunInfo(
        run_id=run_id,
        flow=flow.name,
        source=flow.source,
        target=flow.target,
        started_at=started,
        dry_run=dry_run,
        plan_hash=digest,
        guards=tuple(guards),
        mappings=tuple(MappingInfo.of(m) for m in flow.mappings),
    )
    write_workbook(report_dir / "plan.xlsx", plan.rows, info)
