"""Shadows as one wide frame: a row per linked source record, a value and a kept flag per property.

A shadow is the value both sides of a pair held after the last sync, per property. Held long (a row per
record and property) a million records with 15 properties are 15 million rows; held wide they are a million
rows that the diff joins on the pair as they are. A wide shadow frame has ``mapping``, ``source_id`` and, per
property ``P``, the columns ``value:P`` (the canonical value, null where it was blank) and ``kept:P`` (whether
the pair has a shadow of ``P`` at all: a pair synced before ``P`` was added has none, which is not the same as
a blank one). Mappings with different properties share the frame; a property a mapping does not have is
null in its rows.

The same shape carries what a run agrees on (:attr:`reconcile.engine.build.FlowPlan.agreed`): there
``kept:P`` true sets the shadow of ``P`` to ``value:P``, and null leaves it as it was.
"""

from __future__ import annotations

from typing import TypeVar

import polars as pl

Frame = TypeVar("Frame", pl.DataFrame, pl.LazyFrame)
"""Wide shadows, held (a frame) or to be read (a lazy frame: a state's link file, scanned for the rows asked)."""

VALUE = "value:"
"""The prefix of a property's value column."""
KEPT = "kept:"
"""The prefix of a property's kept flag."""

LONG_SCHEMA = {"mapping": pl.Utf8, "source_id": pl.Utf8, "property": pl.Utf8, "value": pl.Utf8}
"""Shadows held long, one row per record and property: what tests write inline and ``links export`` shows."""


def value_col(prop: str) -> str:
    return f"{VALUE}{prop}"


def kept_col(prop: str) -> str:
    return f"{KEPT}{prop}"


def names(frame: pl.DataFrame | pl.LazyFrame) -> list[str]:
    """The columns of a frame, or of a lazy one (from its schema: nothing is read)."""
    return frame.collect_schema().names() if isinstance(frame, pl.LazyFrame) else frame.columns


def properties(frame: pl.DataFrame | pl.LazyFrame) -> list[str]:
    """The properties a wide shadow frame has columns for, in column order."""
    return [name[len(KEPT) :] for name in names(frame) if name.startswith(KEPT)]


def empty() -> pl.DataFrame:
    """A wide shadow frame with no rows and no properties."""
    return pl.DataFrame(schema={"mapping": pl.Utf8, "source_id": pl.Utf8})


def is_long(frame: pl.DataFrame | pl.LazyFrame) -> bool:
    return "property" in names(frame)


def widen(long: Frame) -> Frame:
    """Long shadows (mapping, source_id, property, value) as a wide frame; a frame that is wide already as it is.

    A frame without a ``mapping`` column (the shadows of one mapping) keeps none.
    """
    if not is_long(long):
        return long
    if isinstance(long, pl.LazyFrame):
        return widen(long.collect()).lazy()
    index = [c for c in ("mapping", "source_id") if c in long.columns]
    if long.is_empty():
        return pl.DataFrame(schema=dict.fromkeys(index, pl.Utf8))
    props = list(dict.fromkeys(long["property"].to_list()))
    values = long.pivot(on="property", index=index, values="value", aggregate_function="first")
    kept = long.select(*index, "property", pl.lit(True).alias("kept")).pivot(
        on="property", index=index, values="kept", aggregate_function="first"
    )
    return values.select(*index, *[pl.col(p).cast(pl.Utf8).alias(value_col(p)) for p in props]).join(
        kept.select(*index, *[pl.col(p).alias(kept_col(p)) for p in props]), on=index, how="left"
    )


def narrow(wide: pl.DataFrame) -> pl.DataFrame:
    """A wide shadow frame as long shadows (mapping, source_id, property, value): the kept ones only."""
    props = properties(wide)
    if not props or wide.is_empty():
        return pl.DataFrame(schema=LONG_SCHEMA)
    parts = [
        wide.filter(pl.col(kept_col(p)).fill_null(False)).select(
            "mapping", "source_id", pl.lit(p).alias("property"), pl.col(value_col(p)).cast(pl.Utf8).alias("value")
        )
        for p in props
    ]
    return pl.concat(parts).sort("mapping", "source_id", "property")


def of_mapping(wide: Frame, mapping: str, props: list[str]) -> Frame:
    """The shadows of one mapping: source_id and, per property of ``props``, its value and kept columns."""
    have = set(properties(wide))
    rows = wide.filter(pl.col("mapping") == mapping) if "mapping" in names(wide) else wide
    return rows.select(
        "source_id",
        *[
            (pl.col(value_col(p)) if p in have else pl.lit(None, dtype=pl.Utf8)).alias(value_col(p))
            for p in dict.fromkeys(props)
        ],
        *[
            (pl.col(kept_col(p)).fill_null(False) if p in have else pl.lit(False)).alias(kept_col(p))
            for p in dict.fromkeys(props)
        ],
    )


def overlay(base: Frame, changes: pl.DataFrame) -> Frame:
    """``base`` with the shadows ``changes`` sets (where its ``kept:P`` is true) laid over it, by mapping and
    source_id; a row of ``changes`` that ``base`` lacks is added. Both are wide."""
    if changes.is_empty():
        return base
    props = list(dict.fromkeys([*properties(base), *properties(changes)]))
    key = ["mapping", "source_id"]
    joined = base.join(
        changes.lazy() if isinstance(base, pl.LazyFrame) else changes, on=key, how="full", coalesce=True, suffix="!new"
    )
    have_base, have_new = set(properties(base)), set(properties(changes))

    def pick(p: str, prefix: str) -> pl.Expr:
        old = pl.col(prefix + p) if p in have_base else pl.lit(None)
        if p not in have_new:
            return old.alias(prefix + p)
        new_name = prefix + p + ("!new" if p in have_base else "")
        sets = pl.col(kept_col(p) + ("!new" if p in have_base else "")).fill_null(False)
        return pl.when(sets).then(pl.col(new_name)).otherwise(old).alias(prefix + p)

    others = [c for c in names(base) if c not in key and not c.startswith((VALUE, KEPT))]
    return joined.select(
        *key,
        *others,
        *[pick(p, VALUE).cast(pl.Utf8) for p in props],
        *[pick(p, KEPT).cast(pl.Boolean) for p in props],
    )
