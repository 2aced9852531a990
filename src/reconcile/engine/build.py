"""Build the plan of one flow: project, match, diff, creates, deletes, references and order.

Everything here is pure: snapshots, links and shadows come in as frames, the plan goes out as a frame
(:data:`reconcile.model.plan.PLAN_SCHEMA`) together with the bookkeeping the apply step records (new links
made by merge rules, values both sides agree on).
"""

from __future__ import annotations

from collections.abc import Callable
from collections.abc import Mapping as MappingType
from dataclasses import dataclass, field
from functools import cached_property

import polars as pl

from reconcile.engine.creates import check_unique, plan_creates
from reconcile.engine.decided import alone, apart, no_decisions, refused_pairs, remember
from reconcile.engine.deletes import plan_deletes
from reconcile.engine.diff import Decision, diff_pairs
from reconcile.engine.fingerprint import fingerprints
from reconcile.engine.labels import reference_labels
from reconcile.engine.match import S_AT, T_AT, marked, match_records
from reconcile.engine.order import mapping_order
from reconcile.engine.project import ID, LABEL, canonical_values, project_source, project_target
from reconcile.engine.propose import plan_links
from reconcile.engine.refs import check_children, check_parents
from reconcile.engine.rows import change, labelled, plan_rows
from reconcile.model import shadows as shadow_frames
from reconcile.model.catalogue import Catalogue, Entity
from reconcile.model.flow import Flow, Mapping
from reconcile.model.plan import Action, Reason, empty_plan

LINK_SCHEMA = {"mapping": pl.Utf8, "source_id": pl.Utf8, "target_id": pl.Utf8}
SHADOW_SCHEMA = shadow_frames.LONG_SCHEMA
"""Shadows held long (tests write them so; the engine widens them)."""
MOVE_SCHEMA = {"mapping": pl.Utf8, "from_source_id": pl.Utf8, "source_id": pl.Utf8, "target_id": pl.Utf8}
UNLINKED_SCHEMA = {"mapping": pl.Utf8, "source_id": pl.Utf8}

Validator = Callable[[pl.DataFrame, Mapping, Entity, Entity], pl.DataFrame]
"""Checks the rows a mapping's plan would write; returns the plan with invalid rows turned into rejects."""


@dataclass(frozen=True)
class FlowPlan:
    """A flow's plan and what applying it records besides the writes."""

    rows: pl.DataFrame
    merges: pl.DataFrame
    """mapping, source_id, target_id: links made by merge rules in this run."""
    agreeing: pl.LazyFrame
    """What :attr:`agreed` is made of, not yet made: only a run that writes records it."""
    moves: pl.DataFrame = field(default_factory=lambda: pl.DataFrame(schema=MOVE_SCHEMA))
    """mapping, from_source_id, source_id, target_id: stored links that move to a new source record (the
    ``move_link`` rows). Applying one removes the link of ``from_source_id``, adds the link of ``source_id`` to
    the same ``target_id`` and carries the shadows of ``from_source_id`` over to ``source_id``; it is recorded
    before any write, as merges are, and before the agreed values (which are keyed by the new source id)."""

    @cached_property
    def agreed(self) -> pl.DataFrame:
        """Values both sides hold now (the next shadows), wide (:mod:`reconcile.model.shadows`): mapping,
        source_id, and per property its value and ``kept`` true where the pair agrees on it."""
        return self.agreeing.collect()


def _labels(source: pl.DataFrame, target: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    return (
        source.select(pl.col(ID).alias("source_id"), pl.col(LABEL).alias("s_label")),
        target.select(pl.col(ID).alias("target_id"), pl.col(LABEL).alias("t_label")),
    )


def _carry_shadows(shadows: pl.LazyFrame, moved: pl.DataFrame) -> pl.LazyFrame:
    """The (wide) shadows with those of each moved link's old source id under its new one; whatever the new
    source id held before is dropped, as the state drops it when the link moves."""
    if moved.is_empty():
        return shadows
    renamed = shadows.join(moved.lazy().select("source_id"), on="source_id", how="anti").join(
        moved.lazy().select(pl.col("from_source_id").alias("source_id"), pl.col("source_id").alias("moved_to")),
        on="source_id",
        how="left",
    )
    return renamed.with_columns(pl.coalesce("moved_to", "source_id").alias("source_id")).drop("moved_to")


def plan_mapping(
    mapping: Mapping,
    source_entity: Entity,
    target_entity: Entity,
    source: pl.DataFrame,
    target: pl.DataFrame,
    links: pl.DataFrame,
    shadows: pl.DataFrame | pl.LazyFrame,
    unlinked: pl.DataFrame | None = None,
    apart: pl.DataFrame | None = None,
    alone: pl.DataFrame | None = None,
) -> tuple[pl.DataFrame, pl.DataFrame, pl.LazyFrame]:
    """Plan one mapping from its projected sides (raw or canonical): (plan rows, merges, agreed values).

    ``unlinked`` holds the source ids unlinked on purpose, which are never created again; ``apart`` the pairs
    a person said are not the same record and ``alone`` the source records a person said match none (see
    :func:`reconcile.engine.match.match_records`).
    """
    matches = match_records(source, target, links, mapping, apart, alone, target_entity)
    props = [p.target for p in mapping.properties if p.source is not None]
    own_shadows = shadow_frames.of_mapping(shadow_frames.widen(shadows.lazy()), mapping.name, props)
    s_labels, t_labels = _labels(source, target)
    s_label, t_label = source.get_column(LABEL), target.get_column(LABEL)
    moved = matches.moved.select("source_id", "target_id", S_AT, T_AT)
    # A mapping that asks first proposes what its merge rules match: no link, no sync, no create until then.
    reviewing = mapping.merge_mode == "review"
    merged = matches.merged.clear() if reviewing else matches.merged
    pairs = pl.concat([matches.linked, merged, moved])
    decisions, agreed_wide = diff_pairs(
        pairs, source, target, _carry_shadows(own_shadows, matches.moved), mapping, source_entity, target_entity
    )
    source_paths = {p.target: p.source for p in mapping.properties if p.source}
    path_frame = pl.DataFrame(
        {"property": list(source_paths), "source_path": list(source_paths.values())},
        schema={"property": pl.Utf8, "source_path": pl.Utf8},
    )
    decisions = decisions.join(path_frame, on="property", how="left")
    parts: list[pl.DataFrame] = []

    # Updates, conflicts and differences left unwritten: one row per pair and direction.
    shapes = {
        Decision.TO_TARGET: (pl.col("property"), pl.col("t"), pl.col("s"), Action.UPDATE_TARGET),
        Decision.TO_SOURCE: (pl.col("source_path"), pl.col("s"), pl.col("t"), Action.UPDATE_SOURCE),
        Decision.CONFLICT: (pl.col("property"), pl.col("t"), pl.col("s"), Action.CONFLICT),
        Decision.SKIP: (pl.col("property"), pl.col("t"), pl.col("s"), Action.DIFFERS),
    }
    unsettled = decisions
    for decision, (where, old, new, action) in shapes.items():
        chosen = unsettled.filter(pl.col("decision") == decision)
        if chosen.is_empty():
            continue
        gathered = [pl.col("change").alias("changes"), pl.col("reason").first()]
        if decision == Decision.SKIP:
            words = pl.col("property") + " (" + pl.col("reason").replace_strict(_SKIP_WORDS, default="") + ")"
            gathered.append(words.str.join(", ").alias("skipped"))
        grouped = labelled(
            chosen.with_columns(change(pl.col("property"), where, old, new, pl.col("b")))
            .group_by("source_id", "target_id", maintain_order=True)
            .agg(*gathered, pl.col(S_AT).first()),
            s_label,
            S_AT,
        )
        detail = pl.lit("not written: ") + pl.col("skipped") if decision == Decision.SKIP else None
        parts.append(plan_rows(grouped, mapping.name, action, pl.col("reason"), detail))

    if not matches.moved.is_empty():
        shifted = labelled(matches.moved, s_label, S_AT)
        detail = (
            pl.lit("the link moves from source record ")
            + pl.col("from_source_id")
            + pl.lit(", gone from the source, to ")
            + pl.col("source_id")
        )
        parts.append(plan_rows(shifted, mapping.name, Action.MOVE_LINK, Reason.LINK_MOVED, detail))

    noisy = marked(source.height, pl.concat([unsettled.get_column(S_AT), moved.get_column(S_AT)]))
    quiet = pairs.filter(~noisy.gather(pairs.get_column(S_AT)))
    if not quiet.is_empty():
        parts.append(plan_rows(labelled(quiet, s_label, S_AT), mapping.name, Action.IN_SYNC, Reason.IN_SYNC))
    agreed = agreed_wide.select(pl.lit(mapping.name).alias("mapping"), pl.all())

    # Creates: what matched nothing.
    if not matches.unmatched.is_empty():
        parts.append(plan_creates(mapping, target_entity, source, matches.unmatched, s_label, unlinked))

    if not matches.ambiguous.is_empty():
        parts.append(_ambiguous_rows(mapping, matches.ambiguous, s_labels, t_labels))
    if reviewing and not matches.merged.is_empty():
        proposed = matches.merged
        sides = [
            canonical_values(side[proposed.get_column(at)], mapping, target_entity)
            for side, at in ((source, S_AT), (target, T_AT))
        ]
        parts.append(plan_links(mapping, proposed, matches.rules, sides[0], sides[1], s_labels))

    # Deletes: a linked record gone on one side.
    parts += plan_deletes(
        mapping,
        target_entity,
        matches.source_gone,
        matches.target_gone,
        source,
        target,
        own_shadows,
        s_label,
        t_label,
    )
    rows = pl.concat(parts) if parts else empty_plan()
    merges = merged.select(pl.lit(mapping.name).alias("mapping"), "source_id", "target_id")
    return rows, merges, agreed


def _ambiguous_rows(
    mapping: Mapping, ambiguous: pl.DataFrame, s_labels: pl.DataFrame, t_labels: pl.DataFrame
) -> pl.DataFrame:
    """An ``ambiguous`` row per source record, its candidates listed with the labels a person knows them by."""
    listed = (
        ambiguous.explode("candidates")
        .rename({"candidates": "target_id"})
        .join(t_labels, on="target_id", how="left")
        .group_by("source_id", maintain_order=True)
        .agg(
            pl.struct("target_id", pl.col("t_label").alias("label")).alias("candidates"),
            pl.col("target_id").alias("ids"),
        )
    )
    amb = listed.join(s_labels, on="source_id", how="left").with_columns(
        pl.col("s_label").alias("label"), pl.lit(None, dtype=pl.Utf8).alias("target_id")
    )
    detail = pl.lit("candidates in the target: ") + pl.col("ids").list.join(", ")
    return plan_rows(amb, mapping.name, Action.AMBIGUOUS, Reason.AMBIGUOUS_MERGE, detail)


_SKIP_WORDS = {
    Reason.FORWARD_ONLY.value: "only flows forward",
    Reason.BLANK_KEPT.value: "a blank does not overwrite",
    Reason.READ_ONLY_FIELD.value: "cannot be written there",
    Reason.UNLINKED_REFERENCE.value: "refers to an unlinked record",
}
"""A few words per reason a difference is left unwritten, for the ``detail`` of a ``differs`` row."""


def build_plan(
    flow: Flow,
    catalogues: MappingType[str, Catalogue],
    snapshots: MappingType[tuple[str, str], pl.DataFrame],
    links: pl.DataFrame,
    shadows: pl.DataFrame | pl.LazyFrame,
    validate: Validator | None = None,
    unlinked: pl.DataFrame | None = None,
    decided: pl.DataFrame | None = None,
) -> FlowPlan:
    """The plan of a whole flow.

    ``snapshots`` maps (system, entity name) to a snapshot; ``links`` has mapping, source_id, target_id and
    ``shadows`` the shadows, wide (:mod:`reconcile.model.shadows`) or long (mapping, source_id, property,
    value); a lazy frame of them is read only for the pairs that need them (those that differ, those gone).
    ``unlinked`` (mapping, source_id) lists the source records unlinked on purpose (``delete = "unlink"`` of a
    record deleted in the target): none is created again.
    ``decided`` (:data:`reconcile.model.plan.DECIDED_SCHEMA`) holds the decisions remembered from earlier
    reviews (see :mod:`reconcile.engine.decided`). Mappings are planned parents first, so a child that refers
    to a record which is neither linked nor being created is rejected, naming the parent.
    """
    source_cat, target_cat = catalogues[flow.source], catalogues[flow.target]
    wide_shadows = shadow_frames.widen(shadows.lazy())
    # A label may name a referenced record (a line its order): each side looks it up in its own system.
    source_snapshots = {name: frame for (system, name), frame in snapshots.items() if system == flow.source}
    target_snapshots = {name: frame for (system, name), frame in snapshots.items() if system == flow.target}
    all_rows: list[pl.DataFrame] = []
    all_merges: list[pl.DataFrame] = []
    all_agreed: list[pl.LazyFrame] = []
    all_moves: list[pl.DataFrame] = []
    # Per mapping: source ids that are (or will be) linked, and the create row id of each.
    linked_ids: dict[str, pl.DataFrame] = {}
    creatable: dict[str, pl.DataFrame] = {}
    rejected: dict[str, pl.DataFrame] = {}
    mapping_links: dict[str, pl.DataFrame] = {}
    # Only the links and creates of a mapping others refer to are looked up, by its children.
    referenced = {parent for mapping in flow.mappings for parent in mapping.refs}
    for mapping in mapping_order(flow.mappings):
        source_entity = source_cat.entity(mapping.source)
        target_entity = target_cat.entity(mapping.target)
        if source_entity is None or target_entity is None:
            continue  # the flow checker refuses such a flow before a plan is built
        own_links = links.filter(pl.col("mapping") == mapping.name).select("source_id", "target_id")
        source_frame = project_source(
            snapshots[(flow.source, source_entity.name)],
            mapping,
            source_entity,
            target_entity,
            reference_labels(source_entity, source_cat, source_snapshots),
            raw=True,
        )
        target_snapshot = snapshots[(flow.target, target_entity.name)]
        target_frame = project_target(
            target_snapshot,
            mapping,
            target_entity,
            mapping_links,
            reference_labels(target_entity, target_cat, target_snapshots),
            raw=True,
        )
        own_shadows = shadow_frames.of_mapping(
            wide_shadows, mapping.name, [p.target for p in mapping.properties if p.source is not None]
        )
        own_unlinked = (
            unlinked.filter(pl.col("mapping") == mapping.name).select("source_id") if unlinked is not None else None
        )
        own_decided = decided.filter(pl.col("mapping") == mapping.name) if decided is not None else no_decisions()
        rows, merges, agreed = plan_mapping(
            mapping,
            source_entity,
            target_entity,
            source_frame,
            target_frame,
            own_links,
            own_shadows,
            own_unlinked,
            apart(own_decided, mapping.name),
            alone(own_decided, mapping.name),
        )
        if validate is not None:
            rows = validate(rows, mapping, source_entity, target_entity)
        rows = check_unique(rows, mapping, target_entity, target_snapshot)
        rows = check_parents(rows, mapping, linked_ids, creatable, rejected)
        if not own_decided.is_empty():
            rows = remember(rows.with_columns(fingerprints(rows)), own_decided)
            # A pair whose changes a person refused is not linked behind their back: no link, no shadows.
            refused = refused_pairs(merges, rows)
            merges = merges.join(refused, on=["source_id", "target_id"], how="anti")
            agreed = agreed.join(refused.lazy(), on="source_id", how="anti")
        moves = (
            rows.filter(pl.col("action") == Action.MOVE_LINK.value)
            .select("source_id", "target_id")
            .join(own_links.rename({"source_id": "from_source_id"}), on="target_id", how="inner")
        )
        kept = own_links if moves.is_empty() else own_links.join(moves.select("target_id"), on="target_id", how="anti")
        mapping_links[mapping.name] = pl.concat(
            [kept, merges.select("source_id", "target_id"), moves.select("source_id", "target_id")]
        )
        if mapping.name in referenced:
            # A parent counts as linked only while both its records exist: a child must not be written pointing
            # at a record that is gone (or about to be deleted because its counterpart is).
            live = mapping_links[mapping.name].filter(
                pl.col("source_id").is_in(source_frame[ID].implode())
                & pl.col("target_id").is_in(target_frame[ID].implode())
            )
            linked_ids[mapping.name] = live.select("source_id")
            # A create a person refused is not made: what refers to it waits for nothing.
            refused_create = (pl.col("action") == Action.CREATE.value) & pl.col("remembered").is_not_null()
            creatable[mapping.name] = rows.filter((pl.col("action") == Action.CREATE.value) & ~refused_create).select(
                "source_id", "row_id"
            )
            rejected[mapping.name] = rows.filter((pl.col("action") == Action.REJECT.value) | refused_create).select(
                "source_id", "structural"
            )
        all_rows.append(rows)
        all_merges.append(merges)
        all_agreed.append(agreed)
        all_moves.append(moves.select(pl.lit(mapping.name).alias("mapping"), *MOVE_SCHEMA.keys() - {"mapping"}))
    plan = pl.concat(all_rows) if all_rows else empty_plan()
    plan = check_children(plan, flow, target_cat)
    # Fingerprints of the final rows: a row that changed above is settled by nothing remembered of it before.
    plan = plan.with_columns(fingerprints(plan), pl.lit(None, dtype=pl.Utf8).alias("remembered"))
    if decided is not None:
        plan = remember(plan, decided)
    return FlowPlan(
        rows=plan,
        merges=pl.concat(all_merges) if all_merges else pl.DataFrame(schema=LINK_SCHEMA),
        agreeing=pl.concat(all_agreed, how="diagonal_relaxed") if all_agreed else shadow_frames.empty().lazy(),
        moves=pl.concat(all_moves).select(list(MOVE_SCHEMA)) if all_moves else pl.DataFrame(schema=MOVE_SCHEMA),
    )
