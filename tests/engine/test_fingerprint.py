"""Fingerprints: the same row content hashes the same in any process; the label and the verdicts do not count."""

from __future__ import annotations

import hashlib

import polars as pl

from reconcile.engine.fingerprint import canonical_rows, fingerprints
from reconcile.model.plan import PLAN_SCHEMA
from tests.engine.world import clients, customers, flow, plan


def _row(**given: object) -> dict[str, object]:
    base: dict[str, object] = {
        "row_id": "customers|update_target|1|c1",
        "mapping": "customers",
        "action": "update_target",
        "reason": "source_changed",
        "detail": None,
        "source_id": "1",
        "target_id": "c1",
        "label": "Ola",
        "changes": [{"property": "Name", "field": "Name", "old": "Ola", "new": "Ola N", "base": "Ola"}],
        "parents": [],
        "both_gone": False,
        "candidates": [],
        "structural": False,
        "remembered": None,
        "fingerprint": None,
    }
    return base | given


def _prints(*rows: dict[str, object]) -> list[str]:
    return fingerprints(pl.DataFrame(list(rows), schema=PLAN_SCHEMA)).to_list()


def test_a_fingerprint_is_sixteen_hex_characters_and_never_changes_for_the_same_content() -> None:
    # Pinned: a stored decision must match tomorrow's plan, in another process and with another Polars.
    text = "28:customers|update_target|1|c113:update_target14:source_changed~1[4:Name4:Name3:Ola5:Ola N3:Ola]0[]"
    assert canonical_rows(pl.DataFrame([_row()], schema=PLAN_SCHEMA)).to_list() == [text]
    assert _prints(_row()) == [hashlib.sha256(text.encode()).hexdigest()[:16]] == ["1a4b2f9e9bd7a114"]


def test_the_label_and_the_verdicts_do_not_change_a_fingerprint() -> None:
    same = _prints(_row(), _row(label="Ola Nordmann", structural=True, remembered="reject", parents=["x"]))
    assert same[0] == same[1]


def test_any_change_of_content_changes_the_fingerprint() -> None:
    variants = [
        _row(),
        _row(row_id="customers|update_target|2|c1"),
        _row(action="conflict"),
        _row(reason="target_changed"),
        _row(detail="x"),
        _row(changes=[{"property": "Name", "field": "Name", "old": "Ola", "new": "Ola M", "base": "Ola"}]),
        _row(changes=[{"property": "Name", "field": "Name", "old": "Ola", "new": "Ola N", "base": None}]),
        _row(changes=[]),
        _row(candidates=[{"target_id": "c1", "label": "Ola"}]),
    ]
    assert len(set(_prints(*variants))) == len(variants)


def test_values_that_run_together_are_told_apart() -> None:
    a = _row(changes=[{"property": "ab", "field": "c", "old": None, "new": "", "base": None}])
    b = _row(changes=[{"property": "a", "field": "bc", "old": None, "new": "", "base": None}])
    c = _row(changes=[{"property": "a", "field": "bc", "old": "", "new": None, "base": None}])
    assert len(set(_prints(a, b, c))) == 3


def test_every_row_of_a_plan_has_its_fingerprint() -> None:
    result = plan(flow(), clients({"id": 1, "name": "Ola"}, {"id": 2, "name": "Kari"}), customers())
    assert result.rows["fingerprint"].null_count() == 0
    assert result.rows["fingerprint"].is_unique().all()
    again = plan(flow(), clients({"id": 1, "name": "Ola"}, {"id": 2, "name": "Kari"}), customers())
    assert again.rows["fingerprint"].to_list() == result.rows["fingerprint"].to_list()
