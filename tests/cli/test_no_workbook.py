"""``--no-workbook``: the run folder holds everything but the review workbook; with it, its time is logged."""

from __future__ import annotations

import json
import logging
from pathlib import Path

from typer.testing import CliRunner

from reconcile.cli.main import app
from tests.cli.world import make_world, read

runner = CliRunner()


def _folder(*args: str) -> Path:
    result = runner.invoke(app, list(args))
    assert result.exit_code in (0, 1), result.output
    line = [line for line in result.output.splitlines() if line.startswith("report: ")][-1]
    return Path(line.removeprefix("report: "))


def _files(folder: Path) -> set[str]:
    return {str(path.relative_to(folder)) for path in folder.rglob("*") if path.is_file()}


def test_plan_without_the_workbook_writes_the_rest_of_the_run_folder(tmp_path: Path, caplog) -> None:
    caplog.set_level(logging.INFO, logger="reconcile")  # what -v does, where the test runner holds the logging
    flow = make_world(tmp_path)
    where = ["--state", str(tmp_path / "state"), "--report-dir", str(tmp_path / "reports")]
    full = _folder("-v", "plan", str(flow), *where)
    bare = _folder("-v", "plan", str(flow), *where, "--no-workbook")
    assert "plan.xlsx" in _files(full)
    assert _files(bare) == _files(full) - {"plan.xlsx"}
    assert {"plan.json", "plan.parquet", "run.log", "snapshots/shop.Customer.parquet"} <= _files(bare)
    assert json.loads((bare / "plan.json").read_text()) | {"run_id": "", "started_at": ""} == json.loads(
        (full / "plan.json").read_text()
    ) | {"run_id": "", "started_at": ""}
    assert "wrote the workbook (" in (full / "run.log").read_text()
    assert "wrote the workbook" not in (bare / "run.log").read_text()


def test_run_without_the_workbook_applies_and_writes_no_workbook(tmp_path: Path) -> None:
    flow = make_world(tmp_path)
    state = tmp_path / "state"
    folder = _folder(
        "run", str(flow), "--state", str(state), "--report-dir", str(tmp_path / "reports"), "--no-workbook"
    )
    assert "plan.xlsx" not in _files(folder)
    assert json.loads((folder / "plan.json").read_text())["dry_run"] is False
    assert len(read(tmp_path, state, "ledger", "Account")) == 12  # 11 created beside the one merged
