"""Serve every emulator for trying things by hand: ``reconcile sandbox serve``.

Each function starts emulators on free localhost ports and returns the connections-file text that points the
real connectors at them (written with tomli-w, so any path or URL is quoted correctly), the environment
variables that text names with the sandbox's public keys, and what stops the emulators and saves their state.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import tomli_w

from reconcile.model.systemfile import SystemFile
from reconcile.sandbox.exact.emulator import DEFAULT_DIVISION, SANDBOX_CLIENT_ID, SANDBOX_CLIENT_SECRET
from reconcile.sandbox.openers import (
    EXACT_STATE_FILE,
    POWEROFFICE_STATE_FILE,
    SANDBOX_RATE_PER_SECOND,
    exact_emulator,
    poweroffice_emulator,
)
from reconcile.sandbox.rest.emulator import RestEmulator
from reconcile.sandbox.server import BackgroundServer
from reconcile.systems.exact.auth import store_refresh_token


def serve_sandboxes(exact_folder: Path, poweroffice_folder: Path) -> tuple[str, dict[str, str], Callable[[], None]]:
    """Serve the Exact and PowerOffice emulators for trying things by hand.

    Returns a connections file that points at them, the environment variables it names (the sandbox's
    public keys), and what stops the emulators and saves their state.
    """
    exact, po = exact_emulator(exact_folder), poweroffice_emulator(poweroffice_folder)
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
    connections = tomli_w.dumps(
        {
            "exact": {
                "base_url": exact_server.url,
                "division": DEFAULT_DIVISION,
                "client_id": SANDBOX_CLIENT_ID,
                "client_secret_env": "RECONCILE_SANDBOX_EXACT_SECRET",
                "token_file": str(token_file),
            },
            "poweroffice": {
                "base_url": po_server.url,
                "v1_base_url": f"{po_server.url}/v1",
                "application_key_env": "RECONCILE_SANDBOX_PO_APPLICATION_KEY",
                "client_key_env": "RECONCILE_SANDBOX_PO_CLIENT_KEY",
                "subscription_key_env": "RECONCILE_SANDBOX_PO_SUBSCRIPTION_KEY",
                "rate_per_second": SANDBOX_RATE_PER_SECOND,
                "v1_rate_per_second": SANDBOX_RATE_PER_SECOND,
            },
        }
    )

    def close() -> None:
        exact_server.stop()
        po_server.stop()
        exact.dump(exact_folder / EXACT_STATE_FILE)
        po.dump(poweroffice_folder / POWEROFFICE_STATE_FILE)

    return connections, env, close


def serve_rest_sandbox(spec: SystemFile, folder: Path) -> tuple[str, dict[str, str], Callable[[], None]]:
    """Serve one custom system's emulator for trying things by hand.

    Returns its connections table (TOML, pointing at the emulator), the environment variables the table
    names with the sandbox's public secrets, and what stops the emulator and saves its state.
    """
    emulator = RestEmulator.from_folder(spec, folder)
    server = BackgroundServer(emulator.app).start()
    table: dict[str, str] = {"base_url": server.url}
    env: dict[str, str] = {}
    for role, name in spec.connection.auth.secret_env().items():
        key = spec.connection.auth.secrets[role]
        variable = name or f"RECONCILE_SANDBOX_{spec.name.upper()}_{role.upper()}"
        table[key] = variable
        env[variable] = emulator.secrets[role]

    def close() -> None:
        server.stop()
        emulator.dump(folder)

    return tomli_w.dumps({spec.name: table}), env, close
