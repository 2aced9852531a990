"""Conflicts a person settled (issue 10): each kept value is written as the update the engine would plan."""

from __future__ import annotations

import polars as pl
import pytest

from reconcile.engine.settle import conflict_sides, settle_conflicts
from reconcile.model.flow import Flow
from reconcile.model.plan import PLAN_SCHEMA, Action, Reason
from tests.engine.world import BOOKS, CATALOGUES, CRM, clients, customers, flow, links, plan, shadows

A, R = Action, Reason
FORWARD: tuple[dict[str, object], ...] = ({"source": "segment", "target": "Segment", "direction": "forward"},)


def conflicted(the_flow: Flow) -> pl.DataFrame:
    """Client 1 and customer c1, linked: Name, Email and Segment changed on both sides since the last sync."""
    return plan(
        the_flow,
        clients({"id": 1, "name": "Ola S", "email": "s@x.no", "segment": "S"}),
        customers({"ID": "c1", "Name": "Ola T", "Email": "t@x.no", "Segment": "T"}),
        links(("customers", "1", "c1")),
        shadows(
            ("customers", "1", "Name", "Ola"),
            ("customers", "1", "Email", "o@x.no"),
            ("customers", "1", "Segment", "O"),
        ),
    ).rows


def choices(*rows: tuple[str, str, str]) -> pl.DataFrame:
    return pl.DataFrame(list(rows), schema=["row_id", "property", "side"], orient="row")


def test_kept_values_become_one_update_per_direction_with_the_engines_row_ids() -> None:
    the_flow = flow(conflict="manual", extra=FORWARD)
    rows = conflicted(the_flow)
    conflict = rows.filter(pl.col("action") == A.CONFLICT)
    assert conflict.height == 1 and conflict["reason"][0] == R.CONFLICT_MANUAL
    cid = conflict["row_id"][0]
    settled = settle_conflicts(
        rows, choices((cid, "Name", "source"), (cid, "Email", "target"), (cid, "Segment", "source")), the_flow
    )
    assert dict(settled.schema) == PLAN_SCHEMA
    assert settled.select("row_id", "action", "reason").rows() == [
        ("customers|update_target|1|c1", A.UPDATE_TARGET, R.CONFLICT_MANUAL),
        ("customers|update_source|1|c1", A.UPDATE_SOURCE, R.CONFLICT_MANUAL),
    ]
    to_target, to_source = settled["changes"].to_list()
    assert [(c["field"], c["old"], c["new"], c["base"]) for c in to_target] == [
        ("Name", "Ola T", "Ola S", "Ola"),
        ("Segment", "T", "S", "O"),
    ]
    assert [(c["field"], c["old"], c["new"]) for c in to_source] == [("email", "s@x.no", "t@x.no")]
    assert settled["fingerprint"].null_count() == 0
    # The ids the engine gives when a policy settles the same conflict.
    by_policy = conflicted(flow(conflict="source", extra=FORWARD))
    assert row_ids(by_policy, A.UPDATE_TARGET) == ["customers|update_target|1|c1"]


def row_ids(rows: pl.DataFrame, action: Action) -> list[str]:
    return rows.filter(pl.col("action") == action)["row_id"].to_list()


def test_a_forward_only_property_cannot_keep_the_targets_value() -> None:
    the_flow = flow(conflict="manual", extra=FORWARD)
    rows = conflicted(the_flow)
    cid = rows.filter(pl.col("action") == A.CONFLICT)["row_id"][0]
    mapping = the_flow.mapping("customers")
    assert conflict_sides(mapping, "Segment") == (True, False)
    assert conflict_sides(mapping, "Name") == (True, True)
    with pytest.raises(ValueError, match=f"row {cid}, property Segment: the target's value cannot be written back"):
        settle_conflicts(rows, choices((cid, "Segment", "target")), the_flow)


def test_the_catalogue_says_what_cannot_be_written() -> None:
    mapping = flow().mapping("customers")
    entities = (CRM.entities["Client"], BOOKS.entities["Customer"])
    assert conflict_sides(mapping, "Code", *entities) == (False, True)  # books.Customer.Code is read-only
    assert conflict_sides(mapping, "Nope", *entities) == (False, False)
    the_flow = flow(conflict="manual")
    rows = conflicted(the_flow)
    cid = rows.filter(pl.col("action") == A.CONFLICT)["row_id"][0]
    assert settle_conflicts(rows, choices((cid, "Name", "source")), the_flow, CATALOGUES).height == 1


def test_a_choice_on_anything_but_a_conflicts_property_is_refused_by_name() -> None:
    the_flow = flow(conflict="manual")
    rows = conflicted(the_flow)
    cid = rows.filter(pl.col("action") == A.CONFLICT)["row_id"][0]
    with pytest.raises(ValueError, match="row nope, property Name: not a conflict"):
        settle_conflicts(rows, choices(("nope", "Name", "source")), the_flow)
    with pytest.raises(ValueError, match=f"row {cid}, property Country: the conflict holds no such property"):
        settle_conflicts(rows, choices((cid, "Country", "source")), the_flow)
    with pytest.raises(ValueError, match="side 'both' is neither source nor target"):
        settle_conflicts(rows, choices((cid, "Name", "both")), the_flow)
    assert settle_conflicts(rows, choices(), the_flow).is_empty()
