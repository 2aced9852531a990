"""Proposed links: pairs a merge rule matched in a mapping that asks a person first (``merge_mode = "review"``).

A proposed pair is not linked, diffed or created: it is one ``link`` row showing both records side by side
(each synced property with ``old`` the target's value and ``new`` the source's) and naming the merge keys
that matched. Once a person says they are the same record, the link is stored and the next plan syncs the pair
as any other.
"""

from __future__ import annotations

import polars as pl

from reconcile.engine.project import ID, merge_col, prop_col
from reconcile.engine.rows import change, plan_rows, row_lists
from reconcile.model.flow import Mapping
from reconcile.model.plan import CHANGE_DTYPE, Action, Reason


def rule_words(mapping: Mapping, rule: int) -> str:
    """The merge keys of combination ``rule``, as a person reads them: ``email = Email and code = Code``."""
    return " and ".join(f"{s} = {t}" for s, t in mapping.merge[rule])


def plan_links(
    mapping: Mapping,
    proposed: pl.DataFrame,
    rules: pl.DataFrame,
    source: pl.DataFrame,
    target: pl.DataFrame,
    s_labels: pl.DataFrame,
) -> pl.DataFrame:
    """A ``link`` row per proposed pair (source_id, target_id); ``rules`` says which combination matched each
    source record; ``source`` and ``target`` are the projected sides."""
    synced = [p.target for p in mapping.properties if p.source is not None]
    columns = [prop_col(t) for t in synced]
    sides = proposed.join(
        source.select(pl.col(ID).alias("source_id"), *[pl.col(c).alias(f"s{c}") for c in columns]),
        on="source_id",
        how="left",
    ).join(
        target.select(pl.col(ID).alias("target_id"), *[pl.col(c).alias(f"t{c}") for c in columns]),
        on="target_id",
        how="left",
    )
    nothing = pl.lit(None, dtype=pl.Utf8)
    if synced:
        names = [f"change:{t}" for t in synced]
        entries = sides.select(
            change(pl.lit(t), pl.lit(t), pl.col(f"t{c}"), pl.col(f"s{c}"), nothing).alias(name)
            for t, c, name in zip(synced, columns, names, strict=True)
        )
        sides = sides.with_columns(row_lists(entries, names).alias("entries"))
        shown = pl.col("entries").list.filter(
            pl.element().struct.field("old").is_not_null() | pl.element().struct.field("new").is_not_null()
        )
    else:
        shown = pl.lit([], dtype=pl.List(CHANGE_DTYPE))
    keys = pl.lit(None, dtype=pl.Utf8)
    for rule in range(len(mapping.merge)):
        value = pl.concat_str(
            [pl.col(f"k{merge_col(rule, k)}") for k in range(len(mapping.merge[rule]))], separator=" / "
        )
        words = pl.lit(f"matches by the merge rule {rule_words(mapping, rule)}: ") + pl.lit('"') + value + pl.lit('"')
        keys = pl.when(pl.col("rule") == rule).then(words).otherwise(keys)
    key_columns = [merge_col(r, k) for r in range(len(mapping.merge)) for k in range(len(mapping.merge[r]))]
    frame = (
        sides.join(rules, on="source_id", how="left")
        .join(
            source.select(pl.col(ID).alias("source_id"), *[pl.col(c).alias(f"k{c}") for c in key_columns]),
            on="source_id",
            how="left",
        )
        .join(s_labels, on="source_id", how="left")
        .with_columns(shown.alias("changes"), pl.col("s_label").alias("label"))
    )
    return plan_rows(frame, mapping.name, Action.LINK, Reason.MERGE_PROPOSED, keys)
