"""Serve an ASGI app on a free localhost port from a background thread.

Tests start emulators with :func:`serve`; ``reconcile sandbox serve`` uses the same code. The server listens
on 127.0.0.1 only. It stops as soon as it is asked to: uvicorn's own loop looks for a stop every tenth of a
second and pauses as long again while shutting down, which the test suite, starting and stopping an emulator
in most tests, would otherwise wait out a hundred times over.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from typing import Any

import uvicorn


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class _PromptServer(uvicorn.Server):
    """A uvicorn server that wakes the moment it is told to stop, and stops without pausing."""

    TICK = 1.0
    """Seconds between refreshes of the ``Date`` header while nothing asks the server to stop."""
    GRACE = 5.0
    """Seconds an open connection is given to finish its answer when the server stops."""

    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wake: asyncio.Event | None = None

    async def main_loop(self) -> None:
        self._loop, self._wake = asyncio.get_running_loop(), asyncio.Event()
        counter = 0
        while not await self.on_tick(counter):
            counter += 10  # on_tick refreshes the headers every tenth tick: every TICK here
            with suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self.TICK)

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        for server in self.servers:
            server.close()
        for connection in list(self.server_state.connections):
            connection.shutdown()
        deadline = asyncio.get_running_loop().time() + self.GRACE
        while self.server_state.connections and asyncio.get_running_loop().time() < deadline:
            await asyncio.sleep(0.005)
        for server in self.servers:
            await server.wait_closed()

    def stop(self) -> None:
        """Ask the server to stop, from any thread."""
        self.should_exit = True
        loop, wake = self._loop, self._wake
        if loop is not None and wake is not None and not loop.is_closed():
            loop.call_soon_threadsafe(wake.set)


class BackgroundServer:
    """A uvicorn server in a daemon thread; ``url`` is its base URL once started."""

    def __init__(self, app: Any, port: int | None = None) -> None:
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning", lifespan="off")
        self._server = _PromptServer(config)
        self._thread = threading.Thread(target=self._server.run, name=f"emulator:{self.port}", daemon=True)

    def start(self, timeout: float = 10.0) -> BackgroundServer:
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"emulator did not start on {self.url}")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        self._server.stop()
        self._thread.join(timeout=10)


@contextmanager
def serve(app: Any, port: int | None = None) -> Iterator[BackgroundServer]:
    """Run ``app`` on localhost for the duration of the block."""
    server = BackgroundServer(app, port).start()
    try:
        yield server
    finally:
        server.stop()
