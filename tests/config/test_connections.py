"""The connections file: the built-in systems' tables checked by their schemas, other tables passed through."""

from __future__ import annotations

from pathlib import Path

import pytest

from reconcile.config.connections import ExactConnection, PowerOfficeConnection, load_connections
from reconcile.errors import ConfigError

EXACT = (
    '[exact]\nbase_url = "https://start.exactonline.nl/"\ndivision = 1\nclient_id = "x"\n'
    'client_secret_env = "EXACT_SECRET"\ntoken_file = "tokens/exact.json"\n'
)
POWEROFFICE = (
    '[poweroffice]\nbase_url = "https://goapi.poweroffice.net/Demo"\nv1_base_url = "https://api.poweroffice.net"\n'
    'application_key_env = "PO_APP"\nclient_key_env = "PO_CLIENT"\nsubscription_key_env = "PO_SUB"\n'
)


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "connections.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_tables_come_back_as_plain_dicts_with_paths_resolved(tmp_path: Path) -> None:
    path = _write(tmp_path, EXACT + POWEROFFICE + '[webshop]\nbase_url = "shop"\nanything = 1\n')
    connections = load_connections(path)
    assert connections["exact"] == {
        "base_url": "https://start.exactonline.nl",
        "division": 1,
        "client_id": "x",
        "client_secret_env": "EXACT_SECRET",
        "token_file": tmp_path / "tokens" / "exact.json",
        "_file": str(path),
    }
    assert connections["poweroffice"]["base_url"] == "https://goapi.poweroffice.net/Demo"
    assert connections["webshop"] == {"base_url": "shop", "anything": 1, "_file": str(path)}


def test_the_keys_a_table_must_hold() -> None:
    assert "redirect_uri" not in ExactConnection.required_keys()
    assert PowerOfficeConnection.required_keys() == [
        "base_url",
        "v1_base_url",
        "application_key_env",
        "client_key_env",
        "subscription_key_env",
    ]


BROKEN = [
    pytest.param(EXACT.replace("division = 1", "division = true"), "exact.division: must be a whole number, not True"),
    pytest.param(
        EXACT.replace('"EXACT_SECRET"', '"exact-secret"'),
        'exact.client_secret_env: must be the name of an environment variable (letters, digits, "_"), '
        'not "exact-secret"',
    ),
    pytest.param(EXACT.replace('client_id = "x"', 'client_id = ""'), "exact.client_id: must be a non-empty string"),
    pytest.param(
        EXACT + 'redirct_uri = "https://localhost"\n',
        'exact.redirct_uri: unknown key (did you mean "redirect_uri"?); valid keys are base_url, division,',
    ),
    pytest.param(
        POWEROFFICE + 'application_key = "x"\n',
        'poweroffice.application_key: unknown key (did you mean "application_key_env"?); valid keys are base_url,',
    ),
    pytest.param(
        POWEROFFICE.replace('v1_base_url = "https://api.poweroffice.net"\n', ""),
        "poweroffice.v1_base_url: missing; it is required (the API v1 host: https://api.poweroffice.net)",
    ),
    pytest.param("exact = 3\n", "exact: must be a table ([exact]) of connection settings"),
    pytest.param("webshop = 3\n", "webshop: must be a table ([webshop]) of connection settings"),
]


@pytest.mark.parametrize(("text", "expected"), BROKEN)
def test_a_broken_table_is_refused_naming_file_and_key_path(tmp_path: Path, text: str, expected: str) -> None:
    path = _write(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        load_connections(path)
    assert f"{path}: {expected}" in str(caught.value)


def test_every_table_is_checked_before_refusing(tmp_path: Path) -> None:
    text = EXACT.replace("division = 1", 'division = "1"') + POWEROFFICE.replace('"https://api', '"api')
    with pytest.raises(ConfigError) as caught:
        load_connections(_write(tmp_path, text))
    assert [line.split(": ")[1] for line in str(caught.value).splitlines()] == [
        "exact.division",
        "poweroffice.v1_base_url",
    ]


def test_a_poweroffice_table_may_name_other_rates(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from reconcile.systems.poweroffice.connector import PowerOfficeSystem

    for name in ("PO_APP", "PO_CLIENT", "PO_SUB"):
        monkeypatch.setenv(name, "key")
    conn = load_connections(_write(tmp_path, POWEROFFICE + "rate_per_second = 500\n"))["poweroffice"]
    system = PowerOfficeSystem.from_connection(conn)
    try:
        assert system.api.v2.limiter.calls == 500  # type: ignore[attr-defined]
        assert system.api.v1.limiter.calls == 50  # type: ignore[attr-defined]  # Go's own, as the table says nothing
    finally:
        system.close()
    with pytest.raises(ConfigError, match=r"poweroffice.rate_per_second: must be a whole number of calls above 0"):
        load_connections(_write(tmp_path, POWEROFFICE + "rate_per_second = 0\n"))
