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


def open_exact_sandbox(folder: Path) -> tuple[System, Callable[[], None]]:
    """The Exact connector on an emulator holding ``folder``; the closer saves the emulator's state."""
    from reconcile.sandbox.exact import DEFAULT_DIVISION, SANDBOX_CLIENT_ID, SANDBOX_CLIENT_SECRET, ExactEmulator
    from reconcile.systems.exact import ExactSystem
    from reconcile.systems.exact_auth import store_refresh_token

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
    system = ExactSystem.from_connection(conn, client_secret=SANDBOX_CLIENT_SECRET)

    def close() -> None:
        system.close()
        server.stop()
        emulator.dump(state)

    return system, close
