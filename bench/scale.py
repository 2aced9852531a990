"""How ``reconcile plan`` scales on a files-kind flow, against DuckDB's SQL diff of the same files and the floor.

The data (:mod:`bench._scale_world`): two folders of Parquet, one mapping of customers with 16 fields (a key, a
nested address, strings, a date, a datetime, floats, an int and bools). Two cases per size N:

- ``first``: an empty state; 5% of the records only in the source, 5% only in the target, 5% of the shared
  ones changed in 1 to 3 fields; the plan merges on the customer number.
- ``steady``: the state of the night before, made the real way: ``reconcile run --first-sync --force`` on two
  sides that agree (it writes nothing and records N links and 15 N shadow values: its time is ``seed_run_s``),
  then a night's edits (5% changed, half on each side; 5% new on each side; 1% deleted from the source).

Each figure is the median of 3 runs (``BENCH_REPEAT``), each a fresh process, with its wall time and peak
RSS (the child's own, from ``wait4``): ``reconcile plan --no-workbook`` (``plan_s``, ``plan_peak_mib``);
``reconcile -v plan`` with the workbook, whose write the run log times in the process (``workbook_s``: a
difference of two medians of noisy runs would be noisier than the workbook's own time); DuckDB's diff
(:mod:`bench._scale_diff`: creates, deletes and changed cells with old and new values, written to Parquet);
and the floor, a bare Polars full join of the two files on the key. The rounds alternate the four, so that
all see the same machine. The plan's counts must be DuckDB's and the generator's, or the bench fails.

Sizes come from ``BENCH_SIZES`` (default ``100000,1000000``), the cases from ``BENCH_CASES`` (both). A seeding
run that takes more than ``BENCH_SEED_TIMEOUT`` seconds (600) is stopped and the size's steady case skipped,
saying so; any other child has ``BENCH_TIMEOUT`` (3600). It prints one line per size and case::

    bench N=... case=... plan_s=... plan_peak_mib=... workbook_s=... duckdb_s=... duckdb_peak_mib=... floor_s=...

followed by ``time_ratio`` and ``mem_ratio`` (plan against DuckDB), ``with_workbook_s`` and, for the steady
case, ``seed_run_s``. Run with ``python -m bench.scale`` (or ``make bench``).
"""

from __future__ import annotations

import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

from bench._scale_world import Truth, data_file, first_sync, in_sync, night, write_project, write_sides

MAPPING = "customers"
WORKBOOK_LINE = re.compile(r"wrote the workbook \((\d+) rows\) in ([0-9.]+) s")


class ChildTimeout(Exception):
    """A child process ran past its time and was stopped."""


@dataclass(frozen=True)
class Child:
    seconds: float
    peak_mib: float
    out: str
    err: str


def reconcile_command() -> list[str]:
    """The ``reconcile`` console script of this interpreter's environment (what a user runs)."""
    script = Path(sys.executable).with_name("reconcile")
    if script.exists():
        return [str(script)]
    return [sys.executable, "-c", "import sys; from reconcile.cli.main import main; sys.exit(main())"]


def child(argv: list[str], timeout: float, cwd: Path | None = None) -> Child:
    """Run ``argv`` in a fresh process: its wall time and peak RSS; it must exit 0."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        proc = subprocess.Popen(argv, stdout=out, stderr=err, cwd=cwd, start_new_session=True)
        timer = threading.Timer(timeout, proc.kill)
        timer.start()
        try:
            _, status, usage = os.wait4(proc.pid, 0)
        finally:
            timer.cancel()
        seconds = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)  # reaped by wait4: Popen must not wait again
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read().decode(errors="replace"), err.read().decode(errors="replace")
    if seconds >= timeout and proc.returncode < 0:
        raise ChildTimeout(f"{' '.join(argv[:3])} ... stopped after {timeout:.0f} s")
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} exited {proc.returncode}:\n{stdout[-2000:]}\n{stderr[-3000:]}")
    return Child(seconds, usage.ru_maxrss / 1024, stdout, stderr)


def _report_dir(out: str) -> Path:
    return Path([line for line in out.splitlines() if line.startswith("report: ")][-1].removeprefix("report: "))


def plan_counts(folder: Path) -> dict[str, int]:
    """The counts of a run folder's plan (plan.json), and ``cells``: the values its updates change."""
    counts: dict[str, int] = json.loads((folder / "plan.json").read_text(encoding="utf-8"))["counts"][MAPPING]
    rows = pl.read_parquet(folder / "plan.parquet", columns=["action", "changes"])
    updates = rows.filter(pl.col("action").is_in(["update_target", "update_source"]))
    return {**counts, "cells": int(updates["changes"].list.len().sum())}


def check(n: int, case: str, truth: Truth, duck: dict[str, int], plan: dict[str, int]) -> None:
    """The plan, DuckDB and the generator agree, or an AssertionError saying where they do not.

    A 2-way diff sees a target record on no link and of no match (``truth.left_alone``) as a delete; the plan
    leaves it alone. Every update is one record, its changes the cells.
    """
    where = f"N={n} case={case}"
    expected = {
        "creates": truth.source_only,
        "deletes": truth.target_only,
        "cells": truth.changed_cells,
        "changed_records": truth.changed_records,
    }
    assert duck == expected, f"{where}: DuckDB found {duck}, the generator made {expected}"
    found = {
        "creates": plan["create"],
        "deletes": plan["delete"] + truth.left_alone,
        "cells": plan["cells"],
        "changed_records": plan["update_target"] + plan["update_source"],
    }
    assert found == duck, f"{where}: the plan found {found} ({plan}), DuckDB {duck}"
    odd = {
        k: v for k, v in plan.items() if k in ("conflict", "reject", "ambiguous", "link", "move_link", "differs") and v
    }
    assert not odd, f"{where}: the plan has rows the data does not call for: {odd}"


def _median(values: list[float]) -> float:
    return statistics.median(values)


def measure(root: Path, flow: Path, state: Path, case: str, n: int, truth: Truth) -> dict[str, Any]:
    """The medians of each measurement of one case, its counts checked."""
    repeat = int(os.environ.get("BENCH_REPEAT", "3"))
    timeout = float(os.environ.get("BENCH_TIMEOUT", "3600"))
    source, target = data_file(root, "crm"), data_file(root, "ledger")
    yard = [sys.executable, "-m", "bench._scale_diff"]
    bench_root = str(Path(__file__).resolve().parents[1])
    plan = [*reconcile_command(), "-v", "plan", str(flow), "--state", str(state), "--report-dir", str(root / "runs")]
    took: dict[str, list[float]] = {}

    def note(name: str, got: Child) -> Child:
        took.setdefault(f"{name}_s", []).append(got.seconds)
        took.setdefault(f"{name}_peak_mib", []).append(got.peak_mib)
        return got

    duck: dict[str, int] = {}
    counts: dict[str, int] = {}
    for _ in range(repeat):
        got = note(
            "duckdb",
            child([*yard, "duckdb", str(source), str(target), str(root / "duck")], timeout, cwd=Path(bench_root)),
        )
        duck = json.loads(got.out)
        note("floor", child([*yard, "floor", str(source), str(target)], timeout, cwd=Path(bench_root)))
        got = note("plan", child([*plan, "--no-workbook"], timeout))
        folder = _report_dir(got.out)
        counts = plan_counts(folder)
        assert not (folder / "plan.xlsx").exists()
        got = note("with_workbook", child(plan, timeout))
        match = WORKBOOK_LINE.search((_report_dir(got.out) / "run.log").read_text(encoding="utf-8"))
        assert match, f"N={n} case={case}: the run log does not time the workbook"
        took.setdefault("workbook_s", []).append(float(match.group(2)))
    check(n, case, truth, duck, counts)
    return {name: _median(values) for name, values in took.items()}


def line(n: int, case: str, m: dict[str, Any], extra: str = "") -> str:
    return (
        f"bench N={n} case={case} plan_s={m['plan_s']:.2f} plan_peak_mib={m['plan_peak_mib']:.0f} "
        f"workbook_s={m['workbook_s']:.2f} duckdb_s={m['duckdb_s']:.2f} duckdb_peak_mib={m['duckdb_peak_mib']:.0f} "
        f"floor_s={m['floor_s']:.2f} time_ratio={m['plan_s'] / m['duckdb_s']:.1f} "
        f"mem_ratio={m['plan_peak_mib'] / m['duckdb_peak_mib']:.1f} with_workbook_s={m['with_workbook_s']:.2f}{extra}"
    )


def _say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def first_case(n: int, folder: Path) -> str:
    root = folder / "first"
    flow = write_project(root)
    start = time.perf_counter()
    source, target, truth = first_sync(n)
    write_sides(root, source, target)
    del source, target
    _say(f"# N={n} case=first: data made in {time.perf_counter() - start:.1f} s")
    return line(n, "first", measure(root, flow, root / "state", "first", n, truth))


def steady_case(n: int, folder: Path) -> str:
    root = folder / "steady"
    flow = write_project(root)
    state = root / "state"
    source, target = in_sync(n)
    write_sides(root, source, target)
    limit = float(os.environ.get("BENCH_SEED_TIMEOUT", "600"))
    _say(f"# N={n} case=steady: seeding run (reconcile run: links and shadows of {n} records), at most {limit:.0f} s")
    seed_cmd = [*reconcile_command(), "run", str(flow), "--state", str(state), "--report-dir", str(root / "runs")]
    try:
        seeded = child([*seed_cmd, "--first-sync", "--force", "--no-workbook"], limit)
    except ChildTimeout:
        return (
            f"bench N={n} case=steady skipped: the seeding run (reconcile run, which records {n} links and "
            f"{15 * n} shadow values) did not finish in {limit:.0f} s (BENCH_SEED_TIMEOUT)"
        )
    start = time.perf_counter()
    source, target, truth = night(source, target)
    write_sides(root, source, target)
    del source, target
    made = time.perf_counter() - start
    _say(f"# N={n} case=steady: seeded in {seeded.seconds:.1f} s; the night's edits made in {made:.1f} s")
    extra = f" seed_run_s={seeded.seconds:.2f} seed_run_peak_mib={seeded.peak_mib:.0f}"
    return line(n, "steady", measure(root, flow, state, "steady", n, truth), extra)


def sizes() -> list[int]:
    return [int(s) for s in os.environ.get("BENCH_SIZES", "100000,1000000").replace("_", "").split(",") if s.strip()]


CASES = {"first": first_case, "steady": steady_case}


def run() -> str:
    lines: list[str] = []
    chosen = [CASES[name.strip()] for name in os.environ.get("BENCH_CASES", ",".join(CASES)).split(",")]
    for n in sizes():
        for case in chosen:
            with tempfile.TemporaryDirectory(prefix=f"bench-scale-{n}-") as folder:
                lines.append(case(n, Path(folder)))
            print(lines[-1], flush=True)
    return f"{len(lines)} lines above; every plan's counts agree with DuckDB's and the generator's"


if __name__ == "__main__":
    print(run())
