"""Entity files as frames: JSON, CSV and Parquet read into one flat column per dotted name, and written back.

A file reads into a raw frame in its own types (:func:`load`): a CSV file as text, every column; a Parquet
file as it is, struct columns unnested to dotted names; a JSON file (an array of objects) through
:func:`~reconcile.model.records.records_frame`, so that a column that mixes kinds keeps each value as it
was. :func:`dump` writes such a frame: Parquet and CSV by Polars, as they are; JSON as an array of objects,
dotted names nested again, two spaces of indent, a null written as no key at all.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import polars as pl

from reconcile.errors import ConfigError
from reconcile.model.catalogue import DTYPES, Entity
from reconcile.model.records import paused_gc, records_frame
from reconcile.model.values import json_value, text_value
from reconcile.systems.files.jsontext import json_text


def load(path: Path, file_format: str) -> pl.DataFrame:
    """The raw frame of the file at ``path`` (no columns when there is no file); a ConfigError when it does not read."""
    if not path.exists():
        return pl.DataFrame()
    try:
        if file_format == "json":
            with paused_gc():
                data = json.loads(path.read_text(encoding="utf-8") or "[]")
            if not isinstance(data, list) or not all(isinstance(r, dict) for r in data):
                raise ConfigError(f"{path}: must hold a JSON array of objects, one per record")
            return records_frame(data)
        if path.stat().st_size == 0:
            return pl.DataFrame()
        if file_format == "csv":
            return pl.read_csv(path, infer_schema=False)
        frame = pl.read_parquet(path).rechunk()
        while structs := [n for n, t in frame.schema.items() if isinstance(t, pl.Struct)]:
            frame = frame.unnest(structs, separator=".")
        return frame
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{path}: not valid JSON: {exc}") from exc
    except (OSError, pl.exceptions.PolarsError) as exc:
        raise ConfigError(f"{path}: cannot be read as {file_format.upper()}: {exc}") from exc


def empty(entity: Entity, file_format: str) -> pl.DataFrame:
    """The frame of a new file of ``entity``: no records, a column per catalogue field."""
    if file_format == "parquet":
        return pl.DataFrame(schema={f.name: DTYPES[f.type] for f in entity.fields.values()})
    dtype = pl.String() if file_format == "csv" else pl.Null()
    return pl.DataFrame(schema=dict.fromkeys(entity.fields, dtype))


def stored(value: Any, file_format: str) -> Any:
    """A value cast to its catalogue type as a file of ``file_format`` holds it (see :func:`load`)."""
    if file_format == "json":
        return json_value(value)
    if file_format == "csv":
        return text_value(value)
    return value


def dump(frame: pl.DataFrame, file_format: str, target: Path) -> None:
    """Write ``frame`` to ``target`` in ``file_format`` (see the module docs)."""
    if file_format == "parquet":
        frame.write_parquet(target)
    elif file_format == "csv":
        frame.write_csv(target)
    else:
        target.write_text(json_text(frame), encoding="utf-8")
