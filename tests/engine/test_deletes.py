"""Deletes (step 6): a linked record gone on one side follows the mapping's delete policy."""

from __future__ import annotations

import pytest

from reconcile.model.plan import Action, Reason
from tests.engine.world import (
    changes,
    clients,
    customers,
    flow,
    links,
    memory_systems,
    night,
    plan,
    row,
    rows_of,
    shadows,
    stored,
)

A, R = Action, Reason
LINKED = links(("customers", "1", "c1"))
SHADOW = shadows(("customers", "1", "Name", "Ola"))


def test_source_gone_is_a_delete_of_the_target() -> None:
    result = plan(flow(), clients(), customers({"ID": "c1", "Name": "Ola"}), LINKED, SHADOW)
    r = row(result, "customers", "1")
    assert (r["action"], r["reason"], r["target_id"]) == (A.DELETE, R.SOURCE_DELETED, "c1")
    assert r["detail"] == "reported only (delete = report)"
    assert r["label"] == "Ola"  # the record is gone from the source: the target says what it was


def test_target_gone_is_a_delete_of_the_source() -> None:
    result = plan(flow(), clients({"id": 1, "name": "Ola"}), customers(), LINKED, SHADOW)
    r = row(result, "customers", "1")
    assert (r["action"], r["reason"], r["target_id"]) == (A.DELETE, R.TARGET_DELETED, "c1")
    assert r["label"] == "Ola"


def test_a_record_whose_target_is_gone_is_not_created_again() -> None:
    result = plan(flow(), clients({"id": 1, "name": "Ola"}), customers(), LINKED, SHADOW)
    assert rows_of(result, "customers") == [("1", A.DELETE, R.TARGET_DELETED)]


def test_gone_on_both_sides_removes_the_link() -> None:
    result = plan(flow(delete="propagate"), clients(), customers(), LINKED, SHADOW)
    r = row(result, "customers", "1")
    assert (r["action"], r["reason"]) == (A.DELETE, R.SOURCE_DELETED)
    assert r["detail"] == "gone on both sides: the link is removed"


@pytest.mark.parametrize(
    ("policy", "source_gone", "target_gone"),
    [
        ("report", "reported only (delete = report)", "reported only (delete = report)"),
        (
            "propagate",
            "deleted in the target too (delete = propagate)",
            "deleted in the source too (delete = propagate)",
        ),
        (
            "unlink",
            "the link is removed; the other record stays (delete = unlink)",
            "the link is removed; the other record stays (delete = unlink)",
        ),
    ],
)
def test_each_delete_policy_says_what_it_does(policy: str, source_gone: str, target_gone: str) -> None:
    the_flow = flow(delete=policy)
    gone_in_source = plan(the_flow, clients(), customers({"ID": "c1", "Name": "Ola"}), LINKED, SHADOW)
    gone_in_target = plan(the_flow, clients({"id": 1, "name": "Ola"}), customers(), LINKED, SHADOW)
    assert row(gone_in_source, "customers", "1")["detail"] == source_gone
    assert row(gone_in_target, "customers", "1")["detail"] == target_gone


def test_a_mappings_own_delete_policy_overrides_the_default() -> None:
    the_flow = flow(delete="report", customer_options={"delete": "propagate"})
    result = plan(the_flow, clients(), customers({"ID": "c1", "Name": "Ola"}), LINKED, SHADOW)
    assert row(result, "customers", "1")["detail"] == "deleted in the target too (delete = propagate)"


# -- issue 9, item 10: deletes do what a person meant -----------------------------------------------------


def test_deleted_in_the_source_and_edited_in_the_target_is_a_conflict_not_a_delete() -> None:
    result = plan(flow(delete="propagate"), clients(), customers({"ID": "c1", "Name": "Ola N"}), LINKED, SHADOW)
    r = row(result, "customers", "1")
    assert (r["action"], r["reason"], r["target_id"]) == (A.CONFLICT, R.SOURCE_DELETED_TARGET_EDITED, "c1")
    assert r["detail"] == "deleted in the source; edited in the target since the last sync: Name"
    assert changes(result, "customers", "1") == {"Name": ("Ola N", None)}


def test_deleted_in_the_target_and_edited_in_the_source_is_a_conflict_not_a_delete() -> None:
    result = plan(flow(delete="propagate"), clients({"id": 1, "name": "Ola N"}), customers(), LINKED, SHADOW)
    r = row(result, "customers", "1")
    assert (r["action"], r["reason"]) == (A.CONFLICT, R.TARGET_DELETED_SOURCE_EDITED)
    assert r["detail"] == "deleted in the target; edited in the source since the last sync: Name"
    assert changes(result, "customers", "1") == {"Name": (None, "Ola N")}


def test_a_record_never_synced_is_deleted_as_the_policy_says() -> None:
    """No shadow, no edit to lose: the policy decides, as before."""
    result = plan(flow(delete="propagate"), clients(), customers({"ID": "c1", "Name": "Ola"}), LINKED)
    assert rows_of(result, "customers") == [("1", A.DELETE, R.SOURCE_DELETED)]


def test_unlink_of_a_record_deleted_in_the_target_does_not_create_it_again_the_next_night() -> None:
    the_flow = flow(delete="unlink")
    systems = memory_systems(clients({"id": 1, "name": "Ola"}), customers())
    with stored(the_flow, LINKED, SHADOW) as store:
        first = night(the_flow, systems, store, "r1")
        assert store.links(the_flow.name).is_empty()
        assert store.unlinked(the_flow.name).rows() == [("customers", "1")]
        second = night(the_flow, systems, store, "r2")
    assert rows_of(first, "customers") == [("1", A.DELETE, R.TARGET_DELETED)]
    assert rows_of(second, "customers") == [("1", A.DIFFERS, R.UNLINKED_ON_PURPOSE)]
    assert systems["books"].records["Customer"] == {}
