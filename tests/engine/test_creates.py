"""Creates that must not be sent: a value the target keeps unique (issue 9, item 6), a record unlinked on
purpose (issue 9, item 10).

books.Customer.Segment is made unique for these tests (:func:`tests.engine.world.marked`).
"""

from __future__ import annotations

from reconcile.model.catalogue import Catalogue
from reconcile.model.plan import Action, Reason
from tests.engine.world import clients, customers, flow, links, marked, plan, row, rows_of

A, R = Action, Reason
SEGMENT: tuple[dict[str, object], ...] = ({"source": "segment", "target": "Segment"},)


def unique_segment() -> dict[str, Catalogue]:
    return marked("Customer", "Segment", unique=True)


def test_a_create_whose_unique_value_a_target_record_holds_is_a_reject_naming_it() -> None:
    """The target holds "VIP-1" already: "vip-1" would collide (a system compares it without regard to case)."""
    result = plan(
        flow(extra=SEGMENT),
        clients({"id": 2, "name": "Kari", "email": "kari@x.no", "segment": "vip-1"}),
        customers({"ID": "c9", "Name": "Nine", "Email": "nine@x.no", "Segment": "VIP-1"}),
        catalogues=unique_segment(),
    )
    r = row(result, "customers", "2")
    assert (r["action"], r["reason"]) == (A.REJECT, R.UNIQUE_TAKEN)
    assert r["detail"] == 'Segment = "vip-1" is already held by Customer record c9'


def test_two_creates_with_one_unique_value_are_both_rejected_naming_each_other() -> None:
    result = plan(
        flow(extra=SEGMENT),
        clients(
            {"id": 2, "name": "Kari", "email": "kari@x.no", "segment": "vip-1"},
            {"id": 3, "name": "Per", "email": "per@x.no", "segment": " VIP-1 "},
            {"id": 4, "name": "Ada", "email": "ada@x.no", "segment": "vip-2"},
        ),
        customers(),
        catalogues=unique_segment(),
    )
    assert rows_of(result, "customers") == [
        ("2", A.REJECT, R.UNIQUE_TAKEN),
        ("3", A.REJECT, R.UNIQUE_TAKEN),
        ("4", A.CREATE, R.NEW_IN_SOURCE),
    ]
    assert (
        row(result, "customers", "2")["detail"] == 'Segment = "vip-1" is also created from source record 3 in this run'
    )
    assert (
        row(result, "customers", "3")["detail"]
        == 'Segment = " VIP-1 " is also created from source record 2 in this run'
    )


def test_the_merge_rule_takes_a_record_whose_unique_value_the_target_holds() -> None:
    result = plan(
        flow(extra=SEGMENT, merge=[[["segment", "Segment"]]]),
        clients({"id": 2, "name": "Kari", "email": "kari@x.no", "segment": "vip-1"}),
        customers({"ID": "c9", "Name": "Kari", "Email": "kari@x.no", "Segment": "VIP-1"}),
        catalogues=unique_segment(),
    )
    assert result.merges.rows() == [("customers", "2", "c9")]
    assert rows_of(result, "customers") == [("2", A.UPDATE_TARGET, R.FRESH_MERGE)]


def test_a_unique_value_held_by_a_linked_record_is_not_a_collision_with_itself() -> None:
    """Client 1 is linked to c1 and keeps its value; only the new client 2 collides with it."""
    result = plan(
        flow(extra=SEGMENT),
        clients(
            {"id": 1, "name": "Ola", "email": "ola@x.no", "segment": "vip-1"},
            {"id": 2, "name": "Kari", "email": "kari@x.no", "segment": "vip-1"},
        ),
        customers({"ID": "c1", "Name": "Ola", "Email": "ola@x.no", "Segment": "vip-1"}),
        links(("customers", "1", "c1")),
        catalogues=unique_segment(),
    )
    assert rows_of(result, "customers") == [("1", A.IN_SYNC, R.IN_SYNC), ("2", A.REJECT, R.UNIQUE_TAKEN)]
    assert row(result, "customers", "2")["detail"] == 'Segment = "vip-1" is already held by Customer record c1'


def test_a_record_unlinked_on_purpose_is_not_created_again() -> None:
    result = plan(
        flow(delete="unlink"),
        clients({"id": 1, "name": "Ola"}, {"id": 2, "name": "Kari"}),
        customers(),
        unlinked=[("customers", "1")],
    )
    assert rows_of(result, "customers") == [
        ("1", A.DIFFERS, R.UNLINKED_ON_PURPOSE),
        ("2", A.CREATE, R.NEW_IN_SOURCE),
    ]


def test_a_required_field_no_property_fills_makes_every_create_a_structural_reject() -> None:
    """books.Customer requires Segment here and the flow maps none: no customer can be made until it does."""
    result = plan(
        flow(),
        clients({"id": 1, "name": "Ola"}, {"id": 2, "name": "Kari"}),
        customers(),
        catalogues=marked("Customer", "Segment", required=True),
    )
    assert rows_of(result, "customers") == [("1", A.REJECT, R.REQUIRED_UNMAPPED), ("2", A.REJECT, R.REQUIRED_UNMAPPED)]
    r = row(result, "customers", "1")
    assert r["structural"] is True
    assert r["detail"] == "Customer requires Segment, which no property of the mapping fills"
    assert {c["field"] for c in r["changes"]} == {"Name"}  # what it would send, for the details sheet


def test_a_reject_of_the_record_itself_is_not_structural() -> None:
    result = plan(flow(), clients({"id": 1, "name": "Ola", "email": "not-an-email"}), customers())
    r = row(result, "customers", "1")
    assert (r["action"], r["reason"], r["structural"]) == (A.REJECT, R.INVALID_VALUE, False)


def test_rejects_of_a_read_only_target_are_structural() -> None:
    result = plan(flow(), clients(), customers())
    r = row(result, "areas", "a1")
    assert (r["reason"], r["structural"]) == (R.NO_MERGE_RULE_READ_ONLY, True)
