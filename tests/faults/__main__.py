"""``python -m tests.faults``: the fault-injection suite (``make faults``), or one trial replayed.

    python -m tests.faults                          560 trials, spread evenly over every kind
    python -m tests.faults --trials 100 --jobs 2    fewer trials, two processes
    python -m tests.faults --kind lost-state        one kind only
    python -m tests.faults --kind lost-state --seed 7 --keep /tmp/world   one trial, its folder kept
    python -m tests.faults --markdown               the table for the README's "Faults" section too

Each violation is printed as it is found, with the command that replays it; at the end, one line per kind
with its trials and violations (a trial with at least one finding is a violation). The exit status is 1
when any trial broke an invariant.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
from collections import Counter
from collections.abc import Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from tests.faults.kinds import KINDS
from tests.faults.trial import Trial, run_trial

DEFAULT_TRIALS = 560


def plan_trials(kinds: list[str], trials: int, start: int) -> list[tuple[str, int]]:
    """(kind, seed) pairs: ``trials`` spread evenly over ``kinds``, seeds counting up from ``start``."""
    each = -(-trials // len(kinds))
    return [(kind, start + n) for n in range(each) for kind in kinds]


def one(job: tuple[str, int]) -> Trial:
    kind, seed = job
    return run_trial(KINDS[kind], seed)


def run_all(jobs: list[tuple[str, int]], workers: int) -> Iterator[Trial]:
    if workers <= 1:
        yield from map(one, jobs)
        return
    with ProcessPoolExecutor(max_workers=workers) as pool:
        yield from pool.map(one, jobs, chunksize=1)


def table(trials: Iterable[Trial]) -> list[str]:
    """One line per kind: trials, violations, and what broke (finding codes with their counts)."""
    by_kind: dict[str, list[Trial]] = {}
    for trial in trials:
        by_kind.setdefault(trial.kind, []).append(trial)
    width = max([len(k) for k in by_kind] + [5])
    lines = [f"{'kind':<{width}}  trials  violations  what broke"]
    total = broken = 0
    for kind in [k for k in KINDS if k in by_kind]:
        done = by_kind[kind]
        bad = [t for t in done if t.findings]
        codes = Counter(f.code for t in bad for f in t.findings)
        what = ", ".join(f"{code} x{n}" for code, n in sorted(codes.items()))
        lines.append(f"{kind:<{width}}  {len(done):>6}  {len(bad):>10}  {what}".rstrip())
        total, broken = total + len(done), broken + len(bad)
    lines.append(f"{'total':<{width}}  {total:>6}  {broken:>10}")
    return lines


def markdown(trials: Iterable[Trial]) -> list[str]:
    """The table of :func:`table` as the README holds it: kind, fault, worlds, trials, violations."""
    done = list(trials)
    lines = ["| kind | fault | worlds | trials | violations |", "|---|---|---|---|---|"]
    for name, kind in KINDS.items():
        mine = [t for t in done if t.kind == name]
        if mine:
            worlds = ", ".join(dict.fromkeys(w.name for w in kind.worlds))
            bad = sum(1 for t in mine if t.findings)
            lines.append(f"| {name} | {kind.about} | {worlds} | {len(mine)} | {bad} |")
    total, bad = len(done), sum(1 for t in done if t.findings)
    lines.append(f"| **total** | | | **{total}** | **{bad}** |")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.faults", description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=DEFAULT_TRIALS, help="trials in all, spread over the kinds")
    parser.add_argument("--kind", action="append", choices=sorted(KINDS), help="only this kind (repeatable)")
    parser.add_argument("--seed", type=int, help="replay this one seed (of each --kind)")
    parser.add_argument("--start", type=int, default=0, help="the first seed of a suite")
    parser.add_argument("--jobs", type=int, default=min(2, os.cpu_count() or 1), help="processes to run trials in")
    parser.add_argument("--keep", type=Path, help="keep the world of a replayed trial in this folder")
    parser.add_argument("-v", "--verbose", action="store_true", help="a line for every trial, not only the broken")
    parser.add_argument("--markdown", action="store_true", help="the table as the README holds it, too")
    args = parser.parse_args(argv)
    logging.getLogger().addHandler(logging.NullHandler())  # the runs' warnings are in their run folders
    kinds = args.kind or list(KINDS)
    if args.seed is not None:
        trials = [run_trial(KINDS[k], args.seed, root=args.keep) for k in kinds]
        for trial in trials:
            print(f"{trial.kind} seed={trial.seed} world={trial.world} ({', '.join(trial.features) or 'plain'})")
            print(f"  fault: {trial.fault}  [{trial.seconds:.1f} s]")
            for finding in trial.findings:
                print(f"  {finding}")
            print("  no violation" if not trial.findings else "")
        return 1 if any(t.findings for t in trials) else 0
    started = time.perf_counter()
    done: list[Trial] = []
    for trial in run_all(plan_trials(kinds, args.trials, args.start), args.jobs):
        done.append(trial)
        if args.verbose:
            print(f"{trial.kind} seed={trial.seed} {trial.world}: {trial.fault} [{trial.seconds:.1f} s]", flush=True)
        for line in trial.lines():
            print(line, flush=True)
    print()
    print("\n".join(table(done)))
    if args.markdown:
        print()
        print("\n".join(markdown(done)))
    print(f"{len(done)} trials in {time.perf_counter() - started:.0f} s")
    return 1 if any(t.findings for t in done) else 0


if __name__ == "__main__":
    if os.environ.get("PYTHONHASHSEED") != "0":
        # One order of sets and dicts of text in every run, so that a replay walks the same paths.
        os.execve(
            sys.executable, [sys.executable, "-m", "tests.faults", *sys.argv[1:]], {**os.environ, "PYTHONHASHSEED": "0"}
        )
    sys.exit(main())
