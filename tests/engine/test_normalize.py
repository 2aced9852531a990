"""Canonical values: both sides of a mapping compare equal when they mean the same (DESIGN "The run", step 2)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import polars as pl
import pytest

from reconcile.engine.normalize import canonical


def canon(values: Sequence[object], dtype: pl.DataType, field_type: str, fmt: str | None = None) -> list[str | None]:
    frame = pl.DataFrame({"v": values}, schema={"v": dtype})
    return frame.select(canonical(pl.col("v"), dtype, field_type, fmt).alias("v"))["v"].to_list()


def test_text_is_trimmed_and_blank_is_null() -> None:
    assert canon([" Ola ", "", "   ", None], pl.Utf8(), "string") == ["Ola", None, None, None]


def test_a_datetime_text_and_a_date_are_the_same_date() -> None:
    as_text = canon(["1980-05-17T00:00:00", "1980-05-17", " 1980-05-17 "], pl.Utf8(), "date")
    as_date = canon([dt.date(1980, 5, 17)], pl.Date(), "date")
    assert as_text == ["1980-05-17"] * 3
    assert as_date == ["1980-05-17"]


def test_a_datetime_becomes_a_date_at_its_own_offset_not_in_utc() -> None:
    """Half past midnight in Oslo is the 17th there, though UTC still says the 16th (issue 9, item 12)."""
    oslo = pl.Datetime("us", "Europe/Oslo")
    frame = pl.DataFrame({"v": [dt.datetime(1980, 5, 17, 0, 30)]}).with_columns(
        pl.col("v").dt.replace_time_zone("Europe/Oslo")
    )
    got = frame.select(canonical(pl.col("v"), oslo, "date").alias("v"))["v"].to_list()
    assert got == ["1980-05-17"]
    assert canon(["1980-05-17T00:30:00+02:00"], pl.Utf8(), "date") == ["1980-05-17"]


def test_a_date_that_does_not_parse_is_kept_for_validation_to_name() -> None:
    assert canon(["17.05.1980"], pl.Utf8(), "date") == ["17.05.1980"]


@pytest.mark.parametrize(
    ("values", "dtype"),
    [
        (["80", " 80.0 ", "80,0"], pl.Utf8()),
        ([80.0, 80.0, 80.0], pl.Float64()),
        ([80, 80, 80], pl.Int64()),
    ],
)
def test_numbers_compare_as_numbers(values: list[object], dtype: pl.DataType) -> None:
    assert canon(values, dtype, "float") == ["80.0"] * 3


def test_whole_numbers_compare_as_whole_numbers() -> None:
    assert canon(["80", " 80 ", "80.0"], pl.Utf8(), "int") == ["80"] * 3
    assert canon([80.0, 80.5], pl.Float64(), "int") == ["80", "80.5"]
    assert canon([80], pl.Int32(), "int") == ["80"]


def test_a_number_that_does_not_parse_is_kept() -> None:
    assert canon(["eighty"], pl.Utf8(), "float") == ["eighty"]
    assert canon(["eighty"], pl.Utf8(), "int") == ["eighty"]


def test_country_and_currency_codes_are_upper_case() -> None:
    assert canon(["no", " Se "], pl.Utf8(), "string", "country") == ["NO", "SE"]
    assert canon(["nok"], pl.Utf8(), "string", "currency") == ["NOK"]


def test_guids_are_lower_case() -> None:
    value = "ABCDEF01-0000-0000-0000-00000000000A"
    assert canon([value], pl.Utf8(), "guid") == [value.lower()]


def test_booleans() -> None:
    assert canon(["Ja", "0", "TRUE", "nei", "maybe"], pl.Utf8(), "bool") == ["true", "false", "true", "false", "maybe"]
    assert canon([True, False, None], pl.Boolean(), "bool") == ["true", "false", None]


def test_datetimes_are_utc_whatever_the_text_looks_like() -> None:
    values = [
        "2024-01-01T10:00:00",
        "2024-01-01 10:00:00",
        "2024-01-01T11:00:00+01:00",
        "2024-01-01T10:00:00Z",
        "2024-01-01T10:00:00.250",
    ]
    assert canon(values, pl.Utf8(), "datetime") == ["2024-01-01T10:00:00"] * 5


def test_a_value_does_not_depend_on_its_neighbours() -> None:
    """Each value is read by itself: the first row of a column never decides how the others parse."""
    one = canon(["2024-01-01T10:00:00Z"], pl.Utf8(), "datetime")
    mixed = canon(["2024-01-01T10:00:00", "2024-01-01T10:00:00Z"], pl.Utf8(), "datetime")
    assert mixed[1] == one[0] == "2024-01-01T10:00:00"


def test_datetimes_from_typed_columns() -> None:
    assert canon([dt.date(2024, 1, 1)], pl.Date(), "datetime") == ["2024-01-01T00:00:00"]
    frame = pl.DataFrame({"v": [dt.datetime(2024, 1, 1, 11)]}).with_columns(
        pl.col("v").dt.replace_time_zone("Europe/Oslo")
    )
    oslo = pl.Datetime("us", "Europe/Oslo")
    assert frame.select(canonical(pl.col("v"), oslo, "datetime").alias("v"))["v"].to_list() == ["2024-01-01T10:00:00"]


def test_a_column_of_nulls_stays_null() -> None:
    for field_type in ("string", "float", "int", "date", "datetime", "bool", "guid"):
        assert canon([None], pl.Null(), field_type) == [None]
