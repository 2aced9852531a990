"""Matching: stored links first, then merge rules; ambiguity is reported, never resolved (step 3)."""

from __future__ import annotations

from dataclasses import replace

import polars as pl

from reconcile.engine.match import match_records
from reconcile.model.flow import Flow
from reconcile.model.plan import Action, Reason
from reconcile.model.shadows import narrow
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


def test_a_stored_link_holds_even_when_the_merge_keys_disagree() -> None:
    result = plan(
        flow(),
        clients({"id": 1, "name": "Ola", "email": "ola@new.no"}, {"id": 2, "name": "Kari", "email": "ola@old.no"}),
        customers({"ID": "c1", "Name": "Ola", "Email": "ola@old.no"}),
        links(("customers", "1", "c1")),
        shadows(("customers", "1", "Name", "Ola"), ("customers", "1", "Email", "ola@old.no")),
    )
    assert row(result, "customers", "1", A.UPDATE_TARGET)["target_id"] == "c1"
    # Client 2 agrees with c1 on the email, but c1 is linked already: 2 is created, never merged into c1.
    assert rows_of(result, "customers") == [
        ("1", A.UPDATE_TARGET, R.SOURCE_CHANGED),
        ("2", A.CREATE, R.NEW_IN_SOURCE),
    ]
    assert result.merges.is_empty()


def test_exactly_one_candidate_is_a_merge() -> None:
    result = plan(
        flow(),
        clients({"id": 1, "name": "Ola", "email": " OLA@x.no"}),
        customers({"ID": "c1", "Name": "Ola", "Email": "OLA@x.no"}),
    )
    assert rows_of(result, "customers") == [("1", A.IN_SYNC, R.IN_SYNC)]
    assert result.merges.rows() == [("customers", "1", "c1")]


def test_several_candidates_are_ambiguous_and_named() -> None:
    result = plan(
        flow(),
        clients({"id": 1, "name": "Ola", "email": "ola@x.no"}),
        customers({"ID": "c2", "Name": "Ola", "Email": "ola@x.no"}, {"ID": "c1", "Name": "O.", "Email": "ola@x.no"}),
    )
    assert rows_of(result, "customers") == [("1", A.AMBIGUOUS, R.AMBIGUOUS_MERGE)]
    r = row(result, "customers", "1")
    assert r["detail"] == "candidates in the target: c1, c2"
    assert r["target_id"] is None
    assert result.merges.is_empty()


def test_two_sources_wanting_one_target_are_both_ambiguous() -> None:
    """Never silently merge two records of the same system with each other."""
    result = plan(
        flow(),
        clients({"id": 1, "name": "Ola", "email": "ola@x.no"}, {"id": 2, "name": "Ola N", "email": "ola@x.no"}),
        customers({"ID": "c1", "Name": "Ola", "Email": "ola@x.no"}),
    )
    assert rows_of(result, "customers") == [
        ("1", A.AMBIGUOUS, R.AMBIGUOUS_MERGE),
        ("2", A.AMBIGUOUS, R.AMBIGUOUS_MERGE),
    ]
    assert row(result, "customers", "2")["detail"] == "candidates in the target: c1"
    assert result.merges.is_empty()


def test_blank_merge_keys_never_match() -> None:
    result = plan(
        flow(),
        clients({"id": 1, "name": "Ola", "email": "  "}, {"id": 2, "name": "Kari"}),
        customers({"ID": "c1", "Name": "Ola", "Email": ""}, {"ID": "c2", "Name": "Kari"}),
    )
    assert rows_of(result, "customers") == [("1", A.CREATE, R.NEW_IN_SOURCE), ("2", A.CREATE, R.NEW_IN_SOURCE)]


def test_no_candidate_is_a_create() -> None:
    result = plan(flow(), clients({"id": 1, "name": "Ola", "email": "ola@x.no"}), customers())
    assert rows_of(result, "customers") == [("1", A.CREATE, R.NEW_IN_SOURCE)]


def test_a_record_agreeing_on_every_pair_of_any_one_combination_merges() -> None:
    """The second combination (name and country) merges what the first (email) does not."""
    merge = [[["email", "Email"]], [["name", "Name"], ["address.country", "Country"]]]
    result = plan(
        flow(merge=merge),
        clients(
            {"id": 1, "name": "Ola", "email": "ola@x.no", "country": "no"},
            {"id": 2, "name": "Kari", "email": "kari@x.no", "country": "se"},
            {"id": 3, "name": "Per", "email": "per@x.no", "country": "dk"},
        ),
        customers(
            {"ID": "c1", "Name": "Ola", "Email": "ola@x.no", "Country": "NO"},
            {"ID": "c2", "Name": "Kari", "Email": "kari@old.no", "Country": "SE"},
            {"ID": "c3", "Name": "Per", "Email": "per@old.no", "Country": "NO"},
        ),
    )
    assert sorted(result.merges.rows()) == [("customers", "1", "c1"), ("customers", "2", "c2")]
    assert rows_of(result, "customers") == [
        ("1", A.IN_SYNC, R.IN_SYNC),
        ("2", A.UPDATE_TARGET, R.FRESH_MERGE),
        ("3", A.CREATE, R.NEW_IN_SOURCE),
    ]


def test_a_target_merged_by_the_first_combination_is_not_offered_again() -> None:
    merge = [[["email", "Email"]], [["name", "Name"]]]
    result = plan(
        flow(merge=merge),
        clients({"id": 1, "name": "Ola", "email": "ola@x.no"}, {"id": 2, "name": "Ola"}),
        customers({"ID": "c1", "Name": "Ola", "Email": "ola@x.no"}),
    )
    assert result.merges.rows() == [("customers", "1", "c1")]
    assert rows_of(result, "customers") == [("1", A.IN_SYNC, R.IN_SYNC), ("2", A.CREATE, R.NEW_IN_SOURCE)]


def test_match_records_reports_each_outcome() -> None:
    mapping = flow().mapping("customers")
    source = pl.DataFrame({"__id": ["1", "2", "3", "4", "5"], "m:0:0": ["a", "b", "b", None, "z"]})
    target = pl.DataFrame({"__id": ["t1", "t2", "t9", "tx"], "m:0:0": ["a", "b", "q", None]})
    found = match_records(source, target, links(("customers", "5", "t9"), ("customers", "8", "t8")), mapping)
    # Each record that exists comes with its row in its side (source_id, target_id, s_at, t_at).
    assert found.linked.rows() == [("5", "t9", 4, 2)]
    assert found.merged.rows() == [("1", "t1", 0, 0)]
    assert sorted(found.ambiguous.rows()) == [("2", ["t2"]), ("3", ["t2"])]
    assert found.unmatched.rows() == [("4", 3)]
    assert found.source_gone.rows() == [("8", "t8", False, None)]
    assert found.target_gone.is_empty()


# -- issue 9, item 4: a changed key is not a new record ----------------------------------------------------


def test_a_changed_key_moves_the_link_instead_of_a_create_and_a_delete() -> None:
    """Client 1 is gone and client 7, new, has its email: the same customer under a new id. The link moves to
    7, carrying 1's shadows, so 7's rename is a plain source change (not a fresh merge), and nothing is
    created or deleted, even with ``delete = "propagate"``."""
    result = plan(
        flow(delete="propagate"),
        clients({"id": 7, "name": "Ola N", "email": "ola@x.no"}),
        customers({"ID": "c1", "Name": "Ola", "Email": "ola@x.no"}),
        links(("customers", "1", "c1")),
        shadows(("customers", "1", "Name", "Ola"), ("customers", "1", "Email", "ola@x.no")),
    )
    assert rows_of(result, "customers") == [
        ("7", A.MOVE_LINK, R.LINK_MOVED),
        ("7", A.UPDATE_TARGET, R.SOURCE_CHANGED),
    ]
    moved = row(result, "customers", "7", A.MOVE_LINK)
    assert moved["target_id"] == "c1"
    assert moved["detail"] == "the link moves from source record 1, gone from the source, to 7"
    assert result.moves.rows() == [("customers", "1", "7", "c1")]
    assert result.merges.is_empty()


def test_applying_a_moved_link_relinks_the_target_and_the_next_night_is_in_sync() -> None:
    the_flow = flow(delete="propagate")
    systems = memory_systems(
        clients({"id": 7, "name": "Ola N", "email": "ola@x.no"}),
        customers({"ID": "c1", "Name": "Ola", "Email": "ola@x.no"}),
    )
    before = shadows(("customers", "1", "Name", "Ola"), ("customers", "1", "Email", "ola@x.no"))
    with stored(the_flow, links(("customers", "1", "c1")), before) as store:
        night(the_flow, systems, store, "r1")
        assert store.links(the_flow.name).rows() == [("customers", "7", "c1")]
        carried = {p: v for _, s, p, v in narrow(store.shadows(the_flow.name)).rows() if s == "7"}
        second = night(the_flow, systems, store, "r2")
    assert carried["Email"] == "ola@x.no" and carried["Name"] == "Ola N"
    assert systems["books"].records["Customer"]["c1"]["Name"] == "Ola N"
    assert len(systems["books"].records["Customer"]) == 1
    assert rows_of(second, "customers") == [("7", A.IN_SYNC, R.IN_SYNC)]


def test_a_link_moves_only_to_a_record_that_matches_its_target_alone() -> None:
    """Two new clients match the orphaned customer: ambiguous, and the old link's delete is reported."""
    result = plan(
        flow(),
        clients({"id": 7, "name": "Ola", "email": "ola@x.no"}, {"id": 8, "name": "Ola", "email": "ola@x.no"}),
        customers({"ID": "c1", "Name": "Ola", "Email": "ola@x.no"}),
        links(("customers", "1", "c1")),
        shadows(("customers", "1", "Name", "Ola"), ("customers", "1", "Email", "ola@x.no")),
    )
    assert rows_of(result, "customers") == [
        ("1", A.DELETE, R.SOURCE_DELETED),
        ("7", A.AMBIGUOUS, R.AMBIGUOUS_MERGE),
        ("8", A.AMBIGUOUS, R.AMBIGUOUS_MERGE),
    ]
    assert result.moves.is_empty()


# -- issue 9, item 5: merge keys compare as people mean them -----------------------------------------------


def test_merge_keys_compare_without_regard_to_case_or_unicode_form() -> None:
    """ "Åse" written with a combining ring (NFD) is "åse"; an email differing in case is the same address.
    The values written keep their case, NFC-normalised."""
    result = plan(
        flow(merge=[[["name", "Name"]]]),
        clients({"id": 1, "name": "A\u030ase", "email": "ASE@x.no"}),
        customers({"ID": "c1", "Name": "åse", "Email": "ase@x.no"}),
    )
    assert result.merges.rows() == [("customers", "1", "c1")]
    assert rows_of(result, "customers") == [("1", A.UPDATE_TARGET, R.FRESH_MERGE)]
    assert changes(result, "customers", "1") == {"Name": ("åse", "\u00c5se")}


def test_a_mapping_may_compare_its_merge_keys_as_written() -> None:
    the_flow = flow(customer_options={"merge_case_sensitive": True})
    assert the_flow.mapping("customers").merge_case_sensitive
    result = plan(
        the_flow,
        clients({"id": 1, "name": "Ola", "email": "OLA@x.no"}),
        customers({"ID": "c1", "Name": "Ola", "Email": "ola@x.no"}),
    )
    assert rows_of(result, "customers") == [("1", A.CREATE, R.NEW_IN_SOURCE)]


def test_an_ambiguous_row_lists_its_candidates_with_the_labels_a_person_knows_them_by() -> None:
    result = plan(
        flow(),
        clients({"id": 1, "name": "Ola", "email": "ola@x.no"}),
        customers({"ID": "c2", "Name": "Ola", "Email": "ola@x.no"}, {"ID": "c1", "Name": "O.", "Email": "ola@x.no"}),
    )
    assert row(result, "customers", "1")["candidates"] == [
        {"target_id": "c1", "label": "O. ola@x.no"},
        {"target_id": "c2", "label": "Ola ola@x.no"},
    ]
    assert row(result, "areas", "a1")["candidates"] == []


# -- issue 10: a lookup (many_to_one) serves many source records ---------------------------------------------


def lookup_flow(merge: tuple[tuple[tuple[str, str], ...], ...] = ((("code", "Code"),),)) -> Flow:
    """The world's flow with areas -> Region (a read-only list) linked as a lookup by the area code."""
    the_flow = flow()
    areas = replace(the_flow.mapping("areas"), merge=merge, many_to_one=True)
    return replace(the_flow, mappings=tuple(areas if m.name == "areas" else m for m in the_flow.mappings))


def regions(areas: dict[str, str], region_rows: dict[str, str]) -> dict[tuple[str, str], pl.DataFrame]:
    return {
        ("crm", "Area"): pl.DataFrame({"id": list(areas), "code": list(areas.values())}),
        ("books", "Region"): pl.DataFrame({"Code": list(region_rows), "Name": list(region_rows.values())}),
    }


def test_a_lookup_links_every_source_record_to_the_one_target_record_it_names() -> None:
    result = plan(
        lookup_flow(), clients(), customers(), extra=regions({"a1": "N", "a2": "N", "a3": "W"}, {"N": "North"})
    )
    assert sorted(result.merges.filter(pl.col("mapping") == "areas").rows()) == [
        ("areas", "a1", "N"),
        ("areas", "a2", "N"),
    ]
    assert rows_of(result, "areas") == [
        ("a1", A.IN_SYNC, R.IN_SYNC),
        ("a2", A.IN_SYNC, R.IN_SYNC),
        ("a3", A.REJECT, R.READ_ONLY_ENTITY),
    ]


def test_one_to_one_the_same_records_are_ambiguous() -> None:
    """The contrast: without many_to_one, two areas naming one region are a question."""
    one_to_one = lookup_flow()
    areas = replace(one_to_one.mapping("areas"), many_to_one=False)
    one_to_one = replace(one_to_one, mappings=tuple(areas if m.name == "areas" else m for m in one_to_one.mappings))
    result = plan(one_to_one, clients(), customers(), extra=regions({"a1": "N", "a2": "N"}, {"N": "North"}))
    assert rows_of(result, "areas") == [("a1", A.AMBIGUOUS, R.AMBIGUOUS_MERGE), ("a2", A.AMBIGUOUS, R.AMBIGUOUS_MERGE)]


def test_a_lookup_record_already_linked_takes_a_new_source_record_too() -> None:
    result = plan(
        lookup_flow(),
        clients(),
        customers(),
        links(("areas", "a1", "N")),
        extra=regions({"a1": "N", "a2": "N"}, {"N": "North"}),
    )
    assert result.merges.filter(pl.col("mapping") == "areas").rows() == [("areas", "a2", "N")]
    assert rows_of(result, "areas") == [("a1", A.IN_SYNC, R.IN_SYNC), ("a2", A.IN_SYNC, R.IN_SYNC)]


def test_a_source_record_with_two_candidates_in_a_lookup_is_still_ambiguous() -> None:
    result = plan(
        lookup_flow(merge=((("code", "Name"),),)),
        clients(),
        customers(),
        extra=regions({"a1": "N"}, {"S1": "N", "S2": "N"}),
    )
    assert rows_of(result, "areas") == [("a1", A.AMBIGUOUS, R.AMBIGUOUS_MERGE)]


def test_a_lookup_never_moves_a_link_to_a_new_source_record() -> None:
    """Area a1 is gone and a2 names its region: a2 is linked as well, not a1 under a new id."""
    result = plan(
        lookup_flow(),
        clients(),
        customers(),
        links(("areas", "a1", "N")),
        extra=regions({"a2": "N"}, {"N": "North"}),
    )
    assert result.moves.is_empty()
    assert result.merges.filter(pl.col("mapping") == "areas").rows() == [("areas", "a2", "N")]
    assert rows_of(result, "areas") == [("a1", A.DELETE, R.SOURCE_DELETED), ("a2", A.IN_SYNC, R.IN_SYNC)]
