"""The local sandbox of a built-in system: its emulator, started in-process, and the real connector on it.

A system without a connection runs against its emulator on a free localhost port, seeded from the
sandbox's working copy in the state directory; the emulator's state is written back there when the command
ends, so the next run sees what this one wrote. The connector is the very one that talks to the real
system: only the base URL and the (public) sandbox credentials differ.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from reconcile.sandbox.server import BackgroundServer
from reconcile.systems.base import System

STATE_FILE = "emulator.json"
SANDBOX_MINUTE_LIMIT = 100_000
"""Exact allows 60 calls a minute; the sandbox allows more, so the demo does not wait out real minutes.
Tests set the real limits and a fake clock to show the waiting."""


def open_exact_sandbox(folder: Path, *, cache_dir: Path | None = None) -> tuple[System, Callable[[], None]]:
    """The Exact connector on an emulator holding ``folder``; the closer saves the emulator's state.

    With ``cache_dir`` the connector keeps snapshots between runs, under the sandbox's own identity.
    """
    from reconcile.sandbox.exact import DEFAULT_DIVISION, SANDBOX_CLIENT_ID, SANDBOX_CLIENT_SECRET, ExactEmulator
    from reconcile.systems.exact import ExactSystem
    from reconcile.systems.exact_auth import store_refresh_token
    from reconcile.systems.snapshot_cache import claim_sandbox_identity, release_sandbox_identity

    state = folder / STATE_FILE
    emulator = ExactEmulator.from_seed(folder, minute_limit=SANDBOX_MINUTE_LIMIT, day_limit=1_000_000)
    if state.exists():
        emulator.load(state)
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


SANDBOX_SECRETS = {
    "RECONCILE_SANDBOX_EXACT_SECRET": "exact",
    "RECONCILE_SANDBOX_PO_APPLICATION_KEY": "application_key",
    "RECONCILE_SANDBOX_PO_CLIENT_KEY": "client_key",
    "RECONCILE_SANDBOX_PO_SUBSCRIPTION_KEY": "subscription_key",
}


def serve_sandboxes(exact_folder: Path, poweroffice_folder: Path) -> tuple[str, dict[str, str], Callable[[], None]]:
    """Serve the Exact and PowerOffice emulators for trying things by hand.

    Returns a connections file that points at them, the environment variables it names (the sandbox's
    public keys), and what stops the emulators and saves their state.
    """
    from reconcile.sandbox.exact import (
        DEFAULT_DIVISION,
        SANDBOX_CLIENT_ID,
        SANDBOX_CLIENT_SECRET,
        ExactEmulator,
    )
    from reconcile.sandbox.poweroffice import PowerOfficeEmulator
    from reconcile.systems.exact_auth import store_refresh_token

    exact_state = exact_folder / STATE_FILE
    exact = ExactEmulator.from_seed(exact_folder, minute_limit=SANDBOX_MINUTE_LIMIT, day_limit=1_000_000)
    if exact_state.exists():
        exact.load(exact_state)
    po_state = poweroffice_folder / "emulator-state.json"
    if po_state.exists():
        po = PowerOfficeEmulator()
        po.load(po_state)
    else:
        po = PowerOfficeEmulator.from_seed(poweroffice_folder)
    exact_server = BackgroundServer(exact.app).start()
    po_server = BackgroundServer(po.app).start()
    token_file = exact_folder / "served-tokens.json"
    store_refresh_token(
        {"token_file": token_file, "base_url": exact_server.url, "client_id": SANDBOX_CLIENT_ID},
        exact.issue_refresh_token(),
    )
    keys = po.credentials
    env = {
        "RECONCILE_SANDBOX_EXACT_SECRET": SANDBOX_CLIENT_SECRET,
        "RECONCILE_SANDBOX_PO_APPLICATION_KEY": keys.application_key,
        "RECONCILE_SANDBOX_PO_CLIENT_KEY": keys.client_key,
        "RECONCILE_SANDBOX_PO_SUBSCRIPTION_KEY": keys.subscription_key,
    }
    connections = f"""[exact]
base_url = "{exact_server.url}"
division = {DEFAULT_DIVISION}
client_id = "{SANDBOX_CLIENT_ID}"
client_secret_env = "RECONCILE_SANDBOX_EXACT_SECRET"
token_file = "{token_file}"

[poweroffice]
base_url = "{po_server.url}"
v1_base_url = "{po_server.url}/v1"
application_key_env = "RECONCILE_SANDBOX_PO_APPLICATION_KEY"
client_key_env = "RECONCILE_SANDBOX_PO_CLIENT_KEY"
subscription_key_env = "RECONCILE_SANDBOX_PO_SUBSCRIPTION_KEY"
"""

    def close() -> None:
        exact_server.stop()
        po_server.stop()
        exact.dump(exact_state)
        po.dump(po_state)

    return connections, env, close
