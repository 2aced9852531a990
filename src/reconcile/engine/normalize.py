"""Canonical values: one string per value, so that both sides of a mapping compare equal when they mean the same.

Both sides are normalised by one type (:func:`compare_type`): the mapping's, where it says one, else the
*target* field's (the catalogue knows an Exact ``BirthDate`` is a date while the dataflow calls it a string):
text trimmed and NFC-normalised, empty (or nothing but spaces) as null, dates as ``YYYY-MM-DD`` (a datetime's
date at its own offset), datetimes as UTC ``YYYY-MM-DDTHH:MM:SS``, numbers as Polars prints a ``Float64`` or
``Int64`` (a float rounded to the decimals the target field keeps, or to 15 significant digits, so that
``0.1 + 0.2`` is ``0.3``), booleans as ``true``/``false``, country and currency codes in upper case, guids in
lower case. A value that does not parse is kept as it is, trimmed, so that validation can reject it by name
instead of it silently becoming null.

Canonical values are what a plan writes, so they keep their case; what compares without regard to case
(merge keys, emails) is folded where it is compared (:func:`folded`). For the same reason a property's plain
text keeps the spaces around it (``written``): a leading tab or space is data, written as it is. Only where
values are compared are they trimmed (:func:`comparable`), so that a system that trims what it stores never
makes a difference.
"""

from __future__ import annotations

import polars as pl

from reconcile.model.catalogue import Field
from reconcile.model.values import FALSE_WORDS, TRUE_WORDS

_DATE = r"^\d{4}-\d{2}-\d{2}"
_NUMERIC = (pl.Int8, pl.Int16, pl.Int32, pl.Int64, pl.UInt8, pl.UInt16, pl.UInt32, pl.UInt64)
_FLOATS = (pl.Float32, pl.Float64)


def _nfc(series: pl.Series) -> pl.Series:
    # Only text with a character beyond ASCII can change, and most columns hold none: skip the work there.
    if (series.str.len_bytes() != series.str.len_chars()).any():
        return series.str.normalize("NFC")
    return series


def _text(expr: pl.Expr, dtype: pl.DataType, nfc: bool = True, trim: bool = True) -> pl.Expr:
    """Any value as text, trimmed (unless ``trim`` is false), NFC-normalised (unless ``nfc`` is false), blank as
    null."""
    if dtype == pl.Utf8:
        text = expr.str.strip_chars()
        blank_as_null = pl.when(text == "").then(None).otherwise(text if trim else expr)
        return blank_as_null.map_batches(_nfc, return_dtype=pl.Utf8) if nfc else blank_as_null
    if dtype == pl.Boolean:
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


def _number(value: pl.Expr, decimals: int | None) -> pl.Expr:
    """A float as text at ``decimals`` (or 15 significant digits); no ``-0.0``."""
    rounded = value.round(decimals) if decimals is not None else value.round_sig_figs(15)
    return pl.when(rounded == 0).then(pl.lit(0.0)).otherwise(rounded).cast(pl.Utf8)


def canonical_key(expr: pl.Expr, dtype: pl.DataType) -> pl.Expr:
    """A record's key (or a reference to one) as text: trimmed, but otherwise as the system wrote it, since a
    write addresses the record by it."""
    return _text(expr, dtype, nfc=False)


def canonical(
    expr: pl.Expr,
    dtype: pl.DataType,
    field_type: str,
    fmt: str | None = None,
    decimals: int | None = None,
    written: bool = False,
) -> pl.Expr:
    """The canonical text of ``expr`` (of ``dtype``) compared as a value of ``field_type``.

    ``decimals`` is how many decimals a float keeps (the target field's); ``fmt`` the field's format.
    ``written``: the value as a plan writes it, plain text with the spaces around it (compare it through
    :func:`comparable`).
    """
    if written and field_type == "string" and fmt is None and dtype == pl.Utf8:
        return _text(expr, dtype, trim=False)
    text = _text(expr, dtype)
    if field_type == "date":
        if dtype == pl.Date:
            return text
        if isinstance(dtype, pl.Datetime):
            # The calendar day where the value was written: its own time zone's, not UTC's.
            return expr.dt.date().dt.strftime("%Y-%m-%d")
        return pl.when(text.str.contains(_DATE)).then(text.str.slice(0, 10)).otherwise(text)
    if field_type == "datetime":
        if isinstance(dtype, pl.Datetime) or dtype == pl.Date:
            return text if isinstance(dtype, pl.Datetime) else text + "T00:00:00"
        return pl.coalesce(parse_datetime(text).dt.strftime("%Y-%m-%dT%H:%M:%S"), text)
    if field_type == "float":
        if dtype in _FLOATS or dtype in _NUMERIC:
            return _number(expr.cast(pl.Float64), decimals)
        as_float = text.str.replace(",", ".", literal=True).cast(pl.Float64, strict=False)
        return pl.coalesce(_number(as_float, decimals), text)
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


def compare_type(field: Field | None, mapping_type: str) -> str:
    """The type both sides of a property are cast to before they are compared.

    The mapping's ``type``, unless it is ``string`` (the default), which leaves it to the catalogue field's.
    """
    if field is None or mapping_type != "string":
        return mapping_type
    return field.type


def canonical_for(
    expr: pl.Expr, dtype: pl.DataType, field: Field | None, mapping_type: str, written: bool = False
) -> pl.Expr:
    """:func:`canonical` by :func:`compare_type`, with the catalogue field's format and decimals."""
    if field is None:
        return canonical(expr, dtype, mapping_type, written=written)
    return canonical(expr, dtype, compare_type(field, mapping_type), field.format, field.decimals, written)


def comparable(expr: pl.Expr) -> pl.Expr:
    """Canonical text as it compares: without the spaces around it, which a plan writes but a system may trim."""
    return expr.str.strip_chars()


def folded(expr: pl.Expr) -> pl.Expr:
    """Canonical text as it compares without regard to case (merge keys, emails)."""
    return comparable(expr).str.to_lowercase()
