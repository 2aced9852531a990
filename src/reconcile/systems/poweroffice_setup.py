"""Open PowerOffice Go for a command: the real service from a connection, else the local sandbox.

The sandbox is the emulator seeded from the sandbox folder, served on a free localhost port for as long
as the command runs; its state is written back to ``emulator-state.json`` in that folder when the command
ends, so that the next run sees what this one wrote.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from reconcile.errors import ConfigError
from reconcile.sandbox.poweroffice import PowerOfficeEmulator
from reconcile.sandbox.server import BackgroundServer
from reconcile.systems.catalogue import Catalogue
from reconcile.systems.poweroffice import POWEROFFICE_KEYS, PowerOfficeSystem
from reconcile.systems.snapshot_cache import claim_sandbox_identity, release_sandbox_identity

STATE_FILE = "emulator-state.json"


def open_poweroffice(
    conn: Mapping[str, Any] | None, sandbox_dir: Path, catalogue: Catalogue, *, cache_dir: Path | None = None
) -> tuple[PowerOfficeSystem, Callable[[], None]]:
    """The system and what closes it: a connection's PowerOffice Go, or the sandbox in ``sandbox_dir``.

    With ``cache_dir`` the connector keeps order lines between runs (the sandbox under its own identity).
    """
    if conn is not None:
        missing = [k.name for k in POWEROFFICE_KEYS if k.required and k.name not in conn]
        if missing:
            where = conn.get("_file", "the connections file")
            raise ConfigError(f"{where}: poweroffice.{missing[0]}: missing; it is required")
        system = PowerOfficeSystem.from_connection(conn, catalogue=catalogue, cache_dir=cache_dir)
        return system, system.close
    state = sandbox_dir / STATE_FILE
    if state.exists():
        emulator = PowerOfficeEmulator()
        emulator.load(state)
    else:
        emulator = PowerOfficeEmulator.from_seed(sandbox_dir)
    server = BackgroundServer(emulator.app).start()
    identity = claim_sandbox_identity(sandbox_dir) if cache_dir is not None else None
    sandbox = system_for_emulator(emulator, server.url, catalogue=catalogue, cache_dir=cache_dir, cache_id=identity)

    def close() -> None:
        sandbox.close()
        server.stop()
        emulator.dump(state)
        if identity is not None:
            release_sandbox_identity(sandbox_dir, identity)

    return sandbox, close


def system_for_emulator(emulator: PowerOfficeEmulator, url: str, **options: Any) -> PowerOfficeSystem:
    """A connector for ``emulator`` served at ``url``, with its keys; ``options`` go to the constructor."""
    keys = emulator.credentials
    return PowerOfficeSystem(
        base_url=url,
        v1_base_url=f"{url}/v1",
        application_key=keys.application_key,
        client_key=keys.client_key,
        subscription_key=keys.subscription_key,
        **options,
    )
