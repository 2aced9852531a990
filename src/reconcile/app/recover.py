"""Recovery: the creates a run that stopped left pending are looked for in the target before anything is made again.

A create is journaled as pending before it is sent; a run that dies before the answer is recorded leaves it
so. The next run, before it plans, finds each such record in the target snapshot (by the values it was sent
with), links it and settles the journal entry, so that the plan does not create it a second time.
"""

from __future__ import annotations

import logging

import polars as pl

from reconcile.engine.project import project_target
from reconcile.engine.recover import find_created
from reconcile.model.flow import Flow
from reconcile.state.store import JournalState, StateStore
from reconcile.systems.base import WriteKind
from reconcile.systems.registry import Systems

log = logging.getLogger("reconcile")


def recover_pending(
    flow: Flow, store: StateStore, systems: Systems, snapshots: dict[tuple[str, str], pl.DataFrame]
) -> None:
    """Resolve the creates a run that died left pending: link what the target already has."""
    pending = store.pending(flow.name)
    if not pending:
        return
    links = store.links(flow.name)
    parent_links = {
        m: links.filter(pl.col("mapping") == m).select("source_id", "target_id") for m in links["mapping"].unique()
    }
    found_total = 0
    target_cat = systems.catalogue(flow.target)
    for mapping in flow.mappings:
        mine = [p for p in pending if p["mapping"] == mapping.name and p["kind"] == WriteKind.CREATE]
        if not mine:
            continue
        entity = target_cat.entity(mapping.target)
        assert entity is not None
        wanted = pl.DataFrame(
            [{"source_id": p["source_id"], "property": k, "value": v} for p in mine for k, v in p["payload"].items()],
            schema={"source_id": pl.Utf8, "property": pl.Utf8, "value": pl.Utf8},
        )
        target = project_target(snapshots[(flow.target, entity.name)], mapping, entity, parent_links)
        linked = links.filter(pl.col("mapping") == mapping.name)["target_id"]
        found = find_created(wanted, target, linked)
        found_ids = dict(found.iter_rows())
        with store.transaction() as db:
            store.add_links(db, flow.name, [(mapping.name, s, t) for s, t in found.iter_rows()])
            for p in mine:
                target_id = found_ids.get(p["source_id"])
                if target_id is not None:
                    store.set_shadows(
                        db, flow.name, [(mapping.name, p["source_id"], k, v) for k, v in p["payload"].items()]
                    )
                    store.journal_finish(db, p["id"], JournalState.RESOLVED, target_id=target_id)
                else:
                    store.journal_finish(
                        db, p["id"], JournalState.FAILED, error="not found in the target after the run stopped"
                    )
        found_total += found.height
        links = store.links(flow.name)
        parent_links[mapping.name] = links.filter(pl.col("mapping") == mapping.name).select("source_id", "target_id")
    log.info("recovered %d of %d writes left pending by a run that stopped", found_total, len(pending))
