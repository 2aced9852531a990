"""Build the plan of one flow: project, match, diff, creates, deletes, references and order.

Everything here is pure: snapshots, links and shadows come in as frames, the plan goes out as a frame
(:data:`reconcile.model.plan.PLAN_SCHEMA`) together with the bookkeeping the apply step records (new links
made by merge rules, values both sides agree on).
"""

from __future__ import annotations

from collections.abc import Callable
from collections.abc import Mapping as MappingType
from dataclasses import dataclass

import polars as pl

from reconcile.engine.diff import Decision, diff_pairs
from reconcile.engine.match import match_records
from reconcile.engine.order import mapping_order
from reconcile.engine.project import ID, LABEL, project_source, project_target, prop_col
from reconcile.engine.refs import check_children, check_parents
from reconcile.model.catalogue import Catalogue, Entity
from reconcile.model.flow import Flow, Mapping
from reconcile.model.plan import CHANGE_DTYPE, PLAN_SCHEMA, Action, Reason, empty_plan

LINK_SCHEMA = {"mapping": pl.Utf8, "source_id": pl.Utf8, "target_id": pl.Utf8}
SHADOW_SCHEMA = {"mapping": pl.Utf8, "source_id": pl.Utf8, "property": pl.Utf8, "value": pl.Utf8}

Validator = Callable[[pl.DataFrame, Mapping, Entity, Entity], pl.DataFrame]
"""Checks the rows a mapping's plan would write; returns the plan with invalid rows turned into rejects."""


@dataclass(frozen=True)
class FlowPlan:
    """A flow's plan and what applying it records besides the writes."""

    rows: pl.DataFrame
    merges: pl.DataFrame
    """mapping, source_id, target_id: links made by merge rules in this run."""
    agreed: pl.DataFrame
    """mapping, source_id, property, value: values both sides hold now (the next shadows)."""


def row_ids(mapping: str, action: str) -> pl.Expr:
    """Stable, readable row ids: mapping, action, source id and target id."""
    return pl.concat_str(
        [
            pl.lit(f"{mapping}|{action}|"),
            pl.col("source_id").fill_null(""),
            pl.lit("|"),
            pl.col("target_id").fill_null(""),
        ]
    ).alias("row_id")


def _rows(
    frame: pl.DataFrame,
    mapping: str,
    action: Action,
    reason: Reason | pl.Expr,
    detail: pl.Expr | None = None,
    both_gone: pl.Expr | None = None,
) -> pl.DataFrame:
    """Shape ``frame`` (source_id, target_id, label, changes, optionally reason/detail) as plan rows."""
    reason_expr = reason if isinstance(reason, pl.Expr) else pl.lit(reason.value)
    columns = {
        "row_id": row_ids(mapping, action.value),
        "mapping": pl.lit(mapping),
        "action": pl.lit(action.value),
        "reason": reason_expr,
        "detail": detail if detail is not None else pl.lit(None, dtype=pl.Utf8),
        "source_id": pl.col("source_id"),
        "target_id": pl.col("target_id"),
        "label": pl.col("label"),
        "changes": pl.col("changes") if "changes" in frame.columns else pl.lit([], dtype=pl.List(CHANGE_DTYPE)),
        "parents": pl.lit([], dtype=pl.List(pl.Utf8)),
        "both_gone": both_gone if both_gone is not None else pl.lit(False),
    }
    return frame.select([expr.cast(PLAN_SCHEMA[name]).alias(name) for name, expr in columns.items()])


def _labels(source: pl.DataFrame, target: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    return (
        source.select(pl.col(ID).alias("source_id"), pl.col(LABEL).alias("s_label")),
        target.select(pl.col(ID).alias("target_id"), pl.col(LABEL).alias("t_label")),
    )


def plan_mapping(
    mapping: Mapping,
    source_entity: Entity,
    target_entity: Entity,
    source: pl.DataFrame,
    target: pl.DataFrame,
    links: pl.DataFrame,
    shadows: pl.DataFrame,
) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """Plan one mapping from its projected sides: (plan rows, merges, agreed values)."""
    matches = match_records(source, target, links, mapping)
    s_labels, t_labels = _labels(source, target)
    pairs = pl.concat([matches.linked, matches.merged])
    decisions = diff_pairs(pairs, source, target, shadows, mapping, source_entity, target_entity)
    source_paths = {p.target: p.source for p in mapping.properties if p.source}
    path_frame = pl.DataFrame(
        {"property": list(source_paths), "source_path": list(source_paths.values())},
        schema={"property": pl.Utf8, "source_path": pl.Utf8},
    )
    decisions = decisions.join(path_frame, on="property", how="left")
    parts: list[pl.DataFrame] = []

    # Updates and conflicts: one row per pair and direction.
    change = {
        Decision.TO_TARGET: (pl.col("property"), pl.col("t"), pl.col("s"), Action.UPDATE_TARGET),
        Decision.TO_SOURCE: (pl.col("source_path"), pl.col("s"), pl.col("t"), Action.UPDATE_SOURCE),
        Decision.CONFLICT: (pl.col("property"), pl.col("t"), pl.col("s"), Action.CONFLICT),
    }
    for decision, (field, old, new, action) in change.items():
        chosen = decisions.filter(pl.col("decision") == decision)
        if chosen.is_empty():
            continue
        grouped = (
            chosen.with_columns(
                pl.struct(
                    pl.col("property"),
                    field.alias("field"),
                    old.alias("old"),
                    new.alias("new"),
                    pl.col("b").alias("base"),
                ).alias("change")
            )
            .group_by("source_id", "target_id", maintain_order=True)
            .agg(pl.col("change").alias("changes"), pl.col("reason").first())
            .join(s_labels, on="source_id", how="left")
            .with_columns(pl.col("s_label").alias("label"))
        )
        parts.append(_rows(grouped, mapping.name, action, pl.col("reason")))

    written = decisions.filter(pl.col("decision").is_in([Decision.TO_TARGET, Decision.TO_SOURCE, Decision.CONFLICT]))
    quiet = pairs.join(written.select("source_id").unique(), on="source_id", how="anti")
    if not quiet.is_empty():
        quiet = quiet.join(s_labels, on="source_id", how="left").with_columns(pl.col("s_label").alias("label"))
        parts.append(_rows(quiet, mapping.name, Action.IN_SYNC, Reason.IN_SYNC))
    agreed = decisions.filter(pl.col("decision") == Decision.IN_SYNC).select(
        pl.lit(mapping.name).alias("mapping"), "source_id", "property", pl.col("s").alias("value")
    )

    # Creates: what matched nothing.
    if not matches.unmatched.is_empty():
        parts.append(_creates(mapping, target_entity, source, matches.unmatched, s_labels))

    if not matches.ambiguous.is_empty():
        amb = matches.ambiguous.join(s_labels, on="source_id", how="left").with_columns(
            pl.col("s_label").alias("label"), pl.lit(None, dtype=pl.Utf8).alias("target_id")
        )
        detail = pl.lit("candidates in the target: ") + pl.col("candidates").list.join(", ")
        parts.append(_rows(amb, mapping.name, Action.AMBIGUOUS, Reason.AMBIGUOUS_MERGE, detail))

    # Deletes: a linked record gone on one side.
    if not matches.source_gone.is_empty():
        gone = matches.source_gone.join(t_labels, on="target_id", how="left").with_columns(
            pl.col("t_label").alias("label")
        )
        detail = (
            pl.when(pl.col("target_exists"))
            .then(pl.lit(_delete_words(mapping, "target")))
            .otherwise(pl.lit("gone on both sides: the link is removed"))
        )
        parts.append(
            _rows(gone, mapping.name, Action.DELETE, Reason.SOURCE_DELETED, detail, both_gone=~pl.col("target_exists"))
        )
    if not matches.target_gone.is_empty():
        gone = matches.target_gone.join(s_labels, on="source_id", how="left").with_columns(
            pl.col("s_label").alias("label")
        )
        parts.append(
            _rows(
                gone,
                mapping.name,
                Action.DELETE,
                Reason.TARGET_DELETED,
                pl.lit(_delete_words(mapping, "source")),
            )
        )
    rows = pl.concat(parts) if parts else empty_plan()
    merges = matches.merged.select(pl.lit(mapping.name).alias("mapping"), "source_id", "target_id")
    return rows, merges, agreed


def _delete_words(mapping: Mapping, side: str) -> str:
    if mapping.delete == "propagate":
        return f"deleted in the {side} too (delete = propagate)"
    if mapping.delete == "unlink":
        return "the link is removed; the other record stays (delete = unlink)"
    return "reported only (delete = report)"


def _creates(
    mapping: Mapping,
    target_entity: Entity,
    source: pl.DataFrame,
    unmatched: pl.DataFrame,
    s_labels: pl.DataFrame,
) -> pl.DataFrame:
    """Create rows carrying every value the target would get."""
    base = unmatched.join(s_labels, on="source_id", how="left").with_columns(
        pl.col("s_label").alias("label"), pl.lit(None, dtype=pl.Utf8).alias("target_id")
    )
    if target_entity.read_only:
        reason = Reason.READ_ONLY_ENTITY if mapping.merge else Reason.NO_MERGE_RULE_READ_ONLY
        detail = f"{target_entity.name} is read-only" + (
            "" if mapping.merge else " and nothing links the record to one"
        )
        return _rows(base, mapping.name, Action.REJECT, reason, pl.lit(detail))
    wanted = source.join(unmatched, left_on=ID, right_on="source_id", how="semi")
    slices: list[pl.DataFrame] = []
    for position, p in enumerate(mapping.properties):
        field = target_entity.field_named(p.target)
        if field is not None and field.read_only:
            continue
        value = pl.lit(p.value, dtype=pl.Utf8) if p.is_fixed else pl.col(prop_col(p.target))
        slices.append(
            wanted.select(
                pl.col(ID).alias("source_id"),
                pl.lit(position).alias("position"),
                pl.struct(
                    pl.lit(p.target).alias("property"),
                    pl.lit(p.target).alias("field"),
                    pl.lit(None, dtype=pl.Utf8).alias("old"),
                    value.cast(pl.Utf8).alias("new"),
                    pl.lit(None, dtype=pl.Utf8).alias("base"),
                ).alias("change"),
            ).filter(pl.col("change").struct.field("new").is_not_null())
        )
    if slices:
        # One slice per property, stacked and gathered per record: the changes keep the mapping's order.
        values = (
            pl.concat(slices)
            .sort("source_id", "position")
            .group_by("source_id", maintain_order=True)
            .agg(pl.col("change").alias("changes"))
        )
        base = base.join(values, on="source_id", how="left").with_columns(
            pl.col("changes").fill_null(pl.lit([], dtype=pl.List(CHANGE_DTYPE)))
        )
    return _rows(base, mapping.name, Action.CREATE, Reason.NEW_IN_SOURCE)


def build_plan(
    flow: Flow,
    catalogues: MappingType[str, Catalogue],
    snapshots: MappingType[tuple[str, str], pl.DataFrame],
    links: pl.DataFrame,
    shadows: pl.DataFrame,
    validate: Validator | None = None,
) -> FlowPlan:
    """The plan of a whole flow.

    ``snapshots`` maps (system, entity name) to a snapshot; ``links`` has mapping, source_id, target_id and
    ``shadows`` mapping, source_id, property, value. Mappings are planned parents first, so a child that
    refers to a record which is neither linked nor being created is rejected, naming the parent.
    """
    source_cat, target_cat = catalogues[flow.source], catalogues[flow.target]
    all_rows: list[pl.DataFrame] = []
    all_merges: list[pl.DataFrame] = []
    all_agreed: list[pl.DataFrame] = []
    # Per mapping: source ids that are (or will be) linked, and the create row id of each.
    linked_ids: dict[str, pl.DataFrame] = {}
    creatable: dict[str, pl.DataFrame] = {}
    rejected: dict[str, pl.DataFrame] = {}
    mapping_links: dict[str, pl.DataFrame] = {}
    for mapping in mapping_order(flow.mappings):
        source_entity = source_cat.entity(mapping.source)
        target_entity = target_cat.entity(mapping.target)
        if source_entity is None or target_entity is None:
            continue  # the flow checker refuses such a flow before a plan is built
        own_links = links.filter(pl.col("mapping") == mapping.name).select("source_id", "target_id")
        source_frame = project_source(
            snapshots[(flow.source, source_entity.name)], mapping, source_entity, target_entity
        )
        target_frame = project_target(
            snapshots[(flow.target, target_entity.name)], mapping, target_entity, mapping_links
        )
        own_shadows = shadows.filter(pl.col("mapping") == mapping.name).select("source_id", "property", "value")
        rows, merges, agreed = plan_mapping(
            mapping, source_entity, target_entity, source_frame, target_frame, own_links, own_shadows
        )
        if validate is not None:
            rows = validate(rows, mapping, source_entity, target_entity)
        rows = check_parents(rows, mapping, linked_ids, creatable, rejected)
        mapping_links[mapping.name] = pl.concat([own_links, merges.select("source_id", "target_id")])
        # A parent counts as linked only while both its records exist: a child must not be written pointing
        # at a record that is gone (or about to be deleted because its counterpart is).
        live = mapping_links[mapping.name].filter(
            pl.col("source_id").is_in(source_frame[ID].implode())
            & pl.col("target_id").is_in(target_frame[ID].implode())
        )
        linked_ids[mapping.name] = live.select("source_id")
        creatable[mapping.name] = rows.filter(pl.col("action") == Action.CREATE.value).select("source_id", "row_id")
        rejected[mapping.name] = rows.filter(pl.col("action") == Action.REJECT.value).select("source_id")
        all_rows.append(rows)
        all_merges.append(merges)
        all_agreed.append(agreed)
    plan = pl.concat(all_rows) if all_rows else empty_plan()
    plan = check_children(plan, flow, target_cat)
    return FlowPlan(
        rows=plan,
        merges=pl.concat(all_merges) if all_merges else pl.DataFrame(schema=LINK_SCHEMA),
        agreed=pl.concat(all_agreed) if all_agreed else pl.DataFrame(schema=SHADOW_SCHEMA),
    )
