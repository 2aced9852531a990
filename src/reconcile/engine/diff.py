"""The three-way diff of linked records, property by property.

With S the source now, T the target now and B the shadow (both sides' value after the last sync):
S = T is in sync; T = B means the source changed (write the target); S = B means the target changed (write
the source); both changed and differ is a conflict, settled by the mapping's policy. Without a shadow (a
fresh merge) a blank side is filled from the other, and otherwise the flow direction wins unless the policy
says otherwise. A blank never overwrites a filled value unless ``blank_overwrites``; a field read-only on the
side to be written is not written there (where both sides changed, or at a fresh merge, the other side's
value is taken instead, so that the pair agrees); a property that does not sync back (fixed values,
``direction = "forward"``) never writes the source. A difference left unwritten so is a ``skip`` with the
reason why (:data:`SKIP_REASONS`): never in sync. Values compare by meaning: canonical text, and emails
without regard to case.
"""

from __future__ import annotations

from enum import StrEnum

import polars as pl

from reconcile.engine.match import S_AT, T_AT
from reconcile.engine.normalize import comparable, compare_type, folded
from reconcile.engine.project import ID, MODIFIED, UNLINKED_PREFIX, canonical_value, prop_col, raw_col
from reconcile.model.catalogue import Entity
from reconcile.model.flow import Mapping, Property
from reconcile.model.plan import Reason
from reconcile.model.shadows import kept_col, value_col


class Decision(StrEnum):
    """What the diff decides for one property of one linked pair."""

    IN_SYNC = "in_sync"
    TO_TARGET = "to_target"
    TO_SOURCE = "to_source"
    CONFLICT = "conflict"
    SKIP = "skip"
    """A difference left unwritten on purpose (a blank that may not overwrite, a read-only side)."""


SKIP_REASONS = (Reason.FORWARD_ONLY, Reason.BLANK_KEPT, Reason.READ_ONLY_FIELD, Reason.UNLINKED_REFERENCE)
"""Why a difference is left unwritten: the reasons of a ``skip``."""


DECISION_SCHEMA = {
    "source_id": pl.Utf8,
    "target_id": pl.Utf8,
    S_AT: pl.get_index_type(),
    "property": pl.Utf8,
    "s": pl.Utf8,
    "t": pl.Utf8,
    "b": pl.Utf8,
    "decision": pl.Utf8,
    "reason": pl.Utf8,
}


def diff_pairs(
    pairs: pl.DataFrame,
    source: pl.DataFrame,
    target: pl.DataFrame,
    shadows: pl.DataFrame | pl.LazyFrame,
    mapping: Mapping,
    source_entity: Entity,
    target_entity: Entity,
) -> tuple[pl.DataFrame, pl.LazyFrame]:
    """Decide, for every linked pair and synced property, what to do: (differences, agreed).

    ``pairs`` holds source_id, target_id, and where the matching found them, the records' rows in the sides
    (s_at, t_at: :class:`reconcile.engine.match.Matches`); ``source`` and ``target`` are the projected sides,
    raw or canonical (:func:`reconcile.engine.project.project_source`); ``shadows`` the wide shadows of this
    mapping (source_id and a value and a kept column per property, :func:`reconcile.model.shadows.of_mapping`).
    The differences are the (pair, property) decisions that are not in sync (:data:`DECISION_SCHEMA`); what is
    in sync is the wide frame ``agreed`` (source_id, and per property its value and ``kept`` true where both
    sides agree, null where they do not): the next shadows, lazy, since only a run that writes records them.

    Most pairs of a night are in sync. Values both sides hold raw with one type compare as they are (equal
    values are equal canonical values); only the pairs where one may differ are made canonical, joined to
    their shadows and stacked a row per property.
    """
    props = [p for p in mapping.properties if p.source is not None]
    if pairs.is_empty() or not props:
        return pl.DataFrame(schema=DECISION_SCHEMA), pl.LazyFrame(schema={"source_id": pl.Utf8})
    columns = [prop_col(p.target) for p in props]
    facts = _property_facts(mapping, source_entity, target_entity)
    own, other = _side(source, "s", "source_id", props), _side(target, "t", "target_id", props)
    schema = {**own.schema, **other.schema}
    # Where each pair's records are on each side: their values are gathered a chunk of pairs at a time, so that
    # the values of every pair side by side are never held at once.
    located = _located(pairs, own, other)
    raw = {side: [raw_col(p.target) in frame.schema for p in props] for side, frame in (("s", source), ("t", target))}

    def canon(side: str, index: int) -> pl.Expr:
        """A side's value of a property, canonical."""
        name = f"{side}{columns[index]}"
        if raw[side][index]:
            return canonical_value(pl.col(name), schema[name], props[index], target_entity)
        return pl.col(name)

    folds = facts["folded"].to_list()
    trims = facts["spaced"].to_list()

    def key(value: pl.Expr, fold: bool, trim: bool) -> pl.Expr:
        """The comparison key: the value without the spaces around it (only plain text keeps them), folded
        where the property compares without regard to case (an email)."""
        return folded(value) if fold else comparable(value) if trim else value

    def exact(index: int) -> pl.Expr:
        fold, trim = folds[index], trims[index]
        return key(canon("s", index), fold, trim).eq_missing(key(canon("t", index), fold, trim))

    # First what surely agrees: equal raw values of one type, and canonical values where a side is not raw.
    quick = []
    for index, column in enumerate(columns):
        s_type, t_type = schema[f"s{column}"], schema[f"t{column}"]
        if raw["s"][index] and raw["t"][index] and _plain_type(s_type) and s_type == t_type:
            same = pl.col(f"s{column}").eq_missing(pl.col(f"t{column}"))
        else:
            same = exact(index)
        quick.append(same)
    # Then the pairs where something may differ, made canonical and compared as the diff compares them.
    made = [exact(i).alias(f"same{c}") for i, c in enumerate(columns)]
    made += [canon(side, i).alias(f"{side}{c}") for i, c in enumerate(columns) for side in ("s", "t") if raw[side][i]]
    keys = [
        key(pl.col(f"{side}{c}"), fold, trim).alias(f"{side}k{c}")
        for c, fold, trim in zip(columns, folds, trims, strict=True)
        for side in ("s", "t")
    ]
    chunks = []
    for start in range(0, max(located.height, 1), DIFF_CHUNK):
        part = located.slice(start, DIFF_CHUNK)
        wide = pl.concat(
            [
                part.select("source_id", "target_id", S_AT),
                own.drop("source_id")[part.get_column(S_AT)],
                other.drop("target_id")[part.get_column(T_AT)],
            ],
            how="horizontal",
        )
        chunks.append(wide.filter(~pl.all_horizontal(quick)).with_columns(made).with_columns(keys))
    noisy = pl.concat(chunks)
    # The shadows of those pairs alone: a lazy frame (the state's file) reads only their rows.
    bases = (
        shadows.lazy()
        .select(
            "source_id",
            *[pl.col(value_col(p.target)).alias(f"b{c}") for p, c in zip(props, columns, strict=True)],
            *[pl.col(kept_col(p.target)).alias(f"h{c}") for p, c in zip(props, columns, strict=True)],
        )
        .filter(pl.col("source_id").is_in(noisy.get_column("source_id").implode()))
        .collect()
    )
    noisy = noisy.join(bases, on="source_id", how="left")
    # Made from the pairs and the source as they are, not from ``wide``: a plan keeps no copy of every value.
    agreed = (
        located.lazy()
        .select("source_id", S_AT)
        .join(own.lazy().drop("source_id").with_row_index(S_AT), on=S_AT, how="inner")
        .join(noisy.lazy().select("source_id", *[f"same{c}" for c in columns]), on="source_id", how="left")
        .select(
            "source_id",
            *[canon("s", i).cast(pl.Utf8).alias(value_col(p.target)) for i, p in enumerate(props)],
            *[
                pl.when(pl.col(f"same{c}").fill_null(True)).then(True).otherwise(None).alias(kept_col(p.target))
                for p, c in zip(props, columns, strict=True)
            ],
        )
    )
    slices = []
    for prop, column, fold, trim, (target_writable, source_writable, syncs_back) in zip(
        props,
        columns,
        folds,
        trims,
        facts.select("target_writable", "source_writable", "syncs_back").rows(),
        strict=True,
    ):
        base = pl.col(f"b{column}").cast(pl.Utf8)
        kept = pl.col(f"h{column}").fill_null(False)
        values = [pl.col(f"s{column}"), pl.col(f"t{column}"), base]
        slices.append(
            noisy.filter(~pl.col(f"same{column}")).select(
                "source_id",
                "target_id",
                S_AT,
                "s_modified",
                "t_modified",
                kept.alias("has_shadow"),
                pl.lit(prop.target).alias("property"),
                *(v.cast(pl.Utf8).alias(name) for v, name in zip(values, ("s", "t", "b"), strict=True)),
                pl.col(f"sk{column}").alias("sk"),
                pl.col(f"tk{column}").alias("tk"),
                key(base, fold, trim).alias("bk"),
                pl.lit(target_writable).alias("target_writable"),
                pl.lit(source_writable).alias("source_writable"),
                pl.lit(syncs_back).alias("syncs_back"),
            )
        )
    frame = pl.concat(slices)

    s, t = pl.col("s"), pl.col("t")
    sk, tk, bk = pl.col("sk"), pl.col("tk"), pl.col("bk")
    newest_source = pl.col("s_modified") >= pl.col("t_modified")
    newest_known = pl.col("s_modified").is_not_null() & pl.col("t_modified").is_not_null()
    policy = pl.lit(mapping.conflict)
    # Both changed (or a fresh merge that differs): the policy settles it.
    settled_dir = (
        pl.when(policy == "source")
        .then(pl.lit(Decision.TO_TARGET))
        .when(policy == "target")
        .then(pl.lit(Decision.TO_SOURCE))
        .when((policy == "newest") & newest_known & newest_source)
        .then(pl.lit(Decision.TO_TARGET))
        .when((policy == "newest") & newest_known)
        .then(pl.lit(Decision.TO_SOURCE))
        .when((policy == "newest") & ~pl.col("has_shadow"))
        .then(pl.lit(Decision.TO_TARGET))
        .otherwise(pl.lit(Decision.CONFLICT))
    )
    settled_reason = (
        pl.when(~pl.col("has_shadow") & (policy == "manual"))
        .then(pl.lit(Reason.FIRST_SYNC_DIFFERS.value))
        .when(~pl.col("has_shadow") & ~(newest_known & (policy == "newest")))
        .then(pl.lit(Reason.FRESH_MERGE.value))
        .when(policy == "source")
        .then(pl.lit(Reason.CONFLICT_SOURCE_WINS.value))
        .when(policy == "target")
        .then(pl.lit(Reason.CONFLICT_TARGET_WINS.value))
        .when((policy == "newest") & newest_known & newest_source)
        .then(pl.lit(Reason.CONFLICT_NEWEST_SOURCE.value))
        .when((policy == "newest") & newest_known)
        .then(pl.lit(Reason.CONFLICT_NEWEST_TARGET.value))
        .otherwise(pl.lit(Reason.CONFLICT_MANUAL.value))
    )
    fresh = ~pl.col("has_shadow")
    # A fresh merge has no base to tell a blanked value from one never filled: a blank side is filled from
    # the other (what the next run, with a shadow, would do too), whatever the policy says.
    raw_dir = (
        pl.when(sk.eq_missing(tk))
        .then(pl.lit(Decision.IN_SYNC))
        .when(fresh & s.is_null())
        .then(pl.lit(Decision.TO_SOURCE))
        .when(fresh & t.is_null())
        .then(pl.lit(Decision.TO_TARGET))
        .when(fresh)
        .then(settled_dir)
        .when(tk.eq_missing(bk))
        .then(pl.lit(Decision.TO_TARGET))
        .when(sk.eq_missing(bk))
        .then(pl.lit(Decision.TO_SOURCE))
        .otherwise(settled_dir)
    )
    raw_reason = (
        pl.when(sk.eq_missing(tk))
        .then(pl.lit(Reason.IN_SYNC.value))
        .when(fresh & (s.is_null() | t.is_null()))
        .then(pl.lit(Reason.FRESH_MERGE.value))
        .when(fresh)
        .then(settled_reason)
        .when(tk.eq_missing(bk))
        .then(pl.lit(Reason.SOURCE_CHANGED.value))
        .when(sk.eq_missing(bk))
        .then(pl.lit(Reason.TARGET_CHANGED.value))
        .otherwise(settled_reason)
    )
    frame = frame.with_columns(raw_dir.alias("decision"), raw_reason.alias("reason"))
    blank_ok = pl.lit(mapping.blank_overwrites)
    unlinked_ref = t.str.starts_with(UNLINKED_PREFIX).fill_null(False)
    may_target = pl.col("target_writable")
    may_source = pl.col("source_writable") & ~unlinked_ref
    blank_source = s.is_null() & t.is_not_null() & ~blank_ok
    blank_target = t.is_null() & s.is_not_null() & ~blank_ok
    blocked_target = ~may_target | blank_source
    blocked_source = ~may_source | blank_target
    # A contest (no shadow yet, or both sides changed) whose winner cannot be written (read-only there, or a
    # blank that may not overwrite) is settled the other way when that side may take a filled value: the
    # pair then agrees. Left alone, it would flip at the next run once a write elsewhere in the record has
    # made the loser the newest.
    contested = fresh | (~tk.eq_missing(bk) & ~sk.eq_missing(bk))
    decided = pl.col("decision")
    decision = (
        pl.when((decided == Decision.TO_TARGET) & blocked_target & contested & may_source & t.is_not_null())
        .then(pl.lit(Decision.TO_SOURCE))
        .when((decided == Decision.TO_SOURCE) & blocked_source & contested & may_target & s.is_not_null())
        .then(pl.lit(Decision.TO_TARGET))
        .when((decided == Decision.TO_TARGET) & blocked_target)
        .then(pl.lit(Decision.SKIP))
        .when((decided == Decision.TO_SOURCE) & blocked_source)
        .then(pl.lit(Decision.SKIP))
        # A conflict nobody may settle by writing either side is no conflict to review.
        .when((decided == Decision.CONFLICT) & ~may_target & ~may_source)
        .then(pl.lit(Decision.SKIP))
        .otherwise(decided)
    )
    redirected = (decision != decided) & (decision != Decision.SKIP)
    turned = decided.is_in([Decision.TO_TARGET, Decision.TO_SOURCE]) & redirected
    reason = (
        pl.when(turned & fresh)
        .then(pl.lit(Reason.FRESH_MERGE.value))
        .when(turned)
        .then(pl.lit(Reason.CONFLICT_KEPT.value))
        .otherwise(pl.col("reason"))
    )
    frame = frame.with_columns(decided.alias("raw"), decision.alias("decision"), reason.alias("reason"))
    skip = pl.col("decision") == Decision.SKIP
    if frame.select(skip.any()).item():
        # Why each difference is left unwritten; worked out only where one is (most plans have none).
        to_source = pl.col("raw") == Decision.TO_SOURCE
        skipped = (
            pl.when(to_source & unlinked_ref)
            .then(pl.lit(Reason.UNLINKED_REFERENCE.value))
            .when(to_source & ~pl.col("syncs_back"))
            .then(pl.lit(Reason.FORWARD_ONLY.value))
            .when(
                (to_source & pl.col("source_writable") & blank_target)
                | ((pl.col("raw") == Decision.TO_TARGET) & may_target)
            )
            .then(pl.lit(Reason.BLANK_KEPT.value))
            .otherwise(pl.lit(Reason.READ_ONLY_FIELD.value))
        )
        frame = frame.with_columns(pl.when(skip).then(skipped).otherwise(pl.col("reason")).alias("reason"))
    return frame.select(list(DECISION_SCHEMA)), agreed


DIFF_CHUNK = 250_000
"""Pairs whose values are compared at once: a million pairs of 15 properties are four chunks, not one frame."""


def _located(pairs: pl.DataFrame, own: pl.DataFrame, other: pl.DataFrame) -> pl.DataFrame:
    """source_id, target_id, s_at, t_at of the pairs: their rows as the matching found them, else looked up."""
    if S_AT in pairs.columns and T_AT in pairs.columns:
        return pairs.select("source_id", "target_id", S_AT, T_AT)
    return (
        pairs.select("source_id", "target_id")
        .join(own.select("source_id").with_row_index(S_AT), on="source_id", how="inner", maintain_order="left")
        .join(other.select("target_id").with_row_index(T_AT), on="target_id", how="left", maintain_order="left")
    )


def _side(frame: pl.DataFrame, side: str, key: str, props: list[Property]) -> pl.DataFrame:
    """A projected side's id, modified time and property values, each named by ``side`` and its column."""
    values = []
    for p in props:
        name = raw_col(p.target) if raw_col(p.target) in frame.schema else prop_col(p.target)
        values.append(pl.col(name).alias(f"{side}{prop_col(p.target)}"))
    return frame.select(pl.col(ID).alias(key), pl.col(MODIFIED).alias(f"{side}_modified"), *values)


def _plain_type(dtype: pl.DataType) -> bool:
    """Whether equal values of ``dtype`` are surely equal canonical values (one scalar a value; no nesting)."""
    return dtype.is_numeric() or dtype in (pl.Utf8, pl.Boolean, pl.Date) or isinstance(dtype, pl.Datetime)


def _property_facts(mapping: Mapping, source_entity: Entity, target_entity: Entity) -> pl.DataFrame:
    """Per property: may the target field be written, may the source field be written back, does the property
    sync back at all, and does it compare without regard to case (an email)."""
    rows = []
    for p in mapping.properties:
        if p.source is None:
            continue
        target_field = target_entity.field_named(p.target)
        source_field = source_entity.field_named(p.source)
        target_writable = not target_entity.read_only and not (
            target_field is not None and (target_field.read_only or target_field.create_only)
        )
        source_writable = (
            p.syncs_back
            and not source_entity.read_only
            and not (source_field is not None and (source_field.read_only or source_field.create_only))
        )
        rows.append(
            {
                "property": p.target,
                "target_writable": target_writable,
                "source_writable": source_writable,
                "syncs_back": p.syncs_back,
                "folded": not p.ref and target_field is not None and target_field.format == "email",
                # Canonical plain text keeps the spaces around it (it is written so); every other value
                # is trimmed already (:func:`reconcile.engine.normalize.canonical`).
                "spaced": not p.ref
                and compare_type(target_field, p.type) == "string"
                and (target_field is None or target_field.format is None),
            }
        )
    return pl.DataFrame(
        rows,
        schema={
            "property": pl.Utf8,
            "target_writable": pl.Boolean,
            "source_writable": pl.Boolean,
            "syncs_back": pl.Boolean,
            "folded": pl.Boolean,
            "spaced": pl.Boolean,
        },
    )
