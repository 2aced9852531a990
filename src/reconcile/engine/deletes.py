"""Deletes: a linked record gone on one side follows the mapping's delete policy, unless the other side changed.

A record deleted on one side and edited on the other since the last sync (a value that differs from its
shadow) is a conflict for review, never a delete: whoever deleted it did not know of the edit. A record
gone from both sides only loses its link.
"""

from __future__ import annotations

import polars as pl

from reconcile.engine.match import S_AT, T_AT
from reconcile.engine.normalize import comparable, folded
from reconcile.engine.project import canonical_values, prop_col
from reconcile.engine.rows import change, labelled, plan_rows
from reconcile.model.catalogue import Entity
from reconcile.model.flow import Mapping
from reconcile.model.plan import CHANGE_DTYPE, Action, Reason
from reconcile.model.shadows import kept_col, narrow


def delete_words(mapping: Mapping, side: str) -> str:
    """What the delete policy does with a record gone from the other side, written to ``side``."""
    if mapping.delete == "propagate":
        return f"deleted in the {side} too (delete = propagate)"
    if mapping.delete == "unlink":
        return "the link is removed; the other record stays (delete = unlink)"
    return "reported only (delete = report)"


def plan_deletes(
    mapping: Mapping,
    target_entity: Entity,
    source_gone: pl.DataFrame,
    target_gone: pl.DataFrame,
    source: pl.DataFrame,
    target: pl.DataFrame,
    shadows: pl.DataFrame | pl.LazyFrame,
    s_label: pl.Series,
    t_label: pl.Series,
) -> list[pl.DataFrame]:
    """Delete rows of the links whose source record (``source_gone``) or target record (``target_gone``) is gone,
    or conflict rows where the other side was edited since the last sync.

    Each record that still exists comes with its row in its projected side (t_at, s_at), where ``s_label`` and
    ``t_label`` (the sides' labels, in their rows' order) name it.
    """
    parts: list[pl.DataFrame] = []
    if not source_gone.is_empty():
        gone = labelled(source_gone, t_label, T_AT)
        edited = _edited(gone.filter(pl.col("target_exists")), target, T_AT, shadows, mapping, target_entity)
        if not edited.is_empty():
            conflicts = gone.join(edited, on="source_id", how="inner")
            detail = pl.lit("deleted in the source; edited in the target since the last sync: ") + pl.col(
                "changes"
            ).list.eval(pl.element().struct.field("property")).list.join(", ")
            parts.append(
                plan_rows(conflicts, mapping.name, Action.CONFLICT, Reason.SOURCE_DELETED_TARGET_EDITED, detail)
            )
            gone = gone.join(edited, on="source_id", how="anti")
        detail = (
            pl.when(pl.col("target_exists"))
            .then(pl.lit(delete_words(mapping, "target")))
            .otherwise(pl.lit("gone on both sides: the link is removed"))
        )
        parts.append(
            plan_rows(
                gone, mapping.name, Action.DELETE, Reason.SOURCE_DELETED, detail, both_gone=~pl.col("target_exists")
            )
        )
    if not target_gone.is_empty():
        gone = labelled(target_gone, s_label, S_AT)
        edited = _edited(gone, source, S_AT, shadows, mapping, target_entity)
        if not edited.is_empty():
            conflicts = gone.join(edited, on="source_id", how="inner")
            detail = pl.lit("deleted in the target; edited in the source since the last sync: ") + pl.col(
                "changes"
            ).list.eval(pl.element().struct.field("property")).list.join(", ")
            parts.append(
                plan_rows(conflicts, mapping.name, Action.CONFLICT, Reason.TARGET_DELETED_SOURCE_EDITED, detail)
            )
            gone = gone.join(edited, on="source_id", how="anti")
        parts.append(
            plan_rows(gone, mapping.name, Action.DELETE, Reason.TARGET_DELETED, pl.lit(delete_words(mapping, "source")))
        )
    return parts


def _edited(
    gone: pl.DataFrame,
    side: pl.DataFrame,
    at: str,
    shadows: pl.DataFrame | pl.LazyFrame,
    mapping: Mapping,
    target_entity: Entity,
) -> pl.DataFrame:
    """source_id, changes of the pairs in ``gone`` whose record on ``side`` (projected; ``at`` names the column
    of ``gone`` holding its row there) differs from its shadow. A pair never synced (no shadow) has no edits to lose.

    A change says property, field (the property), and the values: ``old`` the target's, ``new`` the source's
    (null on the side that is gone), ``base`` the shadow.
    """
    props = [p.target for p in mapping.properties if p.source is not None]
    # Only the shadows of the pairs gone are read (a lazy frame, the state's file, reads just their rows).
    wide = shadows.lazy().filter(pl.col("source_id").is_in(gone.get_column("source_id").implode())).collect()
    if props:
        wide = wide.filter(pl.any_horizontal(pl.col(kept_col(p)) for p in props))
    synced = narrow(wide.with_columns(pl.lit(mapping.name).alias("mapping")))
    if gone.is_empty() or synced.is_empty() or not props:
        return pl.DataFrame(schema={"source_id": pl.Utf8, "changes": pl.List(CHANGE_DTYPE)})
    columns = [prop_col(p) for p in props]
    emails = [
        p.target
        for p in mapping.properties
        if p.source is not None and not p.ref and (f := target_entity.field_named(p.target)) and f.format == "email"
    ]
    now = (
        pl.concat(
            [
                gone.select("source_id"),
                canonical_values(side[gone.get_column(at)], mapping, target_entity).select(columns),
            ],
            how="horizontal",
        )
        .unpivot(index="source_id", on=columns, variable_name="property", value_name="value")
        .with_columns(pl.col("property").str.slice(len(prop_col(""))))
        .join(synced.select("source_id").unique(), on="source_id", how="semi")
        .join(
            synced.select("source_id", "property", pl.col("value").alias("base")),
            on=["source_id", "property"],
            how="left",
        )
    )
    fold = pl.col("property").is_in(emails)
    value = pl.when(fold).then(folded(pl.col("value"))).otherwise(comparable(pl.col("value")))
    base = pl.when(fold).then(folded(pl.col("base"))).otherwise(comparable(pl.col("base")))
    target_side = at == T_AT
    nothing = pl.lit(None, dtype=pl.Utf8)
    return (
        now.filter(~value.eq_missing(base))
        .with_columns(
            change(
                pl.col("property"),
                pl.col("property"),
                pl.col("value") if target_side else nothing,
                nothing if target_side else pl.col("value"),
                pl.col("base"),
            )
        )
        .group_by("source_id", maintain_order=True)
        .agg(pl.col("change").alias("changes"))
    )
