"""Find the records that a run which died had already created, so that nothing is created twice.

A pending journal entry is a create that was sent, or about to be, when the run stopped. The next run
looks for it in the fresh target snapshot: an unlinked target record holding every value the create wrote
is that record, provided exactly one such record exists and no other pending create claims it.
"""

from __future__ import annotations

import polars as pl

from reconcile.engine.project import ID, prop_col

PENDING_SCHEMA = {"source_id": pl.Utf8, "property": pl.Utf8, "value": pl.Utf8}


def find_created(pending: pl.DataFrame, target: pl.DataFrame, linked_targets: pl.Series) -> pl.DataFrame:
    """source_id, target_id for each pending create (long: source_id, property, value) found in ``target``.

    ``target`` is the projected target of the mapping; ``linked_targets`` the target ids already linked.
    """
    columns = [c for c in target.columns if c.startswith("p:")]
    # Only synced properties can be compared: a fixed value set on create is in the payload but not projected.
    compared = [c[len(prop_col("")) :] for c in columns]
    wanted = pending.filter(pl.col("value").is_not_null() & pl.col("property").is_in(compared))
    if wanted.is_empty():
        return pl.DataFrame(schema={"source_id": pl.Utf8, "target_id": pl.Utf8})
    open_targets = target.filter(~pl.col(ID).is_in(linked_targets.implode()))
    t_long = (
        open_targets.select(pl.col(ID).alias("target_id"), *columns)
        .unpivot(index="target_id", on=columns, variable_name="property", value_name="value")
        .with_columns(pl.col("property").str.slice(len(prop_col(""))))
        .drop_nulls("value")
    )
    needed = wanted.group_by("source_id").agg(pl.len().alias("needed"))
    hits = (
        wanted.join(t_long, on=["property", "value"], how="inner")
        .group_by("source_id", "target_id")
        .agg(pl.len().alias("hits"))
        .join(needed, on="source_id")
        .filter(pl.col("hits") == pl.col("needed"))
        .with_columns(pl.len().over("source_id").alias("per_source"), pl.len().over("target_id").alias("per_target"))
    )
    return hits.filter((pl.col("per_source") == 1) & (pl.col("per_target") == 1)).select("source_id", "target_id")
