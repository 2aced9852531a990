"""The background server answers over real HTTP, keeps uvicorn's headers, and stops and frees its port."""

from __future__ import annotations

from typing import Any

import httpx

from reconcile.sandbox.server import BackgroundServer, serve


async def hello(scope: dict[str, Any], receive: Any, send: Any) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
    await send({"type": "http.response.body", "body": b"hello"})


def test_it_serves_then_stops_and_frees_its_port() -> None:
    with serve(hello) as server:
        answer = httpx.get(server.url)
        assert (answer.status_code, answer.text) == (200, "hello")
        assert answer.headers["date"]  # the Date header is kept as uvicorn keeps it
    again = BackgroundServer(hello, port=server.port).start()  # the port is free again
    again.stop()
