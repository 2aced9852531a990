"""``reconcile auth exact`` end to end: the address to open, the code pasted at the prompt, a refresh token kept."""

from __future__ import annotations

from pathlib import Path

import pytest
import tomli_w
from typer.testing import CliRunner

from reconcile.cli.main import app
from reconcile.model.clock import FakeClock
from reconcile.sandbox.exact.emulator import (
    SANDBOX_CLIENT_ID,
    SANDBOX_CLIENT_SECRET,
    SANDBOX_REDIRECT_URI,
    ExactEmulator,
)
from reconcile.sandbox.server import serve
from reconcile.systems.exact.auth import read_token_file

runner = CliRunner()


def _connections(tmp_path: Path, url: str) -> Path:
    path = tmp_path / "connections.toml"
    table = {
        "base_url": url,
        "division": 123456,
        "client_id": SANDBOX_CLIENT_ID,
        "client_secret_env": "EXACT_CLI_SECRET",
        "token_file": "tokens.json",
        "redirect_uri": SANDBOX_REDIRECT_URI,
    }
    path.write_text(tomli_w.dumps({"exact": table}))
    return path


def test_the_code_pasted_at_the_prompt_is_traded_for_tokens(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EXACT_CLI_SECRET", SANDBOX_CLIENT_SECRET)
    emulator = ExactEmulator(clock=FakeClock())
    with serve(emulator.app) as server:
        connections = _connections(tmp_path, server.url)
        result = runner.invoke(app, ["auth", "exact", "--connections", str(connections)], input=emulator.issue_code())
    assert result.exit_code == 0, result.output
    assert f"{server.url}/api/oauth2/auth?" in result.output
    assert f"tokens stored in {tmp_path / 'tokens.json'}" in result.output
    tokens = read_token_file(tmp_path / "tokens.json")
    assert tokens is not None and tokens.access_token and tokens.refresh_token


def test_a_refresh_token_is_kept_and_a_file_without_exact_is_refused(tmp_path: Path) -> None:
    connections = _connections(tmp_path, "http://127.0.0.1:9")
    kept = runner.invoke(app, ["auth", "exact", "--connections", str(connections), "--refresh-token", "abc!def"])
    assert kept.exit_code == 0, kept.output
    tokens = read_token_file(tmp_path / "tokens.json")
    assert tokens is not None and tokens.refresh_token == "abc!def"

    (tmp_path / "other.toml").write_text('[webshop]\nbase_url = "http://127.0.0.1:9"\n')
    refused = runner.invoke(app, ["auth", "exact", "--connections", str(tmp_path / "other.toml"), "--code", "x"])
    assert refused.exit_code == 2
    assert "no [exact] table in the connections file" in refused.output
