"""Faults of the ground a run stands on: a lost or empty state, missing data, two flows at once on one target.

- ``lost-state``: after a clean night the state is deleted, emptied to 0 bytes, or looked for elsewhere (a
  typo in ``--state``, cron starting in another directory). The run must stop before any write: a guard
  (exit 3), the target holding what it would create again, or an error that names the state (exit 2).
  Commands that only read the state never make one. Then the state is put back and the rerun finds
  everything in sync.
- ``missing-data``: an entity file or a system's folder is missing, is named in other letter case, or
  breaks off: an error that names it (exit 2), never an empty snapshot that leads to creates.
- ``two-flows``: two flows that write the same ledger (a folder, or a REST system) run at once, in two
  processes that both read their snapshots before either writes (:func:`.child.meet`): they must serialise
  or write only what they own.
"""

from __future__ import annotations

import contextlib
import io
import shutil
from pathlib import Path
from random import Random

from reconcile.cli.main import main
from reconcile.state.store import STATE_FILE
from tests.faults.crashes import outcome_of, start_child
from tests.faults.oracle import Finding
from tests.faults.trial import Inflicted
from tests.faults.worlds.base import World
from tests.faults.worlds.files import FilesWorld, TwoShopsWorld
from tests.faults.worlds.rest import TwoShopsRestWorld

STOPPED = frozenset({2, 3})
"""A run that must not write: a guard (3), or an error that names the state file (2)."""


def _quietly(argv: list[str]) -> int:
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        return main(argv)


def lost_state(world: World, rng: Random, first: bool) -> Inflicted:
    """The state of a flow that ran last night is gone (see the module docs)."""
    saved = world.save_state()
    how = rng.choice(["deleted", "emptied", "elsewhere"])
    state_dir = world.state_dir
    if how == "deleted":
        shutil.rmtree(world.state_dir)
    elif how == "emptied":
        for suffix in ("-wal", "-shm"):
            (world.state_dir / f"{STATE_FILE}{suffix}").unlink(missing_ok=True)
        (world.state_dir / STATE_FILE).write_bytes(b"")
    else:
        state_dir = world.root / "stat"
    outcomes = [world.run(first_sync=False, state_dir=state_dir)]
    nowhere = world.root / "nowhere"
    for command in (["links", "list"], ["runs", "list"]):
        _quietly([*command, "--state", str(nowhere)])
    made = [Finding("state-made", f"`links list` and `runs list` made a state in {nowhere}")]

    def restore() -> None:
        world.restore_state(saved)

    found = made if (nowhere / STATE_FILE).exists() else []
    return Inflicted(f"the state {how}", outcomes, STOPPED, restore=restore, findings=found)


def missing_data(world: World, rng: Random, first: bool) -> Inflicted:
    """An entity file or folder of a files system is missing, in other case, or cut short."""
    assert isinstance(world, FilesWorld)
    system = rng.choice(["shop", "ledger"])
    folder, moved = world.folder(system), world.folder(f"{system}.moved")
    entity = rng.choice(sorted(p.stem for p in folder.glob("*.json")))
    path, lower = folder / f"{entity}.json", folder / f"{entity.lower()}.json"
    saved = path.read_bytes()
    how = rng.choice(["file missing", "file in other case", "file cut short", "folder missing"])
    if how == "file missing":
        path.unlink()
    elif how == "file in other case":
        path.rename(lower)
    elif how == "file cut short":
        path.write_bytes(saved[: max(1, len(saved) // 2)])
    else:
        folder.rename(moved)

    def restore() -> None:
        if moved.exists():
            shutil.rmtree(folder, ignore_errors=True)  # a folder the faulty run made in its place
            moved.rename(folder)
        lower.unlink(missing_ok=True)
        path.write_bytes(saved)

    outcome = world.run(first_sync=first)
    named = system if how == "folder missing" else entity
    where = f"{system}/{entity}.json" if how != "folder missing" else system
    return Inflicted(f"{where}: {how}", [outcome], frozenset({2}), restore=restore, named=named)


def two_flows(world: World, rng: Random, first: bool) -> Inflicted:
    """Both flows run at once, in two processes that meet at their first write (see the module docs)."""
    assert isinstance(world, TwoShopsWorld | TwoShopsRestWorld)
    _, env = world.child_connections()
    markers = [world.root / "at-write-a", world.root / "at-write-b"]
    target = world.flow().target
    children = []
    for n, flow in enumerate(world.flows):
        meet = [str(markers[n]), str(markers[1 - n])]
        spec: list[dict[str, object]] = [{"system": target, "nth": 1, "effect": "meet", "meet": meet}]
        children.append(start_child(spec, world.cli(flow, first_sync=first), f"child {n}/{rng.random()}", env))
    outcomes = [outcome_of(child) for child in children]
    met = all(Path(m).exists() for m in markers)
    fault = "two flows at once on one target" + (", both at their writes together" if met else "")
    return Inflicted(fault, outcomes, frozenset({0, 1, 2, 3, 4}))
