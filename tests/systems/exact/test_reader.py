"""Exact's rows typed in bulk: the same values as typing them one by one, and errors that name the record.

The oracle is :func:`_one_by_one`, the reader as it was before it typed pages by expressions: each value of
each field typed by itself (``/Date(ms)/`` and ISO text through the wire's parsers, ``str``, ``int``,
``float``, ``bool``). What the expressions change on purpose: every page reads dates as a page that mixed
``/Date(ms)/`` and ISO text was read, value by value. A ``/Date(ms)/`` that names a wall-clock time
Amsterdam skips is read as Python reads it (a page of ``/Date(ms)/`` values only made it null), and text
that merely starts as ``/Date(ms)/`` is no date (such a page took its number), but an error naming it.
"""

from __future__ import annotations

import datetime as dt
import os
from typing import Any

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from reconcile.errors import ConfigError
from reconcile.model.catalogue import DTYPES, Entity, Field, FieldType
from reconcile.systems.catalogues import builtin_catalogue
from reconcile.systems.exact import columns
from reconcile.systems.exact.reader import ExactReader
from reconcile.systems.exact.wire import parse_date, parse_datetime

FAST = settings(
    max_examples=int(os.environ.get("RECONCILE_EXAMPLES", "60")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
KINDS: tuple[FieldType, ...] = ("guid", "string", "int", "float", "bool", "date", "datetime")
ENTITY = Entity(
    "Things",
    "ID",
    {"ID": Field("ID", "guid"), "Code": Field("Code", "string")} | {f"F{k}": Field(f"F{k}", k) for k in KINDS},
    api={"padded": ["Code"]},
)
READER = ExactReader(api=None)  # type: ignore[arg-type]  # frame() makes no calls


def _one_by_one(entity: Entity, rows: list[dict[str, Any]]) -> pl.DataFrame:
    """The reader's typing, value by value (the semantics the expressions keep)."""
    padded = set(entity.api.get("padded", []))
    columns = []
    for name, fdef in entity.fields.items():
        values = [row.get(name) for row in rows]
        kind = fdef.type
        typed: list[Any]
        if kind in ("date", "datetime"):
            parse = parse_date if kind == "date" else parse_datetime
            typed = [parse(v) if isinstance(v, str) and v else None for v in values]
        elif kind == "string":
            typed = [None if v is None else str(v).strip() if name in padded else str(v) for v in values]
        elif kind == "guid":
            typed = [None if v is None else str(v).lower() for v in values]
        elif kind == "int":
            typed = [None if v is None or v == "" else int(v) for v in values]
        elif kind == "float":
            typed = [None if v is None or v == "" else float(v) for v in values]
        else:
            typed = [None if v is None else bool(v) for v in values]
        series = pl.Series(name, typed, dtype=DTYPES[kind])
        columns.append(series.cast(pl.String) if name == entity.key else series)
    return pl.DataFrame(columns)


def _wall(moment: dt.datetime) -> str:
    """``moment`` (naive, Amsterdam wall-clock) as Exact writes it."""
    return f"/Date({int((moment - dt.datetime(1970, 1, 1)) / dt.timedelta(milliseconds=1))})/"


MOMENTS = st.datetimes(min_value=dt.datetime(1900, 1, 1), max_value=dt.datetime(2100, 1, 1)).map(
    lambda m: m.replace(microsecond=m.microsecond // 1000 * 1000)
)
ISO = st.one_of(
    st.dates().map(dt.date.isoformat),
    MOMENTS.map(lambda m: m.isoformat()),
    st.tuples(MOMENTS, st.sampled_from(["Z", "+02:00", "-05:30", "+00:00"])).map(lambda p: p[0].isoformat() + p[1]),
)
WHEN = st.one_of(st.none(), st.just(""), MOMENTS.map(_wall), ISO)
VALUES: dict[FieldType, st.SearchStrategy[Any]] = {
    "guid": st.one_of(st.none(), st.uuids().map(lambda u: str(u).upper()), st.integers(0, 99)),
    "string": st.one_of(st.none(), st.text(max_size=6), st.integers(-99, 99), st.booleans()),
    "int": st.one_of(
        st.none(), st.just(""), st.integers(-(2**62), 2**62), st.integers(-99, 99).map(str), st.floats(-1e6, 1e6)
    ),
    "float": st.one_of(st.none(), st.just(""), st.floats(allow_nan=False), st.integers(-99, 99), st.just(" 2.5 ")),
    "bool": st.one_of(st.none(), st.booleans(), st.integers(-1, 2), st.sampled_from(["", "x"])),
    "date": WHEN,
    "datetime": WHEN,
}


@st.composite
def pages(draw: st.DrawFn) -> list[dict[str, Any]]:
    """Rows of :data:`ENTITY`; each field's values of one kind of value, or of any."""
    n = draw(st.integers(0, 8))
    rows: list[dict[str, Any]] = [
        {"ID": f"ID-{i}", "Code": f"{i:>18}", "__metadata": {"uri": f"Things({i})"}} for i in range(n)
    ]
    for kind in KINDS:
        one = draw(VALUES[kind])
        mixed = draw(st.booleans())
        for row in rows:
            row[f"F{kind}"] = draw(VALUES[kind]) if mixed else one
    return rows


@FAST
@given(pages(), st.sampled_from([0, columns.FEW]))
def test_a_page_is_typed_as_each_value_was(rows: list[dict[str, Any]], few: int) -> None:
    """By the expressions (``few`` 0) or, for a page of a few records, value by value: the same frame."""
    default, columns.FEW = columns.FEW, few
    try:
        try:
            expected = _one_by_one(ENTITY, rows)
        except (ValueError, TypeError, OverflowError):  # a value that is not its field's type (a year 0, say)
            with pytest.raises(ConfigError, match=r"^exact Things: record ID-\d+: F"):
                READER.frame(ENTITY, rows)
            return
        assert_frame_equal(READER.frame(ENTITY, rows), expected)
    finally:
        columns.FEW = default


def test_a_page_that_mixes_wall_clock_dates_iso_text_and_nulls() -> None:
    contacts = builtin_catalogue("exact").entities["Contacts"]
    rows: list[dict[str, Any]] = [
        {"ID": "A", "BirthDate": "/Date(1719792000000)/", "Modified": "/Date(1719792000000)/"},
        {"ID": "B", "BirthDate": "1980-07-01", "Modified": "2024-07-01T00:00:00"},  # naive: Amsterdam time
        {"ID": "C", "BirthDate": "2024-06-30T23:30:00Z", "Modified": "2024-06-30T22:00:00+00:00"},
        {"ID": "D", "BirthDate": None, "Modified": ""},
        {"ID": "E"},
    ]
    frame = READER.frame(contacts, rows)
    midnight = dt.datetime(2024, 6, 30, 22, 0, tzinfo=dt.UTC)  # 1 July, 00:00 in Amsterdam
    assert frame["BirthDate"].to_list() == [dt.date(2024, 7, 1), dt.date(1980, 7, 1), dt.date(2024, 7, 1), None, None]
    assert frame["Modified"].to_list() == [midnight, midnight, midnight, None, None]
    assert frame["ID"].to_list() == ["a", "b", "c", "d", "e"]


def test_a_wall_clock_time_amsterdam_skips_is_read_the_same_on_any_page() -> None:
    skipped = _wall(dt.datetime(2024, 3, 31, 2, 30))  # the clocks go from 02:00 to 03:00
    only = READER.frame(ENTITY, [{"ID": "a", "Fdatetime": skipped}])
    mixed = READER.frame(ENTITY, [{"ID": "a", "Fdatetime": skipped}, {"ID": "b", "Fdatetime": "2024-01-01"}])
    assert only["Fdatetime"][0] == mixed["Fdatetime"][0] == parse_datetime(skipped)
    assert only["Fdatetime"][0] == dt.datetime(2024, 3, 31, 1, 30, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("field", "value", "shown"),
    [
        ("Fint", "12a", '"12a"'),
        ("Fdate", "the first of May", '"the first of May"'),
        ("Fdatetime", "/Date(12)/ or so", '"/Date(12)/ or so"'),
        ("Ffloat", {"x": 1}, '{"x": 1}'),
        ("Fint", 2**70, str(2**70)),
    ],
)
def test_a_value_that_is_not_its_fields_type_names_the_record_and_the_field(field: str, value: Any, shown: str) -> None:
    rows = [{"ID": "GOOD", field: None}, {"ID": "BAD", field: value}, {"ID": "WORSE", field: value}]
    with pytest.raises(ConfigError) as caught:
        READER.frame(ENTITY, rows)
    assert str(caught.value).startswith(f"exact Things: record BAD: {field} = {shown} is not ")


def test_a_bad_value_of_a_record_without_a_key_names_its_place() -> None:
    with pytest.raises(ConfigError, match=r"^exact Things: record #2: Fint = \"x\" is not a whole number$"):
        READER.frame(ENTITY, [{"ID": "a", "Fint": 1}, {"Fint": "x"}])


def test_an_empty_page_has_every_column_typed() -> None:
    frame = READER.frame(ENTITY, [])
    assert frame.schema == pl.Schema(
        {name: pl.String() if name == "ID" else DTYPES[f.type] for name, f in ENTITY.fields.items()}
    )
