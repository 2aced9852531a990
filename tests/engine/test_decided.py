"""Decisions remembered from earlier reviews (issue 10): nothing is asked twice, nothing is linked behind a back."""

from __future__ import annotations

from typing import Any

import polars as pl

from reconcile.model.plan import DECIDED_SCHEMA, Action, Reason, ReviewDecision
from reconcile.model.shadows import narrow
from tests.engine.world import clients, customers, flow, links, plan, row, rows_of, sales, shadows

A, R, D = Action, Reason, ReviewDecision


def decided(*rows: tuple[str, str, str | None, str | None, ReviewDecision, str | None]) -> pl.DataFrame:
    """(mapping, row_id, source_id, target_id, decision, fingerprint) rows."""
    return pl.DataFrame([(*r[:4], r[4].value, r[5]) for r in rows], schema=DECIDED_SCHEMA, orient="row")


def remembered(r: dict[str, Any], decision: ReviewDecision) -> pl.DataFrame:
    """The decision a reviewer took on plan row ``r``, as the state hands it back."""
    return decided((r["mapping"], r["row_id"], r["source_id"], r["target_id"], decision, r["fingerprint"]))


OLA = {"id": 1, "name": "Ola", "email": "ola@x.no"}


def test_a_pair_said_not_to_be_the_same_is_never_linked_and_the_record_is_created() -> None:
    memory = decided(("customers", "customers|link|1|c1", "1", "c1", D.NOT_SAME, None))
    result = plan(flow(), clients(OLA), customers({"ID": "c1", "Name": "Ola", "Email": "ola@x.no"}), decided=memory)
    assert result.merges.is_empty()
    assert rows_of(result, "customers") == [("1", A.CREATE, R.NEW_IN_SOURCE)]


def test_a_pair_said_not_to_be_the_same_is_no_candidate_and_no_proposal() -> None:
    memory = decided(("customers", "customers|ambiguous|1|", "1", "c2", D.NOT_SAME, None))
    two = customers({"ID": "c1", "Name": "Ola", "Email": "ola@x.no"}, {"ID": "c2", "Name": "O.", "Email": "ola@x.no"})
    assert plan(flow(), clients(OLA), two, decided=memory).merges.rows() == [("customers", "1", "c1")]
    review = flow(customer_options={"merge_mode": "review"})
    memory = decided(("customers", "customers|link|1|c1", "1", "c1", D.NOT_SAME, None))
    result = plan(review, clients(OLA), customers({"ID": "c1", "Name": "Ola", "Email": "ola@x.no"}), decided=memory)
    assert rows_of(result, "customers") == [("1", A.CREATE, R.NEW_IN_SOURCE)]


def test_create_new_plans_an_ambiguous_record_as_a_create() -> None:
    two = customers({"ID": "c1", "Name": "Ola", "Email": "ola@x.no"}, {"ID": "c2", "Name": "O.", "Email": "ola@x.no"})
    memory = decided(("customers", "customers|ambiguous|1|", "1", None, D.CREATE_NEW, None))
    result = plan(flow(), clients(OLA), two, decided=memory)
    assert rows_of(result, "customers") == [("1", A.CREATE, R.NEW_IN_SOURCE)]
    assert result.merges.is_empty()


def test_a_rejected_change_is_remembered_until_its_content_changes() -> None:
    the_flow = flow()
    args = (customers({"ID": "c1", "Name": "Ola", "Email": "ola@x.no"}), links(("customers", "1", "c1")))
    kept = shadows(("customers", "1", "Name", "Ola"), ("customers", "1", "Email", "ola@x.no"))
    first = plan(the_flow, clients({**OLA, "name": "Ola N"}), *args, kept)
    memory = remembered(row(first, "customers", "1"), D.REJECT)
    again = plan(the_flow, clients({**OLA, "name": "Ola N"}), *args, kept, decided=memory)
    r = row(again, "customers", "1")
    assert (r["action"], r["remembered"], r["fingerprint"]) == (A.UPDATE_TARGET, "reject", memory["fingerprint"][0])
    changed = plan(the_flow, clients({**OLA, "name": "Ola Nordmann"}), *args, kept, decided=memory)
    assert row(changed, "customers", "1")["remembered"] is None


def test_a_dismissed_row_stays_away_for_three_nights_and_comes_back_when_its_record_changes() -> None:
    bad = {"id": 1, "name": "Ola", "email": "not-an-email"}
    first = plan(flow(), clients(bad), customers())
    r = row(first, "customers", "1")
    assert (r["action"], r["reason"], r["remembered"]) == (A.REJECT, R.INVALID_VALUE, None)
    memory = remembered(r, D.DISMISS)
    for _ in range(3):
        assert row(plan(flow(), clients(bad), customers(), decided=memory), "customers", "1")["remembered"] == "dismiss"
    changed = plan(flow(), clients({**bad, "email": "still-not-an-email"}), customers(), decided=memory)
    r = row(changed, "customers", "1")
    assert (r["action"], r["remembered"]) == (A.REJECT, None)


def test_a_kept_delete_is_remembered() -> None:
    args = (clients(), customers({"ID": "c1", "Name": "Ola"}), links(("customers", "1", "c1")))
    first = plan(flow(), *args)
    r = row(first, "customers", "1")
    assert r["action"] == A.DELETE
    assert row(plan(flow(), *args, decided=remembered(r, D.KEEP)), "customers", "1")["remembered"] == "keep"


def test_a_pair_whose_first_changes_were_rejected_is_not_linked_behind_the_reviewers_back() -> None:
    """Client 1 and customer c1 share an email; their names differ, so the fresh merge writes the target. The
    reviewer rejects that write: the pair is not linked, and no values are recorded as agreed."""
    args = (clients({**OLA, "country": "no"}), customers({"ID": "c1", "Name": "Ola", "Email": "ola@x.no"}))
    first = plan(flow(), *args)
    assert first.merges.rows() == [("customers", "1", "c1")]
    r = row(first, "customers", "1")
    assert (r["action"], r["reason"]) == (A.UPDATE_TARGET, R.FRESH_MERGE)
    again = plan(flow(), *args, decided=remembered(r, D.REJECT))
    assert again.merges.is_empty()
    assert narrow(again.agreed).is_empty()
    assert row(again, "customers", "1")["remembered"] == "reject"


def test_a_refused_create_makes_no_parent_for_its_children() -> None:
    args = (clients(OLA), customers())
    kids = sales({"id": 10, "client": 1, "total": 80.0})
    first = plan(flow(), *args, sale_rows=kids)
    assert row(first, "orders", "10")["parents"] == ["customers|create|1|"]
    again = plan(flow(), *args, sale_rows=kids, decided=remembered(row(first, "customers", "1"), D.REJECT))
    assert row(again, "customers", "1")["remembered"] == "reject"
    r = row(again, "orders", "10")
    assert (r["action"], r["reason"]) == (A.REJECT, R.PARENT_REJECTED)


def test_decisions_that_settle_nothing_change_nothing() -> None:
    args = (clients(OLA, {"id": 2, "name": "Kari"}), customers({"ID": "c1", "Name": "Ola", "Email": "ola@x.no"}))
    memory = decided(("customers", "customers|create|2|", "2", None, D.REJECT, "0000000000000000"))
    assert plan(flow(), *args, decided=memory).rows.equals(plan(flow(), *args).rows)
