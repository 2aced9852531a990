"""Match source records to target records: stored links first, then merge rules.

A link holds whatever the merge rules say later. For source records without a link, each merge combination
is tried in turn against target records without a link: a source record and a target record that agree on
every pair of one combination (no blank key ever matches) are the same thing, provided neither has another
candidate. A source record with several candidates, or whose only candidate is wanted by several source
records, is ambiguous: reported, never linked. What matches nothing is created.

A linked source record that is gone leaves its target record to be claimed: a new source record that matches
it by the merge rules (as if it were unlinked) is the same record under a changed key, and the link moves
to it instead of a create of the new record and a delete of the old.

A ``many_to_one`` mapping links records to a lookup (products to their unit, orders to their currency): every
source record whose only candidate is a target record is linked to it, however many others are, and a target
record already linked stays a candidate. A source record with several candidates is still ambiguous; no link
moves (a new product is not an old one renamed because both have the same unit).

What a person decided weighs in: a pair said to be ``apart`` ("not the same") never matches by a merge rule, and
a source record said to stand ``alone`` ("create new") matches nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import polars as pl

from reconcile.engine.project import ID, merge_col, merge_keys, raw_merge_col
from reconcile.model.catalogue import Entity
from reconcile.model.flow import Mapping

S_AT, T_AT = "s_at", "t_at"
"""A record's row in the projected source and target frames."""
_PAIR = {"source_id": pl.Utf8, "target_id": pl.Utf8, S_AT: pl.get_index_type(), T_AT: pl.get_index_type()}


@dataclass(frozen=True)
class Matches:
    """The outcome of matching one mapping. A record that exists comes with its row in the projected frame of
    its side: ``s_at`` in the source's, ``t_at`` in the target's."""

    linked: pl.DataFrame
    """source_id, target_id, s_at, t_at of stored links whose records both still exist."""
    merged: pl.DataFrame
    """source_id, target_id, s_at, t_at of new links made by a merge rule in this run."""
    ambiguous: pl.DataFrame
    """source_id, candidates (list of target ids)."""
    unmatched: pl.DataFrame
    """source_id, s_at of records to create."""
    moved: pl.DataFrame
    """source_id, target_id, s_at, t_at, from_source_id: stored links moving from a source record that is gone
    to a new one that matches its target record by a merge rule."""
    source_gone: pl.DataFrame
    """source_id, target_id, target_exists, t_at of links whose source record is gone (the target may be too)."""
    target_gone: pl.DataFrame
    """source_id, target_id, s_at of links whose target record is gone while the source record exists."""
    rules: pl.DataFrame = field(default_factory=lambda: pl.DataFrame(schema={"source_id": pl.Utf8, "rule": pl.Int64}))
    """source_id, rule: the position of the merge combination each pair of ``merged`` and ``moved`` matched by."""


def match_records(
    source: pl.DataFrame,
    target: pl.DataFrame,
    links: pl.DataFrame,
    mapping: Mapping,
    apart: pl.DataFrame | None = None,
    alone: pl.DataFrame | None = None,
    target_entity: Entity | None = None,
) -> Matches:
    """Link ``source`` to ``target`` rows (projected frames) for one mapping, given its stored ``links``.

    ``apart`` (source_id, target_id) lists pairs that never match by a merge rule; ``alone`` (source_id) the
    source records that match nothing by one. Sides projected ``raw`` hold their merge keys raw: the keys of the
    records no link holds are made with ``target_entity``'s fields (:func:`reconcile.engine.project.merge_keys`).
    """
    links = links.select(pl.col("source_id").cast(pl.Utf8), pl.col("target_id").cast(pl.Utf8))
    # Each link's records by their rows in the projected sides (null: gone): the ids are looked up once here,
    # and the diff, the creates, the deletes and the labels take the rows by position.
    located = links.join(
        source.select(pl.col(ID).alias("source_id")).with_row_index(S_AT),
        on="source_id",
        how="left",
        maintain_order="left",
    ).join(
        target.select(pl.col(ID).alias("target_id")).with_row_index(T_AT),
        on="target_id",
        how="left",
        maintain_order="left",
    )
    has_source, has_target = pl.col(S_AT).is_not_null(), pl.col(T_AT).is_not_null()
    linked = located.filter(has_source & has_target)
    source_gone = located.filter(~has_source).select("source_id", "target_id", has_target.alias("target_exists"), T_AT)
    target_gone = located.filter(has_source & ~has_target).select("source_id", "target_id", S_AT)
    # Target records whose source record is gone may be claimed by a new source record (a changed key),
    # provided no other link holds them (a target shared by several links of a many-to-one mapping).
    orphans = source_gone.filter(pl.col("target_exists") & pl.lit(not mapping.many_to_one)).filter(
        pl.len().over("target_id") == 1
    )
    orphans = orphans.filter(~marked(target.height, linked.get_column(T_AT)).gather(orphans.get_column(T_AT))).select(
        "target_id", pl.col("source_id").alias("from_source_id")
    )

    # Only the ids and merge keys take part from here: filtering the whole projected frames would copy them.
    places = [(c, k) for c, combination in enumerate(mapping.merge) for k in range(len(combination))]
    key_columns = [name for c, k in places for name in (merge_col(c, k), raw_merge_col(c, k)) if name in source.columns]
    source = source.select(pl.col(ID), *key_columns).with_row_index(S_AT)
    target = target.select(pl.col(ID), *key_columns).with_row_index(T_AT)
    open_sources = source.filter(~marked(source.height, located.get_column(S_AT)))
    lone = open_sources.clear()
    if alone is not None and not alone.is_empty():
        lone = open_sources.filter(pl.col(ID).is_in(alone["source_id"].implode()))
        open_sources = open_sources.filter(~pl.col(ID).is_in(alone["source_id"].implode()))
    held = located if orphans.is_empty() else located.join(orphans, on="target_id", how="anti")
    open_targets = target if mapping.many_to_one else target.filter(~marked(target.height, held.get_column(T_AT)))
    if target_entity is not None:
        open_sources, open_targets = (merge_keys(side, mapping, target_entity) for side in (open_sources, open_targets))
    # A lookup's record serves every source record that names it: only a source's own candidates can clash.
    clash = pl.col(S_AT).is_duplicated()
    if not mapping.many_to_one:
        clash = clash | pl.col(T_AT).is_duplicated()
    merged_parts: list[pl.DataFrame] = []
    ambiguous_parts: list[pl.DataFrame] = []
    for c, combination in enumerate(mapping.merge):
        keys = [merge_col(c, k) for k in range(len(combination))]
        left = open_sources.select(pl.col(ID).alias("source_id"), S_AT, *keys).drop_nulls(keys)
        right = open_targets.select(pl.col(ID).alias("target_id"), T_AT, *keys).drop_nulls(keys)
        if left.is_empty() or right.is_empty():
            continue
        pairs = left.join(right, on=keys, how="inner").select(*_PAIR)
        if apart is not None and not apart.is_empty():
            pairs = pairs.join(apart.select("source_id", "target_id"), on=["source_id", "target_id"], how="anti")
        pairs = pairs.with_columns(clash.alias("clash"))
        merged = pairs.filter(~pl.col("clash")).select(*_PAIR, pl.lit(c, dtype=pl.Int64).alias("rule"))
        ambiguous = (
            pairs.filter("clash")
            .group_by("source_id", maintain_order=True)
            .agg(pl.col("target_id").sort().alias("candidates"))
        )
        merged_parts.append(merged)
        ambiguous_parts.append(ambiguous)
        done = marked(source.height, pairs.get_column(S_AT))  # merged or ambiguous
        open_sources = open_sources.filter(~done.gather(open_sources.get_column(S_AT)))
        if not mapping.many_to_one:
            linked_now = marked(target.height, merged.get_column(T_AT))
            open_targets = open_targets.filter(~linked_now.gather(open_targets.get_column(T_AT)))

    claimed = pl.concat(merged_parts) if merged_parts else pl.DataFrame(schema={**_PAIR, "rule": pl.Int64})
    moved = claimed.join(orphans, on="target_id", how="inner").drop("rule")
    merged_all = claimed.join(orphans, on="target_id", how="anti").drop("rule")
    source_gone = source_gone.join(moved.select("target_id"), on="target_id", how="anti")
    ambiguous_all = (
        pl.concat(ambiguous_parts)
        if ambiguous_parts
        else pl.DataFrame(schema={"source_id": pl.Utf8, "candidates": pl.List(pl.Utf8)})
    )
    return Matches(
        linked=linked,
        merged=merged_all,
        ambiguous=ambiguous_all,
        unmatched=pl.concat([open_sources.select(ID, S_AT), lone.select(ID, S_AT)]).rename({ID: "source_id"}),
        moved=moved,
        source_gone=source_gone,
        target_gone=target_gone,
        rules=claimed.select("source_id", "rule"),
    )


def marked(height: int, rows: pl.Series) -> pl.Series:
    """A mask of ``height`` rows (a side's records), true at the positions ``rows`` holds (nulls ignored)."""
    return pl.repeat(False, height, dtype=pl.Boolean, eager=True).scatter(rows.drop_nulls(), True)
