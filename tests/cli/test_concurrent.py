"""Two flows that write one system take turns on it, even when each keeps its own state directory.

``shop-to-ledger`` and ``shop2-to-ledger`` both create accounts in one ledger folder. The first run is held
just after its first write (the ledger took its accounts; its invoices are still to come) while the second is
started, as two cron lines starting at once would. The second must not read or write the ledger until the
first is done: its writes come after all of the first's, and the ledger ends with every account of both.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import reconcile
from tests.cli.world import FLOW, SHOP, customers, held, make_world

WRITER = """
import os, sys, time
from reconcile.systems.files import connector as files

real = files.FileSystem.write
who = os.environ["WHO"]
calls = {"n": 0}

def write(self, entity, ops):
    results = real(self, entity, ops)
    with open(os.environ["WRITE_LOG"], "a") as log:
        log.write(f"{who} {self.name} {entity}\\n")
    calls["n"] += 1
    if who == "A" and calls["n"] == 1:
        print("A has written", flush=True)
        deadline = time.monotonic() + 60
        while not os.path.exists(os.environ["GO"]) and time.monotonic() < deadline:
            time.sleep(0.05)
    return results

files.FileSystem.write = write
from reconcile.cli.main import app
sys.argv = ["reconcile", *sys.argv[1:]]
app()
"""


IMPORTS = f"{Path(reconcile.__file__).parents[1]}:{Path.cwd()}"
"""The child imports the reconcile this test runs against, and the tests."""


def _start(who: str, root: Path, flow: str) -> subprocess.Popen[str]:
    env = {
        "PATH": "/usr/bin:/bin",
        "PYTHONPATH": IMPORTS,
        "WHO": who,
        "WRITE_LOG": str(root / "writes.log"),
        "GO": str(root / "go"),
    }
    args = ["run", str(root / "flows" / f"{flow}.toml"), "--state", str(root / f"state-{who}")]
    args += ["--report-dir", str(root / "reports"), "--connections", str(root / "connections.toml")]
    return subprocess.Popen(
        [sys.executable, "-c", WRITER, *args],
        cwd=root,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_two_flows_writing_one_files_target_take_turns_on_it(tmp_path: Path) -> None:
    make_world(tmp_path, n_customers=30, bad=False)
    (tmp_path / "flows" / "systems" / "shop2.toml").write_text(SHOP.replace('system = "shop"', 'system = "shop2"'))
    second = FLOW.replace('"shop-to-ledger"', '"shop2-to-ledger"').replace('source = "shop"', 'source = "shop2"')
    (tmp_path / "flows" / "shop2-to-ledger.toml").write_text(second.split('[[mapping]]\nname = "orders"')[0])
    shop2 = tmp_path / "data" / "sandbox" / "shop2"
    shop2.mkdir()
    people = [{**c, "email": c["email"].replace("@", ".shop2@")} for c in customers(20)]
    (shop2 / "Customer.json").write_text(json.dumps(people))
    (shop2 / "Order.json").write_text("[]")
    (tmp_path / "connections.toml").write_text(
        "".join(f'[{name}]\nfolder = "data/sandbox/{name}"\n' for name in ("shop", "shop2", "ledger"))
    )

    first = _start("A", tmp_path, "shop-to-ledger")
    assert first.stdout is not None
    assert first.stdout.readline().strip() == "A has written"
    other = _start("B", tmp_path, "shop2-to-ledger")
    assert other.stderr is not None
    told = ""
    for line in other.stderr:  # until it says it waits for the ledger, or it has ended without waiting
        if "waiting for it to finish" in line:
            told = line
            break
    (tmp_path / "go").touch()
    out_a, err_a = first.communicate(timeout=120)
    out_b, err_b = other.communicate(timeout=120)
    assert first.returncode == 1, out_a + err_a  # the order of a missing customer waits for review
    assert other.returncode == 0, out_b + err_b

    writers = [line.split()[0] for line in (tmp_path / "writes.log").read_text().splitlines() if " ledger " in line]
    assert writers == sorted(writers), f"the runs wrote the ledger in turns of {writers}"
    assert "ledger is being written by another run" in told
    emails = [a["Email"] for a in held(tmp_path, "ledger", "Account")]
    assert len(emails) == len(set(emails)) == 50  # 30 of the first shop, 20 of the second
