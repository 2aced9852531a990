"""Recovery: a create a run that died already made is found in the target, so it is not made twice."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

import polars as pl

from reconcile.engine.project import project_target
from reconcile.engine.recover import PENDING_SCHEMA, STAMP_SCHEMA, find_created, find_stamped
from tests.engine.world import BOOKS, customers, flow

CUSTOMER = BOOKS.entities["Customer"]


def pending(*creates: tuple[str, Mapping[str, str | None]]) -> pl.DataFrame:
    """The long form of pending creates: (source id, {property: canonical value written})."""
    return pl.DataFrame(
        [{"source_id": s, "property": k, "value": v} for s, values in creates for k, v in values.items()],
        schema=PENDING_SCHEMA,
    )


def found(
    wanted: pl.DataFrame,
    target: pl.DataFrame,
    linked: tuple[str, ...] = (),
    extra: tuple[dict[str, object], ...] = (),
) -> list[tuple[Any, ...]]:
    """The (source id, target id) pairs :func:`find_created` finds for ``wanted`` in the customers ``target``."""
    mapping = flow(extra=extra).mapping("customers")
    projected = project_target(target, mapping, CUSTOMER, {})
    return sorted(find_created(wanted, projected, pl.Series(list(linked), dtype=pl.Utf8)).rows())


OLA = {"Name": "Ola", "Email": "ola@x.no", "BirthDate": "1980-05-17", "Country": "NO"}
OLA_ROW = {"ID": "c7", "Name": "Ola", "Email": "ola@x.no", "BirthDate": dt.date(1980, 5, 17), "Country": "no"}


def test_a_create_found_exactly_once_is_linked() -> None:
    target = customers(OLA_ROW, {"ID": "c8", "Name": "Kari"})
    assert found(pending(("1", OLA)), target) == [("1", "c7")]


def test_a_create_not_in_the_target_is_not_linked() -> None:
    assert found(pending(("1", OLA)), customers({"ID": "c8", "Name": "Ola"})) == []


def test_a_create_found_twice_is_linked_to_the_newest_record() -> None:
    """Linking one of the two makes nothing; leaving both would make a third. The newest is likeliest ours."""
    target = customers(OLA_ROW, {**OLA_ROW, "ID": "c9"})
    assert found(pending(("1", OLA)), target) == [("1", "c9")]


def test_two_pending_creates_with_one_record_link_the_first_and_leave_the_other_to_be_made() -> None:
    assert found(pending(("1", OLA), ("2", OLA)), customers(OLA_ROW)) == [("1", "c7")]


def test_identical_pending_creates_pair_one_to_one_with_identical_records() -> None:
    """Two orders of one customer for one amount: both were made, both answers were lost."""
    target = customers({**OLA_ROW, "ID": "c8", "Name": "Kari"}, OLA_ROW, {**OLA_ROW, "ID": "c9"})
    assert found(pending(("1", OLA), ("2", OLA)), target) == [("1", "c9"), ("2", "c7")]


def test_three_identical_creates_and_two_records_make_only_the_third_again() -> None:
    target = customers(OLA_ROW, {**OLA_ROW, "ID": "c9"})
    assert found(pending(("1", OLA), ("2", OLA), ("3", OLA)), target) == [("1", "c9"), ("2", "c7")]


def test_a_create_with_one_candidate_keeps_it_from_a_create_with_two() -> None:
    target = customers(OLA_ROW, {**OLA_ROW, "ID": "c9", "Email": "annen@x.no"})
    wanted = pending(("1", {"Name": "Ola"}), ("2", {"Name": "Ola", "Email": "ola@x.no"}))
    assert found(wanted, target) == [("1", "c9"), ("2", "c7")]


def test_a_stamped_create_is_found_by_its_stamp_whatever_its_values() -> None:
    stamps = pl.DataFrame({"source_id": ["1", "2"], "stamp": ["s-1", "s-2"]}, schema=STAMP_SCHEMA)
    carried = pl.DataFrame({"target_id": ["c7", "c8", "c9"], "stamp": [None, "s-2", "s-1"]})
    assert sorted(find_stamped(stamps, carried, pl.Series([], dtype=pl.Utf8)).rows()) == [("1", "c9"), ("2", "c8")]
    assert find_stamped(stamps, carried, pl.Series(["c8", "c9"])).is_empty()


def test_a_record_already_linked_is_not_claimed() -> None:
    assert found(pending(("1", OLA)), customers(OLA_ROW), linked=("c7",)) == []


def test_every_written_value_must_match() -> None:
    assert found(pending(("1", {**OLA, "Email": "other@x.no"})), customers(OLA_ROW)) == []


def test_a_fixed_value_written_on_create_does_not_hide_the_record() -> None:
    """Type is set on create from a fixed value: it is in the payload but not a synced property."""
    the_extra: tuple[dict[str, object], ...] = ({"value": "B2B", "target": "Type"},)
    target = customers({**OLA_ROW, "Type": "B2B"})
    assert found(pending(("1", {**OLA, "Type": "B2B"})), target, extra=the_extra) == [("1", "c7")]


def test_nothing_pending_finds_nothing() -> None:
    assert found(pending(), customers(OLA_ROW)) == []


def test_identical_creates_are_told_apart_by_what_their_lines_hold() -> None:
    """Two orders of one customer for one amount, made in reverse order: each finds the record with its lines."""
    wanted = pending(("1", OLA), ("2", OLA))
    target = customers({**OLA_ROW, "ID": "c7"}, {**OLA_ROW, "ID": "c8"})  # c8, the newest, is order 1's twin
    mapping = flow().mapping("customers")
    projected = project_target(target, mapping, CUSTOMER, {})
    linked = pl.Series([], dtype=pl.Utf8)
    by_order = sorted(find_created(wanted, projected, linked).rows())
    assert by_order == [("1", "c8"), ("2", "c7")]  # without the lines: in order, the first with the newest
    prints = (
        pl.DataFrame({"id": ["1", "2"], "print": ["widget x1", "gadget x3"]}),
        pl.DataFrame({"id": ["c7", "c8"], "print": ["widget x1", "gadget x3"]}),
    )
    assert sorted(find_created(wanted, projected, linked, prints).rows()) == [("1", "c7"), ("2", "c8")]
