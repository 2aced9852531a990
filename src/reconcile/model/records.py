"""JSON records as frames: one flat column per dotted name, in bulk, each value kept as it was.

The JSON an API answers or a file holds becomes a raw frame (:func:`records_frame`) that
:func:`~reconcile.model.casting.cast_frame` casts to a snapshot; :func:`typed_frame` does both. Nested
objects become dotted columns (``MailAddress.City``), as :func:`~reconcile.model.values.flatten_record`
names them: an empty object or a list stays a value. A column whose values are all of one JSON kind
(text, whole numbers, numbers with a fraction, booleans) is a column of that type; a column that mixes
kinds (``12`` in one record, ``"12"`` or ``12.5`` in another) or holds lists or objects is an ``Object``
column of the values as they were, so that nothing is coerced: casting and writing it back see what
the records held.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import polars as pl

from reconcile.model.casting import cast_frame
from reconcile.model.catalogue import Entity

_KINDS: dict[type, pl.DataType] = {str: pl.String(), int: pl.Int64(), float: pl.Float64(), bool: pl.Boolean()}


def records_frame(records: Sequence[Mapping[str, Any]]) -> pl.DataFrame:
    """``records`` (nested JSON objects, or flat dicts with dotted names) as a raw frame (see the module docs)."""
    columns: dict[str, list[Any]] = {}
    _gather(list(records), "", columns)
    if not columns:
        return pl.DataFrame(height=len(records))
    return pl.DataFrame([column(name, values) for name, values in columns.items()])


def _gather(rows: list[Any], prefix: str, out: dict[str, list[Any]]) -> None:
    names = dict.fromkeys(name for row in rows if row for name in row)
    for name in names:
        values = [row.get(name) if row else None for row in rows]
        dotted = f"{prefix}{name}"
        if not any(isinstance(v, dict) and v for v in values):
            _put(out, dotted, values)
            continue
        objects = [v if isinstance(v, dict) and v else None for v in values]
        rest = [None if isinstance(v, dict) and v else v for v in values]
        if any(v is not None for v in rest):
            _put(out, dotted, rest)
        _gather(objects, f"{dotted}.", out)


def _put(out: dict[str, list[Any]], name: str, values: list[Any]) -> None:
    """Add a column; a name met twice (``"a.b"`` beside ``"a": {"b": ...}``) keeps the later value."""
    held = out.get(name)
    if held is not None:
        values = [new if new is not None else old for old, new in zip(held, values, strict=True)]
    out[name] = values


def column(name: str, values: Sequence[Any]) -> pl.Series:
    """Values of one kind as a column of its type; mixed kinds, lists and objects as an ``Object`` column."""
    kinds = set(map(type, values))
    kinds.discard(type(None))
    if not kinds:
        return pl.Series(name, values, dtype=pl.Null)
    if len(kinds) == 1 and (dtype := _KINDS.get(next(iter(kinds)))) is not None:
        try:
            return pl.Series(name, values, dtype=dtype, strict=True)
        except (TypeError, OverflowError, pl.exceptions.PolarsError):
            pass  # a whole number past 64 bits
    return pl.Series(name, values, dtype=pl.Object)


def typed_frame(entity: Entity, records: Sequence[Mapping[str, Any]], where: str) -> pl.DataFrame:
    """A snapshot of ``entity``: one row per record, one column per catalogue field, cast to its type.

    ``records`` are JSON objects (nested, or flat with dotted names). The key is text; dotted fields fold
    into structs. A record without a key, a duplicated key or a value that is not its field's type is a
    :class:`~reconcile.errors.ConfigError` naming ``where``, the record and the field.
    """
    return cast_frame(entity, records_frame(records), where)
