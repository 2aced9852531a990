"""Creates: the source records that matched nothing, with every value the target would get.

A create is never planned for a source record unlinked on purpose (``delete = "unlink"`` of a record deleted
in the target): it is reported as a difference left unwritten instead. A create whose value of a field the
target keeps unique is already held by a target record, or by another create of the run, is never sent: it
becomes a reject naming the record that holds the value (the merge rule has had its chance first, in
matching).
"""

from __future__ import annotations

import polars as pl

from reconcile.engine.match import S_AT
from reconcile.engine.normalize import canonical_for, canonical_key, folded
from reconcile.engine.paths import resolve
from reconcile.engine.project import ID, canonical_values, prop_col
from reconcile.engine.rows import change, labelled, plan_rows, row_lists
from reconcile.model.catalogue import Entity
from reconcile.model.flow import Mapping
from reconcile.model.plan import PLAN_SCHEMA, Action, Reason

_IDS = {"source_id": pl.Utf8}


def plan_creates(
    mapping: Mapping,
    target_entity: Entity,
    source: pl.DataFrame,
    unmatched: pl.DataFrame,
    s_label: pl.Series,
    unlinked: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """Create rows (or rejects, where the target cannot take a create) for ``unmatched`` source ids (source_id,
    s_at: the record's row in ``source``, whose labels ``s_label`` are).

    ``unlinked`` holds the source ids unlinked on purpose: each is a ``differs`` row, not a create.
    """
    base = labelled(unmatched, s_label, S_AT).with_columns(pl.lit(None, dtype=pl.Utf8).alias("target_id"))
    parts: list[pl.DataFrame] = []
    if unlinked is not None and not unlinked.is_empty():
        kept = base.join(unlinked.select("source_id"), on="source_id", how="semi")
        base = base.join(unlinked.select("source_id"), on="source_id", how="anti")
        parts.append(plan_rows(kept, mapping.name, Action.DIFFERS, Reason.UNLINKED_ON_PURPOSE))
    if target_entity.read_only:
        reason = Reason.READ_ONLY_ENTITY if mapping.merge else Reason.NO_MERGE_RULE_READ_ONLY
        detail = f"{target_entity.name} is read-only" + (
            "" if mapping.merge else " and nothing links the record to one"
        )
        rejects = plan_rows(base, mapping.name, Action.REJECT, reason, pl.lit(detail), structural=True)
        return pl.concat([*parts, rejects])
    wanted = canonical_values(source[base.get_column(S_AT)], mapping, target_entity)
    entries: list[pl.Expr] = []
    for p in mapping.properties:
        field = target_entity.field_named(p.target)
        if field is not None and field.read_only:
            continue
        value = pl.lit(p.value, dtype=pl.Utf8) if p.is_fixed else pl.col(prop_col(p.target))
        target = pl.lit(p.target)
        nothing = pl.lit(None, dtype=pl.Utf8)
        entries.append(change(target, target, nothing, value, nothing))
    if entries:
        # A record's changes in the mapping's order, blanks left out.
        names = [f"change{n}" for n in range(len(entries))]
        values = wanted.select(
            pl.col(ID).alias("source_id"), *(e.alias(n) for e, n in zip(entries, names, strict=True))
        )
        values = values.select(
            "source_id",
            row_lists(values, names).list.filter(pl.element().struct.field("new").is_not_null()).alias("changes"),
        )
        base = base.with_columns(values.get_column("changes"))
    unmapped = mapping.unmapped_required(target_entity)
    if unmapped:
        # No record of this mapping can be created until the flow maps these: one problem, shown once.
        lacking = pl.lit(unmapped_words(target_entity.name, unmapped))
        rejects = plan_rows(base, mapping.name, Action.REJECT, Reason.REQUIRED_UNMAPPED, lacking, structural=True)
        return pl.concat([*parts, rejects])
    return pl.concat([*parts, plan_rows(base, mapping.name, Action.CREATE, Reason.NEW_IN_SOURCE)])


def unmapped_words(entity: str, fields: tuple[str, ...]) -> str:
    """What a create of a mapping lacks: the required fields no property fills."""
    named = ", ".join(fields[:-1]) + " and " + fields[-1] if len(fields) > 1 else fields[0]
    return f"{entity} requires {named}, which no property of the mapping fills"


def check_unique(rows: pl.DataFrame, mapping: Mapping, entity: Entity, snapshot: pl.DataFrame) -> pl.DataFrame:
    """Turn every create whose value of a unique field is taken into a reject naming what holds it.

    ``snapshot`` is the target entity's snapshot. Values compare canonical and without regard to case, as a
    system keeping them unique compares them; a blank is never taken.
    """
    unique = entity.unique_fields()
    if not unique:
        return rows
    creates = rows.filter(pl.col("action") == Action.CREATE.value)
    if creates.is_empty():
        return rows
    wanted = (
        creates.select("row_id", "source_id", "changes")
        .explode("changes")
        .unnest("changes")
        .filter(pl.col("field").is_in(unique) & pl.col("new").is_not_null())
        .select("row_id", "source_id", "field", "new", folded(pl.col("new")).alias("key"))
    )
    if wanted.is_empty():
        return rows
    types = {p.target: p.type for p in mapping.properties if p.source is not None}
    schema = snapshot.schema
    holder = canonical_key(*resolve(schema, entity.key)).alias("holder")

    def key(name: str) -> pl.Expr:
        return folded(canonical_for(*resolve(schema, name), entity.field_named(name), types.get(name, "string")))

    # Each target record's key of each field, compared with the creates' first: only a record that holds one is
    # named, so only those records' ids are made.
    held = pl.concat(
        [
            snapshot.lazy()
            .select(pl.int_range(pl.len(), dtype=pl.get_index_type()).alias("at"), key(name).alias("key"))
            .filter(pl.col("key").is_in(wanted.filter(pl.col("field") == name).get_column("key").implode()))
            .with_columns(pl.lit(name).alias("field"))
            .collect()
            for name in sorted(wanted.get_column("field").unique().to_list())
        ]
    )
    held = held.with_columns(snapshot[held.get_column("at")].select(holder).get_column("holder")).drop_nulls()
    in_target = (
        wanted.join(held, on=["field", "key"], how="inner")
        .group_by("row_id", "field", "new", maintain_order=True)
        .agg(pl.col("holder").unique().sort())
        .select(
            "row_id",
            (
                pl.col("field")
                + pl.lit(' = "')
                + pl.col("new")
                + pl.lit(f'" is already held by {entity.name} record ')
                + pl.col("holder").list.join(", ")
            ).alias("what"),
        )
    )
    twins = (
        wanted.join(wanted.select("field", "key", pl.col("source_id").alias("twin")), on=["field", "key"])
        .filter(pl.col("twin") != pl.col("source_id"))
        .group_by("row_id", "field", "new", maintain_order=True)
        .agg(pl.col("twin").unique().sort())
        .select(
            "row_id",
            (
                pl.col("field")
                + pl.lit(' = "')
                + pl.col("new")
                + pl.lit('" is also created from source record ')
                + pl.col("twin").list.join(", ")
                + pl.lit(" in this run")
            ).alias("what"),
        )
    )
    taken = pl.concat([in_target, twins]).group_by("row_id", maintain_order=True).agg(pl.col("what").str.join("; "))
    if taken.is_empty():
        return rows
    out = rows.join(taken, on="row_id", how="left")
    hit = pl.col("what").is_not_null()
    return out.with_columns(
        pl.when(hit).then(pl.lit(Action.REJECT.value)).otherwise(pl.col("action")).alias("action"),
        pl.when(hit).then(pl.lit(Reason.UNIQUE_TAKEN.value)).otherwise(pl.col("reason")).alias("reason"),
        pl.when(hit).then(pl.col("what")).otherwise(pl.col("detail")).alias("detail"),
    ).select(list(PLAN_SCHEMA))
