"""The diff on raw values decides exactly as the diff on canonical values.

A plan projects the sides ``raw`` (:func:`reconcile.engine.project.project_source`): values both sides hold
with one type are compared as they are, and only the pairs where one may differ are made canonical. These
examples hold both sides with every type a snapshot has (text with spaces, case and composed or decomposed
letters, emails, country codes, floats kept at two decimals, whole numbers, dates, datetimes in a time zone,
booleans), draw values that are equal raw, equal only canonically, or different, and check that the raw diff
gives the same differences and the same agreed values as the canonical one.
"""

from __future__ import annotations

import datetime as dt
import os
from typing import Any

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from reconcile.engine import diff
from reconcile.engine.diff import diff_pairs
from reconcile.engine.project import project_source, project_target
from reconcile.model.catalogue import Entity, Field
from reconcile.model.flow import Mapping, Property
from reconcile.model.shadows import kept_col, value_col

FIELDS = {
    "Id": Field("Id"),
    "Name": Field("Name"),
    "Email": Field("Email", format="email"),
    "Country": Field("Country", format="country"),
    "Balance": Field("Balance", type="float", decimals=2),
    "Ratio": Field("Ratio", type="float"),
    "Orders": Field("Orders", type="int"),
    "Since": Field("Since", type="date"),
    "Seen": Field("Seen", type="datetime"),
    "Active": Field("Active", type="bool"),
}
ENTITY = Entity("Customer", "Id", FIELDS, modified="Seen")
PROPS = [name for name in FIELDS if name != "Id"]
MAPPING = Mapping(
    "customers",
    "Customer",
    "Customer",
    properties=tuple(Property(target=name, source=name) for name in PROPS),
    conflict="source",
)
OSLO = "Europe/Oslo"
SCHEMA: dict[str, Any] = {
    "Id": pl.Utf8,
    "Name": pl.Utf8,
    "Email": pl.Utf8,
    "Country": pl.Utf8,
    "Balance": pl.Float64,
    "Ratio": pl.Float64,
    "Orders": pl.Int64,
    "Since": pl.Date,
    "Seen": pl.Datetime("us", OSLO),
    "Active": pl.Boolean,
}
VALUES: dict[str, st.SearchStrategy[Any]] = {
    "Name": st.sampled_from(["Åse", "A\u030ase", " Åse", "Åse ", "ase", "", "  ", None]),
    "Email": st.sampled_from(["ola@x.no", "OLA@x.no", " ola@x.no", "kari@x.no", None]),
    "Country": st.sampled_from(["no", "NO", " NO", "se", None]),
    "Balance": st.sampled_from([1.0, 1.001, 0.999, 1.01, 0.0, -0.0, float("nan"), None]),
    "Ratio": st.sampled_from([0.3, 0.1 + 0.2, 0.30000000001, 1e20, None]),
    "Orders": st.sampled_from([0, 1, 80, None]),
    "Since": st.sampled_from([dt.date(1980, 5, 17), dt.date(1990, 1, 2), None]),
    "Seen": st.sampled_from(
        [
            dt.datetime(2024, 1, 1, 10, tzinfo=dt.UTC),
            dt.datetime(2024, 1, 1, 10, 0, 0, 400000, tzinfo=dt.UTC),
            dt.datetime(2024, 1, 1, 23, 30, tzinfo=dt.UTC),
            None,
        ]
    ),
    "Active": st.sampled_from([True, False, None]),
}
SHADOWS: dict[str, st.SearchStrategy[str | None]] = {
    "Name": st.sampled_from(["Åse", "ase", None]),
    "Email": st.sampled_from(["ola@x.no", None]),
    "Country": st.sampled_from(["NO", "SE", None]),
    "Balance": st.sampled_from(["1.0", "1.01", None]),
    "Ratio": st.sampled_from(["0.3", None]),
    "Orders": st.sampled_from(["1", None]),
    "Since": st.sampled_from(["1980-05-17", None]),
    "Seen": st.sampled_from(["2024-01-01T10:00:00", None]),
    "Active": st.sampled_from(["true", None]),
}
RECORD = st.fixed_dictionaries(VALUES)
KEEP = st.fixed_dictionaries({name: st.sampled_from([True, True, True, False]) for name in VALUES})


@st.composite
def pairs_of_records(draw: st.DrawFn) -> tuple[dict[str, Any], dict[str, Any], dict[str, str | None] | None]:
    """A source record, a target record holding most of its values as they are (a night is mostly in sync),
    and a shadow or none."""
    source, other, keep = draw(RECORD), draw(RECORD), draw(KEEP)
    target = {name: source[name] if keep[name] else other[name] for name in VALUES}
    return source, target, draw(st.none() | st.fixed_dictionaries(SHADOWS))


PAIRS = st.lists(pairs_of_records(), min_size=1, max_size=6)
EXAMPLES = settings(max_examples=int(os.environ.get("RECONCILE_EXAMPLES", "15")), deadline=None)


def side(records: list[dict[str, Any]], prefix: str) -> pl.DataFrame:
    rows = [{"Id": f"{prefix}{n}", **record} for n, record in enumerate(records)]
    return pl.DataFrame(rows, schema=SCHEMA)


def shadow_frame(shadows: list[dict[str, str | None] | None]) -> pl.DataFrame:
    rows = []
    for n, shadow in enumerate(shadows):
        if shadow is None:
            continue
        row: dict[str, Any] = {"source_id": f"s{n}"}
        for name in PROPS:
            row[value_col(name)] = shadow[name]
            row[kept_col(name)] = True
        rows.append(row)
    schema = {"source_id": pl.Utf8} | {
        c: t for name in PROPS for c, t in ((value_col(name), pl.Utf8), (kept_col(name), pl.Boolean))
    }
    return pl.DataFrame(rows, schema=schema)


def decide(
    sources: pl.DataFrame, targets: pl.DataFrame, shadows: pl.DataFrame, *, raw: bool, ordered: bool = False
) -> tuple[Any, Any]:
    pairs = pl.DataFrame({"source_id": sources["Id"], "target_id": targets["Id"]})
    source = project_source(sources, MAPPING, ENTITY, ENTITY, raw=raw)
    target = project_target(targets, MAPPING, ENTITY, {}, raw=raw)
    differences, agreed = diff_pairs(pairs, source, target, shadows, MAPPING, ENTITY, ENTITY)
    if ordered:  # the differences in the pairs' order; what is agreed is keyed by the source record
        return differences.rows(), sorted(agreed.collect().rows(named=True), key=repr)
    return sorted(differences.rows(), key=repr), sorted(agreed.collect().rows(named=True), key=repr)


@EXAMPLES
@given(PAIRS)
def test_the_raw_diff_decides_as_the_canonical_diff(pairs: list[tuple[dict[str, Any], dict[str, Any], Any]]) -> None:
    sources = side([s for s, _, _ in pairs], "s")
    targets = side([t for _, t, _ in pairs], "t")
    shadows = shadow_frame([b for _, _, b in pairs])
    assert decide(sources, targets, shadows, raw=True) == decide(sources, targets, shadows, raw=False)


@EXAMPLES
@given(PAIRS)
def test_pairs_compared_a_few_at_a_time_decide_as_all_at_once(
    pairs: list[tuple[dict[str, Any], dict[str, Any], Any]],
) -> None:
    """The diff gathers the values of a chunk of pairs at a time: chunks of two give what one chunk gives, in
    the same order."""
    sources = side([s for s, _, _ in pairs], "s")
    targets = side([t for _, t, _ in pairs], "t")
    shadows = shadow_frame([b for _, _, b in pairs])
    whole = decide(sources, targets, shadows, raw=True, ordered=True)
    default, diff.DIFF_CHUNK = diff.DIFF_CHUNK, 2
    try:
        assert decide(sources, targets, shadows, raw=True, ordered=True) == whole
    finally:
        diff.DIFF_CHUNK = default


def test_values_equal_only_in_canonical_terms_are_in_sync_and_agreed_canonically() -> None:
    """Raw values that differ but mean the same (spaces, case, a decomposed letter, a float past the kept
    decimals) are in sync, and what is agreed is the canonical value."""
    seen = dt.datetime(2024, 1, 1, 10, tzinfo=dt.UTC)
    source = {"Name": "Åse", "Email": "OLA@x.no", "Country": "no", "Balance": 1.001, "Ratio": 0.1 + 0.2}
    target = {"Name": "A\u030ase ", "Email": "ola@x.no", "Country": "NO", "Balance": 1.0, "Ratio": 0.3}
    common = {"Orders": 80, "Since": dt.date(1980, 5, 17), "Seen": seen, "Active": True}
    differences, agreed = decide(
        side([source | common], "s"), side([target | common], "t"), shadow_frame([None]), raw=True
    )
    assert differences == []
    (values,) = agreed
    assert values[value_col("Name")] == "Åse"  # the source's, as a plan writes it
    assert values[value_col("Country")] == "NO"
    assert values[value_col("Balance")] == "1.0"
    assert values[value_col("Ratio")] == "0.3"
    assert values[value_col("Seen")] == "2024-01-01T10:00:00"
    assert all(values[kept_col(p)] is True for p in PROPS)


def test_a_pair_that_differs_in_one_property_is_decided_on_that_one_alone() -> None:
    seen = dt.datetime(2024, 1, 1, 10, tzinfo=dt.UTC)
    record = {"Name": "Åse", "Email": "ola@x.no", "Orders": 1, "Since": dt.date(1980, 5, 17), "Seen": seen}
    shadow = dict.fromkeys(PROPS, None) | {"Name": "Åse", "Email": "ola@x.no", "Orders": "1", "Since": "1980-05-17"}
    shadow["Seen"] = "2024-01-01T10:00:00"
    differences, agreed = decide(
        side([record, record], "s"),
        side([record | {"Orders": 2}, record], "t"),
        shadow_frame([shadow, shadow]),
        raw=True,
    )
    named = [dict(zip(diff.DECISION_SCHEMA, d, strict=True)) for d in differences]
    assert [(d["source_id"], d["property"], d["s"], d["t"], d["decision"]) for d in named] == [
        ("s0", "Orders", "1", "2", "to_source")
    ]
    kept = {row["source_id"]: {p for p in PROPS if row[kept_col(p)]} for row in agreed}
    assert kept == {"s0": set(PROPS) - {"Orders"}, "s1": set(PROPS)}
