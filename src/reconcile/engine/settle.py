"""Conflicts a person settled: each chosen property becomes the update the engine would plan for that side.

A reviewer keeps, per property of a ``conflict`` row, the value of the source (written to the target) or of
the target (written back to the source). The result is ``update_target`` and ``update_source`` rows with the
ids the engine gives such rows (``mapping|update_target|source_id|target_id``), reason ``conflict_manual``,
one row per conflict row and direction holding the chosen properties, so that they are applied through the
same path as any other update.
"""

from __future__ import annotations

from collections.abc import Mapping as MappingType

import polars as pl

from reconcile.engine.fingerprint import fingerprints
from reconcile.engine.project import UNLINKED_PREFIX
from reconcile.engine.rows import plan_rows
from reconcile.model.catalogue import Catalogue, Entity
from reconcile.model.flow import Flow, Mapping
from reconcile.model.plan import CHANGE_DTYPE, PLAN_SCHEMA, Action, Reason, empty_plan

SIDES = ("source", "target")
"""A choice's ``side``: whose value is kept."""

_GONE = (Reason.SOURCE_DELETED_TARGET_EDITED.value, Reason.TARGET_DELETED_SOURCE_EDITED.value)
"""Conflicts of a record deleted on one side: decided as deletes, not by keeping a value."""


def conflict_sides(
    mapping: Mapping, property_: str, source: Entity | None = None, target: Entity | None = None
) -> tuple[bool, bool]:
    """(may keep the source's value, may keep the target's value) of ``property_`` (a target field) of
    ``mapping``: whether the value can be written to the target, and back to the source.

    The entities, when given, say what their catalogue knows (read-only entities and fields); without them only
    the flow is asked (a fixed value or a ``direction = "forward"`` property never writes the source).
    """
    prop = mapping.property_for(property_)
    if prop is None or prop.source is None:
        return (False, False)

    def writable(entity: Entity | None, name: str) -> bool:
        if entity is None:
            return True
        found = entity.field_named(name)
        return not entity.read_only and not (found is not None and (found.read_only or found.create_only))

    return (writable(target, prop.target), prop.syncs_back and writable(source, prop.source))


def settle_conflicts(
    rows: pl.DataFrame,
    choices: pl.DataFrame,
    flow: Flow,
    catalogues: MappingType[str, Catalogue] | None = None,
) -> pl.DataFrame:
    """The updates that carry out ``choices`` (row_id, property, side) on the ``conflict`` rows of ``rows``.

    Raises ``ValueError`` naming the row and property of a choice that cannot be carried out: a row that is not a
    conflict of a linked pair, a property the row does not hold, a side that is neither ``source`` nor
    ``target``, or a value that cannot be written to that side (:func:`conflict_sides`; with ``catalogues``, what
    they say too).
    """
    if choices.is_empty():
        return empty_plan()
    conflicts = rows.filter(pl.col("row_id").is_in(choices["row_id"].implode()))
    by_id = {r["row_id"]: r for r in conflicts.iter_rows(named=True)}
    chosen: dict[tuple[str, str], list[dict[str, str | None]]] = {}
    for row_id, property_, side in choices.select("row_id", "property", "side").iter_rows():
        row = by_id.get(row_id)
        where = f"row {row_id}, property {property_}"
        if row is None or row["action"] != Action.CONFLICT.value or row["reason"] in _GONE:
            raise ValueError(f"{where}: not a conflict between two records that both exist")
        if side not in SIDES:
            raise ValueError(f"{where}: side {side!r} is neither source nor target")
        found = next((c for c in row["changes"] if c["property"] == property_), None)
        mapping = flow.mapping(row["mapping"])
        prop = mapping.property_for(property_)
        if found is None or prop is None or prop.source is None:
            raise ValueError(f"{where}: the conflict holds no such property")
        source, target = _entities(flow, mapping, catalogues)
        may_source, may_target = conflict_sides(mapping, property_, source, target)
        if side == "target" and (not may_target or (found["old"] or "").startswith(UNLINKED_PREFIX)):
            raise ValueError(f"{where}: the target's value cannot be written back to the source")
        if side == "source" and not may_source:
            raise ValueError(f"{where}: the source's value cannot be written to the target")
        if side == "source":
            entry = {"property": property_, "field": property_, "old": found["old"], "new": found["new"]}
        else:
            entry = {"property": property_, "field": prop.source, "old": found["new"], "new": found["old"]}
        chosen.setdefault((row_id, side), []).append(entry | {"base": found["base"]})
    parts = []
    for (row_id, side), changes in chosen.items():
        row = by_id[row_id]
        frame = pl.DataFrame(
            [{"source_id": row["source_id"], "target_id": row["target_id"], "label": row["label"], "changes": changes}],
            schema={"source_id": pl.Utf8, "target_id": pl.Utf8, "label": pl.Utf8, "changes": pl.List(CHANGE_DTYPE)},
        )
        action = Action.UPDATE_TARGET if side == "source" else Action.UPDATE_SOURCE
        parts.append(plan_rows(frame, row["mapping"], action, Reason.CONFLICT_MANUAL))
    settled = pl.concat(parts).select(list(PLAN_SCHEMA))
    return settled.with_columns(fingerprints(settled))


def _entities(
    flow: Flow, mapping: Mapping, catalogues: MappingType[str, Catalogue] | None
) -> tuple[Entity | None, Entity | None]:
    if catalogues is None:
        return None, None
    source, target = catalogues.get(flow.source), catalogues.get(flow.target)
    return (
        source.entity(mapping.source) if source is not None else None,
        target.entity(mapping.target) if target is not None else None,
    )
