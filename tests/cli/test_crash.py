"""A run killed in the middle of applying, then started again, leaves no duplicate and loses no change.

The run really dies: a child process applies the flow and is killed with ``os._exit`` right after the
system has taken a batch of writes and before the run could record them (the worst moment). The next run,
in a fresh process, must find those records, link them, and create only what is still missing.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

import reconcile
from reconcile.systems.registry import Systems
from tests.cli.world import make_world, read

KILLER = """
import os, sys
from reconcile.systems.files import connector as files

real = files.FileSystem.write
calls = {"n": 0}

def write(self, entity, ops):
    results = real(self, entity, ops)
    calls["n"] += 1
    if calls["n"] == int(os.environ["KILL_AFTER_WRITE"]):
        sys.stderr.write(f"killed after {entity} took {sum(r.ok for r in results)} writes\\n")
        sys.stderr.flush()
        os._exit(9)
    return results

files.FileSystem.write = write
from reconcile.cli.main import app
sys.argv = ["reconcile", *sys.argv[1:]]
app()
"""


IMPORTS = f"{Path(reconcile.__file__).parents[1]}:{Path.cwd()}"
"""The child imports the reconcile this test runs against, and the tests."""


def _run(args: list[str], kill_after: int | None, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {"PATH": "/usr/bin:/bin", "KILL_AFTER_WRITE": str(kill_after or 0), "PYTHONPATH": IMPORTS}
    return subprocess.run(
        [sys.executable, "-c", KILLER, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120
    )


# One kill point here: the fault suite (tests/faults, `make faults`) kills runs at every point of a batch.
@pytest.mark.parametrize("kill_after", [2])
def test_killed_run_resumes_without_duplicates(tmp_path: Path, kill_after: int) -> None:
    flow = make_world(tmp_path, n_customers=120, bad=False)
    state, reports = tmp_path / "state", tmp_path / "reports"
    args = ["run", str(flow), "--state", str(state), "--report-dir", str(reports)]

    killed = _run(args, kill_after, tmp_path)
    assert killed.returncode == 9, killed.stderr
    # What the killed run wrote is in the ledger's pending log until a run writes the files: read it as a run would.
    with Systems(flows_dir=flow.parent, state_dir=state) as systems:
        ledger = systems.open("ledger")
        written = ledger.read("Account").height - 1 + ledger.read("Invoice").height  # less the seeded account
    assert written > 1  # the killed run did write something

    again = _run(args, None, tmp_path)
    assert again.returncode == 1, again.stdout + again.stderr  # one order refers to a missing customer

    accounts = read(tmp_path, state, "ledger", "Account")
    invoices = read(tmp_path, state, "ledger", "Invoice")
    emails = Counter(a["Email"] for a in accounts)
    assert len(accounts) == 120 and max(emails.values()) == 1, "an account was created twice"
    assert len(invoices) == 120
    amounts = Counter((i["Account"], i["Amount"]) for i in invoices)
    assert max(amounts.values()) == 1, "an invoice was created twice"
    ids = {a["ID"] for a in accounts}
    assert all(i["Account"] in ids for i in invoices)

    third = _run(args, None, tmp_path)
    summary = json.loads(
        (
            Path([line for line in third.stdout.splitlines() if line.startswith("report: ")][-1][8:]) / "plan.json"
        ).read_text()
    )
    for mapping in ("customers", "orders"):
        assert summary["counts"][mapping]["create"] == 0
        assert summary["counts"][mapping]["in_sync"] == 120


def test_a_create_whose_answer_was_lost_is_linked_not_made_again(tmp_path: Path) -> None:
    """Orders that cannot be told apart: two per customer, same customer, same amount, no merge rule.

    The run is killed after the ledger took the invoices and before the run recorded them; the next run must
    pair the pending creates with the invoices one to one, not take them all for ambiguous and make them again.
    """
    flow = make_world(tmp_path, n_customers=6, bad=False)
    twins = [{"id": 100 + i, "customer": 1 + i // 2, "total": 250.0} for i in range(12)]
    (tmp_path / "data" / "sandbox" / "shop" / "Order.json").write_text(json.dumps(twins))
    state, reports = tmp_path / "state", tmp_path / "reports"
    args = ["run", str(flow), "--state", str(state), "--report-dir", str(reports)]

    killed = _run(args, 2, tmp_path)  # the accounts, then the invoices: killed before they were recorded
    assert killed.returncode == 9, killed.stderr
    assert "killed after Invoice took 12 writes" in killed.stderr

    again = _run(args, None, tmp_path)
    assert again.returncode == 0, again.stdout + again.stderr
    invoices = read(tmp_path, state, "ledger", "Invoice")
    assert len(invoices) == 12, "an invoice was created twice"
    assert sorted(Counter(i["Account"] for i in invoices).values()) == [2] * 6
