"""The local sandbox as the commands use it: stand-ins for unconnected systems, reset, serve, and the demo.

Without a connection, a system is its local sandbox: the emulator seeded from ``data/sandbox/<name>/`` and kept
in the state directory between runs. The first time a flow runs with both its systems sandboxed, the state is
given the sandbox's previous night (``data/sandbox/state.json``), so that the first run shows every action.
"""

from __future__ import annotations

import logging
import shutil
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from reconcile.app.nightly import RunResult, RunSettings, execute
from reconcile.atomic import write_text_atomically
from reconcile.config.flow import load_flow
from reconcile.errors import ConfigError
from reconcile.model.flow import Flow
from reconcile.model.plan import CHANGES
from reconcile.state.store import STATE_FILE, StateStore, read_state
from reconcile.systems.base import System
from reconcile.systems.registry import Closer, Systems

log = logging.getLogger("reconcile")

HISTORY_LOADED = "sandbox_history"
"""The state's meta key that says the sandbox's previous night was loaded (and the state is a sandbox's)."""


class LocalSandbox:
    """The bundled sandbox, standing in for every system without a connection (a :class:`.nightly.Sandbox`)."""

    def open(self, name: str, systems: Systems, /) -> tuple[System, Closer]:
        # The emulators (and their web framework) load when a sandbox is opened: a run whose systems are all
        # connected never loads them.
        from reconcile.sandbox.openers import open_sandbox

        return open_sandbox(name, systems)

    def prepare(self, store: StateStore, systems: Systems, flow: Flow) -> None:
        """Load the sandbox's previous night once, the first time a sandboxed flow runs on this state."""
        if not (systems.uses_sandbox(flow.source) and systems.uses_sandbox(flow.target)):
            return
        if store.meta(HISTORY_LOADED) is not None:
            return
        history = systems.seed_dir / "state.json"
        if history.exists():
            from reconcile.sandbox.history import seed_history

            flows = [
                other
                for other in (load_flow(path) for path in sorted(systems.flows_dir.glob("*.toml")))
                if systems.uses_sandbox(other.source) and systems.uses_sandbox(other.target)
            ]
            catalogues = {name: systems.catalogue(name) for f in flows for name in (f.source, f.target)}
            count = seed_history(store, history, flows, catalogues)
            log.info("sandbox: loaded the previous night's %d links from %s", count, history)
        with store.transaction() as db:
            store.set_meta(db, HISTORY_LOADED, "loaded")


def reset_sandbox(state_dir: Path) -> None:
    """Start the sandbox over: forget its copies of the systems, its caches and the state that goes with them.

    A state that holds runs against real systems is refused: resetting it would forget real links.
    """
    state_file = state_dir / STATE_FILE
    real = False
    if state_file.is_file() and state_file.stat().st_size:  # an empty file holds nothing to keep
        with read_state(state_dir) as store:
            real = store.meta(HISTORY_LOADED) is None and not store.runs().is_empty()
    if real:
        raise ConfigError(f"{state_dir} holds the state of flows that ran against real systems; not resetting it")
    shutil.rmtree(state_dir / "sandbox", ignore_errors=True)
    shutil.rmtree(state_dir / "cache", ignore_errors=True)
    for suffix in ("", "-wal", "-shm"):
        (state_dir / f"{STATE_FILE}{suffix}").unlink(missing_ok=True)


@dataclass(frozen=True)
class ServedSandbox:
    """Emulators serving on localhost for a person to try the real connectors against."""

    connections_file: Path
    connections: str
    """The connections file's text: one table per system, pointing at its emulator."""
    env: dict[str, str]
    """The environment variables the file names, with the sandbox's public keys."""
    close: Callable[[], None]
    """Stops the emulators and saves their state."""


def serve_sandbox(state_dir: Path, flows_dir: Path) -> ServedSandbox:
    """Serve Exact Online, PowerOffice Go and every REST system of ``flows_dir/systems`` that has sandbox data."""
    from reconcile.sandbox.serve import serve_rest_sandbox, serve_sandboxes

    systems = Systems(flows_dir=flows_dir, state_dir=state_dir)
    connections, env, stop_builtin = serve_sandboxes(systems.sandbox_copy("exact"), systems.sandbox_copy("poweroffice"))
    closers = [stop_builtin]

    def close() -> None:
        for stop in reversed(closers):
            stop()

    try:
        for file in sorted((flows_dir / "systems").glob("*.toml")):
            spec = systems.system_spec(file.stem)
            if spec.kind == "rest" and (systems.seed_dir / file.stem).is_dir():
                table, secrets, stop = serve_rest_sandbox(spec, systems.sandbox_copy(file.stem))
                closers.append(stop)
                connections += "\n" + table
                env.update(secrets)
        path = state_dir / "sandbox" / "connections.toml"
        write_text_atomically(path, connections)
    except BaseException:
        close()
        raise
    return ServedSandbox(path, connections, env, close)


DEMO_ORDER = (
    "powerofficego-to-exact",
    "custom-webshop-to-exact",
    "customcrm-to-exact",
    "exact-online-to-custom-pms",
    "custom-erp-to-custom-pms",
)
"""Flows that write Exact run before the flow that reads it, so the second night finds all in sync."""


def demo_flows(flows_dir: Path) -> list[Path]:
    """The flow files of ``flows_dir`` in the order the demo runs them."""
    paths = {load_flow(p).name: p for p in sorted(flows_dir.glob("*.toml"))}
    return [paths[n] for n in DEMO_ORDER if n in paths] + [p for n, p in paths.items() if n not in DEMO_ORDER]


def run_demo(flows: Iterable[Path], settings: RunSettings, on_result: Callable[[int, RunResult], None]) -> list[str]:
    """Every flow, two nights in a row, on a fresh sandbox state; returns what the second night still had to write.

    ``on_result`` hears of each run as it ends (the night's number and the result). An empty list means the
    second night found every flow in sync, apart from what waits for review.
    """
    shutil.rmtree(settings.state_dir, ignore_errors=True)
    ordered = list(flows)
    unsettled: list[str] = []
    for night in (1, 2):
        for path in ordered:
            result = execute(path, settings)
            on_result(night, result)
            writes = result.plan.filter(pl.col("action").is_in(CHANGES)).height
            if night == 2 and writes:
                unsettled.append(f"{result.flow}: {writes} writes")
    return unsettled
