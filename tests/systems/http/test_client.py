"""The shared HTTP client's retries of reads: every 5xx and timeout, within bounded tries and total time.

``MockTransport`` stands in for the network: the failure shapes here (a server that keeps failing, a read
that times out) are what no emulator gives on demand for as long as needed.
"""

from __future__ import annotations

import httpx
import pytest

from reconcile.errors import NetworkError
from reconcile.model.clock import FakeClock
from reconcile.systems.http.client import HttpClient
from reconcile.systems.http.limits import SlidingWindowLimiter
from reconcile.systems.http.retry import RetryPolicy, server_error, whole_json


def _client(handler: httpx.MockTransport, clock: FakeClock, retry: RetryPolicy | None = None) -> HttpClient:
    return HttpClient("test", "http://api.test", clock=clock, transport=handler, retry=retry)


def test_a_read_retries_any_5xx_its_caller_marks_as_a_server_error() -> None:
    clock = FakeClock()
    answers = iter([httpx.Response(500, json={"error": "x"}), httpx.Response(507), httpx.Response(200)])
    http = _client(httpx.MockTransport(lambda request: next(answers)), clock)
    assert http.request("GET", "/x", endpoint="x", transient=server_error).status_code == 200
    assert http.calls == 3 and clock.slept == [0.5, 1.0]


def test_retries_of_a_failing_read_stop_within_the_policys_total_time() -> None:
    clock = FakeClock()
    http = _client(
        httpx.MockTransport(lambda request: httpx.Response(503)),
        clock,
        RetryPolicy(attempts=50, base_delay=10.0, max_delay=40.0, max_elapsed=100.0),
    )
    assert http.request("GET", "/x", endpoint="x").status_code == 503
    assert clock.slept == [10.0, 20.0, 40.0]  # the next wait (40) would end after 100 seconds
    assert http.calls == 4


def test_a_read_that_times_out_is_retried_within_the_policys_total_time() -> None:
    clock = FakeClock()
    calls: list[int] = []

    def slow(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        clock.advance(30.0)  # the timeout itself takes time
        raise httpx.ReadTimeout("slow", request=request)

    with pytest.raises(NetworkError, match="timed out after 3 attempt"):
        _client(httpx.MockTransport(slow), clock, RetryPolicy(attempts=20, base_delay=1.0, max_elapsed=90.0)).request(
            "GET", "/x", endpoint="x"
        )
    assert len(calls) == 3 and clock.slept == [1.0, 2.0]


def test_a_page_that_broke_off_is_read_again_never_taken_for_a_shorter_snapshot() -> None:
    clock = FakeClock()
    whole = b'[{"Id": 1}, {"Id": 2}]'
    answers = iter([httpx.Response(200, content=whole[:9]), httpx.Response(200, content=whole)])
    http = _client(httpx.MockTransport(lambda request: next(answers)), clock)
    response = http.request("GET", "/x", endpoint="x", complete=whole_json)
    assert response.json() == [{"Id": 1}, {"Id": 2}] and http.calls == 2


def test_a_call_whose_token_fetch_waited_for_the_limiter_waits_for_a_slot_anew() -> None:
    """A token fetched through the call's own limiter must not push the call into the fetch's second."""
    clock = FakeClock()
    sent: list[tuple[str, float]] = []

    def answer(request: httpx.Request) -> httpx.Response:
        sent.append((request.url.path, clock.now()))
        return httpx.Response(200, json={"access_token": "t"})

    limiter = SlidingWindowLimiter(1, 1.0, clock=clock)
    tokens = HttpClient("test", "http://api.test", clock=clock, transport=httpx.MockTransport(answer), limiter=limiter)
    token: dict[str, str] = {}

    def auth() -> dict[str, str]:
        if not token:  # the first call fetches a token, through the same limiter
            token.update(tokens.request("POST", "/token", endpoint="token").json())
        return {"Authorization": f"Bearer {token['access_token']}"}

    http = HttpClient(
        "test", "http://api.test", clock=clock, transport=httpx.MockTransport(answer), limiter=limiter, auth=auth
    )
    http.request("GET", "/x", endpoint="x")
    (_, fetched), (_, called) = sent
    assert [path for path, _ in sent] == ["/token", "/x"]
    assert called - fetched >= 1.0  # one call a second, as the limiter promised the system
