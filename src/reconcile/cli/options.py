"""The options several commands share, so that each reads and defaults the same everywhere."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

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
NoWorkbookOpt = Annotated[
    bool,
    typer.Option(
        "--no-workbook",
        help="Write the run folder without the review workbook (plan.xlsx): for large plans nobody reviews by hand.",
    ),
]
ForceOpt = Annotated[bool, typer.Option("--force", help="Apply even when a guard trips.")]
FirstSyncOpt = Annotated[
    bool,
    typer.Option(
        "--first-sync",
        help="This is the flow's first run on this state, and its creates are meant even though the target "
        "already holds records (without it such a run stops before writing, exit 3).",
    ),
]
FlowsArg = Annotated[list[Path], typer.Argument(help="Flow files (flows/*.toml).", show_default=False)]
FlowOpt = Annotated[str | None, typer.Option("--flow", help="Only this flow (its name).")]


def state_dir(state: Path | None) -> Path:
    """The state directory given, else the default (``$RECONCILE_STATE`` or ``.reconcile``)."""
    from reconcile.state.store import default_state_dir  # when it runs (reconcile.cli.main says why)

    return state if state is not None else default_state_dir()
