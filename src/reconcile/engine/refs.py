"""References between mappings: a child waits for the parents being created in the same run.

A row that refers to a record neither linked nor being created is a reject naming the parent; a parent created
with embedded lines needs at least one line; a write waiting for a refused create is refused in turn. A row
refused because its parent is refused for a problem of the flow (``structural``) is structural too: it waits for
the flow, not for its record.
"""

from __future__ import annotations

import polars as pl

from reconcile.model.catalogue import Catalogue
from reconcile.model.flow import Flow, Mapping
from reconcile.model.plan import PLAN_SCHEMA, Action, Reason


def ref_values(rows: pl.DataFrame, ref_props: list[str]) -> pl.DataFrame:
    """row_id, property, parent (source id) of every reference a writing row carries."""
    return (
        rows.select("row_id", "changes")
        .explode("changes")
        .unnest("changes")
        .filter(pl.col("property").is_in(ref_props) & pl.col("new").is_not_null())
        .select("row_id", "property", pl.col("new").alias("parent"))
    )


def check_parents(
    rows: pl.DataFrame,
    mapping: Mapping,
    linked_ids: dict[str, pl.DataFrame],
    creatable: dict[str, pl.DataFrame],
    rejected: dict[str, pl.DataFrame],
) -> pl.DataFrame:
    """Children wait for parents being created; a parent neither linked nor creatable rejects the child."""
    refs = {p.target: p.ref for p in mapping.properties if p.ref}
    writing = rows.filter(pl.col("action").is_in([Action.CREATE.value, Action.UPDATE_TARGET.value]))
    if not refs or writing.is_empty():
        return rows
    values = ref_values(writing, list(refs))
    if values.is_empty():
        return rows
    verdicts: list[pl.DataFrame] = []
    for prop, parent_mapping in refs.items():
        mine = values.filter(pl.col("property") == prop)
        linked = linked_ids.get(parent_mapping, pl.DataFrame(schema={"source_id": pl.Utf8}))
        created = creatable.get(parent_mapping, pl.DataFrame(schema={"source_id": pl.Utf8, "row_id": pl.Utf8}))
        refused = rejected.get(parent_mapping, pl.DataFrame(schema={"source_id": pl.Utf8, "structural": pl.Boolean}))
        verdicts.append(
            mine.join(
                linked.with_columns(pl.lit(True).alias("linked")),
                left_on="parent",
                right_on="source_id",
                how="left",
            )
            .join(created.rename({"row_id": "parent_row"}), left_on="parent", right_on="source_id", how="left")
            .join(
                refused.select("source_id", pl.lit(True).alias("refused"), pl.col("structural").alias("flawed")),
                left_on="parent",
                right_on="source_id",
                how="left",
            )
            .with_columns(pl.lit(parent_mapping).alias("parent_mapping"))
        )
    verdict = pl.concat(verdicts, how="diagonal_relaxed")
    waits = (
        verdict.filter(pl.col("linked").is_null() & pl.col("parent_row").is_not_null())
        .group_by("row_id")
        .agg(pl.col("parent_row").unique().sort().alias("waits"))
    )
    missing = (
        verdict.filter(pl.col("linked").is_null() & pl.col("parent_row").is_null())
        .with_columns(
            pl.when(pl.col("refused").fill_null(False))
            .then(pl.lit(Reason.PARENT_REJECTED.value))
            .otherwise(pl.lit(Reason.PARENT_MISSING.value))
            .alias("why"),
            (
                pl.col("parent_mapping")
                + pl.lit(" record ")
                + pl.col("parent")
                + pl.lit(" (")
                + pl.col("property")
                + pl.lit(")")
            ).alias("what"),
        )
        .group_by("row_id")
        .agg(pl.col("why").first(), pl.col("what").str.join("; "), pl.col("flawed").fill_null(False).any())
    )
    out = rows.join(waits, on="row_id", how="left").join(missing, on="row_id", how="left")
    return out.with_columns(
        pl.when(pl.col("why").is_not_null())
        .then(pl.lit(Action.REJECT.value))
        .otherwise(pl.col("action"))
        .alias("action"),
        pl.coalesce(pl.col("why"), pl.col("reason")).alias("reason"),
        pl.when(pl.col("why").is_not_null())
        .then(pl.lit("refers to ") + pl.col("what") + pl.lit(", which is not linked and cannot be created"))
        .otherwise(pl.col("detail"))
        .alias("detail"),
        pl.coalesce(pl.col("waits"), pl.col("parents")).alias("parents"),
        (pl.col("structural") | pl.col("flawed").fill_null(False)).alias("structural"),
    ).select(list(PLAN_SCHEMA))


def check_children(plan: pl.DataFrame, flow: Flow, target_cat: Catalogue) -> pl.DataFrame:
    """A parent created with embedded lines needs at least one line; a line of a refused parent is refused."""
    for mapping in flow.mappings:
        entity = target_cat.entity(mapping.target)
        if entity is None or entity.embedded is None:
            continue
        children = [
            m
            for m in flow.mappings
            if (child := target_cat.entity(m.target)) is not None
            and child.name == entity.embedded.entity
            and any(p.ref == mapping.name and p.target == entity.embedded.parent_field for p in m.properties)
        ]
        child_rows = plan.filter(
            pl.col("mapping").is_in([m.name for m in children]) & (pl.col("action") == Action.CREATE.value)
        )
        waiting = child_rows.select(pl.col("parents").explode().alias("row_id")).drop_nulls().unique()
        lonely = plan.filter((pl.col("mapping") == mapping.name) & (pl.col("action") == Action.CREATE.value)).join(
            waiting, on="row_id", how="anti"
        )["row_id"]
        detail = f"{entity.name} must be created with at least one {entity.embedded.entity} line"
        plan = (
            plan.with_columns(
                pl.when(pl.col("row_id").is_in(lonely.implode()))
                .then(
                    pl.struct(
                        pl.lit(Action.REJECT.value).alias("a"),
                        pl.lit(Reason.NO_CHILDREN.value).alias("r"),
                        pl.lit(detail).alias("d"),
                    )
                )
                .otherwise(
                    pl.struct(pl.col("action").alias("a"), pl.col("reason").alias("r"), pl.col("detail").alias("d"))
                )
                .alias("_v")
            )
            .with_columns(
                pl.col("_v").struct.field("a").alias("action"),
                pl.col("_v").struct.field("r").alias("reason"),
                pl.col("_v").struct.field("d").alias("detail"),
            )
            .drop("_v")
        )
        plan = _reject_orphans(plan)
    return plan


def _reject_orphans(plan: pl.DataFrame) -> pl.DataFrame:
    """Reject every write that waits for a create which is rejected, and what waits for those, and so on.

    Updates count as well as creates: an update moving a record to a new parent cannot be sent when that
    parent is never created.
    """
    waiting = pl.col("action").is_in([Action.CREATE.value, Action.UPDATE_TARGET.value])
    while True:
        refused = plan.filter(pl.col("action") == Action.REJECT.value)
        ids, flawed = refused["row_id"], refused.filter(pl.col("structural"))["row_id"]
        orphan = waiting & pl.col("parents").list.eval(pl.element().is_in(ids.implode())).list.any()
        if plan.select(orphan.any()).item() is not True:
            return plan
        of_flawed = orphan & pl.col("parents").list.eval(pl.element().is_in(flawed.implode())).list.any()
        plan = plan.with_columns(
            (pl.col("structural") | of_flawed).alias("structural"),
            pl.when(orphan).then(pl.lit(Action.REJECT.value)).otherwise(pl.col("action")).alias("action"),
            pl.when(orphan).then(pl.lit(Reason.PARENT_REJECTED.value)).otherwise(pl.col("reason")).alias("reason"),
            pl.when(orphan)
            .then(pl.lit("the record it belongs to cannot be created"))
            .otherwise(pl.col("detail"))
            .alias("detail"),
        )
