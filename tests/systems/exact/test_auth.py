"""The `reconcile auth exact` side: the authorisation URL, the code exchange, storing a refresh token."""

from __future__ import annotations

import urllib.parse
from pathlib import Path

import httpx
import pytest

from reconcile.errors import AuthError, ConfigError
from reconcile.model.clock import FakeClock
from reconcile.sandbox.exact.emulator import (
    SANDBOX_CLIENT_ID,
    SANDBOX_CLIENT_SECRET,
    SANDBOX_REDIRECT_URI,
    ExactEmulator,
)
from reconcile.sandbox.server import serve
from reconcile.systems.exact.auth import authorization_url, exchange_code, read_token_file, store_refresh_token


def conn_for(url: str, tmp_path: Path) -> dict[str, object]:
    return {
        "base_url": url,
        "division": 123456,
        "client_id": SANDBOX_CLIENT_ID,
        "client_secret_env": "EXACT_AUTH_TEST_SECRET",
        "token_file": tmp_path / "tokens.json",
        "redirect_uri": SANDBOX_REDIRECT_URI,
    }


def test_the_authorisation_code_flow_stores_tokens_and_a_code_works_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EXACT_AUTH_TEST_SECRET", SANDBOX_CLIENT_SECRET)
    clock = FakeClock()
    emulator = ExactEmulator(clock=clock)
    with serve(emulator.app) as server:
        conn = conn_for(server.url, tmp_path)
        url = authorization_url(conn, state="xyz")
        assert url.startswith(f"{server.url}/api/oauth2/auth?")
        redirect = httpx.get(url, follow_redirects=False)
        assert redirect.status_code == 302
        query = urllib.parse.parse_qs(urllib.parse.urlsplit(redirect.headers["location"]).query)
        assert query["state"] == ["xyz"]
        # The code arrives URL-encoded ("!" as %21), as a person would paste it.
        code = urllib.parse.quote(query["code"][0], safe="")
        exchange_code(conn, code, clock=clock)
        tokens = read_token_file(tmp_path / "tokens.json")
        assert tokens is not None and tokens.access_token and tokens.refresh_token
        assert tokens.expires_at == clock.now() + 600
        with pytest.raises(AuthError, match="reconcile auth exact"):
            exchange_code(conn, code, clock=clock)
    assert (tmp_path / "tokens.json").stat().st_mode & 0o077 == 0


def test_a_missing_secret_variable_is_named_and_a_missing_redirect_uri_explained(tmp_path: Path) -> None:
    conn = conn_for("http://127.0.0.1:9", tmp_path)
    with pytest.raises(ConfigError, match="EXACT_AUTH_TEST_SECRET"):
        exchange_code(conn, "abc")
    del conn["redirect_uri"]
    with pytest.raises(ConfigError, match="redirect_uri"):
        authorization_url(conn)


def test_a_stored_refresh_token_is_kept_without_an_access_token(tmp_path: Path) -> None:
    conn = conn_for("http://127.0.0.1:9", tmp_path)
    store_refresh_token(conn, "  stampNL001.abc!def \n")
    tokens = read_token_file(tmp_path / "tokens.json")
    assert tokens is not None
    assert tokens.refresh_token == "stampNL001.abc!def"
    assert tokens.access_token is None
