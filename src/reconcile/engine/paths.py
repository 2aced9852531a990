"""Paths into a snapshot: a field's column, or a walk into the structs that hold a nested object.

A catalogue names a nested field with a dotted path (``MailAddress.City``); a snapshot holds the object as a
Polars struct. A path that leads nowhere reads as null text, so that a missing field is a missing value.
"""

from __future__ import annotations

import polars as pl


def resolve(schema: pl.Schema, path: str) -> tuple[pl.Expr, pl.DataType]:
    """The expression and type reading a dotted ``path`` from a frame: a flat column or a walk into structs."""
    if path in schema:
        return pl.col(path), schema[path]
    head, _, rest = path.partition(".")
    if head not in schema or not rest:
        return pl.lit(None, dtype=pl.Utf8), pl.Utf8()
    expr: pl.Expr = pl.col(head)
    dtype: pl.DataType = schema[head]
    for part in rest.split("."):
        if not isinstance(dtype, pl.Struct):
            return pl.lit(None, dtype=pl.Utf8), pl.Utf8()
        fields = {f.name: f.dtype for f in dtype.fields}
        if part not in fields:
            return pl.lit(None, dtype=pl.Utf8), pl.Utf8()
        expr, dtype = expr.struct.field(part), fields[part]  # type: ignore[assignment]
    return expr, dtype
