"""The oracle finds what it is there to find: a world broken on purpose after a clean night is caught.

A suite that reports 0 violations proves something only if its oracle would have seen one. Each test
breaks a synced files world in one way, by hand, and asserts the finding's code.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from random import Random

import pytest

from reconcile.state.store import STATE_FILE
from tests.faults.oracle import Oracle
from tests.faults.worlds.files import FilesWorld


@pytest.fixture
def world(tmp_path: Path) -> FilesWorld:
    synced = FilesWorld(tmp_path, Random("oracle"))
    assert synced.run(first_sync=True).code == 0
    assert Oracle(synced).check() == []
    return synced


def _codes(world: FilesWorld) -> set[str]:
    return {finding.code for finding in Oracle(world).check()}


def _accounts(world: FilesWorld) -> tuple[Path, list[dict[str, object]]]:
    path = world.folder("ledger") / "Account.json"
    return path, json.loads(path.read_text(encoding="utf-8"))


def test_a_second_record_with_a_customers_email_is_a_duplicate(world: FilesWorld) -> None:
    path, accounts = _accounts(world)
    twin = {**accounts[0], "ID": "00000000-0000-4000-8000-00000000beef"}
    path.write_text(json.dumps([*accounts, twin]), encoding="utf-8")
    assert "duplicate" in _codes(world)


def test_a_link_lost_leaves_its_source_record_lost_and_its_target_record_an_orphan(world: FilesWorld) -> None:
    merged = world.preexisting[("ledger", "Account")]
    with sqlite3.connect(world.state_dir / STATE_FILE) as db:
        made = [t for (t,) in db.execute("SELECT target_id FROM links WHERE mapping = 'customers'") if t not in merged]
        db.execute("DELETE FROM links WHERE target_id = ?", (made[0],))
    assert {"lost", "duplicate"} <= _codes(world)


def test_a_value_changed_behind_the_runs_back_differs_from_its_shadow_and_its_pair(world: FilesWorld) -> None:
    path, accounts = _accounts(world)
    accounts[-1]["City"] = "Hammerfest"
    path.write_text(json.dumps(accounts), encoding="utf-8")
    assert "value" in _codes(world)


def test_a_shadow_that_differs_from_both_systems_is_found(world: FilesWorld) -> None:
    with sqlite3.connect(world.state_dir / STATE_FILE) as db:
        db.execute("UPDATE shadows SET value = 'Hammerfest' WHERE property = 'City'")
    assert "shadow" in _codes(world)


def test_an_edit_that_no_system_holds_any_more_is_a_lost_change(world: FilesWorld) -> None:
    world.night_edits(Random("edits"))
    assert world.run().code == 0
    edit = next(e for e in world.edits if e.system == "shop" and e.field == "city")
    path = world.folder("shop") / "Customer.json"
    customers = json.loads(path.read_text(encoding="utf-8"))
    for customer in customers:
        if str(customer["id"]) == edit.key:
            customer["city"] = "Vardø"
    path.write_text(json.dumps(customers), encoding="utf-8")
    assert "lost-change" in _codes(world)
