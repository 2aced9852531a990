"""Values and records of catalogue entities: casting to catalogue types, dotted names, typed snapshots.

The one casting of values to catalogue types and one way of nesting dotted fields, shared by the file system
(:mod:`reconcile.systems.files`), the REST system and the generic emulator. A snapshot
(:func:`typed_frame`) casts every catalogue field to its type and folds dotted fields into structs.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, date, datetime
from typing import Any

import polars as pl

from reconcile.errors import ConfigError
from reconcile.model.catalogue import DTYPES, Entity, Field, FieldType

_EXPECTED: dict[FieldType, str] = {
    "string": "text",
    "guid": "an id (text)",
    "int": "a whole number",
    "float": "a number",
    "bool": "true or false",
    "date": "a date (YYYY-MM-DD)",
    "datetime": "a date and time (ISO 8601, such as 2024-05-01T09:30:00Z)",
}

_TRUE = frozenset({"true", "1", "yes"})
_FALSE = frozenset({"false", "0", "no"})


# -- values --------------------------------------------------------------------------------------------------


def _as_utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _cast_value(value: Any, ftype: FieldType) -> Any:
    """``value`` as the Python value of a catalogue type; ``None`` and blanks of non-text types are null.

    Raises ``ValueError`` when the value cannot be one (the caller names the file, record and field).
    """
    if value is None:
        return None
    if isinstance(value, dict | list):
        raise ValueError("an object or a list")
    if ftype in ("string", "guid"):
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, datetime):
            return _iso(value)
        if isinstance(value, date):
            return value.isoformat()
        return str(value)
    if isinstance(value, str):
        value = value.strip()
        if not value:
            return None
    if ftype == "int":
        if isinstance(value, bool):
            raise ValueError(value)
        if isinstance(value, int):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
        if isinstance(value, str):
            return int(value)
        raise ValueError(value)
    if ftype == "float":
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            raise ValueError(value)
        return float(value)
    if ftype == "bool":
        if isinstance(value, bool):
            return value
        text = str(value).casefold()
        if isinstance(value, int | str) and text in _TRUE | _FALSE:
            return text in _TRUE
        raise ValueError(value)
    if ftype == "date":
        if isinstance(value, datetime):
            return value.date()
        if isinstance(value, date):
            return value
        if isinstance(value, str):
            return date.fromisoformat(value) if len(value) == 10 else datetime.fromisoformat(value).date()
        raise ValueError(value)
    if isinstance(value, datetime):
        return _as_utc(value)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=UTC)
    if isinstance(value, str):
        return _as_utc(datetime.fromisoformat(value))
    raise ValueError(value)


def _iso(value: datetime) -> str:
    return _as_utc(value).isoformat().replace("+00:00", "Z")


def _key_text(value: Any) -> str | None:
    """A key as the text a snapshot and a write result carry."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _json_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return _iso(value)
    if isinstance(value, date):
        return value.isoformat()
    return value


def _text_value(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return _iso(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False, default=str)
    return str(value)


# -- records -------------------------------------------------------------------------------------------------


def _flatten(obj: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """A nested JSON object as one level of dotted names; empty objects and lists stay values."""
    flat: dict[str, Any] = {}
    for name, value in obj.items():
        if isinstance(value, dict) and value:
            flat.update(_flatten(value, f"{prefix}{name}."))
        else:
            flat[f"{prefix}{name}"] = value
    return flat


def _unflatten(flat: dict[str, Any]) -> dict[str, Any]:
    nested: dict[str, Any] = {}
    for name, value in flat.items():
        *parents, leaf = name.split(".")
        node = nested
        for part in parents:
            child = node.get(part)
            if not isinstance(child, dict):
                child = node[part] = {}
            node = child
        if isinstance(node.get(leaf), dict) and not value:
            continue  # an empty or null object that a nested value has filled since
        node[leaf] = value
    return nested


def _set(record: dict[str, Any], name: str, value: Any) -> None:
    """Set a (dotted) field, replacing a null or empty object on its path."""
    parts = name.split(".")
    for i in range(1, len(parts)):
        prefix = ".".join(parts[:i])
        if prefix in record and record[prefix] in (None, {}):
            del record[prefix]
    record[name] = value


def _fold_structs(frame: pl.DataFrame) -> pl.DataFrame:
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


# -- snapshots ----------------------------------------------------------------------------------------------


def typed_frame(entity: Entity, records: Sequence[dict[str, Any]], where: str) -> pl.DataFrame:
    """A snapshot of ``entity``: one row per record, one column per catalogue field, cast to its type.

    ``records`` are flat dicts with dotted names (:func:`flatten_record` makes them from nested JSON).
    The key is text; dotted fields fold into structs. A record without a key, a duplicated key or a value
    that is not its field's type is a :class:`ConfigError` naming ``where``, the record and the field.
    This is the one casting of records to catalogue types: the file system, the REST system and the
    generic emulator all read through it.
    """
    keys = [_key_text(r.get(entity.key)) for r in records]
    for position, key in enumerate(keys):
        if key is None:
            raise ConfigError(f"{where}: record {position + 1} has no {entity.key} (the key)")
    # Names that hold an object in some record: a field the catalogue calls a value but the file nests.
    objects = {name.rsplit(".", 1)[0] for r in records for name in r if "." in name}
    series: list[pl.Series] = []
    for f in entity.fields.values():
        nested = f.name in objects
        values = [_cell(where, r, k, f, nested) for r, k in zip(records, keys, strict=True)]
        if f.name == entity.key:
            series.append(pl.Series(f.name, [_key_text(v) for v in values], dtype=pl.String))
        else:
            series.append(pl.Series(f.name, values, dtype=DTYPES[f.type]))
    frame = pl.DataFrame(series)
    duplicated = frame.filter(pl.col(entity.key).is_duplicated())[entity.key].unique().sort().to_list()
    if duplicated:
        raise ConfigError(
            f"{where}: {entity.key} = {', '.join(map(repr, duplicated))} is the key of more than "
            "one record; each record needs its own key"
        )
    return _fold_structs(frame)


def _cell(where: str, record: dict[str, Any], key: str | None, f: Field, nested: bool) -> Any:
    value = record.get(f.name)
    if value is None and nested:
        inner = {k[len(f.name) + 1 :]: v for k, v in record.items() if k.startswith(f"{f.name}.")}
        value = _unflatten(inner) if inner else None
    try:
        return _cast_value(value, f.type)
    except ValueError:
        raise ConfigError(
            f"{where}: record {key}: {f.name} = {json.dumps(value, default=str)} is not {_EXPECTED[f.type]}"
        ) from None


# Shared with the file system, the REST system and the generic emulator, so that there is one casting of values
# to catalogue types and one way of nesting dotted fields.
cast_value = _cast_value
"""``value`` as the Python value of a catalogue type; ``ValueError`` when it cannot be one."""
flatten_record = _flatten
"""A nested JSON object as one level of dotted names."""
nest_record = _unflatten
"""Dotted names as nested JSON objects."""
key_text = _key_text
"""A key as the text a snapshot and a write result carry (``None`` for a blank)."""
json_value = _json_value
"""A Python value as JSON (dates and datetimes as ISO 8601 text)."""
EXPECTED = _EXPECTED
"""Each catalogue type in words, for messages."""
