"""Snapshots from raw frames: every catalogue field cast to its type by Polars expressions.

A raw frame holds an entity's records as the wire gives them, one flat column per (dotted) name: text from a
CSV file, native types from a Parquet file, and from JSON a column per kind of value, or an ``Object``
column where the records mix kinds (a number in one, text in another). :func:`cast_frame` makes the
snapshot: one column per catalogue field, cast to its type, the key as text, dotted fields folded into
structs. The semantics are :func:`~reconcile.model.values.cast_value`'s, value for value.

Each column is cast by expressions that give a value only where they are sure of it: the forms they know
(digits, ``YYYY-MM-DD``, ISO 8601 date-times with ``T`` or a space, the true and false words). A value
they leave null that is not null or blank goes to :func:`cast_value` itself, one by one: a form the
expressions do not know (a week date, a number with underscores, ``NaN``) is cast there, and the first
value that is not its field's type is a :class:`ConfigError` naming the record and the field. So the
common case has no per-value Python, and an ``Object`` column (mixed kinds) is cast value by value.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any

import polars as pl

from reconcile.errors import ConfigError
from reconcile.model.catalogue import DTYPES, Entity, Field, FieldType
from reconcile.model.values import EXPECTED, FALSE_WORDS, TRUE_WORDS, cast_value, key_text, nest_record

_BLANK = r"^[\s\x1c-\x1f]*$"
"""Text that is nothing but spaces, as Python's ``str.strip`` sees spaces (Polars' ``\\s`` misses four)."""
_INT = r"^[+-]?[0-9]{1,18}$"
_DECIMAL = r"^[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]{1,2})?$"
_DATE = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"
_DATETIME = (
    r"^([0-9]{4}-[0-9]{2}-[0-9]{2})[T ]([01][0-9]|2[0-3]):([0-5][0-9])(?::([0-5][0-9])(?:\.([0-9]{1,6}))?)?"
    r"(Z|[+-](?:[01][0-9]|2[0-3]):?[0-5][0-9])?$"
)
_ZULU = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T(?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]Z$"
_ZULU_FORMAT = "%Y-%m-%dT%H:%M:%SZ"
_INTEGERS = (pl.Int8, pl.Int16, pl.Int32, pl.Int64, pl.UInt8, pl.UInt16, pl.UInt32, pl.UInt64)
_FLOATS = (pl.Float32, pl.Float64)


def _nulls() -> pl.Expr:
    """As many nulls as the frame has rows (a bare literal would be one row, even of an empty frame)."""
    return pl.repeat(None, pl.len())


# -- keys ----------------------------------------------------------------------------------------------------


def key_texts(raw: pl.Series) -> pl.Series:
    """:func:`~reconcile.model.values.key_text` of every value of ``raw``: text, None where blank or missing."""
    dtype = raw.dtype
    v = pl.col("v")
    blank: pl.Expr = pl.repeat(False, pl.len())
    fast: pl.Expr
    if dtype == pl.String:
        blank = v.str.contains(_BLANK).fill_null(False)
        fast = pl.when(~blank).then(v)
    elif isinstance(dtype, _INTEGERS):
        fast = v.cast(pl.String)
    elif isinstance(dtype, _FLOATS):
        fast = pl.when(v.is_finite() & (v == v.floor()) & (v.abs() < 2.0**63)).then(v.cast(pl.Int64).cast(pl.String))
    else:
        fast = _nulls()
    out = pl.DataFrame({"v": raw}).select(fast.cast(pl.String).alias("text"), blank.alias("blank"))
    texts = out["text"].alias(raw.name)
    unsure = raw.is_not_null() & ~out["blank"] & texts.is_null()
    if unsure.any():  # a boolean, a date, a float that is not whole, a mixed column: as Python says
        rows = unsure.arg_true()
        found = [key_text(value) for value in raw.gather(rows).to_list()]
        texts = texts.scatter(rows, pl.Series(found, dtype=pl.String))
    return texts


# -- one column ----------------------------------------------------------------------------------------------


def _utc(v: pl.Expr, dtype: pl.Datetime) -> pl.Expr:
    """A datetime column as aware UTC microseconds; naive values are taken to be UTC already."""
    if dtype.time_zone is None:
        return v.dt.cast_time_unit("us").dt.replace_time_zone("UTC")
    return v.dt.convert_time_zone("UTC").dt.cast_time_unit("us")


def _datetimes(text: pl.Series) -> pl.Series:
    """Stripped ISO 8601 text with a time (and maybe an offset) as aware UTC; null where the form is not known.

    The form this writes (``2024-05-01T09:30:00Z``) is parsed as it is; any other, each part taken apart
    once (a frame of the parts), then put together in one form Polars parses.
    """
    zulu = text.str.contains(_ZULU).fill_null(False)
    parsed = pl.DataFrame({"t": text, "z": zulu}).select(
        pl.when("z").then(pl.col("t").str.to_datetime(_ZULU_FORMAT, time_zone="UTC", time_unit="us", strict=False))
    )["t"]
    others = ~zulu & ~text.str.contains(_DATE).fill_null(True)  # a date alone is cast apart
    if others.any():
        rows = others.arg_true()
        parsed = parsed.scatter(rows, _any_datetimes(text.gather(rows)))
    return parsed


def _any_datetimes(text: pl.Series) -> pl.Series:
    parts = text.str.extract_groups(_DATETIME).struct.unnest()
    zone = pl.col("6")
    offset = (
        pl.when(zone.is_null() | (zone == "Z"))
        .then(pl.lit("+00:00"))
        .when(zone.str.len_bytes() == 5)
        .then(pl.concat_str(zone.str.slice(0, 3), pl.lit(":"), zone.str.slice(3, 2)))
        .otherwise(zone)
    )
    whole = pl.concat_str(
        pl.col("1"),
        pl.lit("T"),
        pl.col("2"),
        pl.lit(":"),
        pl.col("3"),
        pl.lit(":"),
        pl.col("4").fill_null("00"),
        pl.lit("."),
        pl.col("5").fill_null("").str.pad_end(6, "0"),
        offset,
    )
    parsed = whole.str.to_datetime("%Y-%m-%dT%H:%M:%S%.f%:z", time_zone="UTC", time_unit="us", strict=False)
    return parts.select(parsed.alias("dt")).to_series()


def _from_text(s: pl.Expr, ftype: FieldType) -> pl.Expr:
    """Stripped, non-blank text as a value of ``ftype`` (never text itself); null where not sure."""
    if ftype == "int":
        return pl.when(s.str.contains(_INT)).then(s.cast(pl.Int64, strict=False))
    if ftype == "float":
        return pl.when(s.str.contains(_DECIMAL)).then(s.cast(pl.Float64, strict=False))
    if ftype == "bool":
        lower = s.str.to_lowercase()
        return pl.when(lower.is_in(TRUE_WORDS)).then(True).when(lower.is_in(FALSE_WORDS)).then(False)
    # Dates and date-times: column ``dt`` holds the date-times that the text parses to (:func:`_datetimes`).
    day = pl.when(s.str.contains(_DATE)).then(s.str.to_date("%Y-%m-%d", strict=False))
    if ftype == "date":
        stamped = s.str.slice(0, 10).str.to_date("%Y-%m-%d", strict=False)
        return day.when(pl.col("dt").is_not_null()).then(stamped)
    midnight = s.str.to_date("%Y-%m-%d", strict=False).cast(pl.Datetime("us")).dt.replace_time_zone("UTC")
    return pl.when(s.str.contains(_DATE)).then(midnight).otherwise(pl.col("dt"))


def _text(v: pl.Expr, dtype: pl.DataType) -> pl.Expr | None:
    """A native column as :func:`~reconcile.model.values.text_value` writes it; None where Python must."""
    if dtype == pl.String:
        return v
    if isinstance(dtype, (*_INTEGERS, pl.Categorical, pl.Enum)) or dtype == pl.Null:
        return v.cast(pl.String)
    if dtype == pl.Boolean:
        return pl.when(v).then(pl.lit("true")).when(~v).then(pl.lit("false"))
    if dtype == pl.Date:
        return v.dt.to_string("%Y-%m-%d")
    if isinstance(dtype, pl.Datetime):
        utc = _utc(v, dtype)
        whole = utc.dt.to_string("%Y-%m-%dT%H:%M:%SZ")
        return pl.when(utc.dt.microsecond() == 0).then(whole).otherwise(utc.dt.to_string("%Y-%m-%dT%H:%M:%S%.6fZ"))
    return None  # floats (Python's repr), objects, lists, decimals, ...


def _native(v: pl.Expr, dtype: pl.DataType, ftype: FieldType) -> pl.Expr | None:
    """A native (not text) column as a value of ``ftype`` (not text); None where Python must."""
    integer, floating = isinstance(dtype, _INTEGERS), isinstance(dtype, _FLOATS)
    if ftype == "int" and integer:
        return v.cast(pl.Int64, strict=False)
    if ftype == "int" and floating:
        return pl.when(v.is_finite() & (v == v.floor()) & (v.abs() < 2.0**63)).then(v.cast(pl.Int64))
    if ftype == "float" and (integer or floating):
        return v.cast(pl.Float64)
    if ftype == "bool" and dtype == pl.Boolean:
        return v
    if ftype == "bool" and integer:
        return pl.when(v == 1).then(True).when(v == 0).then(False)
    if ftype == "date" and dtype == pl.Date:
        return v
    if ftype == "date" and isinstance(dtype, pl.Datetime):
        return v.dt.date()
    if ftype == "datetime" and isinstance(dtype, pl.Datetime):
        return _utc(v, dtype)
    if ftype == "datetime" and dtype == pl.Date:
        return v.cast(pl.Datetime("us")).dt.replace_time_zone("UTC")
    return None


def _expressions(dtype: pl.DataType, ftype: FieldType) -> tuple[pl.Expr, pl.Expr]:
    """The cast of column ``v`` (null where not sure) and whether each value is there to be cast."""
    v = pl.col("v")
    present = v.is_not_null()
    if ftype in ("string", "guid"):
        fast = _text(v, dtype)
    elif dtype == pl.String:
        present = ~v.str.contains(_BLANK).fill_null(True)
        fast = _from_text(v.str.strip_chars(), ftype)
    elif dtype == pl.Null:
        fast, present = v, pl.repeat(False, pl.len())
    else:
        fast = _native(v, dtype, ftype)
    if fast is None:
        fast = _nulls()
    return fast.cast(DTYPES[ftype]), present


class BadValue(Exception):
    """The value at ``row`` of a column is not its field's type."""

    def __init__(self, row: int, value: Any) -> None:
        self.row, self.value = row, value


def cast_series(
    raw: pl.Series, ftype: FieldType, before: int | None = None, slow: Callable[[Any], Any] | None = None
) -> pl.Series:
    """``raw`` cast to ``ftype`` (:data:`~reconcile.model.catalogue.DTYPES`) as ``slow`` would, value by value.

    The expressions settle the forms they know as :func:`cast_value` does; the values they leave to
    ``slow`` (:func:`cast_value` unless a connector reads its wire's shapes its own way) go through
    :func:`settle`. Raises :class:`BadValue` for the first value that is not of the type, if it comes
    before row ``before``.
    """
    fast, present = _expressions(raw.dtype, ftype)
    frame = pl.DataFrame({"v": raw})
    if raw.dtype == pl.String and ftype in ("date", "datetime"):
        frame = frame.with_columns(_datetimes(raw.str.strip_chars()).alias("dt"))
    out = frame.select(fast.alias("value"), present.alias("present"))
    typed = out["value"].alias(raw.name)
    unsure = out["present"] & typed.is_null()
    return settle(raw, typed, unsure, ftype, slow or (lambda value: cast_value(value, ftype)), before)


def settle(
    raw: pl.Series,
    typed: pl.Series,
    unsure: pl.Series,
    ftype: FieldType,
    slow: Callable[[Any], Any],
    before: int | None = None,
) -> pl.Series:
    """``typed`` (``raw`` cast by expressions) with the ``unsure`` rows cast by ``slow``, one value at a time.

    ``slow`` raises ``ValueError`` (or ``TypeError``) for a value that is not of the type: the first such
    value before row ``before``, or a whole number past 64 bits, is a :class:`BadValue`.
    """
    if not unsure.any():
        return typed
    rows = unsure.arg_true().to_list()
    cast: list[Any] = []
    for row, value in zip(rows, raw.gather(rows).to_list(), strict=True):
        if before is not None and row >= before:
            break
        try:
            cast.append(slow(value))
        except (ValueError, TypeError, OverflowError):
            raise BadValue(row, value) from None
    rows = rows[: len(cast)]
    try:
        patch = pl.Series(cast, dtype=DTYPES[ftype], strict=True)
    except (TypeError, OverflowError, pl.exceptions.PolarsError):  # a whole number past 64 bits
        row = next(r for r, c in zip(rows, cast, strict=True) if not _fits(c, ftype))
        raise BadValue(row, raw[row]) from None
    return typed.scatter(rows, patch) if rows else typed


def _fits(value: Any, ftype: FieldType) -> bool:
    try:
        pl.Series([value], dtype=DTYPES[ftype], strict=True)
    except (TypeError, OverflowError, pl.exceptions.PolarsError):
        return False
    return True


# -- a snapshot ----------------------------------------------------------------------------------------------


def typed_columns(entity: Entity, raw: pl.DataFrame, where: str, keys: pl.Series | None = None) -> list[pl.Series]:
    """One column per catalogue field, cast to its type (the key too, not yet as text), flat dotted names.

    ``keys`` are the records' keys as text (:func:`key_texts` of the raw key column), if known already.
    A record without a key, or a value that is not its field's type, is a :class:`ConfigError` naming
    ``where``, the record and the field: the first record without a key, else the first field (in the
    catalogue's order) with a value that does not cast, at its first such record.
    """
    if keys is None:
        keys = key_texts(_column(raw, entity.key, pl.String()))
    missing = keys.is_null()
    if missing.any():
        raise ConfigError(f"{where}: record {missing.arg_true()[0] + 1} has no {entity.key} (the key)")
    return [_field(entity, f, raw, keys, where) for f in entity.fields.values()]


def _field(entity: Entity, f: Field, raw: pl.DataFrame, keys: pl.Series, where: str) -> pl.Series:
    source = _column(raw, f.name, pl.Null())
    # A field the catalogue calls a value that the records nest (``Name.First`` beside ``Name``): an object.
    inner = [name for name in raw.columns if name.startswith(f"{f.name}.")]
    nested: int | None = None
    if any(name.rsplit(".", 1)[0] == f.name for name in inner):
        objects = source.is_null() & raw.select(pl.any_horizontal(pl.col(inner).is_not_null())).to_series()
        nested = objects.arg_true()[0] if objects.any() else None
    try:
        typed = cast_series(source.alias(f.name), f.type, before=nested)
    except BadValue as failed:
        raise bad_value(where, keys[failed.row], f, failed.value) from None
    if nested is not None:
        value = nest_record({n[len(f.name) + 1 :]: v for n in inner if (v := raw[n][nested]) is not None})
        raise bad_value(where, keys[nested], f, value)
    return typed


def _column(raw: pl.DataFrame, name: str, dtype: pl.DataType) -> pl.Series:
    """The column ``name`` of ``raw``, or nulls of ``dtype`` when it has none."""
    return raw[name] if name in raw.columns else pl.repeat(None, raw.height, dtype=dtype, eager=True).alias(name)


def bad_value(where: str, key: str, f: Field, value: Any) -> ConfigError:
    """The error for a value of record ``key`` that is not of field ``f``'s type, found in ``where``."""
    shown = json.dumps(value, default=str)
    return ConfigError(f"{where}: record {key}: {f.name} = {shown} is not {EXPECTED[f.type]}")


def snapshot(entity: Entity, columns: Sequence[pl.Series], where: str) -> pl.DataFrame:
    """The snapshot of typed columns (:func:`typed_columns`): the key as text, each key once, structs folded."""
    frame = pl.DataFrame(list(columns))
    key = frame[entity.key]
    if key.dtype != pl.String:
        texts = key.cast(pl.String) if key.dtype == pl.Int64 else pl.Series([key_text(v) for v in key.to_list()])
        frame = frame.with_columns(texts.cast(pl.String).alias(entity.key))
    duplicated = repeated(frame[entity.key]).to_list()
    if duplicated:
        raise ConfigError(
            f"{where}: {entity.key} = {', '.join(map(repr, duplicated))} is the key of more than "
            "one record; each record needs its own key"
        )
    return fold_structs(frame)


def repeated(values: pl.Series) -> pl.Series:
    """The values that occur more than once in ``values``, each once, sorted.

    Most often there are none, and counting distinct hashes says so in one pass: as many as there are
    values, and no two values are the same. Fewer (two alike, or two hashes alike) looks at the values.
    """
    if values.hash().n_unique() == values.len():
        return values.clear()
    return values.filter(values.is_duplicated()).unique().sort()


def cast_frame(entity: Entity, raw: pl.DataFrame, where: str) -> pl.DataFrame:
    """The snapshot of ``entity`` from a raw frame (see the module docs)."""
    return snapshot(entity, typed_columns(entity, raw, where), where)


def fold_structs(frame: pl.DataFrame) -> pl.DataFrame:
    """Fold dotted columns (``MailAddress.City``) into struct columns (``MailAddress`` with ``City``)."""

    def struct(prefix: str, names: list[str]) -> pl.Expr:
        fields: list[pl.Expr] = []
        done: set[str] = set()
        for name in names:
            rest = name[len(prefix) + 1 :]
            head = rest.split(".", 1)[0]
            if "." not in rest:
                fields.append(pl.col(name).alias(rest))
            elif head not in done:
                done.add(head)
                inner = f"{prefix}.{head}"
                fields.append(struct(inner, [n for n in names if n.startswith(f"{inner}.")]))
        return pl.struct(fields).alias(prefix.rsplit(".", 1)[-1])

    exprs: list[pl.Expr] = []
    done: set[str] = set()
    for name in frame.columns:
        head = name.split(".", 1)[0]
        if "." not in name:
            exprs.append(pl.col(name))
        elif head not in done:
            done.add(head)
            exprs.append(struct(head, [n for n in frame.columns if n.startswith(f"{head}.")]))
    return frame.select(exprs)
