"""The real connectors through a connections file, against the emulators that `sandbox serve` starts.

This is the path a company's nightly job takes: base URLs, a division, keys named by environment
variables, an Exact token file. Only the addresses point at localhost.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from reconcile.cli.main import app
from reconcile.sandbox.serve import serve_sandboxes

runner = CliRunner()


def test_plan_through_a_connections_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("exact", "poweroffice"):
        shutil.copytree(Path("data/sandbox") / name, tmp_path / name)
    connections, env, close = serve_sandboxes(tmp_path / "exact", tmp_path / "poweroffice")
    try:
        conn_file = tmp_path / "connections.toml"
        conn_file.write_text(connections)
        for key, value in env.items():
            monkeypatch.setenv(key, value)
        result = runner.invoke(
            app,
            [
                "plan",
                "flows/powerofficego-to-exact.toml",
                "--connections",
                str(conn_file),
                "--state",
                str(tmp_path / "state"),
                "--report-dir",
                str(tmp_path / "reports"),
            ],
        )
    finally:
        close()
    assert result.exit_code == 0, result.output
    folder = Path([line for line in result.output.splitlines() if line.startswith("report: ")][-1][8:])
    counts = json.loads((folder / "plan.json").read_text())["counts"]
    # No previous night: a real connection starts with no links. Departments merge on Code, customers are new.
    assert counts["departments"]["in_sync"] >= 5
    assert counts["customers-accounts"]["create"] > 100
    # Nothing of the served secrets ends up in the report.
    report = (folder / "plan.json").read_text() + (folder / "run.log").read_text()
    assert all(value not in report for value in env.values())


def test_a_missing_secret_is_named_not_shown(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    conn_file = tmp_path / "connections.toml"
    conn_file.write_text(
        '[exact]\nbase_url = "https://start.exactonline.nl"\ndivision = 1\nclient_id = "x"\n'
        'client_secret_env = "NOT_SET_ANYWHERE"\ntoken_file = "tokens.json"\n'
    )
    monkeypatch.delenv("NOT_SET_ANYWHERE", raising=False)
    result = runner.invoke(
        app,
        [
            "plan",
            "flows/exact-online-to-custom-pms.toml",
            "--connections",
            str(conn_file),
            "--state",
            str(tmp_path / "state"),
            "--report-dir",
            str(tmp_path / "reports"),
        ],
    )
    assert result.exit_code in (2, 4), result.output
    assert "NOT_SET_ANYWHERE" in result.output
