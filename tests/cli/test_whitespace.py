"""Text is written as it was written: a leading tab or spaces are data, never stripped on the way.

Values still compare without the spaces around them, so a system that trims what it stores makes no
difference to write, and a text of nothing but spaces is still a blank.
"""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from reconcile.cli.main import app
from tests.cli.world import connect, held, make_world

runner = CliRunner()


def _run(root: Path) -> tuple[int, str]:
    result = runner.invoke(
        app,
        [
            "run",
            str(root / "flows" / "shop-to-ledger.toml"),
            "--state",
            str(root / "state"),
            "--report-dir",
            str(root / "reports"),
            "--connections",
            str(connect(root)),
            "--first-sync",
        ],
    )
    return result.exit_code, result.output


def test_leading_and_trailing_spaces_are_written_as_they_are_and_compared_without(tmp_path: Path) -> None:
    make_world(tmp_path, n_customers=3, bad=False)
    shop = tmp_path / "data" / "sandbox" / "shop" / "Customer.json"
    people = json.loads(shop.read_text())
    people[1].update(name="\t=1+1", city="  indented")
    people[2].update(name="Kari ", city="   ")  # trailing spaces kept; nothing but spaces is a blank
    shop.write_text(json.dumps(people))
    code, out = _run(tmp_path)
    assert code in (0, 1), out
    accounts = {a["Email"]: a for a in held(tmp_path, "ledger", "Account")}
    assert (accounts["kunde2@example.no"]["Name"], accounts["kunde2@example.no"]["City"]) == ("\t=1+1", "  indented")
    assert accounts["kunde3@example.no"]["Name"] == "Kari "
    assert accounts["kunde3@example.no"].get("City") is None

    # A ledger that trims what it stores: the same text, so nothing to write back or again.
    ledger = tmp_path / "data" / "sandbox" / "ledger" / "Account.json"
    trimmed = [{**a, "Name": a["Name"].strip()} for a in held(tmp_path, "ledger", "Account")]
    ledger.write_text(json.dumps(trimmed))
    before = shop.read_text()
    code, out = _run(tmp_path)
    assert code in (0, 1), out
    assert "applied 0 writes" in out, out
    assert shop.read_text() == before
    assert {a["Email"]: a["Name"] for a in held(tmp_path, "ledger", "Account")}["kunde2@example.no"] == "=1+1"
