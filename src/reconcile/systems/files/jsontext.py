"""The JSON text of an entity file, built by expressions: an array of objects, dotted names nested again.

The layout is ``json.dumps(records, ensure_ascii=False, indent=2)``'s, with each record's nulls left out
(a null is written as no key at all, and an object with nothing in it as no object), so that a file this
writes reads the same to any JSON reader as one that Python's encoder writes; the text of each value is
the text Python gives it (a float's shortest ``repr``, text escaped as ``ensure_ascii=False`` escapes it).
Every column is encoded by expressions, but for the values expressions cannot write as Python does (text
with a quote, a backslash or a control character; floats written with an exponent; lists and other
objects), which are encoded one by one. A frame whose names do not nest cleanly (``Address`` beside
``Address.City``, an empty part) is written record by record, as Python's encoder would.
"""

from __future__ import annotations

import json
from typing import Any

import polars as pl

from reconcile.model.values import json_value, nest_record

Tree = dict[str, "str | Tree"]
"""A nested object's keys, in order: each key the column it is written from, or the object under it."""

_ESCAPED = r'["\\\x00-\x1f]'
_INTEGERS = (pl.Int8, pl.Int16, pl.Int32, pl.Int64, pl.UInt8, pl.UInt16, pl.UInt32, pl.UInt64)


def json_text(frame: pl.DataFrame) -> str:
    """``frame`` (flat, dotted names) as the text of a JSON file (see the module docs), ending in a newline."""
    tree = _tree(frame.columns)
    if not tree:
        return json.dumps(_objects(frame), ensure_ascii=False, indent=2) + "\n"
    if frame.height == 0:
        return "[]\n"
    encoded: dict[str, pl.Series] = {}
    body = _members(tree, frame, encoded, depth=1)
    record = pl.when(body == "").then(pl.lit("  {}")).otherwise(pl.concat_str(pl.lit("  {\n"), body, pl.lit("\n  }")))
    records = pl.DataFrame(list(encoded.values())).select(record.str.join(",\n")).item()
    return f"[\n{records}\n]\n"


def _tree(names: list[str]) -> Tree | None:
    """The nesting of ``names``; None when a name is both a value and an object, or has an empty part."""
    tree: Tree = {}
    for name in names:
        *parents, leaf = name.split(".")
        node = tree
        for part in parents:
            child = node.setdefault(part, {})
            if not isinstance(child, dict) or not part:
                return None
            node = child
        if not leaf or leaf in node:
            return None
        node[leaf] = name
    return tree


def _members(tree: Tree, frame: pl.DataFrame, encoded: dict[str, pl.Series], depth: int) -> pl.Expr:
    """The lines of one object's members that are not null, joined: an empty text when there are none."""
    indent = "  " * (depth + 1)
    lines: list[pl.Expr] = []
    for key, node in tree.items():
        opening = pl.lit(f"{indent}{json.dumps(key, ensure_ascii=False)}: ")
        if isinstance(node, str):
            name = f"c{len(encoded)}"
            encoded[name] = _encoded(frame[node], indent).alias(name)
            lines.append(pl.concat_str(opening, pl.col(name)))
        else:
            inner = _members(node, frame, encoded, depth + 1)
            block = pl.concat_str(opening, pl.lit("{\n"), inner, pl.lit(f"\n{indent}}}"))
            lines.append(pl.when(inner != "").then(block))
    return pl.concat_str(lines, separator=",\n", ignore_nulls=True)


def _encoded(values: pl.Series, indent: str) -> pl.Series:
    """The JSON text of each value (null for null), as Python's encoder writes it at ``indent``."""
    dtype = values.dtype
    v = pl.col("v")
    fast: pl.Expr | None = None
    if dtype == pl.String:
        fast = pl.when(~v.str.contains(_ESCAPED)).then(pl.concat_str(pl.lit('"'), v, pl.lit('"')))
    elif isinstance(dtype, _INTEGERS):
        fast = v.cast(pl.String)
    elif dtype == pl.Boolean:
        fast = pl.when(v).then(pl.lit("true")).when(~v).then(pl.lit("false"))
    elif isinstance(dtype, pl.Float32 | pl.Float64):
        # Where Python's repr has no exponent (and only there), Polars writes a float the same way.
        plain = (v == 0) | ((v.abs() >= 1e-4) & (v.abs() < 1e16))
        fast = pl.when(plain).then(v.cast(pl.Float64).cast(pl.String))
    elif dtype == pl.Null:
        return values.cast(pl.String)
    texts = pl.DataFrame({"v": values}).select(
        (fast if fast is not None else pl.repeat(None, pl.len())).cast(pl.String)
    )
    text = texts.to_series()
    unsure = values.is_not_null() & text.is_null()
    if unsure.any():
        rows = unsure.arg_true()
        dumped = [_dumped(value, indent) for value in values.gather(rows).to_list()]
        text = text.scatter(rows, pl.Series(dumped, dtype=pl.String))
    return text


def _dumped(value: Any, indent: str) -> str:
    text = json.dumps(json_value(value), ensure_ascii=False, indent=2)
    return text.replace("\n", f"\n{indent}")


def _objects(frame: pl.DataFrame) -> list[dict[str, Any]]:
    """The records of ``frame`` as nested objects, nulls left out."""
    names = frame.columns
    return [
        nest_record({n: json_value(v) for n, v in zip(names, row, strict=True) if v is not None})
        for row in frame.iter_rows()
    ]
