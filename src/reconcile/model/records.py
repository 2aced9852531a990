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

import gc
from collections.abc import Collection, Iterator, Mapping, Sequence
from contextlib import contextmanager
from operator import itemgetter
from typing import Any

import polars as pl

from reconcile.model.casting import cast_frame
from reconcile.model.catalogue import Entity

_KINDS: dict[type, pl.DataType] = {str: pl.String(), int: pl.Int64(), float: pl.Float64(), bool: pl.Boolean()}


def records_frame(records: Sequence[Mapping[str, Any]], names: Collection[str] | None = None) -> pl.DataFrame:
    """``records`` (nested JSON objects, or flat dicts with dotted names) as a raw frame (see the module docs).

    ``names``, if given, are the only names taken from the top level of each record (the others, such as
    OData's ``__metadata``, are not looked at).
    """
    columns: dict[str, tuple[Sequence[Any], set[type]]] = {}
    with paused_gc():
        _gather(records, "", columns, None if names is None else set(names))
        series = [column(name, values, kinds) for name, (values, kinds) in columns.items()]
    return pl.DataFrame(series) if series else pl.DataFrame(height=len(records))


@contextmanager
def paused_gc() -> Iterator[None]:
    """No cyclic garbage collection while a bulk of JSON values is made or taken apart: they hold no cycles,
    and a collection every few thousand new objects, each walking all the values so far, costs more than
    the work itself."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _gather(
    rows: Sequence[Any], prefix: str, out: dict[str, tuple[Sequence[Any], set[type]]], wanted: set[str] | None = None
) -> None:
    """The columns of ``rows`` (objects, or None where a record has none) into ``out``, by dotted name.

    ``wanted``: the only names to take, if given.
    """
    names, columns = _transposed(rows, wanted)
    for name, values in zip(names, columns, strict=True):
        dotted = f"{prefix}{name}"
        kinds = set(map(type, values))
        if dict not in kinds or not any(isinstance(v, dict) and v for v in values):
            _put(out, dotted, values, kinds)
            continue
        objects = [v if isinstance(v, dict) and v else None for v in values]
        rest = [None if isinstance(v, dict) and v else v for v in values]
        if any(v is not None for v in rest):
            _put(out, dotted, rest, set(map(type, rest)))
        _gather(objects, f"{dotted}.", out)


def _transposed(rows: Sequence[Any], wanted: set[str] | None) -> tuple[list[str], list[Sequence[Any]]]:
    """The names in ``rows`` (in the order they first come; only ``wanted`` ones, if given) and each one's
    values, row for row.

    When the first row has every name there is to take (all its names, the same in every row; or every
    wanted one), each column is taken from all rows at once, in C; a row without one of them is met as a
    ``KeyError`` and all rows are looked at one by one.
    """
    first = rows[0] if rows and isinstance(rows[0], dict) else None
    if first and (all(name in first for name in wanted) if wanted is not None else _same_names(rows, first)):
        names = [name for name in first if wanted is None or name in wanted]
        try:
            return names, [list(map(itemgetter(name), rows)) for name in names]
        except (KeyError, TypeError, IndexError):
            pass
    names = list(dict.fromkeys(name for row in rows if row for name in row if wanted is None or name in wanted))
    return names, [[row.get(name) if row else None for row in rows] for name in names]


def _same_names(rows: Sequence[Any], first: dict[str, Any]) -> bool:
    """Whether every row is a dict with the names of ``first`` (compared in C, row after row)."""
    try:
        return all(map(first.keys().__eq__, map(dict.keys, rows)))
    except TypeError:  # a row that is not a dict (None, where a record has no object)
        return False


def _put(out: dict[str, tuple[Sequence[Any], set[type]]], name: str, values: Sequence[Any], kinds: set[type]) -> None:
    """Add a column; a name met twice (``"a.b"`` beside ``"a": {"b": ...}``) keeps the later value."""
    held = out.get(name)
    if held is not None:
        values = [new if new is not None else old for old, new in zip(held[0], values, strict=True)]
        kinds = set(map(type, values))
    out[name] = (values, kinds)


def column(name: str, values: Sequence[Any], kinds: set[type] | None = None) -> pl.Series:
    """Values of one kind as a column of its type; mixed kinds, lists and objects as an ``Object`` column.

    ``kinds`` are the types of the values, if known already.
    """
    kinds = set(map(type, values)) if kinds is None else set(kinds)
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
