"""What every world offers a trial: its project folder, runs of its flows, its records, and edits people make.

A world is a project as a user holds it (``flows/``, ``flows/systems/``, a connections file, a state
directory, a report folder) under a trial's temporary root. :meth:`World.run` runs one flow in this process
through :func:`reconcile.app.nightly.execute` and turns what happened into a :class:`RunOutcome` the way the
command line does (reconcile's errors become their exit codes; anything else is a crash, a traceback).
:meth:`World.records` reads every entity the flows touch through clean connectors, for the oracle.
"""

from __future__ import annotations

import shutil
import traceback
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, fields
from pathlib import Path
from random import Random
from typing import Any, ClassVar

import polars as pl

from reconcile.app.nightly import RunSettings, Sandbox, execute
from reconcile.config.flow import load_flow
from reconcile.errors import ReconcileError
from reconcile.model.clock import FakeClock
from reconcile.model.flow import Flow
from reconcile.model.values import flatten_record, key_text
from reconcile.systems.base import WriteKind, WriteOp
from reconcile.systems.registry import Systems
from tests.faults.inject import DEATH, Killed

KILLED = -9
"""The outcome of a run that a fault killed."""
CRASHED = -1
"""The outcome of a run that ended in a traceback."""

Records = dict[tuple[str, str], dict[str, dict[str, Any]]]
"""(system, entity) -> record id -> the record, flat with dotted names."""


@dataclass(frozen=True)
class RunOutcome:
    """How one run ended: its exit code (or :data:`KILLED`, :data:`CRASHED`), and the error it said."""

    code: int
    error: str = ""
    crash: str = ""
    """The traceback of an error that was not one of reconcile's."""
    plan: pl.DataFrame | None = field(default=None, compare=False)
    """The plan of a run that finished."""

    def __str__(self) -> str:
        words = {KILLED: "killed", CRASHED: "crashed"}.get(self.code, f"exit {self.code}")
        said = (self.crash.strip().splitlines() or [""])[-1] if self.crash else (self.error.splitlines() or [""])[0]
        return f"{words} ({said})" if said else words


@dataclass(frozen=True)
class Edit:
    """A change a person made in one system between two nights: after the next sync it must still hold."""

    system: str
    entity: str
    key: str
    field: str
    value: Any


def run_settings(**options: Any) -> RunSettings:
    """Settings with the options this version of :class:`RunSettings` knows (``first_sync`` came with issue 9)."""
    known = {f.name for f in fields(RunSettings)}
    return RunSettings(**{k: v for k, v in options.items() if k in known})


def supports_first_sync() -> bool:
    return "first_sync" in {f.name for f in fields(RunSettings)}


def guid(rng: Random) -> str:
    """A GUID drawn from the trial's seed."""
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


@dataclass
class World:
    """A project under ``root``, built from ``rng``; subclasses write its files and seed its systems."""

    root: Path
    rng: Random
    name: ClassVar[str] = "world"
    flows: list[Path] = field(default_factory=list)
    connections: Path | None = None
    batch_size: int = 50
    preexisting: dict[tuple[str, str], set[str]] = field(default_factory=dict)
    """Records the target held before any run: they may stay unlinked."""
    edits: list[Edit] = field(default_factory=list)
    features: list[str] = field(default_factory=list)
    """What this world holds that a plain one does not (identical orders, emails in other case), for reports."""
    nights: int = 0
    """Clean nights the world has had before its fault."""

    @property
    def flows_dir(self) -> Path:
        return self.root / "flows"

    @property
    def state_dir(self) -> Path:
        return self.root / "state"

    @property
    def reports(self) -> Path:
        return self.root / "reports"

    def sandbox(self) -> Sandbox | None:
        """What stands in for the systems without a connection (the emulators), if any."""
        return None

    def flow(self, path: Path | None = None) -> Flow:
        return load_flow(path or self.flows[0])

    # -- runs ------------------------------------------------------------------------------------------------

    def settings(
        self, *, first_sync: bool = False, state_dir: Path | None = None, dry_run: bool = False
    ) -> RunSettings:
        return run_settings(
            state_dir=state_dir or self.state_dir,
            report_root=self.reports,
            connections=self.connections,
            dry_run=dry_run,
            batch_size=self.batch_size,
            cache=False,
            sandbox=self.sandbox(),
            first_sync=first_sync,
            # Nothing else runs in this process: a system's lock still held is a finding, not a wait.
            lock_wait=60.0,
            clock=FakeClock(),
        )

    def run(
        self,
        flow: Path | None = None,
        *,
        first_sync: bool = False,
        state_dir: Path | None = None,
        dry_run: bool = False,
    ) -> RunOutcome:
        """One run of ``flow`` (the first flow by default) in this process, ended as the command line ends it."""
        DEATH.dead = False
        settings = self.settings(first_sync=first_sync, state_dir=state_dir, dry_run=dry_run)
        try:
            result = execute(flow or self.flows[0], settings)
        except Killed:
            return RunOutcome(KILLED)
        except ReconcileError as exc:
            return RunOutcome(exc.exit_code, str(exc))
        except Exception:
            return RunOutcome(CRASHED, crash=traceback.format_exc())
        finally:
            DEATH.dead = False
        return RunOutcome(result.exit_code, result.outcome, plan=result.plan)

    @contextmanager
    def systems(self) -> Iterator[Systems]:
        """The world's systems through clean connectors (no fault), for reading and for people's edits."""
        sandbox = self.sandbox()
        with Systems(
            flows_dir=self.flows_dir,
            state_dir=self.state_dir,
            connections=self.connections,
            cache=False,
            sandbox=sandbox.open if sandbox is not None else None,
        ) as systems:
            yield systems

    def records(self) -> Records:
        """Every entity the flows touch, read now, by (system, entity) and record id."""
        out: Records = {}
        with self.systems() as systems:
            for path in self.flows:
                flow = load_flow(path)
                for m in flow.mappings:
                    for system, entity in ((flow.source, m.source), (flow.target, m.target)):
                        ent = systems.catalogue(system).entity(entity)
                        assert ent is not None
                        if (system, ent.name) in out:
                            continue
                        frame = systems.open(system).read(ent.name)
                        out[(system, ent.name)] = {
                            str(key_text(row[ent.key])): flatten_record(row) for row in frame.to_dicts()
                        }
        return out

    def change(self, system: str, entity: str, ops: list[WriteOp]) -> list[str]:
        """Writes a person makes in ``system`` through its API; returns the keys (new ones for creates)."""
        with self.systems() as systems:
            results = systems.open(system).write(entity, ops)
        failed = [r for r in results if not r.ok]
        if failed:
            raise AssertionError(f"the world's own edit of {system} {entity} failed: {failed[0].error}")
        for op, result in zip(ops, results, strict=True):
            if op.kind is WriteKind.UPDATE:
                self.edits += [Edit(system, entity, str(op.key), k, v) for k, v in op.values.items()]
            elif op.kind is WriteKind.CREATE and result.key is not None:
                self.edits += [Edit(system, entity, result.key, k, v) for k, v in op.values.items()]
        return [str(r.key) for r in results]

    def cli(self, flow: Path, *, first_sync: bool, state_dir: Path | None = None) -> list[str]:
        """The command line of a nightly run of ``flow`` in a process of its own, as cron would give it."""
        connections, _ = self.child_connections()
        args = ["run", str(flow), "--state", str(state_dir or self.state_dir), "--report-dir", str(self.reports)]
        args += ["--connections", str(connections)] if connections is not None else []
        return args + (["--first-sync"] if first_sync and supports_first_sync() else [])

    def child_connections(self) -> tuple[Path | None, dict[str, str]]:
        """The connections file a run in another process uses, and the variables its secrets are in."""
        return self.connections, {}

    def night_edits(self, rng: Random) -> None:
        """What people change on both sides between two nights (new records, edits); recorded in :attr:`edits`."""

    def write_calls(self) -> int:
        """About how many write calls the next run makes to the target: where a kill may fall."""
        return 4

    def read_calls(self) -> int:
        """About how many read calls a run makes to a system over HTTP: where a read fault may fall."""
        return 6

    # -- the state ---------------------------------------------------------------------------------------------

    def save_state(self) -> Path:
        """A copy of the state directory, to put back later."""
        copy = self.root / "state.saved"
        shutil.rmtree(copy, ignore_errors=True)
        shutil.copytree(self.state_dir, copy)
        return copy

    def restore_state(self, copy: Path) -> None:
        shutil.rmtree(self.state_dir, ignore_errors=True)
        shutil.copytree(copy, self.state_dir)

    def close(self) -> None:
        """Stop what the world started (emulators)."""

    def __enter__(self) -> World:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
