"""Recovery: the creates a run left pending are looked for in the target before anything is made again.

A create is journaled as pending before it is sent; a run that dies before the answer is recorded, or a
create whose answer was lost (a timeout, a 5xx after the system committed), leaves it so. The next run,
before it plans, finds each such record in the target snapshot, by the identity stamp the create carried
where the target has a field for one, then by the values it was sent with, pairing creates and records one
to one (:mod:`reconcile.engine.recover`). It links what it found and settles the journal entry, so that the
plan does not create it a second time; a create not found was not made and is planned again.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from collections.abc import Mapping as MappingType
from typing import Any

import polars as pl

from reconcile.engine.order import mapping_order
from reconcile.engine.project import UNLINKED_PREFIX, project_target, prop_col
from reconcile.engine.recover import PAIR_SCHEMA, PENDING_SCHEMA, STAMP_SCHEMA, find_created, find_stamped
from reconcile.model.catalogue import Catalogue, Entity
from reconcile.model.flow import Flow, Mapping
from reconcile.state.journal import JournalState, journal_finish
from reconcile.state.store import StateStore
from reconcile.systems.base import WriteKind

log = logging.getLogger("reconcile")


def _by_stamp(mine: list[dict[str, Any]], snapshot: pl.DataFrame, entity: Entity, linked: pl.Series) -> pl.DataFrame:
    """source_id, target_id of the stamped creates whose stamp a record of ``snapshot`` carries."""
    stamped = [p for p in mine if p.get("stamp") and p.get("stamp_field") in snapshot.columns]
    if not stamped:
        return pl.DataFrame(schema=PAIR_SCHEMA)
    field = stamped[0]["stamp_field"]
    stamps = pl.DataFrame([{"source_id": p["source_id"], "stamp": p["stamp"]} for p in stamped], schema=STAMP_SCHEMA)
    carried = snapshot.select(
        pl.col(entity.key).cast(pl.Utf8).alias("target_id"), pl.col(field).cast(pl.Utf8).alias("stamp")
    )
    return find_stamped(stamps, carried, linked)


def _line_prints(
    flow: Flow,
    mapping: Mapping,
    entity: Entity,
    pending: list[dict[str, Any]],
    target_cat: Catalogue,
    snapshots: MappingType[tuple[str, str], pl.DataFrame],
    parent_links: MappingType[str, pl.DataFrame],
) -> tuple[pl.DataFrame, pl.DataFrame] | None:
    """What the lines of each pending create of ``mapping`` and of each unlinked record hold, or None.

    Two orders of one customer for one amount are told apart by their lines: a pending order's lines are pending
    creates of the child mapping that refers to it; a record's lines are the child entity's records whose parent
    field holds its id. The values compared are those every pending line was sent with.
    """
    embedded = entity.embedded
    child = target_cat.entity(embedded.entity) if embedded is not None else None
    if embedded is None or child is None or (flow.target, child.name) not in snapshots:
        return None
    parent_col = prop_col(embedded.parent_field)
    kids = [
        m
        for m in flow.mappings
        if m.target.casefold() == child.name.casefold()
        and any(p.ref == mapping.name and p.target == embedded.parent_field for p in m.properties)
    ]
    source_lines: list[dict[str, str]] = []
    target_lines: list[pl.DataFrame] = []
    for kid in kids:
        lines = [p for p in pending if p["mapping"] == kid.name and p["kind"] == WriteKind.CREATE]
        projected = project_target(snapshots[(flow.target, child.name)], kid, child, parent_links)
        sent = (
            set.intersection(*({k for k, v in p["payload"].items() if v is not None} for p in lines))
            if lines
            else set()
        )
        projected_props = {c.removeprefix(prop_col("")) for c in projected.columns if c.startswith(prop_col(""))}
        compared = sorted((sent & projected_props) - {embedded.parent_field})
        if not compared:
            continue
        for p in lines:
            source_lines.append(
                {
                    "id": str(p["payload"].get(embedded.parent_field)),
                    "line": _line(p["payload"].get(c) for c in compared),
                }
            )
        unlinked = pl.col(parent_col).str.starts_with(UNLINKED_PREFIX)
        target_lines.append(
            projected.filter(unlinked).select(
                pl.col(parent_col).str.slice(len(UNLINKED_PREFIX)).alias("id"),
                pl.concat_str([pl.col(prop_col(c)).fill_null("") for c in compared], separator="\x1f").alias("line"),
            )
        )
    if not source_lines:
        return None
    records = pl.concat([*target_lines, pl.DataFrame(schema=_LINES)])
    return _prints(pl.DataFrame(source_lines, schema=_LINES)), _prints(records)


_LINES = {"id": pl.Utf8, "line": pl.Utf8}


def _line(values: Iterable[str | None]) -> str:
    return "\x1f".join(v if v is not None else "" for v in values)


def _prints(lines: pl.DataFrame) -> pl.DataFrame:
    """One print per parent: its lines' texts, sorted, so that the order lines come in does not matter."""
    return (
        lines.group_by("id")
        .agg(pl.col("line").sort().str.join("\x1e").alias("print"))
        .select(pl.col("id").cast(pl.Utf8), "print")
    )


def recover_pending(
    flow: Flow, store: StateStore, target_cat: Catalogue, snapshots: MappingType[tuple[str, str], pl.DataFrame]
) -> None:
    """Resolve the creates a run left pending: link what the target already has, settle the rest as failed.

    ``target_cat`` is the catalogue of the flow's target; ``snapshots`` hold its entities as this run read them.
    """
    pending = store.pending(flow.name)
    if not pending:
        return
    links = store.links(flow.name)
    parent_links = {
        m: links.filter(pl.col("mapping") == m).select("source_id", "target_id") for m in links["mapping"].unique()
    }
    found_total = 0
    for mapping in mapping_order(flow.mappings):  # parents first: a child's reference needs its parent's link
        mine = [p for p in pending if p["mapping"] == mapping.name and p["kind"] == WriteKind.CREATE]
        if not mine:
            continue
        entity = target_cat.entity(mapping.target)
        assert entity is not None
        snapshot = snapshots[(flow.target, entity.name)]
        # A record any mapping of the flow has linked is not ours to claim, whichever mapping made it.
        writers = [m.name for m in flow.mappings if m.target.casefold() == mapping.target.casefold()]
        linked = links.filter(pl.col("mapping").is_in(writers))["target_id"]
        found = _by_stamp(mine, snapshot, entity, linked)
        rest = [p for p in mine if p["source_id"] not in set(found["source_id"].to_list())]
        wanted = pl.DataFrame(
            [{"source_id": p["source_id"], "property": k, "value": v} for p in rest for k, v in p["payload"].items()],
            schema=PENDING_SCHEMA,
        )
        target = project_target(snapshot, mapping, entity, parent_links)
        taken = pl.concat([linked, found["target_id"]])
        prints = _line_prints(flow, mapping, entity, pending, target_cat, snapshots, parent_links)
        found = pl.concat([found, find_created(wanted, target, taken, prints)])
        found_ids = dict(found.iter_rows())
        shared = frozenset(m.name for m in flow.mappings if m.many_to_one)
        with store.transaction() as db:
            store.add_links(db, flow.name, [(mapping.name, s, t) for s, t in found.iter_rows()], shared=shared)
            for p in mine:
                target_id = found_ids.get(p["source_id"])
                if target_id is not None:
                    store.set_shadows(
                        db, flow.name, [(mapping.name, p["source_id"], k, v) for k, v in p["payload"].items()]
                    )
                    journal_finish(db, p["id"], JournalState.RESOLVED, target_id=target_id)
                else:
                    journal_finish(
                        db, p["id"], JournalState.FAILED, error="not found in the target after the run stopped"
                    )
        found_total += found.height
        links = store.links(flow.name)
        parent_links[mapping.name] = links.filter(pl.col("mapping") == mapping.name).select("source_id", "target_id")
    log.info("recovered %d of %d writes left pending by a run that stopped", found_total, len(pending))
