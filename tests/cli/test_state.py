"""A state that is lost, empty, new or looked for in the wrong place never leads to records made twice.

The shop and the ledger are real folders (a connections file names them), so that every state directory
sees the same records, as a company's nightly job does.
"""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from reconcile.cli.main import app
from tests.cli.world import connect, held, make_world

runner = CliRunner()


def _invoke(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.output


def _run(root: Path, state: Path, *more: str) -> tuple[int, str]:
    flow = root / "flows" / "shop-to-ledger.toml"
    reports = root / "reports"
    return _invoke(
        "run",
        str(flow),
        "--state",
        str(state),
        "--report-dir",
        str(reports),
        "--connections",
        str(connect(root)),
        *more,
    )


def test_a_first_run_against_a_target_that_holds_records_stops_before_any_write(tmp_path: Path) -> None:
    make_world(tmp_path, bad=False)
    invoices = tmp_path / "data" / "sandbox" / "ledger" / "Invoice.json"
    invoices.write_text(json.dumps([{"ID": "0b9f3c1e-0000-4000-8000-0000000000aa", "Account": "x", "Amount": 5.0}]))
    flow, state, reports = str(tmp_path / "flows" / "shop-to-ledger.toml"), str(tmp_path / "state"), str(tmp_path / "r")
    code, out = _invoke(
        "plan", flow, "--state", state, "--report-dir", reports, "--connections", str(connect(tmp_path))
    )
    assert code == 0, out  # a plan shows the first sync for a person to look at
    assert "guard: mapping orders: first sync of flow shop-to-ledger" in out

    code, out = _run(tmp_path, tmp_path / "state")
    assert code == 3, out
    assert "mapping orders: first sync of flow shop-to-ledger" in out and "--first-sync" in out
    assert len(held(tmp_path, "ledger", "Account")) == 1 and len(held(tmp_path, "ledger", "Invoice")) == 1

    code, out = _run(tmp_path, tmp_path / "state", "--first-sync")
    assert code == 1, out  # applied; the order of a missing customer waits for review
    assert len(held(tmp_path, "ledger", "Account")) == 12 and len(held(tmp_path, "ledger", "Invoice")) == 13


def test_a_typo_in_state_stops_the_run_before_it_makes_anything_again(tmp_path: Path) -> None:
    make_world(tmp_path, bad=False)
    assert _run(tmp_path, tmp_path / "state")[0] == 1
    assert len(held(tmp_path, "ledger", "Invoice")) == 12

    code, out = _run(tmp_path, tmp_path / "stat")  # the night the cron line lost a letter
    assert code == 3, out
    assert "holds no links of flow shop-to-ledger" in out
    assert len(held(tmp_path, "ledger", "Account")) == 12 and len(held(tmp_path, "ledger", "Invoice")) == 12


def test_a_zero_byte_state_is_refused_not_started_over(tmp_path: Path) -> None:
    make_world(tmp_path, bad=False)
    state = tmp_path / "state"
    assert _run(tmp_path, state)[0] == 1
    for suffix in ("-wal", "-shm"):
        (state / f"state.db{suffix}").unlink(missing_ok=True)
    (state / "state.db").write_bytes(b"")  # a disk that filled up, a copy gone wrong
    code, out = _run(tmp_path, state)
    assert code == 2, out
    assert "state.db is empty (0 bytes)" in out
    assert len(held(tmp_path, "ledger", "Account")) == 12 and len(held(tmp_path, "ledger", "Invoice")) == 12
    assert _invoke("links", "list", "--state", str(state))[0] == 2


def test_links_and_runs_on_a_missing_state_say_so_and_make_none(tmp_path: Path) -> None:
    missing = tmp_path / "no-such-state"
    for command in (
        ["links", "list"],
        ["links", "export", str(tmp_path / "l.csv")],
        ["runs", "list"],
        ["runs", "show", "x"],
    ):
        code, out = _invoke(*command, "--state", str(missing))
        assert code == 2, (command, out)
        assert f"no state at {missing}" in out, out
    assert not missing.exists()
