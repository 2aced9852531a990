"""Exact Online's JSON values as typed snapshot columns, in bulk.

A page of rows becomes a raw frame at once (:func:`~reconcile.model.records.records_frame`: a column per
field, of the values' JSON kind, or an ``Object`` column where the rows mix kinds), and each column is typed
by Polars expressions as the reader has always typed Exact's values, one by one:

- a date or date-time is text: ``/Date(ms)/`` (Amsterdam wall-clock milliseconds), or ISO 8601 (a proxy's;
  Amsterdam time unless it has an offset); empty text and values of other kinds are null;
- a string is the value as text (``str``), without the padding where the catalogue says Exact pads it;
- a guid is the value as lower-case text;
- an int is a whole number or its text (OData v2 writes ``Edm.Int64`` so), a float a number or its text, ``""``
  null; a bool is the value's truth.

What the expressions are not sure of (a leap-hour wall-clock time, a week date, ``1_000``, a value of the
wrong kind) is typed value by value as :func:`column_value` says, by
:func:`~reconcile.model.casting.settle`, which also finds the first value that is not of its type.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import polars as pl

from reconcile.model.casting import settle
from reconcile.model.catalogue import DTYPES, FieldType
from reconcile.systems.exact.wire import CET, parse_date, parse_datetime

_WALL = r"^/Date\((-?[0-9]{1,14})(?:[+-][0-9]{4})?\)/$"
_ISO = (
    r"^([0-9]{4}-[0-9]{2}-[0-9]{2})"
    r"(?:[T ]([0-9]{2}:[0-9]{2}:[0-9]{2})(?:\.([0-9]{1,6}))?(Z|[+-][0-9]{2}:[0-9]{2})?)?$"
)
_ZONE = str(CET.key)
_INT = r"^[+-]?[0-9]{1,18}$"
_DECIMAL = r"^[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]{1,2})?$"
_INTEGERS = (pl.Int8, pl.Int16, pl.Int32, pl.Int64, pl.UInt8, pl.UInt16, pl.UInt32, pl.UInt64)
FEW = 32
"""Values a column has up to which they are typed one by one: fewer than the expressions' set-up costs."""
_ODD_SPACE = r"^[\x1c-\x1f]|[\x1c-\x1f]$"
"""Text that Python's ``str.strip`` would strip further than Polars' ``strip_chars`` does."""


def column_value(kind: FieldType, *, strip: bool = False) -> Callable[[Any], Any]:
    """How one JSON value of a field of ``kind`` is typed (``ValueError`` or ``TypeError`` when it cannot be)."""
    if kind in ("date", "datetime"):
        parse = parse_date if kind == "date" else parse_datetime
        return lambda v: parse(v) if isinstance(v, str) and v else None
    if kind == "string":
        return lambda v: None if v is None else str(v).strip() if strip else str(v)
    if kind == "guid":
        return lambda v: None if v is None else str(v).lower()
    if kind == "int":
        return lambda v: None if v is None or v == "" else int(v)
    if kind == "float":
        return lambda v: None if v is None or v == "" else float(v)
    return lambda v: None if v is None else bool(v)


def typed_column(raw: pl.Series, kind: FieldType, *, strip: bool = False) -> pl.Series:
    """``raw`` (a raw frame's column) typed as :func:`column_value` types each value.

    Raises :class:`~reconcile.model.casting.BadValue` for the first value that is not of the type.
    """
    if raw.len() <= FEW:
        # A refresh's few changes: typed one by one, without the set-up of the expressions (a millisecond a column).
        unset = pl.Series(raw.name, [None] * raw.len(), dtype=DTYPES[kind])
        return settle(
            raw, unset, pl.Series([True] * raw.len(), dtype=pl.Boolean), kind, column_value(kind, strip=strip)
        )
    v = pl.col("v")
    dtype = raw.dtype
    present = v.is_not_null()
    fast: pl.Expr | None
    if kind in ("date", "datetime"):
        fast = None
        if dtype == pl.String:
            present = (v != "").fill_null(False)
            fast = _moment(v, kind, iso=bool((~raw.str.contains(_WALL) & (raw != "")).any()))
        elif dtype != pl.Object:  # no text, so nothing to read; mixed kinds are looked at one by one
            present = pl.repeat(False, pl.len())
    elif kind == "string":
        fast = _text(v, dtype)
        if fast is not None and strip:
            fast = fast.str.strip_chars()
            fast = pl.when(~fast.str.contains(_ODD_SPACE)).then(fast)
    elif kind == "guid":
        fast = _text(v, dtype)
        fast = None if fast is None else fast.str.to_lowercase()
    elif kind == "int":
        fast = _int(v, dtype)
        present = present & (v != "") if dtype == pl.String else present
    elif kind == "float":
        fast = _float(v, dtype)
        present = present & (v != "") if dtype == pl.String else present
    else:
        fast = _bool(v, dtype)
    fast = pl.repeat(None, pl.len()) if fast is None else fast
    out = pl.DataFrame({"v": raw}).select(fast.cast(DTYPES[kind]).alias("value"), present.alias("present"))
    typed = out["value"].alias(raw.name)
    return settle(raw, typed, out["present"] & typed.is_null(), kind, column_value(kind, strip=strip))


def _text(v: pl.Expr, dtype: pl.DataType) -> pl.Expr | None:
    if dtype == pl.String:
        return v
    if isinstance(dtype, _INTEGERS) or dtype == pl.Null:
        return v.cast(pl.String)
    if dtype == pl.Boolean:
        return pl.when(v).then(pl.lit("True")).when(~v).then(pl.lit("False"))
    return None  # floats (Python's repr), mixed kinds


def _int(v: pl.Expr, dtype: pl.DataType) -> pl.Expr | None:
    if isinstance(dtype, _INTEGERS) or dtype in (pl.Boolean, pl.Null):
        return v.cast(pl.Int64, strict=False)
    if dtype == pl.Float64:  # int() truncates
        return pl.when(v.is_finite() & (v.abs() < 2.0**63)).then(v.cast(pl.Int64, strict=False))
    if dtype == pl.String:
        text = v.str.strip_chars()
        return pl.when(text.str.contains(_INT)).then(text.cast(pl.Int64, strict=False))
    return None


def _float(v: pl.Expr, dtype: pl.DataType) -> pl.Expr | None:
    if isinstance(dtype, _INTEGERS) or dtype in (pl.Float64, pl.Boolean, pl.Null):
        return v.cast(pl.Float64)
    if dtype == pl.String:
        text = v.str.strip_chars()
        return pl.when(text.str.contains(_DECIMAL)).then(text.cast(pl.Float64, strict=False))
    return None


def _bool(v: pl.Expr, dtype: pl.DataType) -> pl.Expr | None:
    if dtype in (pl.Boolean, pl.Null):
        return v.cast(pl.Boolean)
    if isinstance(dtype, _INTEGERS) or dtype == pl.Float64:
        return v != 0
    if dtype == pl.String:
        return v.str.len_bytes() > 0
    return None


def _moment(v: pl.Expr, kind: FieldType, *, iso: bool) -> pl.Expr:
    """``/Date(ms)/`` or (if ``iso``) ISO 8601 text as a date or an aware UTC date-time; null where not sure.

    Amsterdam's time is placed by Polars' time zone data from 1971 to 2037; earlier times (where time zone
    databases differ: some give Amsterdam Brussels' history), later ones (past the transitions Polars'
    data lists), and a wall-clock time that Amsterdam skips (the hour clocks go forward), are left to
    Python.
    """
    ms = v.str.extract(_WALL, 1).cast(pl.Int64, strict=False)
    wall = pl.from_epoch(ms, "ms").dt.cast_time_unit("us")
    local = aware = zone = pl.repeat(None, pl.len())
    if iso:
        parts = v.str.extract_groups(_ISO)
        day, time, fraction, zone = (parts.struct.field(name) for name in ("1", "2", "3", "4"))
        naive = pl.concat_str(
            day, pl.lit("T"), time.fill_null("00:00:00"), pl.lit("."), fraction.fill_null("").str.pad_end(6, "0")
        )
        local = naive.str.to_datetime("%Y-%m-%dT%H:%M:%S%.f", time_unit="us", strict=False)
        offset = pl.when(zone == "Z").then(pl.lit("+00:00")).otherwise(zone)
        aware = pl.concat_str(naive, offset).str.to_datetime(
            "%Y-%m-%dT%H:%M:%S%.f%:z", time_unit="us", time_zone="UTC", strict=False
        )
    if kind == "date":
        if not iso:
            return wall.dt.date()
        in_amsterdam = aware.dt.convert_time_zone(_ZONE)
        return (
            pl.when(ms.is_not_null())
            .then(wall.dt.date())
            .when(zone.is_null())
            .then(local.dt.date())
            .when(aware.dt.year().is_between(1971, 2037))
            .then(in_amsterdam.dt.date())
        )
    placed = pl.when(ms.is_not_null()).then(wall).otherwise(local) if iso else wall
    placed = pl.when(placed.dt.year().is_between(1971, 2037)).then(placed)
    in_utc = placed.dt.replace_time_zone(_ZONE, ambiguous="earliest", non_existent="null").dt.convert_time_zone("UTC")
    return pl.when(zone.is_null()).then(in_utc).otherwise(aware) if iso else in_utc
