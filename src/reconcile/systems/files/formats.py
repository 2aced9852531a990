"""Entity files as frames: JSON, CSV and Parquet read into one flat column per dotted name, and written back.

A file reads into a raw frame in its own types (:func:`load`): a CSV file as text, every column; a Parquet
file as it is, struct columns unnested to dotted names; a JSON file (an array of objects) through
:func:`~reconcile.model.records.records_frame`, so that a column that mixes kinds keeps each value as it
was. :func:`dump` writes such a frame: Parquet and CSV by Polars, as they are; JSON as an array of objects,
dotted names nested again, two spaces of indent, a null written as no key at all. A CSV or JSON file is
read and written as text in its own encoding, byte-order mark, line endings and separator
(:mod:`reconcile.systems.files.text`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

from reconcile.errors import ConfigError
from reconcile.model.catalogue import DTYPES, Entity
from reconcile.model.records import paused_gc, records_frame
from reconcile.model.systemfile import TextSettings
from reconcile.model.values import json_value, text_value
from reconcile.systems.files.jsontext import json_text
from reconcile.systems.files.text import HEAD, Style, check_utf8, csv_source, new_style, read_text


@dataclass(frozen=True)
class Loaded:
    """A file's raw frame, and the style it is written back in."""

    frame: pl.DataFrame
    style: Style


def load(path: Path, file_format: str) -> pl.DataFrame:
    """The raw frame of the file at ``path`` read with the default settings (see :func:`load_file`)."""
    return load_file(path, file_format).frame


def load_file(path: Path, file_format: str, settings: TextSettings | None = None, source: str = "") -> Loaded:
    """The raw frame of the file at ``path`` (no columns when there is no file) and how it is written as text
    (:mod:`reconcile.systems.files.text`); a ConfigError when it does not read.

    ``settings`` are the system's (the defaults when None); ``source`` names where they are set, for messages.
    """
    settings = settings or TextSettings()
    style = new_style(settings)
    if not path.exists():
        return Loaded(pl.DataFrame(), style)
    try:
        if file_format == "json":
            text, style = read_text(path, settings, source)
            with paused_gc():
                data = json.loads(text or "[]")
            if not isinstance(data, list) or not all(isinstance(r, dict) for r in data):
                raise ConfigError(f"{path}: must hold a JSON array of objects, one per record")
            return Loaded(records_frame(data), style)
        if path.stat().st_size == 0:
            return Loaded(pl.DataFrame(), style)
        if file_format == "csv":
            return _csv(path, settings, source)
        frame = pl.read_parquet(path).rechunk()
        while structs := [n for n, t in frame.schema.items() if isinstance(t, pl.Struct)]:
            frame = frame.unnest(structs, separator=".")
        return Loaded(frame, style)
    except json.JSONDecodeError as exc:
        where = source or "the system file"
        utf16 = "\x00" in exc.doc[:HEAD]
        hint = f' — it looks like UTF-16 without a byte-order mark: set encoding = "utf-16" in {where}' if utf16 else ""
        raise ConfigError(f"{path}: not valid JSON: {exc}{hint}") from exc
    except (OSError, pl.exceptions.PolarsError) as exc:
        raise ConfigError(f"{path}: cannot be read as {file_format.upper()}: {_one_line(exc)}") from exc


def _csv(path: Path, settings: TextSettings, source: str) -> Loaded:
    content, style = csv_source(path, settings, source)
    if isinstance(content, bytes) and not content:
        return Loaded(pl.DataFrame(), style)  # a mark and nothing else
    try:
        frame = pl.read_csv(content, separator=style.separator, infer_schema=False)
    except pl.exceptions.NoDataError:
        return Loaded(pl.DataFrame(), style)
    except pl.exceptions.PolarsError:
        if style.utf8:
            check_utf8(path, settings, source)  # the byte that is not UTF-8, rather than Polars' words
        raise
    return Loaded(frame, style)


def _one_line(exc: Exception) -> str:
    return " ".join(str(exc).split())


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


def dump(frame: pl.DataFrame, file_format: str, target: Path, style: Style | None = None) -> None:
    """Write ``frame`` to ``target`` in ``file_format``, a CSV or JSON file as text in ``style`` (see the module docs).

    A UnicodeEncodeError when a value has a character the style's encoding cannot write.
    """
    style = style or Style()
    if file_format == "parquet":
        frame.write_parquet(target)
    elif file_format == "csv" and style.utf8:
        frame.write_csv(target, separator=style.separator, line_terminator=style.newline, include_bom=style.bom)
    elif file_format == "csv":
        text = frame.write_csv(separator=style.separator, line_terminator=style.newline)
        target.write_bytes(style.encode(text, newlines=False))
    else:
        target.write_bytes(style.encode(json_text(frame)))
