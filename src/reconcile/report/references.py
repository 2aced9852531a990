"""References as the workbook shows them: the record referred to, by the label people know it by.

A plan holds a reference by the *source* id of the record it refers to (the id is translated through the
links only when it is written). Under a column headed in the target's words, that id would be read as the
target's own: a project's "Customer id" of 233 in the ERP is customer 1975 in the PMS. The workbook shows the
referred record's label instead ("Martinsen Regnskap AS, Customer number 30233"), found among the plan's rows
of the mapping the reference goes through; a reference to a record with no row there keeps its id.
"""

from __future__ import annotations

from collections.abc import Mapping as MappingType

import polars as pl

from reconcile.model.plan import CHANGE_DTYPE

_SIDES = ("old", "new", "base")


def shown_references(plan: pl.DataFrame, refs: MappingType[str, MappingType[str, str]]) -> pl.DataFrame:
    """``plan`` with each reference in its changes shown by the label of the record it refers to.

    ``refs`` maps a mapping's name to its reference properties and the mapping each goes through.
    """
    pairs = [(m, prop, parent) for m, props in refs.items() for prop, parent in props.items()]
    if not pairs:
        return plan
    referring = pl.col("mapping").is_in(list(refs)) & (pl.col("changes").list.len() > 0)
    touched = plan.with_row_index("_row").filter(referring)
    if touched.is_empty():
        return plan
    labels = (
        plan.filter(pl.col("source_id").is_not_null() & pl.col("label").is_not_null())
        .select(pl.col("mapping").alias("_parent"), pl.col("source_id").alias("_ref"), pl.col("label").alias("_label"))
        .unique(["_parent", "_ref"], keep="first", maintain_order=True)
    )
    through = pl.DataFrame(pairs, schema={"mapping": pl.Utf8, "_property": pl.Utf8, "_parent": pl.Utf8}, orient="row")
    changes = (
        touched.select("_row", "mapping", pl.col("changes").alias("_c"))
        .explode("_c")
        .with_row_index("_order")
        .unnest("_c")
        .join(through, left_on=["mapping", "property"], right_on=["mapping", "_property"], how="left")
    )
    for side in _SIDES:
        changes = changes.join(
            labels.rename({"_ref": side, "_label": f"_{side}_label"}), on=["_parent", side], how="left"
        ).with_columns(pl.coalesce(f"_{side}_label", side).alias(side))
    shown = (
        changes.sort("_order")
        .group_by("_row", maintain_order=True)
        .agg(pl.struct(*(f.name for f in CHANGE_DTYPE.fields)).cast(CHANGE_DTYPE).alias("_shown"))
    )
    return (
        plan.with_row_index("_row")
        .join(shown, on="_row", how="left")
        .with_columns(pl.coalesce("_shown", "changes").alias("changes"))
        .drop("_row", "_shown")
    )
