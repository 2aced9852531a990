"""A CSV file as a company sends it, through the command line the way cron runs it: the ledger's files are
``;``-separated Latin-1 with a UTF-8 byte-order mark and CRLF line endings, and its system file says so.

``plan`` and ``run`` are started as processes of their own from another working directory, with a bare
environment; after ``run`` the ledger's files are rewritten with their mark, CRLF, separator and encoding.
"""

from __future__ import annotations

import codecs
import json
import subprocess
import sys
from pathlib import Path

from tests.cli.world import LEDGER, connect, customers, make_world

RECONCILE = Path(sys.executable).parent / "reconcile"
ACCOUNT = "0b9f3c1e-0000-4000-8000-000000000001"


def _sent(text: str) -> bytes:
    """``text`` as the company's program writes it: a UTF-8 mark, then Latin-1 with CRLF line endings."""
    return codecs.BOM_UTF8 + text.replace("\n", "\r\n").encode("latin-1")


def _world(root: Path) -> tuple[Path, Path]:
    flow = make_world(root, n_customers=4, bad=False)
    system = LEDGER.replace('kind = "files"', 'kind = "files"\nformat = "csv"\nseparator = ";"\nencoding = "latin-1"')
    (root / "flows" / "systems" / "ledger.toml").write_text(system, encoding="utf-8")
    shop, ledger = root / "data" / "sandbox" / "shop", root / "data" / "sandbox" / "ledger"
    people = customers(4)
    people[0]["city"] = "Tromsø"
    people[1]["name"] = "Kunde 2 Ærø"
    (shop / "Customer.json").write_text(json.dumps(people), encoding="utf-8")
    orders = [{"id": 100 + i, "customer": c["id"], "total": 10.0 * i} for i, c in enumerate(people)]
    (shop / "Order.json").write_text(json.dumps(orders), encoding="utf-8")
    for old in ledger.iterdir():
        old.unlink()
    header = "ID;Name;Email;City;Modified\n"
    (ledger / "Account.csv").write_bytes(
        _sent(f"{header}{ACCOUNT};Kunde 1;kunde1@example.no;Tromsø;2026-10-01T08:00:00Z\n")
    )
    (ledger / "Invoice.csv").write_bytes(_sent("ID;Account;Amount\n"))
    return flow, connect(root)


def _reconcile(command: str, root: Path, flow: Path, connections: Path) -> subprocess.CompletedProcess[str]:
    elsewhere = root / "elsewhere"
    elsewhere.mkdir(exist_ok=True)
    args = [command, str(flow), "--state", str(root / "state"), "--report-dir", str(root / "reports")]
    return subprocess.run(
        [str(RECONCILE), *args, "--connections", str(connections)],
        cwd=elsewhere,
        env={"PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=120,
    )


def _counts(out: str) -> dict[str, dict[str, int]]:
    folder = Path([line for line in out.splitlines() if line.startswith("report: ")][-1].removeprefix("report: "))
    counts: dict[str, dict[str, int]] = json.loads((folder / "plan.json").read_text())["counts"]
    return counts


def test_a_semicolon_latin1_csv_with_a_mark_and_crlf_is_planned_run_and_kept_as_sent(tmp_path: Path) -> None:
    flow, connections = _world(tmp_path)
    ledger = tmp_path / "data" / "sandbox" / "ledger"
    before = (ledger / "Account.csv").read_bytes()

    plan = _reconcile("plan", tmp_path, flow, connections)
    assert plan.returncode == 0, plan.stdout + plan.stderr
    counts = _counts(plan.stdout)
    assert counts["customers"]["in_sync"] == 1  # merged by email; Tromsø read as Latin-1 is Tromsø
    assert counts["customers"]["create"] == 3 and counts["orders"]["create"] == 4
    assert (ledger / "Account.csv").read_bytes() == before  # a plan writes nothing

    run = _reconcile("run", tmp_path, flow, connections)
    assert run.returncode == 0, run.stdout + run.stderr
    for name, rows in (("Account", 4), ("Invoice", 4)):
        data = (ledger / f"{name}.csv").read_bytes()
        assert data.startswith(codecs.BOM_UTF8), name
        text = data[3:].decode("latin-1")
        assert text.count("\n") == text.count("\r\n") == rows + 1, name
        assert text.splitlines()[0] == ("ID;Name;Email;City;Modified" if name == "Account" else "ID;Account;Amount")
    accounts = (ledger / "Account.csv").read_bytes()
    assert b"Kunde 2 \xc6r\xf8;kunde2@example.no" in accounts  # written in Latin-1, not UTF-8
    assert f"{ACCOUNT};Kunde 1;kunde1@example.no;Troms\xf8;".encode("latin-1") in accounts


def test_a_semicolon_file_without_the_setting_is_one_line_naming_the_separator(tmp_path: Path) -> None:
    flow, connections = _world(tmp_path)
    system = tmp_path / "flows" / "systems" / "ledger.toml"
    system.write_text(system.read_text(encoding="utf-8").replace('separator = ";"\n', ""), encoding="utf-8")
    plan = _reconcile("plan", tmp_path, flow, connections)
    assert plan.returncode == 2, plan.stdout + plan.stderr
    assert "Traceback" not in plan.stderr
    account = tmp_path / "data" / "sandbox" / "ledger" / "Account.csv"
    assert (
        f'{account}: the header has no column "ID"; found "ID;Name;Email;City;Modified" — is the separator ";"? '
        f'Set separator = ";" in {system}'
    ) in plan.stdout + plan.stderr
