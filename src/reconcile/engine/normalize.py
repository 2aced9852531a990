"""Canonical values: one string per value, so that both sides of a mapping compare equal when they mean the same.

Both sides are normalised by the *target* field's type (the catalogue knows an Exact ``BirthDate`` is a date
while the dataflow calls it a string): trimmed, empty as null, dates as ``YYYY-MM-DD``, datetimes as UTC
``YYYY-MM-DDTHH:MM:SS``, numbers as Polars prints a ``Float64`` or ``Int64``, booleans as ``true``/``false``,
country and currency codes in upper case, guids in lower case. A value that does not parse is kept as it
is, trimmed, so that validation can reject it by name instead of it silently becoming null.
"""

from __future__ import annotations

import polars as pl

from reconcile.model.catalogue import Field
from reconcile.model.values import FALSE_WORDS, TRUE_WORDS

_DATE = r"^\d{4}-\d{2}-\d{2}"
_NUMERIC = (pl.Int8, pl.Int16, pl.Int32, pl.Int64, pl.UInt8, pl.UInt16, pl.UInt32, pl.UInt64)
_FLOATS = (pl.Float32, pl.Float64)


def _text(expr: pl.Expr, dtype: pl.DataType) -> pl.Expr:
    """Any value as trimmed text, empty as null."""
    if dtype == pl.Utf8:
        text = expr.str.strip_chars()
    elif dtype == pl.Boolean:
        text = pl.when(expr).then(pl.lit("true")).when(expr.not_()).then(pl.lit("false"))
    elif dtype == pl.Date:
        text = expr.dt.strftime("%Y-%m-%d")
    elif isinstance(dtype, pl.Datetime):
        text = _utc(expr, dtype).dt.strftime("%Y-%m-%dT%H:%M:%S")
    elif dtype == pl.Null:
        text = expr.cast(pl.Utf8)
    else:
        text = expr.cast(pl.Utf8)
    return pl.when(text == "").then(None).otherwise(text).cast(pl.Utf8)


def _utc(expr: pl.Expr, dtype: pl.Datetime) -> pl.Expr:
    if dtype.time_zone is None:
        return expr
    return expr.dt.convert_time_zone("UTC").dt.replace_time_zone(None)


def parse_datetime(text: pl.Expr) -> pl.Expr:
    """ISO-like text as a naive UTC datetime (null where it does not parse).

    Each value is read by itself with explicit formats: letting Polars infer one format from the first value
    of a column would leave every value written another way (an offset, a ``Z``, a space) unparsed.
    """
    iso = text.str.replace(r"^(\d{4}-\d{2}-\d{2})[ T]", "${1}T").str.replace(r"Z$", "+00:00")
    with_offset = (
        iso.str.to_datetime("%Y-%m-%dT%H:%M:%S%.f%z", strict=False, time_unit="us")
        .dt.convert_time_zone("UTC")
        .dt.replace_time_zone(None)
    )
    return pl.coalesce(
        with_offset,
        iso.str.to_datetime("%Y-%m-%dT%H:%M:%S%.f", strict=False, time_unit="us"),
        iso.str.to_datetime("%Y-%m-%dT%H:%M", strict=False, time_unit="us"),
        iso.str.to_date("%Y-%m-%d", strict=False).cast(pl.Datetime("us")),
    )


def canonical(expr: pl.Expr, dtype: pl.DataType, field_type: str, fmt: str | None = None) -> pl.Expr:
    """The canonical text of ``expr`` (of ``dtype``) compared as a value of ``field_type``."""
    text = _text(expr, dtype)
    if field_type == "date":
        if dtype == pl.Date:
            return text
        if isinstance(dtype, pl.Datetime):
            return _utc(expr, dtype).dt.date().dt.strftime("%Y-%m-%d")
        return pl.when(text.str.contains(_DATE)).then(text.str.slice(0, 10)).otherwise(text)
    if field_type == "datetime":
        if isinstance(dtype, pl.Datetime) or dtype == pl.Date:
            return text if isinstance(dtype, pl.Datetime) else text + "T00:00:00"
        return pl.coalesce(parse_datetime(text).dt.strftime("%Y-%m-%dT%H:%M:%S"), text)
    if field_type == "float":
        if dtype in _FLOATS or dtype in _NUMERIC:
            return expr.cast(pl.Float64).cast(pl.Utf8)
        as_float = text.str.replace(",", ".", literal=True).cast(pl.Float64, strict=False)
        return pl.coalesce(as_float.cast(pl.Utf8), text)
    if field_type == "int":
        if dtype in _NUMERIC:
            return expr.cast(pl.Int64).cast(pl.Utf8)
        if dtype in _FLOATS:
            return pl.when(expr == expr.round(0)).then(expr.cast(pl.Int64).cast(pl.Utf8)).otherwise(text)
        # "80.0" is the whole number 80, as an 80.0 from a float column is.
        as_float = text.str.replace(",", ".", literal=True).cast(pl.Float64, strict=False)
        whole = pl.when(as_float == as_float.round(0)).then(as_float.cast(pl.Int64, strict=False))
        return pl.coalesce(text.cast(pl.Int64, strict=False).cast(pl.Utf8), whole.cast(pl.Utf8), text)
    if field_type == "bool":
        if dtype == pl.Boolean:
            return text
        lowered = text.str.to_lowercase()
        return (
            pl.when(lowered.is_in(TRUE_WORDS))
            .then(pl.lit("true"))
            .when(lowered.is_in(FALSE_WORDS))
            .then(pl.lit("false"))
            .otherwise(text)
        )
    if field_type == "guid":
        return text.str.to_lowercase()
    if fmt in ("country", "currency"):
        return text.str.to_uppercase()
    return text


def canonical_for(expr: pl.Expr, dtype: pl.DataType, field: Field | None, fallback_type: str) -> pl.Expr:
    """:func:`canonical` by the catalogue field's type, or the mapping's type where the field is unknown."""
    if field is None:
        return canonical(expr, dtype, fallback_type)
    return canonical(expr, dtype, field.type, field.format)
