"""Retention: the report folders of old runs are removed, so that a year of nights does not fill the disk.

A run's folder is pruned when the run started more than ``keep_days`` days ago and has ended. Whatever its
age, the newest run of each flow keeps its folder (the last report an operator may need), and so does a run
that never ended (it may still be running, or be the one a person looks into). Only a folder that is the run's
own is removed: its name is the run id and it holds the run's ``run.log`` or ``plan.json``; anything else the
state names (a folder moved, or a path that is now something else) is left alone and said so. The runs stay
in the state: ``runs list`` still shows them.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import polars as pl

from reconcile.errors import ConfigError
from reconcile.state.store import StateStore


@dataclass(frozen=True)
class Pruned:
    """One run's folder: removed (or, in a dry run, to be removed) with its size, or left alone and why."""

    run_id: str
    folder: Path
    size: int
    kept: str | None = None
    """Why the folder was left alone; None when it was (or would be) removed."""


def _size(folder: Path) -> int:
    return sum(f.stat().st_size for f in folder.rglob("*") if f.is_file())


def _own_folder(folder: Path, run_id: str) -> str | None:
    """Why ``folder`` is not the run's own folder to remove, or None when it is."""
    if folder.name != run_id or not folder.is_dir() or folder.is_symlink():
        return f"{folder} is not the run's folder (its name is not the run id)"
    if not ((folder / "run.log").exists() or (folder / "plan.json").exists()):
        return f"{folder} holds no run.log or plan.json"
    return None


def prune_runs(
    store: StateStore, keep_days: int, now: datetime, flow: str | None = None, dry_run: bool = False
) -> list[Pruned]:
    """Remove the report folders of the runs of ``flow`` (of every flow, when None) older than ``keep_days``
    days (see the module docs); with ``dry_run``, only say which. Runs in the order they started."""
    if keep_days < 0:
        raise ConfigError(f"--keep-days {keep_days}: the days to keep cannot be fewer than 0")
    runs = store.runs(flow)
    if runs.is_empty():
        return []
    cutoff = (now - timedelta(days=keep_days)).astimezone(UTC).isoformat(timespec="seconds")  # as runs say it
    newest = set(runs.group_by("flow").agg(pl.col("run_id").last())["run_id"].to_list())
    old = runs.filter(
        (pl.col("started_at") < cutoff)
        & pl.col("ended_at").is_not_null()
        & ~pl.col("run_id").is_in(sorted(newest))
        & pl.col("report_dir").is_not_null()
    )
    pruned: list[Pruned] = []
    for run_id, report_dir in old.select("run_id", "report_dir").iter_rows():
        folder = Path(report_dir)
        if not folder.exists():
            continue  # pruned before, or removed by hand
        why = _own_folder(folder, run_id)
        if why is not None:
            pruned.append(Pruned(run_id, folder, 0, kept=why))
            continue
        size = _size(folder)
        if not dry_run:
            try:
                shutil.rmtree(folder)
            except OSError as exc:
                pruned.append(Pruned(run_id, folder, 0, kept=f"{folder} cannot be removed: {exc.strerror or exc}"))
                continue
        pruned.append(Pruned(run_id, folder, size))
    return pruned
