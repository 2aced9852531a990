"""Snapshots cast by Polars expressions: the same values and the same errors as casting value by value.

The oracle is the caster of one value, :func:`~reconcile.model.values.cast_value`, applied record by record
(:func:`_one_by_one`, how snapshots were cast before they were cast by expressions): every frame cast by
:func:`~reconcile.model.casting.cast_frame` must equal it, and every error must be its error, word for word.
"""

from __future__ import annotations

import json
import os
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reconcile.errors import ConfigError
from reconcile.model.casting import cast_frame, fold_structs, key_texts, repeated
from reconcile.model.catalogue import DTYPES, FIELD_TYPES, Entity, Field, FieldType
from reconcile.model.records import records_frame, typed_frame
from reconcile.model.values import EXPECTED, cast_value, flatten_record, key_text, nest_record

FAST = settings(
    max_examples=int(os.environ.get("RECONCILE_EXAMPLES", "60")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)


def _one_by_one(entity: Entity, records: list[dict[str, Any]], where: str) -> pl.DataFrame:
    """A snapshot cast value by value: the semantics the expressions must keep."""
    keys = [key_text(r.get(entity.key)) for r in records]
    for position, key in enumerate(keys):
        if key is None:
            raise ConfigError(f"{where}: record {position + 1} has no {entity.key} (the key)")
    objects = {name.rsplit(".", 1)[0] for r in records for name in r if "." in name}
    series: list[pl.Series] = []
    for f in entity.fields.values():
        values = []
        for r, k in zip(records, keys, strict=True):
            value = r.get(f.name)
            if value is None and f.name in objects:
                inner = {n[len(f.name) + 1 :]: v for n, v in r.items() if n.startswith(f"{f.name}.")}
                value = nest_record(inner) if inner else None
            try:
                values.append(cast_value(value, f.type))
            except ValueError:
                shown = json.dumps(value, default=str)
                raise ConfigError(f"{where}: record {k}: {f.name} = {shown} is not {EXPECTED[f.type]}") from None
        if f.name == entity.key:
            series.append(pl.Series(f.name, [key_text(v) for v in values], dtype=pl.String))
        else:
            series.append(pl.Series(f.name, values, dtype=DTYPES[f.type]))
    frame = pl.DataFrame(series)
    duplicated = frame.filter(pl.col(entity.key).is_duplicated())[entity.key].unique().sort().to_list()
    if duplicated:
        raise ConfigError(
            f"{where}: {entity.key} = {', '.join(map(repr, duplicated))} is the key of more than "
            "one record; each record needs its own key"
        )
    return fold_structs(frame)


def _entity(key_type: FieldType = "int", **fields: FieldType) -> Entity:
    named = {
        "Id": Field("Id", key_type),
        **{n.replace("__", "."): Field(n.replace("__", "."), t) for n, t in fields.items()},
    }
    return Entity("Things", "Id", named)


def _outcome(cast: Any) -> tuple[str, Any]:
    try:
        frame = cast()
    except ConfigError as exc:
        return "error", str(exc)
    except (TypeError, OverflowError):  # a whole number past 64 bits: one by one, it did not fit its column
        return "error", "past 64 bits"
    return "frame", (dict(frame.schema), json.dumps(frame.rows(), default=repr))  # NaN is NaN in JSON


TEXTS = [
    "", "  ", " 12 ", "12", "+7", "-0", "007", "1_000", "12b", "1.5", " 1.50 ", ".5", "5.", "1e5", "1E-3",
    "inf", "NaN", "true", "FALSE", " Ja ", "nei", "YES", "no", "1", "0", "2", "maybe", "2024-05-01",
    "2024-02-30", "2024-02-29", "2024-W18-3", "20240501", "2024-05-01T09:30", "2024-05-01T09:30:00Z",
    "2024-05-01 09:30:00.5", "2024-05-01T23:30:00-05:00", "2024-05-01T09:30:00+0200",
    "2024-05-01T09:30:00.1234567", "2024-05-01T24:00:00", "2024-05-01T23:59:60", "2024-05-01z",
    "2024-05-01T09:30:00+02", "31.02.1990", "yesterday", "\x1c", "Tromsø", "=1+1",
    "3f2504e0-4f89-11d3-9a0c-0305e82c3301",
]  # fmt: skip
NATIVE: list[pl.Series] = [
    pl.Series([1, -5, 0, None, 2]),
    pl.Series([1, 2, None], dtype=pl.Int32),
    pl.Series([1, 2**64 - 1], dtype=pl.UInt64),
    pl.Series([1.0, 2.5, -0.0, None, 1e20, 1e-7, float("nan")]),
    pl.Series([1.5, 2.0], dtype=pl.Float32),
    pl.Series([True, False, None]),
    pl.Series([date(2024, 5, 1), None, date(99, 1, 2)]),
    pl.Series([datetime(2024, 5, 1, 9, 30), datetime(2024, 5, 1, 9, 30, 0, 1500)]),
    pl.Series([datetime(2024, 5, 1, 23, 30, tzinfo=UTC)]).dt.convert_time_zone("Europe/Oslo"),
    pl.Series([datetime(2024, 5, 1, 9, 30, 0, 123456)], dtype=pl.Datetime("ns")),
    pl.Series(["a", "b", None], dtype=pl.Categorical),
    pl.Series([[1, 2], None]),
    pl.Series([1, "x", {"a": 1}, None, 2.5, True], dtype=pl.Object),
]


@pytest.mark.parametrize("ftype", FIELD_TYPES)
@pytest.mark.parametrize("raw", [pl.Series(TEXTS), *NATIVE], ids=lambda s: str(getattr(s, "dtype", s)))
def test_every_value_casts_as_cast_value_casts_it(ftype: FieldType, raw: pl.Series) -> None:
    entity = _entity(V=ftype)
    for row, value in enumerate(raw.to_list()):
        one = pl.DataFrame({"Id": [1], "V": raw.slice(row, 1)})
        expected = _outcome(lambda: _one_by_one(entity, [{"Id": 1, "V": value}], "f"))  # noqa: B023
        _same(_outcome(lambda: cast_frame(entity, one, "f")), expected)  # noqa: B023
    whole = pl.DataFrame({"Id": range(raw.len()), "V": raw})
    records = [{"Id": i, "V": v} for i, v in enumerate(raw.to_list())]
    _same(_outcome(lambda: cast_frame(entity, whole, "f")), _outcome(lambda: _one_by_one(entity, records, "f")))


def _same(got: tuple[str, Any], expected: tuple[str, Any]) -> None:
    """The same frame or the same error; where one by one failed past 64 bits, an error naming the value."""
    if expected == ("error", "past 64 bits"):
        assert got[0] == "error" and "is not a whole number" in got[1], got
    else:
        assert got == expected


SCALARS = st.one_of(
    st.none(),
    st.sampled_from(TEXTS),
    st.integers(-(2**65), 2**65),
    st.floats(allow_nan=False, width=64),
    st.booleans(),
)
VALUES = st.one_of(
    SCALARS,
    st.lists(st.integers(), max_size=2),
    st.dictionaries(st.sampled_from("ab"), st.text(min_size=1), min_size=1, max_size=2),
)
KEYS = st.one_of(
    st.none(), st.integers(0, 5), st.sampled_from(["1", "2", " 3", "", " ", "x"]), st.sampled_from([1.0, 2.5])
)


@FAST
@given(
    types=st.lists(st.sampled_from(FIELD_TYPES), min_size=1, max_size=3),
    key_type=st.sampled_from(["int", "string", "guid"]),
    rows=st.lists(st.tuples(KEYS, st.lists(VALUES, min_size=3, max_size=3), st.booleans()), max_size=6),
)
def test_json_records_cast_as_one_by_one(types: list[FieldType], key_type: FieldType, rows: list[Any]) -> None:
    fields = {f"F{i}": t for i, t in enumerate(types)}
    entity = _entity(key_type, **fields, Nested__A="string", Nested__B="int")
    records = []
    for key, values, nested in rows:
        record: dict[str, Any] = {"Id": key, **dict(zip(fields, values, strict=False))}
        if nested:
            record["Nested"] = {"A": values[0], "B": values[1]}
        records.append(record)
    flat = [flatten_record(r) for r in records]
    _same(_outcome(lambda: typed_frame(entity, records, "w")), _outcome(lambda: _one_by_one(entity, flat, "w")))


@FAST
@given(values=st.lists(st.one_of(st.none(), st.sampled_from(["1", "2", "x", ""]), st.text(max_size=3)), max_size=12))
def test_repeated_values_are_those_that_occur_twice(values: list[str | None]) -> None:
    series = pl.Series("Id", values, dtype=pl.String)
    expected = series.filter(series.is_duplicated()).unique().sort()
    assert repeated(series).to_list() == expected.to_list()
    assert repeated(series).name == "Id" and repeated(series).dtype == pl.String


def test_repeated_keys_among_many_are_found() -> None:
    many = pl.Series("Id", [str(n) for n in range(100_000)])
    assert repeated(many).is_empty() and repeated(pl.concat([many, many.slice(5, 2)])).to_list() == ["5", "6"]


def test_key_texts_are_key_text() -> None:
    for raw in [pl.Series(["7", " ", "", None, " 8 ", "\x1c"]), pl.Series([7.0, 7.5, 1e20, None]), pl.Series([True])]:
        assert key_texts(raw).to_list() == [key_text(v) for v in raw.to_list()]


def test_a_value_that_does_not_cast_far_down_names_its_record() -> None:
    n = 100_000
    raw = pl.DataFrame(
        {
            "Id": [str(i) for i in range(n)],
            "When": ["2024-05-01T09:30:00Z"] * n,
            "Count": [str(i) for i in range(n)],
        }
    ).with_columns(pl.when(pl.int_range(n) == 69_999).then(pl.lit("12b")).otherwise(pl.col("Count")).alias("Count"))
    entity = _entity(When="datetime", Count="int")
    with pytest.raises(ConfigError) as caught:
        cast_frame(entity, raw, "big.csv")
    assert str(caught.value) == 'big.csv: record 69999: Count = "12b" is not a whole number'
    frame = cast_frame(entity, raw.with_columns(pl.col("Count").str.replace("12b", "12")), "big.csv")
    assert frame["Count"][69_999] == 12
    assert frame["When"][5] == datetime(2024, 5, 1, 9, 30, tzinfo=UTC)


def test_mixed_json_kinds_keep_each_value_and_fail_as_they_would() -> None:
    frame = records_frame([{"N": 1, "S": "a"}, {"N": "2", "S": "b"}, {"N": 2.5, "S": None}])
    assert frame.schema == {"N": pl.Object, "S": pl.String}
    assert frame["N"].to_list() == [1, "2", 2.5]
    entity = _entity("string", N="int")
    records: list[dict[str, Any]] = [{"Id": "a", "N": 1}, {"Id": "b", "N": "2"}, {"Id": "c", "N": 2.5}]
    with pytest.raises(ConfigError, match=r"^w: record c: N = 2\.5 is not a whole number$"):
        typed_frame(entity, records, "w")
    assert typed_frame(entity, records[:2], "w")["N"].to_list() == [1, 2]


def test_an_aware_datetime_in_another_zone_is_utc_and_its_date_is_its_own() -> None:
    oslo = timezone(timedelta(hours=2))
    raw = pl.DataFrame(
        {"Id": [1], "At": [datetime(2024, 5, 1, 1, 30, tzinfo=oslo)], "On": ["2024-05-01T01:30:00+02:00"]}
    )
    row = cast_frame(_entity(At="datetime", On="date"), raw, "f").row(0, named=True)
    assert row["At"] == datetime(2024, 4, 30, 23, 30, tzinfo=UTC)
    assert row["On"] == date(2024, 5, 1)
