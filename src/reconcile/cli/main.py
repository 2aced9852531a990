"""The command line's entry point and its nightly commands: run, plan, apply, demo.

Exit codes: 0 in sync or all applied; 1 applied with rejects, conflicts or failed writes left for review;
2 usage or configuration error; 3 a guard stopped the run; 4 a system failed (auth, network, limits).
reconcile's own errors are mapped to their codes in one place, :class:`_Commands`; anything else is a bug
and shows its traceback.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from typer.core import TyperGroup

from reconcile.cli.flows import flows_app
from reconcile.cli.options import (
    ConnOpt,
    FirstSyncOpt,
    FlowsArg,
    ForceOpt,
    NoCacheOpt,
    NoWorkbookOpt,
    ReportOpt,
    StateOpt,
    state_dir,
)
from reconcile.cli.progress import ConsoleReporter
from reconcile.cli.records import links_app, runs_app
from reconcile.cli.sandbox import auth_app, sandbox_app
from reconcile.errors import ReconcileError

if TYPE_CHECKING:
    from reconcile.app.nightly import RunResult, RunSettings

# The commands import what they run when they run it (reconcile.app and below): `--help`, `links` or `runs`
# start in a fraction of the time, and a nightly job with real connections never loads the sandbox's emulators.

DEBUG = "debug"
"""The context's meta key that says ``--debug`` was given."""


class _Commands(TyperGroup):
    """The command group, mapping reconcile's errors to their exit codes: the one place that catches them."""

    def invoke(self, ctx: Any) -> Any:  # typer's own Context type is private to it
        try:
            return super().invoke(ctx)
        except ReconcileError as exc:
            if ctx.meta.get(DEBUG):
                raise
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(exc.exit_code) from None


app = typer.Typer(
    name="reconcile",
    cls=_Commands,
    help="Keep business records in sync between systems: plan, review in Excel, apply.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.add_typer(flows_app, name="flows")
app.add_typer(links_app, name="links")
app.add_typer(runs_app, name="runs")
app.add_typer(sandbox_app, name="sandbox")
app.add_typer(auth_app, name="auth")


@app.callback()
def _main(
    ctx: typer.Context,
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks instead of short errors.")] = False,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log each step.")] = False,
) -> None:
    ctx.meta[DEBUG] = debug
    level = logging.INFO if verbose or debug else logging.WARNING
    console = logging.StreamHandler(sys.stderr)
    console.setLevel(level)
    console.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    logging.basicConfig(level=level, handlers=[console])
    # Each run's run.log holds the run at INFO, whatever the console shows (-v).
    logging.getLogger("reconcile").setLevel(logging.INFO)


def _settings(
    state: Path | None,
    report_dir: Path,
    connections: Path | None,
    *,
    dry_run: bool = False,
    force: bool = False,
    first_sync: bool = False,
    no_cache: bool = False,
    no_workbook: bool = False,
) -> RunSettings:
    from reconcile.app.nightly import RunSettings
    from reconcile.app.sandbox import LocalSandbox

    return RunSettings(
        state_dir=state_dir(state),
        report_root=report_dir,
        connections=connections,
        dry_run=dry_run,
        force=force,
        first_sync=first_sync,
        cache=not no_cache,
        workbook=not no_workbook,
        reporter=ConsoleReporter(),
        sandbox=LocalSandbox(),
    )


def _show(result: RunResult) -> None:
    typer.echo(result.summary)
    for message in result.guards:  # a plan's first sync, or guards a run was told to pass (--force)
        typer.echo(f"guard: {message}")
    typer.echo(f"report: {result.report_dir}")


def _run_all(flows: list[Path], settings: RunSettings, debug: bool = False) -> int:
    """Run each flow on its own: one that fails or trips a guard does not stop the others. The exit code is
    the worst of them; with several flows, a last line per flow says which got which."""
    from reconcile.app.nightly import execute

    if len(flows) == 1:  # one flow: its error is the command's (the command group says it)
        result = execute(flows[0], settings)
        _show(result)
        return result.exit_code
    ended: list[tuple[Path, int, str]] = []
    for path in flows:
        try:
            result = execute(path, settings)
        except ReconcileError as exc:
            if debug:
                raise
            typer.echo(f"error: {exc}", err=True)
            ended.append((path, exc.exit_code, str(exc).splitlines()[0]))
            continue
        _show(result)
        ended.append((path, result.exit_code, result.outcome))
    for path, code, words in ended:
        typer.echo(f"{path}: exit {code}: {words}")
    return max(code for _, code, _ in ended)


@app.command()
def run(
    ctx: typer.Context,
    flows: FlowsArg,
    state: StateOpt = None,
    report_dir: ReportOpt = Path("reports"),
    connections: ConnOpt = None,
    force: ForceOpt = False,
    first_sync: FirstSyncOpt = False,
    no_cache: NoCacheOpt = False,
    no_workbook: NoWorkbookOpt = False,
) -> None:
    """The nightly job: plan each flow, apply it, record links and shadows, write the report."""
    settings = _settings(
        state,
        report_dir,
        connections,
        force=force,
        first_sync=first_sync,
        no_cache=no_cache,
        no_workbook=no_workbook,
    )
    raise typer.Exit(_run_all(flows, settings, debug=bool(ctx.meta.get(DEBUG))))


@app.command()
def plan(
    ctx: typer.Context,
    flows: FlowsArg,
    state: StateOpt = None,
    report_dir: ReportOpt = Path("reports"),
    connections: ConnOpt = None,
    no_cache: NoCacheOpt = False,
    no_workbook: NoWorkbookOpt = False,
) -> None:
    """A dry run: plan each flow and write the report and workbook; nothing is written to any system."""
    settings = _settings(state, report_dir, connections, dry_run=True, no_cache=no_cache, no_workbook=no_workbook)
    raise typer.Exit(_run_all(flows, settings, debug=bool(ctx.meta.get(DEBUG))))


@app.command("apply")
def apply_cmd(
    report: Annotated[Path, typer.Argument(help="A run folder from `reconcile plan`, or its plan.xlsx.")],
    state: StateOpt = None,
    report_dir: Annotated[
        Path | None,
        typer.Option("--report-dir", help="Where the apply's run folder goes [default: beside the plan's]."),
    ] = None,
    connections: ConnOpt = None,
    force: ForceOpt = False,
    first_sync: FirstSyncOpt = False,
) -> None:
    """Carry out the decisions of a reviewed workbook: approved writes, settled conflicts, chosen links, deletes.

    The workbook must be the one reconcile wrote (every line is signed with a key kept in the state); only the
    Decision cells are read. The plan is built again, and a decided row whose record changed since is refused as
    stale and shows up in the next plan; the other decisions are carried out. A workbook is applied once. It runs
    from any directory: the state, the connections file and the report directory are those the plan was made
    with (its plan.json records them), unless given.
    """
    from reconcile.app.review import already_applied, apply_review, planned_with, read_review

    # What is not given is taken from where the plan was made, so that apply works from any directory.
    planned = planned_with(report)
    state = state if state is not None else planned.state_dir
    connections = connections if connections is not None else planned.connections
    report_dir = report_dir if report_dir is not None else planned.report_root
    settings = _settings(state, report_dir, connections, force=force, first_sync=first_sync)
    review = read_review(report, settings.state_dir)
    earlier = already_applied(review, settings.state_dir)
    if earlier is not None:
        typer.echo(f"already applied by run {earlier}; nothing written")
        raise typer.Exit(0)
    typer.echo(f"{review.decided} decision{'s' * (review.decided != 1)} in {review.workbook}")
    result = apply_review(review, settings)
    _show(result)
    raise typer.Exit(result.exit_code)


@app.command()
def unlock(
    flow: Annotated[str, typer.Argument(help="The flow's name, as its flow file says it.")],
    state: StateOpt = None,
    force: Annotated[
        bool, typer.Option("--force", help="Release it even though its process is running (its id reused).")
    ] = False,
) -> None:
    """Release a flow's lock that a run which is gone left behind, when it still looks held."""
    from reconcile.state.flowlocks import release
    from reconcile.state.store import read_state

    with read_state(state_dir(state)) as store:
        released = release(store, flow, force=force)
    if not released:
        typer.echo(f"flow {flow} holds no lock")
    for lock in released:
        typer.echo(f"released flow {flow}'s lock {lock.words()}")


@app.command()
def demo(
    flows_dir: Annotated[Path, typer.Option("--flows", help="Folder of flow files.")] = Path("flows"),
    state: Annotated[Path, typer.Option("--state", help="State directory of the demo.")] = Path(".reconcile/demo"),
    report_dir: ReportOpt = Path("reports"),
) -> None:
    """The nightly job end to end on the bundled sandbox: every flow, two nights in a row."""
    from reconcile.app.sandbox import demo_flows, run_demo

    shown = {"night": 0}
    second = {"questions": 0, "problems": 0}

    def on_result(night: int, result: RunResult) -> None:
        if night != shown["night"]:
            shown["night"] = night
            typer.echo(f"\n=== night {night} ===")
        _show(result)
        typer.echo("")
        if night == 2:
            second["questions"] += result.questions
            second["problems"] += result.problems

    unsettled = run_demo(demo_flows(flows_dir), _settings(state, report_dir, None), on_result)
    if unsettled:
        typer.echo("the second night still had writes to do: " + "; ".join(unsettled), err=True)
        raise typer.Exit(1)
    typer.echo(
        f"the second night found every flow in sync; it asks {second['questions']} questions, each a decision for "
        f"a person (listed under each flow), and names {second['problems']} problems of the flows themselves"
    )


def main(argv: Sequence[str] | None = None) -> int:
    """The console entry point: run one command line and return its exit code."""
    os.environ.setdefault("POLARS_MAX_THREADS", "2")
    try:
        app(args=list(argv) if argv is not None else None, prog_name="reconcile")
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    return 0
