"""The command line: parse, call the library, render, exit with a code a scheduler can act on.

Exit codes: 0 in sync or all applied; 1 applied with rejects, conflicts or failed writes left for review;
2 usage or configuration error; 3 a guard stopped the run; 4 a system failed (auth, network, limits).
"""

from __future__ import annotations

import functools
import json
import logging
import os
import shutil
import signal
import sys
from collections.abc import Callable
from pathlib import Path
from types import FrameType
from typing import Annotated, Any, TypeVar

import polars as pl
import typer

from reconcile.app.nightly import RunSettings, execute, state_store
from reconcile.config.check import check_flow
from reconcile.config.flow import load_flow
from reconcile.errors import ConfigError, ReconcileError
from reconcile.state.store import default_state_dir
from reconcile.systems.registry import Systems

app = typer.Typer(
    name="reconcile",
    help="Keep business records in sync between systems: plan, review in Excel, apply.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
flows_app = typer.Typer(help="List, check and show flow files.", no_args_is_help=True)
links_app = typer.Typer(help="Inspect and export the links between records.", no_args_is_help=True)
runs_app = typer.Typer(help="Inspect past runs.", no_args_is_help=True)
sandbox_app = typer.Typer(help="The local sandbox: emulated systems with bundled data.", no_args_is_help=True)
app.add_typer(flows_app, name="flows")
app.add_typer(links_app, name="links")
app.add_typer(runs_app, name="runs")
app.add_typer(sandbox_app, name="sandbox")
auth_app = typer.Typer(help="Authorise reconcile with a system that needs a person's consent.", no_args_is_help=True)
app.add_typer(auth_app, name="auth")

StateOpt = Annotated[
    Path | None,
    typer.Option(
        "--state",
        help="State directory (links, journal, sandbox copies). [default: .reconcile]",
        envvar="RECONCILE_STATE",
        show_default=False,
    ),
]
ReportOpt = Annotated[Path, typer.Option("--report-dir", help="Where run folders are written.")]
ConnOpt = Annotated[
    Path | None,
    typer.Option(
        "--connections",
        help="Connections file (TOML); without one every system is its sandbox.",
        envvar="RECONCILE_CONNECTIONS",
        show_default=False,
    ),
]
NoCacheOpt = Annotated[
    bool, typer.Option("--no-cache", help="Read every snapshot in full instead of refreshing the cached one.")
]
FlowsArg = Annotated[list[Path], typer.Argument(help="Flow files (flows/*.toml).", show_default=False)]

_debug = {"on": False}
F = TypeVar("F", bound=Callable[..., Any])


def handled(func: F) -> F:
    """Map reconcile's errors to their exit codes in one place; anything else is a bug and shows a traceback."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except ReconcileError as exc:
            if _debug["on"]:
                raise
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(exc.exit_code) from None

    return wrapper  # type: ignore[return-value]


@app.callback()
def _main(
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks instead of short errors.")] = False,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log each step.")] = False,
) -> None:
    _debug["on"] = debug
    logging.basicConfig(
        level=logging.INFO if verbose or debug else logging.WARNING,
        format="%(asctime)s %(levelname)s %(message)s",
        stream=sys.stderr,
    )


class ConsoleReporter:
    """Progress on the console: bars when a person watches a terminal, plain lines when a scheduler logs."""

    def __init__(self) -> None:
        self.tty = sys.stderr.isatty()
        self._bar: Any = None
        self._task: Any = None
        self._done = 0
        self._total = 0

    def loading(self, system: str, entity: str) -> None:
        if self.tty:
            self._start(f"reading {system} {entity}", None)

    def loaded(self, system: str, entity: str, records: int) -> None:
        self._stop()
        if not self.tty:
            typer.echo(f"read {system} {entity}: {records} records", err=True)

    def writing(self, flow: str, total: int) -> None:
        self._done, self._total = 0, total
        if total and self.tty:
            self._start(f"writing {flow}", total)

    def wrote(self, count: int) -> None:
        self._done += count
        if self._bar is not None:
            self._bar.update(self._task, advance=count)
        elif not self.tty:
            typer.echo(f"wrote {self._done} of {self._total}", err=True)

    def finished(self) -> None:
        self._stop()

    def _start(self, what: str, total: int | None) -> None:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn

        self._stop()
        columns = [SpinnerColumn(), TextColumn("{task.description}")]
        if total is not None:
            columns += [BarColumn(), MofNCompleteColumn()]
        self._bar = Progress(*columns, transient=True)
        self._bar.start()
        self._task = self._bar.add_task(what, total=total)

    def _stop(self) -> None:
        if self._bar is not None:
            self._bar.stop()
            self._bar = None


def _state(state: Path | None) -> Path:
    return state if state is not None else default_state_dir()


def _settings(
    state: Path | None, report_dir: Path, connections: Path | None, dry_run: bool, force: bool, no_cache: bool
) -> RunSettings:
    return RunSettings(
        cache=not no_cache,
        state_dir=_state(state),
        report_root=report_dir,
        connections=connections,
        dry_run=dry_run,
        force=force,
        reporter=ConsoleReporter(),
    )


def _run_all(flows: list[Path], settings: RunSettings) -> int:
    worst = 0
    for path in flows:
        result = execute(path, settings)
        typer.echo(result.summary)
        typer.echo(f"report: {result.report_dir}")
        worst = max(worst, result.exit_code)
    return worst


@app.command()
@handled
def run(
    flows: FlowsArg,
    state: StateOpt = None,
    report_dir: ReportOpt = Path("reports"),
    connections: ConnOpt = None,
    force: Annotated[bool, typer.Option("--force", help="Apply even when a guard trips.")] = False,
    no_cache: NoCacheOpt = False,
) -> None:
    """The nightly job: plan each flow, apply it, record links and shadows, write the report."""
    raise typer.Exit(_run_all(flows, _settings(state, report_dir, connections, False, force, no_cache)))


@app.command()
@handled
def plan(
    flows: FlowsArg,
    state: StateOpt = None,
    report_dir: ReportOpt = Path("reports"),
    connections: ConnOpt = None,
    no_cache: NoCacheOpt = False,
) -> None:
    """A dry run: plan each flow and write the report and workbook; nothing is written to any system."""
    raise typer.Exit(_run_all(flows, _settings(state, report_dir, connections, True, False, no_cache)))


@app.command("apply")
@handled
def apply_cmd(
    report: Annotated[Path, typer.Argument(help="A run folder from `reconcile plan`, or its plan.xlsx.")],
    state: StateOpt = None,
    report_dir: ReportOpt = Path("reports"),
    connections: ConnOpt = None,
    force: Annotated[bool, typer.Option("--force", help="Apply even when a guard trips.")] = False,
) -> None:
    """Apply the rows approved in a reviewed workbook (Decision = approve); nothing else is written.

    Only the Decision column is read; values typed into the sheet are never written. The plan is built again
    and must match the workbook's plan exactly, else nothing is applied and you are asked to plan again.
    """
    from reconcile.report.decisions import read_decisions, read_plan_hash

    folder = report if report.is_dir() else report.parent
    workbook = report if report.is_file() else folder / "plan.xlsx"
    summary_file = folder / "plan.json"
    if not summary_file.exists() or not workbook.exists():
        raise ConfigError(f"{report}: not a run folder of `reconcile plan` (no plan.json and plan.xlsx)")
    summary = json.loads(summary_file.read_text(encoding="utf-8"))
    decisions = read_decisions(workbook)
    approved = frozenset(row for row, decision in decisions.items() if decision == "approve")
    settings = RunSettings(
        state_dir=_state(state),
        report_root=report_dir,
        connections=connections,
        force=force,
        approved=approved,
        expect_hash=read_plan_hash(workbook),
        reporter=ConsoleReporter(),
    )
    typer.echo(f"{len(approved)} rows approved of {len(decisions)} in {workbook}")
    raise typer.Exit(_run_all([Path(summary["flow_file"])], settings))


@auth_app.command("exact")
@handled
def auth_exact(
    connections: ConnOpt = None,
    refresh_token: Annotated[
        str | None, typer.Option("--refresh-token", help="Store this refresh token instead of asking for a code.")
    ] = None,
    code: Annotated[str | None, typer.Option("--code", help="The code from the redirect, if you have it.")] = None,
) -> None:
    """Authorise reconcile with Exact Online: open the printed URL, then paste the code it redirects with.

    The tokens go to the connection's token_file; the refresh token rotates on every use and is written
    back atomically, so keep that file where only the nightly job can read it.
    """
    from reconcile.config.connections import load_connections
    from reconcile.systems.exact.auth import authorization_url, exchange_code, store_refresh_token

    conn = load_connections(connections).get("exact")
    if conn is None:
        raise ConfigError("no [exact] table in the connections file (--connections or RECONCILE_CONNECTIONS)")
    if refresh_token:
        store_refresh_token(conn, refresh_token)
        typer.echo(f"refresh token stored in {conn['token_file']}")
        return
    if code is None:
        typer.echo("Open this address, log in and allow access:\n")
        typer.echo(authorization_url(conn))
        code = typer.prompt("\nThen paste the code from the address Exact redirects you to")
    exchange_code(conn, code)
    typer.echo(f"authorised; tokens stored in {conn['token_file']}")


# -- flows -------------------------------------------------------------------------------------------------


def _flow_files(paths: list[Path]) -> list[Path]:
    files: list[Path] = []
    for p in paths:
        files.extend(sorted(p.glob("*.toml")) if p.is_dir() else [p])
    return files


@flows_app.command("list")
@handled
def flows_list(folder: Annotated[Path, typer.Argument(help="Folder of flow files.")] = Path("flows")) -> None:
    """List the flows in a folder: name, source -> target, mappings."""
    for path in _flow_files([folder]):
        flow = load_flow(path)
        typer.echo(f"{flow.name:<32} {flow.source} -> {flow.target}  ({len(flow.mappings)} mappings)  {path}")


@flows_app.command("check")
@handled
def flows_check(flows: FlowsArg) -> None:
    """Hold flows against the systems' catalogues: errors exit 2, warnings are printed."""
    errors = 0
    for path in _flow_files(flows):
        try:
            flow = load_flow(path)
        except ConfigError as exc:
            typer.echo(str(exc), err=True)
            errors += 1
            continue
        systems = Systems(flows_dir=path.resolve().parent, state_dir=default_state_dir())
        try:
            catalogues = {name: systems.catalogue(name) for name in (flow.source, flow.target)}
        except ConfigError as exc:
            typer.echo(f"{path}: {exc}", err=True)
            errors += 1
            continue
        findings = check_flow(flow, catalogues)
        for finding in findings:
            typer.echo(f"{finding.level}: {finding}", err=finding.level == "error")
        bad = sum(1 for f in findings if f.level == "error")
        errors += bad
        if not bad:
            warnings = sum(1 for f in findings if f.level == "warning")
            typer.echo(f"ok: {path} ({len(flow.mappings)} mappings, {warnings} warnings)")
    if errors:
        raise typer.Exit(2)


@flows_app.command("show")
@handled
def flows_show(flow_path: Annotated[Path, typer.Argument(help="A flow file.")]) -> None:
    """Show a flow's mappings, merge rules, properties and policies."""
    flow = load_flow(flow_path)
    typer.echo(f"{flow.name}: {flow.source} -> {flow.target}")
    if flow.description:
        typer.echo(flow.description.strip())
    for m in flow.mappings:
        merge = " or ".join(" and ".join(f"{s} = {t}" for s, t in c) for c in m.merge) or "-"
        typer.echo(
            f"\n[{m.name}] {m.source} -> {m.target}   merge: {merge}   conflict: {m.conflict}   delete: {m.delete}"
        )
        for p in m.properties:
            left = p.source if p.source is not None else f"= {p.value!r}"
            extra = "".join([f"  ref {p.ref}" if p.ref else "", "  (forward only)" if p.direction == "forward" else ""])
            typer.echo(f"    {left} -> {p.target} ({p.type}){extra}")


@flows_app.command("doc")
@handled
def flows_doc(
    flow_path: Annotated[Path, typer.Argument(help="A flow file.")],
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write the Markdown here.")] = None,
) -> None:
    """Write a flow's documentation: a Markdown checklist of its mappings, values, policies and warnings."""
    from reconcile.report.checklist import flow_doc

    flow = load_flow(flow_path)
    systems = Systems(flows_dir=flow_path.resolve().parent, state_dir=default_state_dir())
    text = flow_doc(flow, {name: systems.catalogue(name) for name in (flow.source, flow.target)})
    if output is None:
        typer.echo(text)
    else:
        output.write_text(text, encoding="utf-8")
        typer.echo(f"written: {output}")


# -- links and runs ----------------------------------------------------------------------------------------


@links_app.command("list")
@handled
def links_list(
    flow: Annotated[str | None, typer.Option("--flow", help="Only this flow (its name).")] = None,
    state: StateOpt = None,
) -> None:
    """Count the links per flow and mapping."""
    with state_store(_state(state)) as store:
        frame = store.export_links(flow)
    if frame.is_empty():
        typer.echo("no links yet")
        return
    table = frame.group_by("flow", "mapping", maintain_order=True).agg(pl.len().alias("links"))
    for f, m, n in table.iter_rows():
        typer.echo(f"{f:<32} {m:<36} {n:>7}")


@links_app.command("export")
@handled
def links_export(
    output: Annotated[Path, typer.Argument(help="File to write: .csv, .parquet or .json.")],
    flow: Annotated[str | None, typer.Option("--flow", help="Only this flow (its name).")] = None,
    state: StateOpt = None,
) -> None:
    """Export every link (flow, mapping, source id, target id, created, last synced)."""
    with state_store(_state(state)) as store:
        frame = store.export_links(flow)
    suffix = output.suffix.lower()
    if suffix == ".csv":
        frame.write_csv(output)
    elif suffix == ".parquet":
        frame.write_parquet(output)
    elif suffix == ".json":
        frame.write_json(output)
    else:
        raise ConfigError(f"{output}: unknown format {suffix!r}; use .csv, .parquet or .json")
    typer.echo(f"{frame.height} links written to {output}")


@runs_app.command("list")
@handled
def runs_list(
    flow: Annotated[str | None, typer.Option("--flow", help="Only this flow (its name).")] = None,
    state: StateOpt = None,
) -> None:
    """List past runs: id, flow, start, outcome."""
    with state_store(_state(state)) as store:
        frame = store.runs(flow)
    if frame.is_empty():
        typer.echo("no runs yet")
    for run_id, _flow, started, _ended, dry_run, outcome, _folder in frame.iter_rows():
        kind = "plan" if dry_run else "run "
        typer.echo(f"{run_id:<58} {kind} {started}  {outcome or 'unfinished'}")


@runs_app.command("show")
@handled
def runs_show(
    run_id: Annotated[str, typer.Argument(help="A run id from `runs list`.")], state: StateOpt = None
) -> None:
    """Show one run: when, outcome, counts and its report folder."""
    with state_store(_state(state)) as store:
        found = store.run(run_id)
    if found is None:
        raise ConfigError(f"no run {run_id}; `reconcile runs list` shows the runs")
    for key, value in found.items():
        typer.echo(f"{key:<11} {value}")


# -- sandbox and demo --------------------------------------------------------------------------------------


@sandbox_app.command("reset")
@handled
def sandbox_reset(state: StateOpt = None) -> None:
    """Start the sandbox over: forget its copies of the systems and the state that goes with them."""
    folder = _state(state)
    with state_store(folder) as store:
        real = store.meta("sandbox_history") is None and not store.runs().is_empty()
    if real:
        raise ConfigError(f"{folder} holds the state of flows that ran against real systems; not resetting it")
    shutil.rmtree(folder / "sandbox", ignore_errors=True)
    shutil.rmtree(folder / "cache", ignore_errors=True)
    for name in ("state.db", "state.db-wal", "state.db-shm"):
        (folder / name).unlink(missing_ok=True)
    typer.echo(f"sandbox reset: {folder}")


@sandbox_app.command("serve")
@handled
def sandbox_serve(
    state: StateOpt = None,
    flows_dir: Annotated[Path, typer.Option("--flows", help="Folder of flow files.")] = Path("flows"),
) -> None:
    """Serve the emulators of every system on localhost until Ctrl-C.

    Exact Online, PowerOffice Go, and each REST system described in the flows folder's systems/ (the generic
    emulator serving its system file). Prints their addresses and writes a connections file that points at
    them, so the real connectors can be tried by hand (`reconcile plan --connections FILE ...`). They hold the
    sandbox's current state.
    """
    import time

    from reconcile.sandbox.serve import serve_rest_sandbox, serve_sandboxes

    systems = Systems(flows_dir=flows_dir, state_dir=_state(state))
    connections, env, stop_builtin = serve_sandboxes(systems.sandbox_copy("exact"), systems.sandbox_copy("poweroffice"))
    closers = [stop_builtin]
    try:
        for file in sorted((flows_dir / "systems").glob("*.toml")):
            spec = systems.system_spec(file.stem)
            if spec.kind == "rest" and (systems.seed_dir / file.stem).is_dir():
                table, secrets, stop = serve_rest_sandbox(spec, systems.sandbox_copy(file.stem))
                closers.append(stop)
                connections += "\n" + table
                env.update(secrets)
    except BaseException:
        for stop in reversed(closers):
            stop()
        raise

    def close() -> None:
        for stop in reversed(closers):
            stop()

    path = _state(state) / "sandbox" / "connections.toml"
    path.write_text(connections, encoding="utf-8")
    typer.echo(connections)
    typer.echo(f"connections file: {path}\nthe keys it names (the sandbox's own, public):")
    for name, value in env.items():
        typer.echo(f"  export {name}={value}")
    typer.echo("\nserving; Ctrl-C stops the emulators and saves their state")

    def interrupt(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, interrupt)  # a service manager's stop saves the state too
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        close()


DEMO_ORDER = (
    "powerofficego-to-exact",
    "custom-webshop-to-exact",
    "customcrm-to-exact",
    "exact-online-to-custom-pms",
    "custom-erp-to-custom-pms",
)
"""Flows that write Exact run before the flow that reads it, so the second night finds all in sync."""


@app.command()
@handled
def demo(
    flows_dir: Annotated[Path, typer.Option("--flows", help="Folder of flow files.")] = Path("flows"),
    state: Annotated[Path, typer.Option("--state", help="State directory of the demo.")] = Path(".reconcile/demo"),
    report_dir: ReportOpt = Path("reports"),
) -> None:
    """The nightly job end to end on the bundled sandbox: every flow, two nights in a row."""
    shutil.rmtree(state, ignore_errors=True)
    paths = {load_flow(p).name: p for p in sorted(flows_dir.glob("*.toml"))}
    ordered = [paths[n] for n in DEMO_ORDER if n in paths] + [p for n, p in paths.items() if n not in DEMO_ORDER]
    settings = RunSettings(state_dir=state, report_root=report_dir, reporter=ConsoleReporter())
    second: list[tuple[str, pl.DataFrame]] = []
    for night in (1, 2):
        typer.echo(f"\n=== night {night} ===")
        for path in ordered:
            result = execute(path, settings)
            typer.echo(result.summary)
            typer.echo(f"report: {result.report_dir}\n")
            if night == 2:
                second.append((result.flow, result.plan))
    left = [
        (flow, frame.filter(pl.col("action").is_in(["create", "update_target", "update_source"])).height)
        for flow, frame in second
    ]
    unsettled = [f"{flow}: {n} writes" for flow, n in left if n]
    if unsettled:
        typer.echo("the second night still had writes to do: " + "; ".join(unsettled), err=True)
        raise typer.Exit(1)
    typer.echo("the second night found every flow in sync, apart from what waits for review")


def main() -> None:
    """Console entry point."""
    os.environ.setdefault("POLARS_MAX_THREADS", "2")
    app()
