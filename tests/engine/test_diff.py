"""The three-way diff, per linked pair and property: S source now, T target now, B shadow (step 4).

Every test links client 1 to customer c1 and varies S, T and B of a property or two.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from reconcile.engine.build import FlowPlan
from reconcile.model.flow import Flow
from reconcile.model.plan import Action, Reason
from reconcile.model.shadows import narrow
from tests.engine.world import (
    changes,
    clients,
    customers,
    flow,
    links,
    marked,
    orders,
    plan,
    row,
    rows_of,
    sales,
    shadows,
)

A, R = Action, Reason
EARLY, LATE = "2024-01-01T10:00:00", "2024-02-01T10:00:00"


def pair(
    s: dict[str, Any], t: dict[str, Any], b: dict[str, str | None] | None, the_flow: Flow | None = None
) -> FlowPlan:
    """Plan client 1 (``s``) against customer c1 (``t``), linked, with shadow ``b`` (None: a fresh merge)."""
    shadow_rows = shadows(*[("customers", "1", k, v) for k, v in (b or {}).items()])
    return plan(
        the_flow or flow(),
        clients({"id": 1, **s}),
        customers({"ID": "c1", **t}),
        links(("customers", "1", "c1")) if b is not None else None,
        shadow_rows,
    )


def test_s_equals_t_is_in_sync_and_agreed() -> None:
    result = pair({"name": "Ola", "email": "ola@x.no"}, {"Name": "Ola", "Email": "ola@x.no"}, {"Name": "Old"})
    assert rows_of(result, "customers") == [("1", A.IN_SYNC, R.IN_SYNC)]
    agreed = {p: v for _, s, p, v in narrow(result.agreed).rows() if s == "1"}
    assert agreed == {"Name": "Ola", "Email": "ola@x.no", "BirthDate": None, "Country": None, "Code": None}


def test_t_equals_b_updates_the_target() -> None:
    result = pair({"name": "Ola N"}, {"Name": "Ola"}, {"Name": "Ola"})
    r = row(result, "customers", "1")
    assert (r["action"], r["reason"], r["target_id"]) == (A.UPDATE_TARGET, R.SOURCE_CHANGED, "c1")
    assert r["changes"] == [{"property": "Name", "field": "Name", "old": "Ola", "new": "Ola N", "base": "Ola"}]


def test_s_equals_b_updates_the_source_by_its_own_field_path() -> None:
    result = pair({"name": "Ola", "country": "no"}, {"Name": "Ola", "Country": "SE"}, {"Name": "Ola", "Country": "NO"})
    r = row(result, "customers", "1")
    assert (r["action"], r["reason"]) == (A.UPDATE_SOURCE, R.TARGET_CHANGED)
    assert r["changes"] == [{"property": "Country", "field": "address.country", "old": "NO", "new": "SE", "base": "NO"}]


def test_changes_in_both_directions_are_two_rows() -> None:
    result = pair(
        {"name": "Ola N", "email": "a@x.no"}, {"Name": "Ola", "Email": "b@x.no"}, {"Name": "Ola", "Email": "a@x.no"}
    )
    assert rows_of(result, "customers") == [
        ("1", A.UPDATE_SOURCE, R.TARGET_CHANGED),
        ("1", A.UPDATE_TARGET, R.SOURCE_CHANGED),
    ]
    assert changes(result, "customers", "1", A.UPDATE_TARGET) == {"Name": ("Ola", "Ola N")}
    assert changes(result, "customers", "1", A.UPDATE_SOURCE) == {"Email": ("a@x.no", "b@x.no")}


@pytest.mark.parametrize(
    ("conflict", "s_changed", "t_changed", "action", "reason"),
    [
        ("source", LATE, EARLY, A.UPDATE_TARGET, R.CONFLICT_SOURCE_WINS),
        ("source", EARLY, LATE, A.UPDATE_TARGET, R.CONFLICT_SOURCE_WINS),
        ("target", LATE, EARLY, A.UPDATE_SOURCE, R.CONFLICT_TARGET_WINS),
        ("newest", LATE, EARLY, A.UPDATE_TARGET, R.CONFLICT_NEWEST_SOURCE),
        ("newest", EARLY, LATE, A.UPDATE_SOURCE, R.CONFLICT_NEWEST_TARGET),
        ("newest", None, LATE, A.CONFLICT, R.CONFLICT_MANUAL),
        ("manual", LATE, EARLY, A.CONFLICT, R.CONFLICT_MANUAL),
    ],
)
def test_both_changed_is_settled_by_the_policy(
    conflict: str, s_changed: str | None, t_changed: str, action: Action, reason: Reason
) -> None:
    result = pair(
        {"name": "Ola S", "changed": s_changed},
        {"Name": "Ola T", "Modified": t_changed},
        {"Name": "Ola"},
        flow(conflict=conflict),
    )
    assert rows_of(result, "customers") == [("1", action, reason)]
    r = row(result, "customers", "1")
    change = r["changes"][0]
    if action == A.UPDATE_SOURCE:
        assert (change["field"], change["old"], change["new"]) == ("name", "Ola S", "Ola T")
    else:  # the target is written, or a conflict shows the target's value as old and the source's as new
        assert (change["field"], change["old"], change["new"]) == ("Name", "Ola T", "Ola S")
    assert change["base"] == "Ola"


def test_a_mappings_own_policy_overrides_the_default() -> None:
    result = pair(
        {"name": "Ola S"},
        {"Name": "Ola T"},
        {"Name": "Ola"},
        flow(conflict="source", customer_options={"conflict": "manual"}),
    )
    assert rows_of(result, "customers") == [("1", A.CONFLICT, R.CONFLICT_MANUAL)]


def test_a_fresh_merge_follows_the_flow_direction() -> None:
    result = pair({"name": "Ola S", "email": "ola@x.no"}, {"Name": "Ola T", "Email": "ola@x.no"}, None)
    assert result.merges.rows() == [("customers", "1", "c1")]
    assert rows_of(result, "customers") == [("1", A.UPDATE_TARGET, R.FRESH_MERGE)]
    assert changes(result, "customers", "1") == {"Name": ("Ola T", "Ola S")}


@pytest.mark.parametrize(
    ("conflict", "action", "reason"),
    [
        ("source", A.UPDATE_TARGET, R.FRESH_MERGE),
        ("target", A.UPDATE_SOURCE, R.FRESH_MERGE),
        ("manual", A.CONFLICT, R.FIRST_SYNC_DIFFERS),  # was CONFLICT_MANUAL: "changed on both sides" misled
    ],
)
def test_a_fresh_merge_unless_the_policy_says_otherwise(conflict: str, action: Action, reason: Reason) -> None:
    result = pair({"name": "Ola S", "email": "ola@x.no"}, {"Name": "Ola T", "Email": "ola@x.no"}, None, flow(conflict))
    assert rows_of(result, "customers") == [("1", action, reason)]


def test_a_fresh_merge_with_known_times_lets_the_newest_win() -> None:
    result = pair(
        {"name": "Ola S", "email": "ola@x.no", "changed": EARLY},
        {"Name": "Ola T", "Email": "ola@x.no", "Modified": LATE},
        None,
    )
    assert rows_of(result, "customers") == [("1", A.UPDATE_SOURCE, R.CONFLICT_NEWEST_TARGET)]


def test_a_blank_never_overwrites_a_filled_value() -> None:
    blanked_source = pair({"name": "Ola", "email": " "}, {"Name": "Ola", "Email": "ola@x.no"}, {"Email": "ola@x.no"})
    blanked_target = pair({"name": "Ola", "email": "ola@x.no"}, {"Name": "Ola", "Email": None}, {"Email": "ola@x.no"})
    # Not in sync either: the difference is left unwritten on purpose, and said so (issue 9, item 11).
    assert rows_of(blanked_source, "customers") == [("1", A.DIFFERS, R.BLANK_KEPT)]
    assert rows_of(blanked_target, "customers") == [("1", A.DIFFERS, R.BLANK_KEPT)]
    # Nor is the value agreed: the shadow keeps the filled value until one side changes again.
    assert ("customers", "1", "Email") not in {r[:3] for r in narrow(blanked_source.agreed).rows()}


@pytest.mark.parametrize("conflict", ["source", "target", "newest", "manual"])
@pytest.mark.parametrize("blank_overwrites", [False, True])
def test_a_fresh_merge_fills_a_blank_side_from_the_other(conflict: str, blank_overwrites: bool) -> None:
    """Without a shadow a blank is not a change: the filled value wins, as the next run would decide too."""
    the_flow = flow(conflict=conflict, blank_overwrites=blank_overwrites, merge=[[["name", "Name"]]])
    result = pair({"name": "Ola", "email": None, "country": "no"}, {"Name": "Ola", "Email": "ola@x.no"}, None, the_flow)
    assert rows_of(result, "customers") == [
        ("1", A.UPDATE_SOURCE, R.FRESH_MERGE),
        ("1", A.UPDATE_TARGET, R.FRESH_MERGE),
    ]
    assert changes(result, "customers", "1", A.UPDATE_SOURCE) == {"Email": (None, "ola@x.no")}
    assert changes(result, "customers", "1", A.UPDATE_TARGET) == {"Country": (None, "NO")}


def test_a_fresh_merge_takes_the_targets_value_of_a_field_read_only_there() -> None:
    the_flow = flow(merge=[[["name", "Name"]]])
    result = pair({"name": "Ola", "code": "A"}, {"Name": "Ola", "Code": "B"}, None, the_flow)
    assert rows_of(result, "customers") == [("1", A.UPDATE_SOURCE, R.FRESH_MERGE)]
    assert changes(result, "customers", "1") == {"Code": ("A", "B")}


def test_a_difference_no_side_may_write_is_left_alone() -> None:
    """Code is read-only in the target and forward only: neither a write nor a conflict can settle it."""
    the_flow = flow(conflict="manual")
    mapping = the_flow.mapping("customers")
    props = tuple(replace(p, direction="forward") if p.target == "Code" else p for p in mapping.properties)
    mappings = tuple(replace(m, properties=props) if m is mapping else m for m in the_flow.mappings)
    the_flow = replace(the_flow, mappings=mappings)
    fresh = pair(
        {"name": "Ola", "email": "ola@x.no", "code": "A"},
        {"Name": "Ola", "Email": "ola@x.no", "Code": "B"},
        None,
        the_flow,
    )
    assert rows_of(fresh, "customers") == [("1", A.DIFFERS, R.READ_ONLY_FIELD)]
    both = pair({"name": "Ola", "code": "A"}, {"Name": "Ola", "Code": "B"}, {"Name": "Ola", "Code": "C"}, the_flow)
    assert rows_of(both, "customers") == [("1", A.DIFFERS, R.READ_ONLY_FIELD)]


def test_blank_overwrites_when_the_flow_says_so() -> None:
    the_flow = flow(blank_overwrites=True)
    result = pair({"name": "Ola", "email": ""}, {"Name": "Ola", "Email": "ola@x.no"}, {"Email": "ola@x.no"}, the_flow)
    assert rows_of(result, "customers") == [("1", A.UPDATE_TARGET, R.SOURCE_CHANGED)]
    assert changes(result, "customers", "1") == {"Email": ("ola@x.no", None)}
    back = pair({"name": "Ola", "email": "ola@x.no"}, {"Name": "Ola"}, {"Email": "ola@x.no"}, the_flow)
    assert changes(back, "customers", "1") == {"Email": ("ola@x.no", None)}
    assert rows_of(back, "customers") == [("1", A.UPDATE_SOURCE, R.TARGET_CHANGED)]


def test_a_field_read_only_in_the_target_is_not_written_there() -> None:
    result = pair({"name": "Ola", "code": "NEW"}, {"Name": "Ola", "Code": "OLD"}, {"Name": "Ola", "Code": "OLD"})
    assert rows_of(result, "customers") == [("1", A.DIFFERS, R.READ_ONLY_FIELD)]


def test_a_read_only_target_field_changed_there_is_written_back() -> None:
    result = pair({"name": "Ola", "code": "OLD"}, {"Name": "Ola", "Code": "NEW"}, {"Name": "Ola", "Code": "OLD"})
    assert rows_of(result, "customers") == [("1", A.UPDATE_SOURCE, R.TARGET_CHANGED)]
    assert changes(result, "customers", "1") == {"Code": ("OLD", "NEW")}


def test_a_forward_property_is_never_written_back() -> None:
    the_flow = flow(extra=({"source": "segment", "target": "Segment", "direction": "forward"},))
    back = pair({"name": "Ola", "segment": "A"}, {"Name": "Ola", "Segment": "B"}, {"Segment": "A"}, the_flow)
    assert rows_of(back, "customers") == [("1", A.DIFFERS, R.FORWARD_ONLY)]
    forth = pair({"name": "Ola", "segment": "C"}, {"Name": "Ola", "Segment": "A"}, {"Segment": "A"}, the_flow)
    assert changes(forth, "customers", "1") == {"Segment": ("A", "C")}


def test_a_fixed_value_is_never_synced() -> None:
    the_flow = flow(extra=({"value": "B2B", "target": "Type"},))
    result = pair({"name": "Ola"}, {"Name": "Ola", "Type": "B2C"}, {"Name": "Ola"}, the_flow)
    assert rows_of(result, "customers") == [("1", A.IN_SYNC, R.IN_SYNC)]


def test_a_conflict_and_an_update_of_one_pair_are_separate_rows() -> None:
    result = pair(
        {"name": "Ola S", "email": "new@x.no"},
        {"Name": "Ola T", "Email": "old@x.no"},
        {"Name": "Ola", "Email": "old@x.no"},
        flow(conflict="manual"),
    )
    assert rows_of(result, "customers") == [
        ("1", A.CONFLICT, R.CONFLICT_MANUAL),
        ("1", A.UPDATE_TARGET, R.SOURCE_CHANGED),
    ]
    assert changes(result, "customers", "1", A.CONFLICT) == {"Name": ("Ola T", "Ola S")}
    assert changes(result, "customers", "1", A.UPDATE_TARGET) == {"Email": ("old@x.no", "new@x.no")}


@pytest.mark.parametrize("conflict", ["source", "newest"])
def test_a_conflict_whose_winner_is_blank_keeps_the_other_value(conflict: str) -> None:
    """The source blanked the email and the target changed it: a blank never overwrites, the target's stays."""
    result = pair(
        {"name": "Ola", "email": None, "changed": LATE},
        {"Name": "Ola", "Email": "new@x.no", "Modified": EARLY},
        {"Name": "Ola", "Email": "old@x.no"},
        flow(conflict=conflict),
    )
    assert rows_of(result, "customers") == [("1", A.UPDATE_SOURCE, R.CONFLICT_KEPT)]
    assert changes(result, "customers", "1") == {"Email": (None, "new@x.no")}


def test_a_conflict_on_a_field_read_only_in_the_target_keeps_the_targets_value() -> None:
    result = pair(
        {"name": "Ola", "code": "S"},
        {"Name": "Ola", "Code": "T"},
        {"Name": "Ola", "Code": "B"},
        flow(conflict="source"),
    )
    assert rows_of(result, "customers") == [("1", A.UPDATE_SOURCE, R.CONFLICT_KEPT)]
    assert changes(result, "customers", "1") == {"Code": ("S", "T")}


# -- issue 9: values compare by meaning (items 5 and 12), unwritten differences are said (item 11) ---------


def test_an_email_that_differs_only_in_case_is_in_sync() -> None:
    result = pair(
        {"name": "Ola", "email": "Ola@X.no"},
        {"Name": "Ola", "Email": "ola@x.no"},
        {"Name": "Ola", "Email": "ola@x.no"},
    )
    assert rows_of(result, "customers") == [("1", A.IN_SYNC, R.IN_SYNC)]


def test_differences_left_unwritten_on_purpose_are_differs_never_in_sync() -> None:
    """A blank that may not overwrite (Email) and a forward property edited in the target (Segment): one
    ``differs`` row naming both, with each side's value; nothing written, nothing agreed."""
    the_flow = flow(extra=({"source": "segment", "target": "Segment", "direction": "forward"},))
    result = pair(
        {"name": "Ola", "email": None, "segment": "A"},
        {"Name": "Ola", "Email": "ola@x.no", "Segment": "B"},
        {"Name": "Ola", "Email": "ola@x.no", "Segment": "A"},
        the_flow,
    )
    r = row(result, "customers", "1")
    assert (r["action"], r["reason"]) == (A.DIFFERS, R.BLANK_KEPT)
    assert r["detail"] == "not written: Email (a blank does not overwrite), Segment (only flows forward)"
    assert changes(result, "customers", "1") == {"Email": ("ola@x.no", None), "Segment": ("B", "A")}
    assert {p for _, _, p, _ in narrow(result.agreed).rows()} == {"Name", "BirthDate", "Country", "Code"}


def sale_against_order(total: float, amount: float, base: str, catalogues: Any = None) -> FlowPlan:
    """Sale 10 of client 1 (total ``total``) linked to order o10 (``amount``), shadow ``base``."""
    return plan(
        flow(),
        clients({"id": 1, "name": "Ola"}),
        customers({"ID": "c1", "Name": "Ola"}),
        links(("customers", "1", "c1"), ("orders", "10", "o10")),
        shadows(("orders", "10", "Customer", "1"), ("orders", "10", "Amount", base)),
        sales({"id": 10, "client": 1, "total": total}),
        orders({"ID": "o10", "Customer": "c1", "Amount": amount}),
        catalogues=catalogues,
    )


def test_floats_compare_at_the_target_fields_decimals_never_flipping() -> None:
    """0.1 + 0.2 is 0.3; a target keeping two decimals holds 80.0 for 80.004: both in sync, night after night."""
    noise = sale_against_order(0.1 + 0.2, 0.3, "0.3")
    assert rows_of(noise, "orders") == [("10", A.IN_SYNC, R.IN_SYNC)]
    kept = sale_against_order(80.004, 80.0, "80.0", catalogues=marked("Order", "Amount", decimals=2))
    assert rows_of(kept, "orders") == [("10", A.IN_SYNC, R.IN_SYNC)]
    changed = sale_against_order(80.016, 80.0, "80.0", catalogues=marked("Order", "Amount", decimals=2))
    assert changes(changed, "orders", "10") == {"Amount": ("80.0", "80.02")}


def test_a_mappings_type_casts_both_sides_before_they_compare() -> None:
    """Segment is text in the catalogue; the mapping says it holds a whole number: "080" is 80.0."""
    the_flow = flow(extra=({"source": "segment", "target": "Segment", "type": "int"},))
    result = pair({"name": "Ola", "segment": "080"}, {"Name": "Ola", "Segment": "80.0"}, {"Segment": "80"}, the_flow)
    assert rows_of(result, "customers") == [("1", A.IN_SYNC, R.IN_SYNC)]


def test_a_property_without_a_shadow_is_a_fresh_merge_though_the_pair_has_others() -> None:
    """A property left unsynced at the first sync (its write was refused) has no base the next night either."""
    result = pair({"name": "Ola", "email": "ola@y.no"}, {"Name": "Ola", "Email": "ola@x.no"}, {"Name": "Ola"})
    assert rows_of(result, "customers") == [("1", A.UPDATE_TARGET, R.FRESH_MERGE)]
    r = row(result, "customers", "1")
    assert r["changes"] == [{"property": "Email", "field": "Email", "old": "ola@x.no", "new": "ola@y.no", "base": None}]
