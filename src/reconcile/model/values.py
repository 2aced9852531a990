"""Values and records of catalogue entities: casting to catalogue types, dotted names, typed snapshots.

The one casting of values to catalogue types (:func:`cast_value`, with the one set of words for true and
false, :data:`TRUE_WORDS` and :data:`FALSE_WORDS`) and one way of nesting dotted fields, shared by the file
system (:mod:`reconcile.systems.files`), the REST system, the generic emulator and the applier (a canonical
plan value is cast to what a connector writes the same way). A snapshot casts every catalogue field to its
type the same way, by Polars expressions (:mod:`reconcile.model.casting`).
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from typing import Any

import polars as pl

from reconcile.model.catalogue import FieldType

EXPECTED: dict[FieldType, str] = {
    "string": "text",
    "guid": "an id (text)",
    "int": "a whole number",
    "float": "a number",
    "bool": "true or false",
    "date": "a date (YYYY-MM-DD)",
    "datetime": "a date and time (ISO 8601, such as 2024-05-01T09:30:00Z)",
}

TRUE_WORDS: tuple[str, ...] = ("true", "1", "yes", "ja")
"""The words (folded to lower case) that mean true, wherever text is read as a boolean."""
FALSE_WORDS: tuple[str, ...] = ("false", "0", "no", "nei")
"""The words (folded to lower case) that mean false, wherever text is read as a boolean."""

FORMULA_START: tuple[str, ...] = ("=", "+", "-", "@", "\t", "\r")
"""What a text may start with that a spreadsheet program reads as the start of a formula."""


# -- values --------------------------------------------------------------------------------------------------


def as_utc(value: datetime) -> datetime:
    """``value`` as an aware UTC datetime; a naive one is taken to be UTC already."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def cast_value(value: Any, ftype: FieldType) -> Any:
    """``value`` as the Python value of a catalogue type; ``None`` and blanks of non-text types are null.

    Takes what a file or an API holds (numbers, booleans, dates, text) as well as a canonical plan value
    (:mod:`reconcile.engine.normalize`): ``"true"`` is ``True``, ``"2024-05-01"`` a ``date``, an ISO 8601
    datetime an aware UTC ``datetime``, ``"80"`` an ``int`` and ``"1.5"`` a ``float``.

    Raises ``ValueError`` when the value cannot be one (the caller names the file, record and field).
    """
    if value is None:
        return None
    if isinstance(value, dict | list):
        raise ValueError("an object or a list")
    if ftype in ("string", "guid"):
        return text_value(value)
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
        if isinstance(value, int | str) and text in (*TRUE_WORDS, *FALSE_WORDS):
            return text in TRUE_WORDS
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
        return as_utc(value)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=UTC)
    if isinstance(value, str):
        return as_utc(datetime.fromisoformat(value))
    raise ValueError(value)


def _iso(value: datetime) -> str:
    """A datetime as ISO 8601 UTC text ending in ``Z``."""
    return as_utc(value).isoformat().replace("+00:00", "Z")


def key_text(value: Any) -> str | None:
    """A key as the text a snapshot and a write result carry."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def is_blank(value: Any) -> bool:
    """Whether ``value`` is missing: ``None``, or text with nothing but spaces."""
    return value is None or (isinstance(value, str) and not value.strip())


def json_value(value: Any) -> Any:
    """A Python value as JSON holds it: dates and datetimes as ISO 8601 text, the rest as it is."""
    if isinstance(value, datetime):
        return _iso(value)
    if isinstance(value, date):
        return value.isoformat()
    return value


def text_value(value: Any) -> str | None:
    """A Python value as one text cell (a CSV file's): ISO dates, ``true``/``false``, objects as JSON."""
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


def formula_safe(frame: pl.DataFrame) -> pl.DataFrame:
    """``frame`` with every text that starts as a formula would (:data:`FORMULA_START`) behind a single quote.

    For a file a person opens in a spreadsheet program (a CSV export): the quote makes the program show the
    text as text, where it would otherwise run ``=HYPERLINK(...)`` or ``@SUM(...)``. Other columns stay as
    they are; a number is never read as a formula.
    """
    texts = [name for name, dtype in frame.schema.items() if dtype == pl.String]
    return frame.with_columns(
        pl.when(pl.col(name).str.slice(0, 1).is_in(FORMULA_START))
        .then(pl.concat_str(pl.lit("'"), pl.col(name)))
        .otherwise(pl.col(name))
        .alias(name)
        for name in texts
    )


# -- records -------------------------------------------------------------------------------------------------


def flatten_record(obj: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """A nested JSON object as one level of dotted names; empty objects and lists stay values."""
    flat: dict[str, Any] = {}
    for name, value in obj.items():
        if isinstance(value, dict) and value:
            flat.update(flatten_record(value, f"{prefix}{name}."))
        else:
            flat[f"{prefix}{name}"] = value
    return flat


def nest_record(flat: dict[str, Any]) -> dict[str, Any]:
    """Dotted names as nested JSON objects (the inverse of :func:`flatten_record`)."""
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


def set_field(record: dict[str, Any], name: str, value: Any) -> None:
    """Set a (dotted) field, replacing a null or empty object on its path."""
    parts = name.split(".")
    for i in range(1, len(parts)):
        prefix = ".".join(parts[:i])
        if prefix in record and record[prefix] in (None, {}):
            del record[prefix]
    record[name] = value


def value_at(body: Any, path: str) -> Any:
    """The value at a dotted ``path`` in a JSON body ("" is the body itself); None where there is none."""
    node = body
    for part in path.split(".") if path else []:
        if not isinstance(node, dict):
            return None
        node = node.get(part)
    return node


def put_at(body: dict[str, Any], path: str, value: Any) -> None:
    """Put ``value`` at a dotted ``path`` in a JSON body, making the objects on its way."""
    *parents, leaf = path.split(".")
    node = body
    for part in parents:
        node = node.setdefault(part, {})
    node[leaf] = value
