"""Worlds whose systems are the project's own emulators, served over real HTTP on this machine.

Each emulator lives as long as its world (so a rerun sees what a killed run wrote) on a
:class:`~reconcile.sandbox.server.BackgroundServer`, and every connector a run opens talks to it through a
:class:`~tests.faults.inject.FaultyTransport` carrying the rules of the run (:attr:`HttpWorld.http_rules`,
empty for a clean run). Emulators and connectors share one :class:`~reconcile.model.clock.FakeClock`:
a 429's ``Retry-After``, a backoff, a rate limit's window and a token's life pass on it, and no trial waits
for real.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from reconcile.app.nightly import Sandbox
from reconcile.model.clock import FakeClock
from reconcile.model.flow import Flow
from reconcile.sandbox.server import BackgroundServer
from reconcile.state.store import StateStore
from reconcile.systems.base import System
from reconcile.systems.registry import Closer, Systems
from tests.faults.inject import FaultyTransport, HttpRule
from tests.faults.worlds.base import World


class EmulatorSandbox:
    """The world's emulators standing in for its systems without a connection (a nightly ``Sandbox``)."""

    def __init__(self, world: HttpWorld) -> None:
        self.world = world

    def open(self, name: str, systems: Systems, /) -> tuple[System, Closer]:
        transport = FaultyTransport(self.world.http_rules.get(name, []))
        system = self.world.connector(name, transport, getattr(systems, "limits_dir", None))
        return system, system.close

    def prepare(self, store: StateStore, systems: Systems, flow: Flow) -> None:
        """A world's state starts empty: there is no previous night to load."""


@dataclass
class HttpWorld(World):
    """A world with emulators (see the module docs); subclasses serve them and build their connectors."""

    clock: FakeClock = field(default_factory=FakeClock)
    http_rules: dict[str, list[HttpRule]] = field(default_factory=dict)
    """System name -> the rules the next run's connectors to it meet."""
    servers: dict[str, BackgroundServer] = field(default_factory=dict)
    emulators: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # Ahead of the wall clock (a connector may stamp a call with it and look for records changed
        # since), at a point in the hour drawn from the seed: limits counted by the second or the minute
        # then meet the same calls at the same moments in a replay.
        hour = (int(time.time()) // 3600 + 1) * 3600
        self.clock = FakeClock(hour + self.rng.randrange(3600 * 1000) / 1000)

    def serve(self, name: str, emulator: Any) -> None:
        self.emulators[name] = emulator
        self.servers[name] = BackgroundServer(emulator.app).start()

    def url(self, name: str) -> str:
        return self.servers[name].url

    def sandbox(self) -> Sandbox:
        return EmulatorSandbox(self)

    def connector(self, name: str, transport: httpx.BaseTransport, limits_dir: Path | None = None) -> System:
        """The real connector of ``name`` on its emulator, through ``transport``.

        ``limits_dir`` is where a real connection keeps what its API key has spent (the registry's folder in
        the state directory): the world's connectors keep it there too, as a real connection's would.
        """
        raise NotImplementedError

    def close(self) -> None:
        while self.servers:
            self.servers.popitem()[1].stop()
