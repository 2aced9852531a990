"""The shape of the code, held by tests: the layer contracts bite, modules stay small, privates stay home.

The import-linter contracts live in pyproject.toml and run in `make test` (`lint-imports`). Here each contract
is shown to fail on a deliberate violation, made in a copy of the package, so that a contract that quietly
stopped checking anything would be noticed. ARCHITECTURE.md says what each layer may import.
"""

from __future__ import annotations

import ast
import functools
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src" / "reconcile"
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")
MAX_LINES = 400

VIOLATIONS = {
    "layers": ("model/names.py", "import reconcile.engine.build\n"),
    "no-emulators-in-product": ("systems/registry.py", "import reconcile.sandbox.server\n"),
    "pure-core": ("engine/order.py", "import sqlite3\n"),
    "acyclic": ("report/summary.py", "import reconcile.report.workbook\n"),
}
"""Contract id -> (a module of the package, an import that breaks only that contract's rule)."""


def _modules() -> list[Path]:
    return sorted(SRC.rglob("*.py"))


def _module_name(path: Path) -> str:
    parts = path.relative_to(SRC.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


@functools.cache
def _from_imports(path: Path) -> list[ast.ImportFrom]:
    """Every ``from x import y`` of a module, parsed once for the tests that read them."""
    return [node for node in ast.walk(ast.parse(path.read_text())) if isinstance(node, ast.ImportFrom)]


def _lint(root: Path, *contracts: str) -> subprocess.CompletedProcess[str]:
    config = root / "pyproject.toml"
    chosen = [arg for contract in contracts for arg in ("--contract", contract)]
    return subprocess.run(
        [str(LINT_IMPORTS), str(config), *chosen, "--no-cache"],
        cwd=root,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(root / "src")},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_every_contract_in_pyproject_has_a_violation_here() -> None:
    contracts = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]["contracts"]
    assert sorted(c["id"] for c in contracts) == sorted(VIOLATIONS)


def test_the_contracts_hold_on_the_code_as_it_is(tmp_path: Path) -> None:
    shutil.copytree(SRC, tmp_path / "src" / "reconcile", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    result = _lint(tmp_path, *VIOLATIONS)  # one run for every contract: the import graph is built once
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"Contracts: {len(VIOLATIONS)} kept, 0 broken." in result.stdout, result.stdout


@pytest.mark.parametrize("contract", sorted(VIOLATIONS))
def test_a_contract_fails_on_a_deliberate_violation(tmp_path: Path, contract: str) -> None:
    shutil.copytree(SRC, tmp_path / "src" / "reconcile", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    module, line = VIOLATIONS[contract]
    target = tmp_path / "src" / "reconcile" / module
    target.write_text(target.read_text(encoding="utf-8") + "\n" + line, encoding="utf-8")

    result = _lint(tmp_path, contract)

    assert result.returncode == 1, result.stdout + result.stderr
    assert "BROKEN" in result.stdout
    imported = line.split()[1]
    assert imported.rsplit(".", 1)[-1] in result.stdout, result.stdout


def test_no_module_is_over_400_lines() -> None:
    long = {str(p.relative_to(SRC)): n for p in _modules() if (n := len(p.read_text().splitlines())) > MAX_LINES}
    assert long == {}, "split these where a concept wants its own room"


def test_no_module_imports_a_private_name_from_another_package() -> None:
    found: list[str] = []
    for path in _modules():
        name = _module_name(path)
        package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
        for node in _from_imports(path):
            if not (node.module or "").startswith("reconcile"):
                continue
            assert node.module is not None
            for alias in node.names:
                private = alias.name.startswith("_") and not alias.name.startswith("__")
                if private and node.module.rsplit(".", 1)[0] != package:
                    found.append(f"{name} imports {node.module}.{alias.name}")
    assert found == []


def test_package_inits_hold_a_docstring_and_nothing_else() -> None:
    """No re-export shims: a name is imported from the module that defines it (the package version aside)."""
    crowded = []
    for init in SRC.rglob("__init__.py"):
        body = ast.parse(init.read_text()).body
        if [n for n in body if not (isinstance(n, ast.Expr) and isinstance(n.value, ast.Constant)) and not _dunder(n)]:
            crowded.append(str(init.relative_to(SRC)))
    assert crowded == []


def _dunder(node: ast.stmt) -> bool:
    return isinstance(node, ast.Assign) and all(
        isinstance(t, ast.Name) and t.id.startswith("__") and t.id.endswith("__") for t in node.targets
    )


def test_no_module_re_exports_a_name_it_imports() -> None:
    """``from x import y as y`` is how a shim keeps an old import path alive; there are none."""
    shims = []
    for path in _modules():
        for node in _from_imports(path):
            shims += [f"{_module_name(path)}: {a.name}" for a in node.names if a.asname == a.name]
    assert shims == []


IO_CALLS = {
    "open",
    "read_text",
    "write_text",
    "read_bytes",
    "write_bytes",
    "read_parquet",
    "write_parquet",
    "scan_parquet",
    "read_csv",
    "write_csv",
    "scan_csv",
    "read_json",
    "write_json",
    "read_ndjson",
    "write_ndjson",
    "sink_parquet",
    "mkdir",
    "unlink",
}


@pytest.mark.parametrize("package", ["engine", "model"])
def test_the_pure_core_reads_and_writes_no_files(package: str) -> None:
    """import-linter keeps os, io and sqlite3 out of the core; this catches a file opened through pathlib or Polars."""
    calls = []
    for path in sorted((SRC / package).rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call):
                func = node.func
                name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
                if name in IO_CALLS:
                    calls.append(f"{path.relative_to(SRC)}:{node.lineno} {name}")
    assert calls == []
