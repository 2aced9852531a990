"""``reconcile links`` and ``reconcile runs``: what the state holds, for a person to inspect and export.

They only read: a state that is not there is said to be missing (exit 2), never made.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from reconcile.cli.options import FlowOpt, StateOpt, state_dir
from reconcile.errors import ConfigError

links_app = typer.Typer(help="Inspect and export the links between records.", no_args_is_help=True)
runs_app = typer.Typer(help="Inspect past runs.", no_args_is_help=True)


@links_app.command("list")
def links_list(
    flow: FlowOpt = None,
    state: StateOpt = None,
) -> None:
    """Count the links per flow and mapping."""
    import polars as pl  # when it runs (reconcile.cli.main says why)

    from reconcile.state.store import read_state

    with read_state(state_dir(state)) as store:
        frame = store.export_links(flow)
    if frame.is_empty():
        typer.echo("no links yet")
        return
    table = frame.group_by("flow", "mapping", maintain_order=True).agg(pl.len().alias("links"))
    for f, m, n in table.iter_rows():
        typer.echo(f"{f:<32} {m:<36} {n:>7}")


@links_app.command("export")
def links_export(
    output: Annotated[Path, typer.Argument(help="File to write: .csv, .parquet or .json.")],
    flow: FlowOpt = None,
    state: StateOpt = None,
) -> None:
    """Export every link (flow, mapping, source id, target id, created, last synced)."""
    from reconcile.model.values import formula_safe
    from reconcile.state.store import read_state

    with read_state(state_dir(state)) as store:
        frame = store.export_links(flow)
    suffix = output.suffix.lower()
    if suffix not in (".csv", ".parquet", ".json"):
        raise ConfigError(f"{output}: unknown format {suffix!r}; use .csv, .parquet or .json")
    try:
        if suffix == ".csv":
            # A CSV is opened in a spreadsheet program: no id may become a formula there.
            formula_safe(frame).write_csv(output)
        elif suffix == ".parquet":
            frame.write_parquet(output)
        else:
            frame.write_json(output)
    except OSError as exc:
        raise ConfigError(f"{output}: cannot be written: {exc.strerror or exc}") from exc
    typer.echo(f"{frame.height} links written to {output}")


@runs_app.command("list")
def runs_list(
    flow: FlowOpt = None,
    state: StateOpt = None,
) -> None:
    """List past runs: id, flow, start, outcome."""
    from reconcile.state.reviews import apply_runs
    from reconcile.state.store import read_state

    with read_state(state_dir(state)) as store:
        frame = store.runs(flow)
        applies = apply_runs(store)
    if frame.is_empty():
        typer.echo("no runs yet")
    for run_id, _flow, started, _ended, dry_run, outcome, _folder in frame.iter_rows():
        kind = "plan " if dry_run else ("apply" if run_id in applies else "run  ")
        typer.echo(f"{run_id:<58} {kind} {started}  {outcome or 'unfinished'}")


@runs_app.command("prune")
def runs_prune(
    keep_days: Annotated[
        int, typer.Option("--keep-days", help="Keep the report folders of the runs of the last N days.")
    ],
    flow: FlowOpt = None,
    state: StateOpt = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Say what would be removed; remove nothing.")] = False,
) -> None:
    """Remove the report folders of older runs; the newest run of each flow, and unfinished ones, keep theirs."""
    from datetime import UTC, datetime

    from reconcile.app.retention import prune_runs
    from reconcile.state.store import read_state

    with read_state(state_dir(state)) as store:
        pruned = prune_runs(store, keep_days, datetime.now(UTC), flow, dry_run=dry_run)
    removed = [p for p in pruned if p.kept is None]
    verb = "would remove" if dry_run else "removed"
    for p in pruned:
        typer.echo(f"{verb} {p.folder}" if p.kept is None else f"kept {p.kept}")
    size = sum(p.size for p in removed) / 1e6
    typer.echo(
        f"{verb} {len(removed)} run folder{'s' * (len(removed) != 1)} ({size:.1f} MB) older than {keep_days} days"
    )


@runs_app.command("show")
def runs_show(
    run_id: Annotated[str, typer.Argument(help="A run id from `runs list`.")], state: StateOpt = None
) -> None:
    """Show one run: when, outcome, counts and its report folder."""
    from reconcile.state.reviews import reviews_of
    from reconcile.state.store import read_state

    with read_state(state_dir(state)) as store:
        found = store.run(run_id)
        if found is None:
            raise ConfigError(f"no run {run_id}; `reconcile runs list` shows the runs")
        reviews = reviews_of(store, run_id)
    for key, value in found.items():
        typer.echo(f"{key:<11} {value}")
    for plan_run, apply_run in reviews.iter_rows():
        if apply_run == run_id:
            typer.echo(f"{'review of':<11} {plan_run} (the plan whose workbook this run applied)")
        else:
            typer.echo(f"{'applied by':<11} {apply_run} (the run that applied this plan's workbook)")
