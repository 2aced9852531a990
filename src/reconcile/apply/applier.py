"""Execute a plan through the systems: parents first, in batches, every write journaled.

Creates are journaled before they are sent and settled with their links and shadows
(:mod:`reconcile.apply.creates`). Updates record the new shadow of every property they wrote. A failed
write is reported, never retried blindly here (the connectors retry what is safe to retry), and is planned
again by the next run.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from collections.abc import Mapping as MappingType
from dataclasses import dataclass, field

import polars as pl

from reconcile.apply.creates import Creates, plan_values, typed
from reconcile.apply.links import LinkIndex
from reconcile.apply.outcomes import Outcomes
from reconcile.engine.build import FlowPlan
from reconcile.engine.order import mapping_order
from reconcile.model.catalogue import Catalogue, Entity
from reconcile.model.flow import Flow, Mapping
from reconcile.model.plan import WRITES, Action, Reason, ReviewDecision, Status
from reconcile.state.store import StateStore
from reconcile.systems.base import System, WriteKind, WriteOp

log = logging.getLogger(__name__)

Progress = Callable[[int], None]


@dataclass(frozen=True)
class Approval:
    """What a reviewer approved of a plan: the rows to write, and what to do with each decided delete."""

    rows: frozenset[str]
    """Row ids of the writes and deletes to carry out; every other write of the plan is left alone."""
    deletes: MappingType[str, ReviewDecision] = field(default_factory=dict)
    """Delete row id -> ``delete`` or ``unlink``: the reviewer's choice, whatever the mapping's policy says."""


class Applier:
    """Applies one flow's plan; a fresh one per run."""

    def __init__(
        self,
        flow: Flow,
        catalogues: MappingType[str, Catalogue],
        systems: MappingType[str, System],
        store: StateStore,
        run_id: str,
        batch_size: int = 50,
        progress: Progress | None = None,
    ) -> None:
        self.flow = flow
        self.source_cat = catalogues[flow.source]
        self.target_cat = catalogues[flow.target]
        self.source = systems[flow.source]
        self.target = systems[flow.target]
        self.store = store
        self.batch_size = batch_size
        self.progress = progress or (lambda n: None)
        self.links = LinkIndex.load(store.links(flow.name))
        self.outcomes = Outcomes()
        self.decided_deletes: MappingType[str, ReviewDecision] = {}
        self.creates = Creates(
            flow, self.target_cat, self.target, store, run_id, self.links, self.outcomes, self.progress
        )

    @property
    def stopped(self) -> str | None:
        """Why a system stopped taking writes, when one did; nothing more was sent after it."""
        return self.outcomes.stopped

    # -- entry point ---------------------------------------------------------------------------------------

    def apply(self, plan: FlowPlan, approval: Approval | None = None) -> pl.DataFrame:
        """Write what the plan says (only the approved rows when given); returns one outcome per row.

        A row a reviewer settled earlier (``remembered``: a rejected change, a kept delete) is never written.
        """
        rows = plan.rows.filter(pl.col("remembered").is_null() | ~pl.col("action").is_in(WRITES))
        if approval is not None:
            rows = rows.filter(pl.col("row_id").is_in(sorted(approval.rows)) | ~pl.col("action").is_in(WRITES))
            self.decided_deletes = approval.deletes
        self._record_agreement(plan)
        self.links.reload(self.store.links(self.flow.name))  # with the links moved and made by merge rules
        embedded_children = self.creates.embedded_children(rows)
        for mapping in mapping_order(self.flow.mappings):
            mine = rows.filter(pl.col("mapping") == mapping.name)
            if mine.is_empty():
                continue
            source_entity = self.source_cat.entity(mapping.source)
            target_entity = self.target_cat.entity(mapping.target)
            assert source_entity is not None and target_entity is not None
            self._deletes(mapping, source_entity, target_entity, mine.filter(pl.col("action") == Action.DELETE.value))
            creates = mine.filter(
                (pl.col("action") == Action.CREATE.value) & ~pl.col("row_id").is_in(sorted(embedded_children))
            )
            for batch in creates.iter_slices(self._batch(self.target)):
                self.creates.send(mapping, target_entity, batch, rows)
            self._updates(mapping, target_entity, mine.filter(pl.col("action") == Action.UPDATE_TARGET.value), "target")
            self._updates(mapping, source_entity, mine.filter(pl.col("action") == Action.UPDATE_SOURCE.value), "source")
        return self.outcomes.frame()

    def _record_agreement(self, plan: FlowPlan) -> None:
        """Links moved or made by merge rules and the values both sides agree on: recorded before any write."""
        self.store.record_agreement(self.flow.name, plan.merges, plan.moves, plan.agreed, shared=self.creates.shared)

    def _batch(self, system: System) -> int:
        """Records per batch to ``system``: a system with no call limits (a folder of files) may ask for more."""
        return max(self.batch_size, int(getattr(system, "batch_size", self.batch_size)))

    # -- updates -----------------------------------------------------------------------------------------

    def _updates(self, mapping: Mapping, entity: Entity, updates: pl.DataFrame, side: str) -> None:
        if updates.is_empty():
            return
        system = self.target if side == "target" else self.source
        key_column = "target_id" if side == "target" else "source_id"
        refs_back = side == "source"
        for batch in updates.iter_slices(self._batch(system)):
            if self.outcomes.stopped:
                self.outcomes.skip_all(batch)
                continue
            ops: list[WriteOp] = []
            shadows: dict[str, list[tuple[str, str, str, str | None]]] = {}
            for row in batch.iter_rows(named=True):
                if any(p in self.outcomes.failed for p in row["parents"]):
                    self.outcomes.add(row["row_id"], Status.SKIPPED, error="a record it refers to was not created")
                    continue
                if refs_back:
                    values = {c["field"]: typed(c["new"], entity.field_named(c["field"])) for c in row["changes"]}
                else:
                    values, problem = plan_values(mapping, entity, row["changes"], self.links)
                    if problem:
                        self.outcomes.add(row["row_id"], Status.FAILED, error=problem)
                        continue
                ops.append(WriteOp(WriteKind.UPDATE, row["row_id"], values, key=row[key_column]))
                shadows[row["row_id"]] = [
                    (mapping.name, row["source_id"], c["property"], c["new"]) for c in row["changes"]
                ]
            if not ops:
                continue
            results = system.write(entity.name, ops)
            self.outcomes.note_stop(system, results)
            with self.store.transaction() as db:
                for op, result in zip(ops, results, strict=True):
                    if result.ok:
                        self.store.set_shadows(db, self.flow.name, shadows[op.row_id])
            for op, result in zip(ops, results, strict=True):
                status = Status.APPLIED if result.ok else Status.FAILED
                self.outcomes.add(op.row_id, status, key=op.key, error=result.error)
            self.progress(len(ops))

    # -- deletes -----------------------------------------------------------------------------------------

    def _delete_policy(self, mapping: Mapping, row_id: str) -> str:
        """What to do with one delete row: the reviewer's decision where there is one, else the mapping's policy."""
        decided = self.decided_deletes.get(row_id)
        if decided is ReviewDecision.DELETE:
            return "propagate"
        if decided is ReviewDecision.UNLINK:
            return "unlink"
        return mapping.delete

    def _deletes(self, mapping: Mapping, source_entity: Entity, target_entity: Entity, deletes: pl.DataFrame) -> None:
        if deletes.is_empty():
            return
        unlink: list[tuple[str, str]] = []
        for side, system, entity, key_column in (
            (Reason.SOURCE_DELETED, self.target, target_entity, "target_id"),
            (Reason.TARGET_DELETED, self.source, source_entity, "source_id"),
        ):
            chosen = deletes.filter(pl.col("reason") == side)
            if chosen.is_empty():
                continue
            both_gone = chosen.filter(pl.col("both_gone"))
            for row in both_gone.iter_rows(named=True):
                unlink.append((mapping.name, row["source_id"]))
                self.outcomes.add(row["row_id"], Status.APPLIED)
            rest = chosen.join(both_gone.select("row_id"), on="row_id", how="anti")
            policy = {row_id: self._delete_policy(mapping, row_id) for row_id in rest["row_id"]}
            reported = [row_id for row_id, p in policy.items() if p == "report"]
            for row_id in reported:
                self.outcomes.add(row_id, Status.REPORTED)
            rest = rest.filter(~pl.col("row_id").is_in(reported))
            if not rest.is_empty():
                # A target record another source record still shares is only unlinked, never deleted.
                keep = [
                    row
                    for row in rest.iter_rows(named=True)
                    if policy[row["row_id"]] == "unlink"
                    or (
                        side is Reason.SOURCE_DELETED
                        and self.links.sources(mapping.name, row["target_id"]) - {row["source_id"]}
                    )
                ]
                for row in keep:
                    unlink.append((mapping.name, row["source_id"]))
                    self.outcomes.add(row["row_id"], Status.APPLIED)
                rest = rest.filter(~pl.col("row_id").is_in([row["row_id"] for row in keep]))
            ops = [WriteOp(WriteKind.DELETE, row["row_id"], key=row[key_column]) for row in rest.iter_rows(named=True)]
            sources = {row["row_id"]: row["source_id"] for row in rest.iter_rows(named=True)}
            if ops and not entity.deletable:
                for op in ops:
                    error = f"{entity.name} records cannot be deleted through the API"
                    self.outcomes.add(op.row_id, Status.FAILED, error=error)
                continue
            if self.outcomes.stopped:
                self.outcomes.skip_all(rest)
                continue
            results = system.write(entity.name, ops) if ops else []
            self.outcomes.note_stop(system, results)
            for op, result in zip(ops, results, strict=True):
                if result.ok:
                    unlink.append((mapping.name, sources[op.row_id]))
                status = Status.APPLIED if result.ok else Status.FAILED
                self.outcomes.add(op.row_id, status, key=op.key, error=result.error)
        if unlink:
            with self.store.transaction() as db:
                self.store.remove_links(db, self.flow.name, unlink)
                # Unlinked on purpose: the source record is not created again in the target it left.
                left = deletes.filter((pl.col("reason") == Reason.TARGET_DELETED) & ~pl.col("both_gone"))
                gone = {
                    s
                    for r, s in left.select("row_id", "source_id").iter_rows()
                    if self._delete_policy(mapping, r) == "unlink"
                }
                self.store.mark_unlinked(db, self.flow.name, [(m, s) for m, s in unlink if s in gone])
            for mapping_name, source_id in unlink:
                self.links.remove(mapping_name, source_id)
