"""PowerOffice Go wire details the emulator does not produce on demand: other key casings, a missing
X-Pagination header, timestamp variants; and the ``[poweroffice]`` connection table."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path

import httpx
import pytest

from reconcile.config.connections import load_connections
from reconcile.errors import AuthError, ConfigError
from reconcile.model.clock import FakeClock
from reconcile.systems.catalogues import builtin_catalogue
from reconcile.systems.poweroffice.connector import PowerOfficeSystem
from reconcile.systems.poweroffice.wire import parse_date, parse_timestamp, patch_document, to_frame


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-05-13T12:34:56.1234567Z", datetime(2024, 5, 13, 12, 34, 56, 123456, tzinfo=UTC)),
        ("2024-05-13T12:34:56.1234567+02:00", datetime(2024, 5, 13, 10, 34, 56, 123456, tzinfo=UTC)),
        ("2024-05-13T12:34:56", datetime(2024, 5, 13, 12, 34, 56, tzinfo=UTC)),
        ("2023-10-25T07:58:57 +00:00", datetime(2023, 10, 25, 7, 58, 57, tzinfo=UTC)),
    ],
)
def test_timestamps_with_seven_decimals_and_any_offset(text: str, expected: datetime) -> None:
    assert parse_timestamp(text) == expected


def test_dates_with_a_time_part() -> None:
    assert parse_date("1980-05-17T00:00:00") == parse_date("1980-05-17") == date(1980, 5, 17)


def test_keys_are_read_without_regard_to_case() -> None:
    entity = builtin_catalogue("poweroffice").entities["Customers person"]
    frame = to_frame(
        entity,
        [{"id": 7, "firstName": "Ola", "mailAddress": {"city": "Oslo"}, "dateofbirth": "1980-05-17T00:00:00"}],
    )
    row = frame.row(0, named=True)
    assert (row["Id"], row["FirstName"], row["MailAddress"]["City"]) == ("7", "Ola", "Oslo")
    assert row["DateOfBirth"] == date(1980, 5, 17)


def test_a_patch_escapes_pointer_characters() -> None:
    assert patch_document({"A/B~C": 1}) == [{"op": "replace", "path": "/A~1B~0C", "value": 1}]


def _mock_system(handler: Callable[[httpx.Request], httpx.Response], clock: FakeClock) -> PowerOfficeSystem:
    return PowerOfficeSystem(
        base_url="https://go.example",
        v1_base_url="https://v1.example",
        application_key="app",
        client_key="client",
        subscription_key="sub",
        clock=clock,
        page_size=2,
        transport=httpx.MockTransport(handler),
    )


def test_without_x_pagination_a_full_page_is_not_taken_for_the_last() -> None:
    pages = {1: [{"Id": 1, "Code": "1", "Name": "A"}, {"Id": 2, "Code": "2", "Name": "B"}], 2: [{"Id": 3, "Name": "C"}]}
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/OAuth/Token":
            assert request.headers["Ocp-Apim-Subscription-Key"] == "sub"
            return httpx.Response(200, json={"access_token": "t", "token_type": "bearer", "expires_in": 1200})
        assert request.headers["Ocp-Apim-Subscription-Key"] == "sub"
        assert request.headers["Authorization"] == "Bearer t"
        page = int(request.url.params["PageNumber"])
        seen.append(request.url.params["PageSize"])
        return httpx.Response(200, content=json.dumps(pages[page]))

    system = _mock_system(handler, FakeClock())
    assert system.read("Departments")["Id"].to_list() == ["1", "2", "3"]
    assert seen == ["2", "2"]


def test_a_500_is_not_retried_but_a_503_is() -> None:
    calls: list[int] = []

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/OAuth/Token":
            return httpx.Response(200, json={"AccessToken": "t", "ExpiresIn": 1200})
        calls.append(1)
        if len(calls) == 1:
            return httpx.Response(503)
        return httpx.Response(204, headers={"X-Pagination": json.dumps({"nextPageLink": None})})

    clock = FakeClock()
    system = _mock_system(handler, clock)
    assert system.read("Departments").height == 0
    assert len(calls) == 2 and clock.slept and min(clock.slept) >= 1.0


def test_refused_keys_say_what_to_check() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(400, json={"error": "invalid_client"})

    with pytest.raises(AuthError, match="invalid_client"):
        _mock_system(handler, FakeClock()).read("Departments")


def test_the_connection_table_is_checked(tmp_path: Path) -> None:
    good = tmp_path / "good.toml"
    good.write_text(
        '[poweroffice]\nbase_url = "https://goapi.poweroffice.net/Demo/"\nv1_base_url = "https://api-demo.poweroffice.net"\n'
        'application_key_env = "PO_APP"\nclient_key_env = "PO_CLIENT"\nsubscription_key_env = "PO_SUB"\n',
        encoding="utf-8",
    )
    conn = load_connections(good)["poweroffice"]
    assert conn["base_url"] == "https://goapi.poweroffice.net/Demo"
    bad = tmp_path / "bad.toml"
    bad.write_text('[poweroffice]\nbase_url = "goapi"\nclient_key = "secret"\n', encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_connections(bad)
    message = str(caught.value)
    assert "poweroffice.base_url" in message and "client_key_env" in message and "v1_base_url: missing" in message
    assert "secret" not in message.replace("secrets", "")


def test_secrets_come_from_the_named_variables(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    conn = {
        "base_url": "https://go.example",
        "v1_base_url": "https://v1.example",
        "application_key_env": "PO_APP",
        "client_key_env": "PO_CLIENT",
        "subscription_key_env": "PO_SUB",
    }
    monkeypatch.setenv("PO_APP", "a")
    monkeypatch.setenv("PO_CLIENT", "c")
    with pytest.raises(ConfigError, match="PO_SUB"):
        PowerOfficeSystem.from_connection(conn)
    monkeypatch.setenv("PO_SUB", "s")
    PowerOfficeSystem.from_connection(conn).close()
