"""Proposed links (issue 10): with merge_mode = "review" a pair the merge rule matches is asked about, not linked."""

from __future__ import annotations

from reconcile.model.plan import Action, Reason
from reconcile.model.shadows import narrow
from tests.engine.world import clients, customers, flow, plan, row, rows_of, sales

A, R = Action, Reason
REVIEW: dict[str, object] = {"merge_mode": "review"}


def test_a_pair_the_merge_rule_matches_is_proposed_side_by_side_and_not_linked() -> None:
    result = plan(
        flow(customer_options=REVIEW),
        clients({"id": 1, "name": "Ola", "email": "ola@x.no", "country": "no"}),
        customers({"ID": "c1", "Name": "Ola Nordmann", "Email": "OLA@x.no"}),
    )
    assert rows_of(result, "customers") == [("1", A.LINK, R.MERGE_PROPOSED)]
    r = row(result, "customers", "1")
    assert (r["row_id"], r["target_id"], r["label"]) == ("customers|link|1|c1", "c1", "Ola ola@x.no")
    assert r["detail"] == 'matches by the merge rule email = Email: "ola@x.no"'
    assert {c["property"]: (c["old"], c["new"]) for c in r["changes"]} == {
        "Name": ("Ola Nordmann", "Ola"),
        "Email": ("OLA@x.no", "ola@x.no"),
        "Country": (None, "NO"),
    }
    assert result.merges.is_empty()
    assert narrow(result.agreed).is_empty()


def test_auto_links_the_same_pair_as_before() -> None:
    result = plan(
        flow(),
        clients({"id": 1, "name": "Ola", "email": "ola@x.no"}),
        customers({"ID": "c1", "Name": "Ola", "Email": "ola@x.no"}),
    )
    assert result.merges.rows() == [("customers", "1", "c1")]
    assert rows_of(result, "customers") == [("1", A.IN_SYNC, R.IN_SYNC)]


def test_a_child_of_a_proposed_pair_sees_its_parent_as_not_linked() -> None:
    result = plan(
        flow(customer_options=REVIEW),
        clients({"id": 1, "name": "Ola", "email": "ola@x.no"}),
        customers({"ID": "c1", "Name": "Ola", "Email": "ola@x.no"}),
        sale_rows=sales({"id": 10, "client": 1, "total": 80.0}),
    )
    assert rows_of(result, "orders") == [("10", A.REJECT, R.PARENT_MISSING)]


def test_what_the_rule_does_not_match_is_still_created() -> None:
    result = plan(
        flow(customer_options=REVIEW),
        clients({"id": 1, "name": "Ola", "email": "ola@x.no"}, {"id": 2, "name": "Kari", "email": "kari@x.no"}),
        customers({"ID": "c1", "Name": "Ola", "Email": "ola@x.no"}),
    )
    assert rows_of(result, "customers") == [("1", A.LINK, R.MERGE_PROPOSED), ("2", A.CREATE, R.NEW_IN_SOURCE)]
