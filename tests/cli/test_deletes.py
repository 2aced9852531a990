"""What a run says of records deleted on one side: a delete it only reports waits for a person."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from reconcile.cli.main import app
from tests.cli.world import make_world

runner = CliRunner()


def test_a_reported_delete_waits_for_review_and_is_not_in_sync(tmp_path: Path) -> None:
    flow = make_world(tmp_path, bad=False)
    orders = tmp_path / "data" / "sandbox" / "shop" / "Order.json"
    orders.write_text(json.dumps([o for o in json.loads(orders.read_text()) if o["id"] != 500]))  # all linkable
    args = ["run", str(flow), "--state", str(tmp_path / "state"), "--report-dir", str(tmp_path / "reports")]
    first = runner.invoke(app, args)
    assert first.exit_code == 0, first.output

    shop = tmp_path / "state" / "sandbox" / "shop"
    for entity, gone in (("Customer", 5), ("Order", 104)):  # customer 5 and its order
        records = json.loads((shop / f"{entity}.json").read_text())
        (shop / f"{entity}.json").write_text(json.dumps([r for r in records if r["id"] != gone]))
    second = runner.invoke(app, args)
    assert second.exit_code == 1, second.output
    assert "outcome: applied 0 writes; 2 rows wait for review" in second.output
    runs = runner.invoke(app, ["runs", "list", "--state", str(tmp_path / "state")]).output.splitlines()
    assert runs[-1].endswith("review"), runs
