"""Plan rows of one flow: creates, read-only targets, row ids, labels and the bookkeeping of a plan."""

from __future__ import annotations

from dataclasses import replace

import polars as pl

from reconcile.engine.build import plan_mapping
from reconcile.engine.project import project_source, project_target
from reconcile.model.plan import PLAN_SCHEMA, Action, Reason
from reconcile.model.shadows import narrow
from tests.engine.world import BOOKS, CRM, changes, clients, customers, flow, links, plan, row, rows_of, shadows

A, R = Action, Reason


def test_a_create_carries_every_value_the_target_gets() -> None:
    the_flow = flow(extra=({"value": "B2B", "target": "Type"},))
    result = plan(
        the_flow,
        clients({"id": 1, "name": " Ola ", "email": "ola@x.no", "born": "1980-05-17", "country": "no", "code": "X"}),
        customers(),
    )
    r = row(result, "customers", "1")
    assert (r["action"], r["reason"], r["target_id"], r["parents"]) == (A.CREATE, R.NEW_IN_SOURCE, None, [])
    assert r["row_id"] == "customers|create|1|"
    assert r["label"] == "Ola ola@x.no"
    # Code is read-only in the target: never sent. Type is a fixed value, set on create.
    assert changes(result, "customers", "1") == {
        "Name": (None, " Ola "),  # plain text is written as it is
        "Email": (None, "ola@x.no"),
        "BirthDate": (None, "1980-05-17"),
        "Country": (None, "NO"),
        "Type": (None, "B2B"),
    }


def test_a_create_leaves_blank_values_out() -> None:
    result = plan(flow(), clients({"id": 1, "name": "Ola", "email": " "}), customers())
    assert changes(result, "customers", "1") == {"Name": (None, "Ola")}


def test_a_read_only_target_entity_without_a_merge_rule_rejects_creates() -> None:
    result = plan(flow(), clients(), customers())
    r = row(result, "areas", "a1")
    assert (r["action"], r["reason"]) == (A.REJECT, R.NO_MERGE_RULE_READ_ONLY)
    assert r["detail"] == "Region is read-only and nothing links the record to one"


def test_a_read_only_target_entity_with_a_merge_rule_links_what_it_can_and_rejects_the_rest() -> None:
    mapping = replace(flow().mapping("areas"), merge=((("code", "Code"),),))
    area, region = CRM.entities["Area"], BOOKS.entities["Region"]
    source = project_source(pl.DataFrame({"id": ["a1", "a2"], "code": ["N", "W"]}), mapping, area, region)
    target = project_target(pl.DataFrame({"Code": ["N", "S"], "Name": ["North", "South"]}), mapping, region, {})
    empty_shadows = shadows().select("source_id", "property", "value")
    rows, merges, _ = plan_mapping(mapping, area, region, source, target, links().drop("mapping"), empty_shadows)
    assert merges.rows() == [("areas", "a1", "N")]
    got = sorted(rows.select("source_id", "action", "reason", "detail").rows())
    assert got == [
        ("a1", A.IN_SYNC, R.IN_SYNC, None),
        ("a2", A.REJECT, R.READ_ONLY_ENTITY, "Region is read-only"),
    ]


def test_the_plan_has_the_plan_schema_and_unique_row_ids() -> None:
    result = plan(
        flow(),
        clients({"id": 1, "name": "Ola", "email": "a@x.no"}, {"id": 2, "name": "Kari"}, {"id": 3, "name": "Per"}),
        customers({"ID": "c1", "Name": "Ola", "Email": "b@x.no"}, {"ID": "c3", "Name": "Per"}),
        links(("customers", "1", "c1"), ("customers", "3", "c3")),
        shadows(
            ("customers", "1", "Name", "Ola"), ("customers", "1", "Email", "b@x.no"), ("customers", "3", "Name", "P")
        ),
    )
    assert dict(result.rows.schema) == PLAN_SCHEMA
    assert result.rows["row_id"].is_unique().all()
    assert rows_of(result, "customers") == [
        ("1", A.UPDATE_TARGET, R.SOURCE_CHANGED),
        ("2", A.CREATE, R.NEW_IN_SOURCE),
        ("3", A.IN_SYNC, R.IN_SYNC),
    ]
    assert row(result, "customers", "1")["row_id"] == "customers|update_target|1|c1"


def test_merges_and_agreed_values_are_what_apply_records() -> None:
    result = plan(
        flow(),
        clients({"id": 1, "name": "Ola S", "email": "ola@x.no", "country": "no"}),
        customers({"ID": "c1", "Name": "Ola T", "Email": "ola@x.no", "Country": "NO"}),
    )
    assert result.merges.rows() == [("customers", "1", "c1")]
    assert sorted(narrow(result.agreed).filter(pl.col("value").is_not_null()).rows()) == [
        ("customers", "1", "Country", "NO"),
        ("customers", "1", "Email", "ola@x.no"),
    ]
    assert changes(result, "customers", "1") == {"Name": ("Ola T", "Ola S")}


def test_an_empty_world_plans_nothing_but_the_unlinkable_area() -> None:
    result = plan(flow(), clients(), customers())
    assert result.rows.select("mapping", "action").rows() == [("areas", A.REJECT)]
    assert result.merges.is_empty()
    assert narrow(result.agreed).is_empty()
