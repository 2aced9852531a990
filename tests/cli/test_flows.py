"""The flow commands on the shipped flows, and the help every command carries."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer
from typer.testing import CliRunner

from reconcile.cli.main import app

runner = CliRunner()
FLOWS = sorted(str(p) for p in Path("flows").glob("*.toml"))


def test_the_shipped_flows_check_with_the_warnings_they_deserve() -> None:
    result = runner.invoke(app, ["flows", "check", *FLOWS])
    assert result.exit_code == 0, result.output
    out = result.output
    assert len(FLOWS) == 5 and out.count("ok: ") == 5
    # The CRM's products paired with Exact contacts: no field joins them.
    assert '"products-contacts" pairs crm Product with exact Contacts, but no field joins them' in out
    # A read-only Exact target with no merge rule can link nothing.
    assert '"employees" can link nothing: exact Employees is read-only and the mapping has no merge rule' in out
    # The ERP -> PMS dataflow lists its mappings twice: folded, with a warning.
    assert 'mapping "customers-again" repeats mapping "customers"' in out
    assert 'mapping "projects-again" repeats mapping "projects"' in out


def test_flows_list_and_show() -> None:
    result = runner.invoke(app, ["flows", "list", "flows"])
    assert result.exit_code == 0
    assert "powerofficego-to-exact" in result.output and "poweroffice -> exact" in result.output
    result = runner.invoke(app, ["flows", "show", "flows/custom-erp-to-custom-pms.toml"])
    assert result.exit_code == 0
    assert "[projects] Project -> Project" in result.output and "ref customers" in result.output


def test_flows_doc_writes_a_checklist(tmp_path: Path) -> None:
    out = tmp_path / "flow.md"
    result = runner.invoke(app, ["flows", "doc", "flows/customcrm-to-exact.toml", "-o", str(out)])
    assert result.exit_code == 0, result.output
    text = out.read_text()
    assert text.startswith("# customcrm-to-exact")
    assert "- [ ] warning:" in text and "| source | target | type | direction |" in text


def test_an_unknown_flow_file_is_a_usage_error(tmp_path: Path) -> None:
    result = runner.invoke(app, ["flows", "check", str(tmp_path / "nope.toml")])
    assert result.exit_code == 2
    assert "nope.toml: cannot be read" in result.output


def test_every_command_has_help() -> None:
    group: Any = typer.main.get_command(app)

    def walk(cmd: Any, path: list[str]) -> list[tuple[list[str], Any]]:
        if hasattr(cmd, "commands"):
            return [p for name, sub in cmd.commands.items() for p in walk(sub, [*path, name])]
        return [(path, cmd)]

    commands = walk(group, [])
    assert len(commands) >= 15
    for path, command in commands:
        result = runner.invoke(app, [*path, "--help"])
        assert result.exit_code == 0, path
        assert command.help and len(command.help.split()) >= 5, f"{' '.join(path)} needs a real help text"


def test_snapshots_are_cached_unless_no_cache(tmp_path: Path) -> None:
    flow = "flows/exact-online-to-custom-pms.toml"
    cached, uncached = tmp_path / "cached", tmp_path / "uncached"
    for state, extra in ((cached, []), (uncached, ["--no-cache"])):
        result = runner.invoke(app, ["plan", flow, "--state", str(state), "--report-dir", str(tmp_path / "r"), *extra])
        assert result.exit_code == 0, result.output
    assert any((cached / "cache" / "exact").rglob("*.parquet"))
    assert not (uncached / "cache").exists()
