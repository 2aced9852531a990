"""The local sandbox of each system: its emulator started in-process, and the real connector on it.

A system without a connection runs against its emulator on a free localhost port, seeded from the
sandbox's working copy in the state directory; the emulator's state is written back there when the command
ends, so the next run sees what this one wrote. The connector is the very one that talks to the real
system: only the base URL and the (public) sandbox credentials differ.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from reconcile.model.catalogue import Catalogue
from reconcile.model.systemfile import SystemFile
from reconcile.sandbox.exact.emulator import DEFAULT_DIVISION, SANDBOX_CLIENT_ID, SANDBOX_CLIENT_SECRET, ExactEmulator
from reconcile.sandbox.poweroffice.emulator import PowerOfficeEmulator
from reconcile.sandbox.rest.emulator import RestEmulator
from reconcile.sandbox.server import BackgroundServer
from reconcile.systems.base import System
from reconcile.systems.cache import claim_sandbox_identity, release_sandbox_identity
from reconcile.systems.exact.auth import store_refresh_token
from reconcile.systems.exact.connector import ExactSystem
from reconcile.systems.poweroffice.connector import PowerOfficeSystem
from reconcile.systems.registry import Closer, SandboxOpener, Systems
from reconcile.systems.rest.connector import RestSystem

EXACT_STATE_FILE = "emulator.json"
POWEROFFICE_STATE_FILE = "emulator-state.json"
SANDBOX_MINUTE_LIMIT = 100_000
SANDBOX_DAY_LIMIT = 1_000_000
"""Exact allows 60 calls a minute; the sandbox allows more, so the demo does not wait out real minutes.
Tests set the real limits and a fake clock to show the waiting."""
SANDBOX_RATE_PER_SECOND = 10_000
"""PowerOffice Go allows 10 calls a second (50 on API v1); the sandbox's emulator and its connector allow more,
for the same reason: a first run reads each order's lines in a call of its own, and at the real rate the demo
would wait half a minute for them. Tests set the real rates and a fake clock to show the waiting."""


def exact_emulator(folder: Path) -> ExactEmulator:
    """The Exact emulator of the sandbox copy in ``folder``: its seed, or the state its last session saved.

    The saved state replaces the whole store, so it is loaded into an empty emulator: seeding one first would
    cost as much as the load again, for nothing.
    """
    if not (folder / EXACT_STATE_FILE).exists():
        return ExactEmulator.from_seed(folder, minute_limit=SANDBOX_MINUTE_LIMIT, day_limit=SANDBOX_DAY_LIMIT)
    emulator = ExactEmulator(minute_limit=SANDBOX_MINUTE_LIMIT, day_limit=SANDBOX_DAY_LIMIT)
    emulator.load(folder / EXACT_STATE_FILE)
    return emulator


def poweroffice_emulator(folder: Path) -> PowerOfficeEmulator:
    """The PowerOffice Go emulator of the sandbox copy in ``folder``: its seed, or the state last saved."""
    rate = SANDBOX_RATE_PER_SECOND
    if not (folder / POWEROFFICE_STATE_FILE).exists():
        return PowerOfficeEmulator.from_seed(folder, rate_per_second=rate, v1_rate_per_second=rate)
    emulator = PowerOfficeEmulator(rate_per_second=rate, v1_rate_per_second=rate)
    emulator.load(folder / POWEROFFICE_STATE_FILE)
    return emulator


def open_exact_sandbox(folder: Path, *, cache_dir: Path | None = None) -> tuple[System, Closer]:
    """The Exact connector on an emulator holding ``folder``; the closer saves the emulator's state.

    With ``cache_dir`` the connector keeps snapshots between runs, under the sandbox's own identity.
    """
    state = folder / EXACT_STATE_FILE
    emulator = exact_emulator(folder)
    server = BackgroundServer(emulator.app).start()
    conn = {
        "base_url": server.url,
        "division": DEFAULT_DIVISION,
        "client_id": SANDBOX_CLIENT_ID,
        "token_file": folder / "tokens.json",
    }
    store_refresh_token(conn, emulator.issue_refresh_token())
    identity = claim_sandbox_identity(folder) if cache_dir is not None else None
    system = ExactSystem.from_connection(
        conn, client_secret=SANDBOX_CLIENT_SECRET, cache_dir=cache_dir, cache_id=identity
    )

    def close() -> None:
        system.close()
        server.stop()
        emulator.dump(state)
        if identity is not None:
            release_sandbox_identity(folder, identity)

    return system, close


def open_poweroffice_sandbox(
    sandbox_dir: Path, catalogue: Catalogue, *, cache_dir: Path | None = None
) -> tuple[System, Closer]:
    """The PowerOffice Go connector on an emulator holding ``sandbox_dir``; the closer saves its state.

    With ``cache_dir`` the connector keeps order lines between runs, under the sandbox's own identity.
    """
    state = sandbox_dir / POWEROFFICE_STATE_FILE
    rate = SANDBOX_RATE_PER_SECOND
    emulator = poweroffice_emulator(sandbox_dir)
    server = BackgroundServer(emulator.app).start()
    identity = claim_sandbox_identity(sandbox_dir) if cache_dir is not None else None
    sandbox = system_for_emulator(
        emulator,
        server.url,
        catalogue=catalogue,
        cache_dir=cache_dir,
        cache_id=identity,
        rate_per_second=rate,
        v1_rate_per_second=rate,
    )

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


def open_rest_sandbox(spec: SystemFile, folder: Path) -> tuple[System, Closer]:
    """The REST connector on the generic emulator holding ``folder``; the closer saves the emulator's state."""
    emulator = RestEmulator.from_folder(spec, folder)
    server = BackgroundServer(emulator.app).start()
    system = RestSystem(spec, base_url=server.url, secrets=emulator.secrets)

    def close() -> None:
        system.close()
        server.stop()
        emulator.dump(folder)

    return system, close


OPENERS: dict[str, SandboxOpener] = {
    "exact": lambda name, systems: open_exact_sandbox(systems.sandbox_copy(name), cache_dir=systems.cache_dir(name)),
    "poweroffice": lambda name, systems: open_poweroffice_sandbox(
        systems.sandbox_copy(name), systems.catalogue(name), cache_dir=systems.cache_dir(name)
    ),
}
"""The built-in systems' sandboxes; every other system's is the generic emulator serving its system file."""


def open_sandbox(name: str, systems: Systems) -> tuple[System, Closer]:
    """The local sandbox of ``name``: what :class:`~reconcile.systems.registry.Systems` opens without a connection."""
    opener = OPENERS.get(name)
    if opener is not None:
        return opener(name, systems)
    return open_rest_sandbox(systems.system_spec(name), systems.sandbox_copy(name))
