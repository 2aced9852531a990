"""The shared HTTP plumbing, the connections file and Exact's wire format, each on its own.

``MockTransport`` stands in for the network where a failure shape is needed that no emulator gives on
demand (a dropped connection, a Retry-After date).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import httpx
import pytest

from reconcile.config.connections import load_connections, resolve_secret
from reconcile.errors import AuthError, CircuitOpen, ConfigError, NetworkError, RateLimited
from reconcile.model.clock import FakeClock
from reconcile.systems.exact.wire import (
    date_literal,
    error_message,
    format_datetime,
    is_transient,
    parse_date,
    parse_datetime,
    unwrap,
)
from reconcile.systems.http.breaker import CircuitBreaker
from reconcile.systems.http.client import HttpClient
from reconcile.systems.http.limits import FixedWindowLimiter
from reconcile.systems.http.retry import RetryPolicy


def client(handler: httpx.MockTransport, clock: FakeClock, **kwargs: object) -> HttpClient:
    return HttpClient("test", "http://api.test", clock=clock, transport=handler, **kwargs)  # type: ignore[arg-type]


# ------------------------------------------------------------------------------------------------- http


def test_a_fixed_window_waits_for_the_next_window() -> None:
    clock = FakeClock(start=120.0)
    limiter = FixedWindowLimiter(2, 60, clock=clock)
    for _ in range(5):
        limiter.before_request("x")
    assert clock.slept == [60.0, 60.0]


def test_429_and_transient_5xx_are_retried_with_backoff_and_retry_after() -> None:
    clock = FakeClock()
    answers = iter([httpx.Response(429, headers={"Retry-After": "7"}), httpx.Response(503), httpx.Response(200)])
    http = client(httpx.MockTransport(lambda request: next(answers)), clock)
    assert http.request("GET", "/x", endpoint="x").status_code == 200
    assert clock.slept == [7.0, 1.0]  # Retry-After, then the second backoff step


def test_a_500_the_caller_does_not_mark_transient_is_returned_at_once() -> None:
    clock = FakeClock()
    http = client(httpx.MockTransport(lambda request: httpx.Response(500, json={"error": "x"})), clock)
    assert http.request("GET", "/x", endpoint="x").status_code == 500
    assert http.calls == 1


def test_a_post_is_not_repeated_after_a_read_timeout_but_is_after_a_refused_connection() -> None:
    clock = FakeClock()
    calls: list[str] = []

    def timeout(request: httpx.Request) -> httpx.Response:
        calls.append("timeout")
        raise httpx.ReadTimeout("slow", request=request)

    with pytest.raises(NetworkError) as raised:
        client(httpx.MockTransport(timeout), clock).request("POST", "/x?secret=1", endpoint="x", json={})
    assert calls == ["timeout"] and raised.value.maybe_applied
    assert "secret" not in str(raised.value)

    refused = iter([httpx.ConnectError("no"), None])

    def connect(request: httpx.Request) -> httpx.Response:
        error = next(refused)
        if error is not None:
            raise error
        return httpx.Response(201)

    assert client(httpx.MockTransport(connect), clock).request("POST", "/x", endpoint="x").status_code == 201


def test_a_401_asks_for_new_credentials_once_then_gives_up() -> None:
    clock = FakeClock()
    tokens = iter(["old", "new", "newer"])
    current = {"token": next(tokens)}
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers["Authorization"])
        return httpx.Response(401, headers={"WWW-Authenticate": 'Bearer error_description="access token expired"'})

    http = client(
        httpx.MockTransport(handler),
        clock,
        auth=lambda: {"Authorization": current["token"]},
        on_unauthorized=lambda: current.update(token=next(tokens)),
    )
    with pytest.raises(AuthError, match="access token expired") as raised:
        http.request("GET", "/x", endpoint="x")
    assert seen == ["old", "new"]
    assert "new" not in str(raised.value)


def test_429s_that_never_end_raise_rate_limited() -> None:
    clock = FakeClock()
    http = client(httpx.MockTransport(lambda request: httpx.Response(429)), clock, retry=RetryPolicy(attempts=3))
    with pytest.raises(RateLimited):
        http.request("GET", "/x", endpoint="x")


def test_the_breaker_opens_after_max_errors_within_the_hour_and_closes_after() -> None:
    clock = FakeClock()
    breaker = CircuitBreaker("test", max_errors=2, clock=clock)
    http = client(httpx.MockTransport(lambda request: httpx.Response(404)), clock, breaker=breaker)
    http.request("GET", "/x", endpoint="x")
    http.request("GET", "/x", endpoint="x")
    with pytest.raises(CircuitOpen):
        http.request("GET", "/x", endpoint="x")
    http.request("GET", "/y", endpoint="y")  # another endpoint is unaffected
    clock.advance(3601)
    assert http.request("GET", "/x", endpoint="x").status_code == 404


# ------------------------------------------------------------------------------------------ connections


def test_the_exact_table_is_checked_and_paths_resolved(tmp_path: Path) -> None:
    path = tmp_path / "connections.toml"
    path.write_text(
        '[exact]\nbase_url = "https://start.exactonline.nl/"\ndivision = 123\nclient_id = "abc"\n'
        'client_secret_env = "EXACT_SECRET"\ntoken_file = "tokens/exact.json"\n'
    )
    conn = load_connections(path)["exact"]
    assert conn["base_url"] == "https://start.exactonline.nl"
    assert conn["token_file"] == tmp_path / "tokens" / "exact.json"


def test_connection_errors_name_the_file_the_key_and_what_is_valid(tmp_path: Path) -> None:
    path = tmp_path / "connections.toml"
    path.write_text('[exact]\nbase_url = "start.exactonline.nl"\ndivision = "1"\nclient_secret = "s3cret"\n')
    with pytest.raises(ConfigError) as raised:
        load_connections(path)
    text = str(raised.value)
    assert f"{path}: exact.base_url: must be an http:// or https:// URL" in text
    assert "exact.division: must be a whole number" in text
    assert "exact.client_secret: unknown key" in text and "client_secret_env" in text
    assert "exact.token_file: missing" in text
    assert "s3cret" not in text


def test_the_environment_variable_names_the_file_and_other_systems_register(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "c.toml"
    path.write_text(
        '[webshop]\nanything = 1\n[exact]\nbase_url = "http://x"\ndivision = 1\nclient_id = "a"\n'
        'client_secret_env = "EXACT_SECRET_FOR_TEST"\ntoken_file = "/t.json"\n'
    )
    monkeypatch.setenv("RECONCILE_CONNECTIONS", str(path))
    connections = load_connections(None)
    assert connections["webshop"]["anything"] == 1  # not registered: passed through
    with pytest.raises(ConfigError, match="EXACT_SECRET_FOR_TEST"):
        resolve_secret(connections["exact"], "client_secret_env", system="exact")
    monkeypatch.setenv("EXACT_SECRET_FOR_TEST", "value")
    assert resolve_secret(connections["exact"], "client_secret_env", system="exact") == "value"
    monkeypatch.delenv("RECONCILE_CONNECTIONS")
    assert load_connections(None) == {}


# ----------------------------------------------------------------------------------------------- wire


def test_dates_are_read_as_amsterdam_wall_clock_time() -> None:
    summer_midnight = "/Date(1719792000000)/"  # 2024-07-01T00:00 as wall-clock milliseconds
    assert parse_date(summer_midnight) == dt.date(2024, 7, 1)
    assert parse_datetime(summer_midnight) == dt.datetime(2024, 6, 30, 22, 0, tzinfo=dt.UTC)
    assert parse_date("/Date(-86400000)/") == dt.date(1969, 12, 31)
    winter = dt.datetime(2026, 1, 29, 9, 30, tzinfo=dt.UTC)
    assert format_datetime(winter) == "2026-01-29T10:30:00"
    assert date_literal(dt.date(2026, 1, 29)) == "datetime'2026-01-29T00:00:00'"


def test_envelopes_and_errors() -> None:
    assert unwrap({"d": {"results": [{"a": 1}], "__next": "n"}}) == ([{"a": 1}], "n")
    assert unwrap({"d": {"a": 1}}) == ([{"a": 1}], None)
    assert unwrap({"d": [{"a": 1}]}) == ([{"a": 1}], None)
    failed = httpx.Response(
        400, json={"error": {"code": "", "message": {"lang": "", "value": "Mandatory: A\r\nMandatory: B"}}}
    )
    assert error_message(failed) == "HTTP 400: Mandatory: A / Mandatory: B"
    assert not is_transient(httpx.Response(500, json={"error": {"message": {"value": "Invalid reference"}}}))
    assert is_transient(httpx.Response(500, text="<html>maintenance</html>"))
    assert is_transient(httpx.Response(503))
