"""Find the records that a run which died had already created, so that nothing is created twice.

A pending journal entry is a create that was sent, or about to be, when the run stopped (or whose answer
was lost: a timeout, a 5xx after the system had committed). The next run looks for it in the fresh target
snapshot, first by the identity stamp the create carried where its system has a field for one
(:func:`find_stamped`), then by the values it wrote (:func:`find_created`).

Pending creates and target records are paired one to one. Creates that wrote the same values (two orders
of one customer for one amount) are told apart by their lines where they have any: each is paired first with a
record whose lines hold what its lines were sent with (``prints``). What still cannot be told apart is paired in
order: the first pending create with the newest such record, the second with the next, and so on. A create
left without a record was not made and is made again; a record left without a create is not ours to link.
"""

from __future__ import annotations

import polars as pl

from reconcile.engine.normalize import comparable
from reconcile.engine.project import ID, prop_col

PENDING_SCHEMA = {"source_id": pl.Utf8, "property": pl.Utf8, "value": pl.Utf8}
"""Pending creates in long form: one row per value written, in the order the creates were journaled."""
STAMP_SCHEMA = {"source_id": pl.Utf8, "stamp": pl.Utf8}
"""The identity stamp each pending create was sent with."""
PAIR_SCHEMA = {"source_id": pl.Utf8, "target_id": pl.Utf8}
PRINT_SCHEMA = {"id": pl.Utf8, "print": pl.Utf8}
"""What a record's embedded lines hold, as one text: a pending create's (id = source id) or a record's (target id)."""
_HIT_COLUMNS = ("source_id", "target_id", "s_order", "t_order", "sig", "needed")


def find_stamped(stamps: pl.DataFrame, carried: pl.DataFrame, linked_targets: pl.Series) -> pl.DataFrame:
    """source_id, target_id of the pending creates whose stamp an unlinked target record carries.

    ``stamps`` has source_id, stamp; ``carried`` the target's records as target_id, stamp (in snapshot order).
    """
    open_targets = carried.with_row_index("t_order").filter(
        pl.col("stamp").is_not_null() & ~pl.col("target_id").is_in(linked_targets.implode())
    )
    hits = (
        stamps.with_row_index("s_order")
        .join(open_targets, on="stamp", how="inner")
        .select("source_id", "target_id", "s_order", "t_order", pl.col("stamp").alias("sig"), pl.lit(1).alias("needed"))
    )
    return pair_one_to_one(hits)


def find_created(
    pending: pl.DataFrame,
    target: pl.DataFrame,
    linked_targets: pl.Series,
    prints: tuple[pl.DataFrame, pl.DataFrame] | None = None,
) -> pl.DataFrame:
    """source_id, target_id for each pending create (long: source_id, property, value) found in ``target``.

    ``target`` is the projected target of the mapping, in snapshot order; ``linked_targets`` the target ids
    already linked. A record is a create's when it holds every value the create wrote. ``prints`` (pending
    creates', records') tell creates with the same values apart by what their lines hold (:data:`PRINT_SCHEMA`).
    """
    columns = [c for c in target.columns if c.startswith("p:")]
    # Only synced properties can be compared: a fixed value set on create is in the payload but not projected.
    compared = [c[len(prop_col("")) :] for c in columns]
    # Values compare without the spaces around them: the target may have trimmed what the create wrote.
    wanted = pending.filter(pl.col("value").is_not_null() & pl.col("property").is_in(compared)).with_columns(
        comparable(pl.col("value"))
    )
    if wanted.is_empty():
        return pl.DataFrame(schema=PAIR_SCHEMA)
    open_targets = target.with_row_index("t_order").filter(~pl.col(ID).is_in(linked_targets.implode()))
    t_long = (
        open_targets.select(pl.col(ID).alias("target_id"), "t_order", *columns)
        .unpivot(index=["target_id", "t_order"], on=columns, variable_name="property", value_name="value")
        .with_columns(pl.col("property").str.slice(len(prop_col(""))), comparable(pl.col("value")))
        .drop_nulls("value")
    )
    # Creates that wrote the same values share a signature, and with it their candidates.
    signatures = (
        wanted.with_row_index("position")
        .group_by("source_id")
        .agg(
            pl.col("position").min().alias("s_order"),
            pl.len().alias("needed"),
            pl.concat_str("property", pl.lit("="), "value").sort().str.join("\x1f").alias("sig"),
        )
    )
    hits = (
        wanted.join(t_long, on=["property", "value"], how="inner")
        .group_by("source_id", "target_id", "t_order")
        .agg(pl.len().alias("hits"))
        .join(signatures, on="source_id")
        .filter(pl.col("hits") == pl.col("needed"))
        .select(*_HIT_COLUMNS)
    )
    if prints is None:
        return pair_one_to_one(hits)
    return _pair_by_prints(hits, *prints)


def _pair_by_prints(hits: pl.DataFrame, pending_prints: pl.DataFrame, target_prints: pl.DataFrame) -> pl.DataFrame:
    """Pairs whose lines agree first, each print a signature of its own; then the rest, as without prints."""
    printed = hits.join(pending_prints.rename({"id": "source_id", "print": "s_print"}), on="source_id").join(
        target_prints.rename({"id": "target_id", "print": "t_print"}), on="target_id"
    )
    agree = printed.filter(pl.col("s_print") == pl.col("t_print")).with_columns(
        (pl.col("sig") + pl.lit("\x1d") + pl.col("s_print")).alias("sig")
    )
    first = pair_one_to_one(agree.select(*_HIT_COLUMNS))
    rest = hits.filter(
        ~pl.col("source_id").is_in(first["source_id"].implode())
        & ~pl.col("target_id").is_in(first["target_id"].implode())
    )
    return pl.concat([first, pair_one_to_one(rest)])


def pair_one_to_one(hits: pl.DataFrame) -> pl.DataFrame:
    """Pair sources and targets one to one from their candidate pairs.

    ``hits`` has source_id, target_id, s_order (the create's place in the journal), t_order (the record's
    place in the snapshot), sig (sources with one signature share their candidates) and needed (how many
    values the signature holds). Within a signature the k-th source takes the k-th newest target. A target
    that several signatures claim goes to the signature with the fewest candidates left (then the most
    values), and the others try again with what is left.
    """
    pairs: list[pl.DataFrame] = []
    while not hits.is_empty():
        ranked = hits.with_columns(
            pl.col("s_order").rank("dense").over("sig").alias("s_rank"),
            pl.col("t_order").rank("dense", descending=True).over("sig").alias("t_rank"),
            pl.col("target_id").n_unique().over("sig").alias("choice"),
        ).filter(pl.col("s_rank") == pl.col("t_rank"))
        claims = ranked.sort(["choice", "needed", "sig"], descending=[False, True, False]).unique(
            "target_id", keep="first", maintain_order=True
        )
        if claims.is_empty():  # cannot happen: a signature's first source always has its first target
            break
        pairs.append(claims.select("source_id", "target_id"))
        hits = hits.filter(
            ~pl.col("source_id").is_in(claims["source_id"].implode())
            & ~pl.col("target_id").is_in(claims["target_id"].implode())
        )
    if not pairs:
        return pl.DataFrame(schema=PAIR_SCHEMA)
    return pl.concat(pairs).select(pl.col("source_id").cast(pl.Utf8), pl.col("target_id").cast(pl.Utf8))
