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

from reconcile.engine.project import ID, merge_col
from reconcile.model.flow import Mapping

_PAIR = {"source_id": pl.Utf8, "target_id": pl.Utf8}


@dataclass(frozen=True)
class Matches:
    """The outcome of matching one mapping."""

    linked: pl.DataFrame
    """source_id, target_id of stored links whose records both still exist."""
    merged: pl.DataFrame
    """source_id, target_id of new links made by a merge rule in this run."""
    ambiguous: pl.DataFrame
    """source_id, candidates (list of target ids)."""
    unmatched: pl.DataFrame
    """source_id of records to create."""
    moved: pl.DataFrame
    """source_id, target_id, from_source_id: stored links moving from a source record that is gone to a new one
    that matches its target record by a merge rule."""
    source_gone: pl.DataFrame
    """source_id, target_id of links whose source record is gone (target may be gone too: ``target_exists``)."""
    target_gone: pl.DataFrame
    """source_id, target_id of links whose target record is gone while the source record exists."""
    rules: pl.DataFrame = field(default_factory=lambda: pl.DataFrame(schema={"source_id": pl.Utf8, "rule": pl.Int64}))
    """source_id, rule: the position of the merge combination each pair of ``merged`` and ``moved`` matched by."""


def match_records(
    source: pl.DataFrame,
    target: pl.DataFrame,
    links: pl.DataFrame,
    mapping: Mapping,
    apart: pl.DataFrame | None = None,
    alone: pl.DataFrame | None = None,
) -> Matches:
    """Link ``source`` to ``target`` rows (projected frames) for one mapping, given its stored ``links``.

    ``apart`` (source_id, target_id) lists pairs that never match by a merge rule; ``alone`` (source_id) the
    source records that match nothing by one.
    """
    links = links.select(pl.col("source_id").cast(pl.Utf8), pl.col("target_id").cast(pl.Utf8))
    source_ids = source.select(pl.col(ID).alias("source_id"))
    target_ids = target.select(pl.col(ID).alias("target_id"))
    flagged = links.with_columns(
        pl.col("source_id").is_in(source_ids["source_id"].implode()).alias("has_source"),
        pl.col("target_id").is_in(target_ids["target_id"].implode()).alias("has_target"),
    )
    linked = flagged.filter(pl.col("has_source") & pl.col("has_target")).select("source_id", "target_id")
    source_gone = flagged.filter(~pl.col("has_source")).select(
        "source_id", "target_id", pl.col("has_target").alias("target_exists")
    )
    target_gone = flagged.filter(pl.col("has_source") & ~pl.col("has_target")).select("source_id", "target_id")
    # Target records whose source record is gone may be claimed by a new source record (a changed key),
    # provided no other link holds them (a target shared by several links of a many-to-one mapping).
    orphans = (
        source_gone.filter(pl.col("target_exists") & pl.lit(not mapping.many_to_one))
        .select("target_id", pl.col("source_id").alias("from_source_id"))
        .filter(pl.len().over("target_id") == 1)
        .join(linked.select("target_id"), on="target_id", how="anti")
    )

    # Only the ids and merge keys take part from here: filtering the whole projected frames would copy them.
    key_columns = [merge_col(c, k) for c, combination in enumerate(mapping.merge) for k in range(len(combination))]
    source = source.select(ID, *key_columns)
    target = target.select(ID, *key_columns)
    open_sources = source.filter(~pl.col(ID).is_in(links["source_id"].implode()))
    lone = open_sources.clear()
    if alone is not None and not alone.is_empty():
        lone = open_sources.filter(pl.col(ID).is_in(alone["source_id"].implode()))
        open_sources = open_sources.filter(~pl.col(ID).is_in(alone["source_id"].implode()))
    held = links if orphans.is_empty() else links.join(orphans, on="target_id", how="anti")
    open_targets = target if mapping.many_to_one else target.filter(~pl.col(ID).is_in(held["target_id"].implode()))
    # A lookup's record serves every source record that names it: only a source's own candidates can clash.
    clash = pl.col("per_source") > 1 if mapping.many_to_one else (pl.col("per_source") > 1) | (pl.col("per_target") > 1)
    merged_parts: list[pl.DataFrame] = []
    ambiguous_parts: list[pl.DataFrame] = []
    for c, combination in enumerate(mapping.merge):
        keys = [merge_col(c, k) for k in range(len(combination))]
        left = open_sources.select(pl.col(ID).alias("source_id"), *keys).drop_nulls(keys)
        right = open_targets.select(pl.col(ID).alias("target_id"), *keys).drop_nulls(keys)
        if left.is_empty() or right.is_empty():
            continue
        pairs = left.join(right, on=keys, how="inner").select("source_id", "target_id")
        if apart is not None and not apart.is_empty():
            pairs = pairs.join(apart.select("source_id", "target_id"), on=["source_id", "target_id"], how="anti")
        pairs = pairs.with_columns(
            pl.len().over("source_id").alias("per_source"),
            pl.len().over("target_id").alias("per_target"),
        )
        merged = pairs.filter(~clash).select("source_id", "target_id", pl.lit(c, dtype=pl.Int64).alias("rule"))
        ambiguous = (
            pairs.filter(clash)
            .group_by("source_id", maintain_order=True)
            .agg(pl.col("target_id").sort().alias("candidates"))
        )
        merged_parts.append(merged)
        ambiguous_parts.append(ambiguous)
        done = pl.concat([merged["source_id"], ambiguous["source_id"]])
        open_sources = open_sources.filter(~pl.col(ID).is_in(done.implode()))
        if not mapping.many_to_one:
            open_targets = open_targets.filter(~pl.col(ID).is_in(merged["target_id"].implode()))

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
        unmatched=pl.concat([open_sources, lone]).select(pl.col(ID).alias("source_id")),
        moved=moved,
        source_gone=source_gone,
        target_gone=target_gone,
        rules=claimed.select("source_id", "rule"),
    )
