"""Execute a plan through the systems: parents first, in batches, every write journaled.

Before a create is sent it is written to the journal as ``pending``; its link and shadows are recorded in
the transaction that marks it ``done``. A run that dies between the two leaves ``pending`` rows, which the
next run resolves by looking in the target before anything is created again (:mod:`reconcile.recover`).
Updates record the new shadow of every property they wrote. A failed write is reported, never retried
blindly here (the connectors retry what is safe to retry), and is planned again by the next run.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from collections.abc import Mapping as MappingType
from typing import Any

import polars as pl

from reconcile.apply.links import LinkIndex
from reconcile.engine.build import FlowPlan
from reconcile.engine.order import mapping_order
from reconcile.model.catalogue import Catalogue, Entity, Field
from reconcile.model.flow import Flow, Mapping
from reconcile.model.plan import Action, Reason, Status
from reconcile.model.values import cast_value
from reconcile.state.store import JournalState, StateStore
from reconcile.systems.base import System, WriteKind, WriteOp, WriteResult

log = logging.getLogger(__name__)

OUTCOME_SCHEMA = {"row_id": pl.Utf8, "status": pl.Utf8, "key": pl.Utf8, "error": pl.Utf8}
"""One row per plan row applied; ``status`` is a :class:`~reconcile.model.plan.Status`."""

Progress = Callable[[int], None]


def _typed(value: str | None, field: Field | None) -> Any:
    """A canonical plan value as the Python value a connector writes for ``field``."""
    return None if value is None else value if field is None else cast_value(value, field.type)


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
        self.run_id = run_id
        self.batch_size = batch_size
        self.progress = progress or (lambda n: None)
        self.links = LinkIndex.load(store.links(flow.name))
        self.outcomes: list[dict[str, Any]] = []
        self.failed_rows: set[str] = set()
        self.stopped: str | None = None
        """Set when a system stopped taking writes; nothing more is sent after it."""

    # -- entry point ---------------------------------------------------------------------------------------

    def apply(self, plan: FlowPlan, approved: set[str] | None = None) -> pl.DataFrame:
        """Write what the plan says (only ``approved`` row ids when given); returns one outcome per row."""
        rows = plan.rows
        if approved is not None:
            rows = rows.filter(
                pl.col("row_id").is_in(sorted(approved))
                | ~pl.col("action").is_in(
                    [a.value for a in (Action.CREATE, Action.UPDATE_TARGET, Action.UPDATE_SOURCE, Action.DELETE)]
                )
            )
        self._record_agreement(plan)
        for link_row in plan.merges.iter_rows():
            self.links.add(*link_row)
        embedded_children = self._embedded_children(rows)
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
            self._creates(mapping, target_entity, creates, rows)
            self._updates(mapping, target_entity, mine.filter(pl.col("action") == Action.UPDATE_TARGET.value), "target")
            self._updates(mapping, source_entity, mine.filter(pl.col("action") == Action.UPDATE_SOURCE.value), "source")
        if not self.outcomes:
            return pl.DataFrame(schema=OUTCOME_SCHEMA)
        return pl.DataFrame(self.outcomes, schema=OUTCOME_SCHEMA)

    # -- bookkeeping -------------------------------------------------------------------------------------

    def _record_agreement(self, plan: FlowPlan) -> None:
        """Links made by merge rules and the values both sides agree on: recorded before any write."""
        with self.store.transaction() as db:
            self.store.add_links(db, self.flow.name, plan.merges.iter_rows())
            self.store.set_shadows(db, self.flow.name, plan.agreed.iter_rows())

    def _note_stop(self, system: System, results: Iterable[WriteResult]) -> None:
        if self.stopped is None:
            for result in results:
                if result.stopped:
                    self.stopped = f"{system.name} stopped taking writes: {result.error}"
                    return

    def _skip_all(self, rows: pl.DataFrame) -> None:
        for row_id in rows["row_id"]:
            self._outcome(row_id, Status.SKIPPED, error=f"not sent: {self.stopped}")

    def _outcome(self, row_id: str, status: Status, key: str | None = None, error: str | None = None) -> None:
        self.outcomes.append({"row_id": row_id, "status": status, "key": key, "error": error})
        if status == Status.FAILED:
            self.failed_rows.add(row_id)

    # -- creates -----------------------------------------------------------------------------------------

    def _embedded_children(self, rows: pl.DataFrame) -> set[str]:
        """Row ids of creates that travel inside their parent's create (an order's lines)."""
        children: set[str] = set()
        for mapping in self.flow.mappings:
            entity = self.target_cat.entity(mapping.target)
            if entity is None or entity.embedded is None:
                continue
            parents = rows.filter((pl.col("mapping") == mapping.name) & (pl.col("action") == Action.CREATE.value))
            parent_ids = parents["row_id"]
            kids = rows.filter(
                (pl.col("action") == Action.CREATE.value)
                & pl.col("parents").list.eval(pl.element().is_in(parent_ids.implode())).list.any()
            )
            children.update(kids["row_id"].to_list())
        return children

    def _values(
        self, mapping: Mapping, entity: Entity, changes: Iterable[dict[str, Any]]
    ) -> tuple[dict[str, Any], str | None]:
        """The typed values of a row's changes, references translated; or the reason they cannot be."""
        refs = {p.target: p.ref for p in mapping.properties if p.ref}
        values: dict[str, Any] = {}
        for change in changes:
            field, new = change["field"], change["new"]
            if change["property"] in refs and new is not None:
                parent = refs[change["property"]]
                assert parent is not None
                target_id = self.links.target(parent, new)
                if target_id is None:
                    return {}, f"the {parent} record {new} it refers to was not created"
                values[field] = target_id
            else:
                values[field] = _typed(new, entity.field_named(field))
        return values, None

    def _creates(self, mapping: Mapping, entity: Entity, creates: pl.DataFrame, all_rows: pl.DataFrame) -> None:
        if creates.is_empty():
            return
        child_spec = self._child_spec(entity, all_rows)
        for batch in creates.iter_slices(self.batch_size):
            if self.stopped:
                self._skip_all(batch)
                continue
            ops: list[WriteOp] = []
            journal: list[dict[str, Any]] = []
            shadows: dict[str, list[tuple[str, str, str, str | None]]] = {}
            for row in batch.iter_rows(named=True):
                if any(p in self.failed_rows for p in row["parents"]):
                    self._outcome(row["row_id"], Status.SKIPPED, error="the record it belongs to was not created")
                    continue
                values, problem = self._values(mapping, entity, row["changes"])
                if problem:
                    self._outcome(row["row_id"], Status.FAILED, error=problem)
                    continue
                children = self._children(entity, row["row_id"], child_spec, journal, shadows)
                ops.append(WriteOp(WriteKind.CREATE, row["row_id"], values, children=children))
                journal.append(self._entry(mapping, entity, "create", row, values))
                shadows[row["row_id"]] = [
                    (mapping.name, row["source_id"], c["property"], c["new"]) for c in row["changes"]
                ]
            if not ops:
                continue
            with self.store.transaction() as db:
                ids = self.store.journal_pending(db, self.run_id, self.flow.name, journal)
            journal_ids = {entry["row_id"]: jid for entry, jid in zip(journal, ids, strict=True)}
            results = self.target.write(entity.name, ops)
            self._note_stop(self.target, results)
            self._record_creates(ops, results, journal, journal_ids, shadows)
            self.progress(len(ops))

    def _child_spec(self, entity: Entity, all_rows: pl.DataFrame) -> dict[str, list[dict[str, Any]]]:
        """parent row id -> its embedded child create rows (with their mapping)."""
        if entity.embedded is None:
            return {}
        spec: dict[str, list[dict[str, Any]]] = {}
        kids = all_rows.filter(pl.col("action") == Action.CREATE.value).filter(pl.col("parents").list.len() > 0)
        for row in kids.iter_rows(named=True):
            mapping = self.flow.mapping(row["mapping"])
            child_entity = self.target_cat.entity(mapping.target)
            if child_entity is None or child_entity.name != entity.embedded.entity:
                continue
            for parent in row["parents"]:
                spec.setdefault(parent, []).append(row)
        return spec

    def _children(
        self,
        parent: Entity,
        parent_row: str,
        spec: dict[str, list[dict[str, Any]]],
        journal: list[dict[str, Any]],
        shadows: dict[str, list[tuple[str, str, str, str | None]]],
    ) -> tuple[WriteOp, ...]:
        ops: list[WriteOp] = []
        for row in spec.get(parent_row, []):
            mapping = self.flow.mapping(row["mapping"])
            entity = self.target_cat.entity(mapping.target)
            assert entity is not None and parent.embedded is not None
            changes = [c for c in row["changes"] if c["property"] != parent.embedded.parent_field]
            values, problem = self._values(mapping, entity, changes)
            if problem:
                self._outcome(row["row_id"], Status.FAILED, error=problem)
                continue
            ops.append(WriteOp(WriteKind.CREATE, row["row_id"], values))
            journal.append(self._entry(mapping, entity, "create", row, values))
            shadows[row["row_id"]] = [(mapping.name, row["source_id"], c["property"], c["new"]) for c in row["changes"]]
        return tuple(ops)

    def _entry(
        self, mapping: Mapping, entity: Entity, kind: str, row: dict[str, Any], values: dict[str, Any]
    ) -> dict[str, Any]:
        return {
            "mapping": mapping.name,
            "row_id": row["row_id"],
            "system": self.flow.target if kind == "create" else "",
            "entity": entity.name,
            "kind": kind,
            "source_id": row["source_id"],
            "target_id": row["target_id"],
            # The canonical values, so a later run can recognise the record in a snapshot.
            "payload": {c["property"]: c["new"] for c in row["changes"]},
        }

    def _record_creates(
        self,
        ops: list[WriteOp],
        results: list[WriteResult],
        journal: list[dict[str, Any]],
        journal_ids: dict[str, int],
        shadows: dict[str, list[tuple[str, str, str, str | None]]],
    ) -> None:
        by_row = {e["row_id"]: e for e in journal}
        flat: list[tuple[WriteOp, WriteResult]] = []
        for op, result in zip(ops, results, strict=True):
            flat.append((op, result))
            child_results = result.children or tuple(
                WriteResult(c.row_id, False, error=result.error or "not created") for c in op.children
            )
            flat.extend(zip(op.children, child_results, strict=False))
        with self.store.transaction() as db:
            for op, result in flat:
                entry = by_row[op.row_id]
                if result.ok and result.key is not None:
                    self.store.journal_finish(db, journal_ids[op.row_id], JournalState.DONE, target_id=result.key)
                    self.store.add_links(db, self.flow.name, [(entry["mapping"], entry["source_id"], result.key)])
                    self.store.set_shadows(db, self.flow.name, shadows[op.row_id])
                    self.links.add(entry["mapping"], entry["source_id"], result.key)
                else:
                    self.store.journal_finish(db, journal_ids[op.row_id], JournalState.FAILED, error=result.error)
        for op, result in flat:
            if result.ok and result.key is not None:
                self._outcome(op.row_id, Status.APPLIED, key=result.key)
            else:
                self._outcome(op.row_id, Status.FAILED, error=result.error or "no id returned")

    # -- updates -----------------------------------------------------------------------------------------

    def _updates(self, mapping: Mapping, entity: Entity, updates: pl.DataFrame, side: str) -> None:
        if updates.is_empty():
            return
        system = self.target if side == "target" else self.source
        key_column = "target_id" if side == "target" else "source_id"
        refs_back = side == "source"
        for batch in updates.iter_slices(self.batch_size):
            if self.stopped:
                self._skip_all(batch)
                continue
            ops: list[WriteOp] = []
            shadows: dict[str, list[tuple[str, str, str, str | None]]] = {}
            for row in batch.iter_rows(named=True):
                if any(p in self.failed_rows for p in row["parents"]):
                    self._outcome(row["row_id"], Status.SKIPPED, error="a record it refers to was not created")
                    continue
                if refs_back:
                    values = {c["field"]: _typed(c["new"], entity.field_named(c["field"])) for c in row["changes"]}
                else:
                    values, problem = self._values(mapping, entity, row["changes"])
                    if problem:
                        self._outcome(row["row_id"], Status.FAILED, error=problem)
                        continue
                ops.append(WriteOp(WriteKind.UPDATE, row["row_id"], values, key=row[key_column]))
                shadows[row["row_id"]] = [
                    (mapping.name, row["source_id"], c["property"], c["new"]) for c in row["changes"]
                ]
            if not ops:
                continue
            results = system.write(entity.name, ops)
            self._note_stop(system, results)
            with self.store.transaction() as db:
                for op, result in zip(ops, results, strict=True):
                    if result.ok:
                        self.store.set_shadows(db, self.flow.name, shadows[op.row_id])
            for op, result in zip(ops, results, strict=True):
                self._outcome(op.row_id, Status.APPLIED if result.ok else Status.FAILED, key=op.key, error=result.error)
            self.progress(len(ops))

    # -- deletes -----------------------------------------------------------------------------------------

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
                self._outcome(row["row_id"], Status.APPLIED)
            rest = chosen.join(both_gone.select("row_id"), on="row_id", how="anti")
            if mapping.delete == "report":
                for row in rest.iter_rows(named=True):
                    self._outcome(row["row_id"], Status.REPORTED)
                continue
            if mapping.delete == "unlink":
                for row in rest.iter_rows(named=True):
                    unlink.append((mapping.name, row["source_id"]))
                    self._outcome(row["row_id"], Status.APPLIED)
                continue
            ops = [WriteOp(WriteKind.DELETE, row["row_id"], key=row[key_column]) for row in rest.iter_rows(named=True)]
            sources = {row["row_id"]: row["source_id"] for row in rest.iter_rows(named=True)}
            if ops and not entity.deletable:
                for op in ops:
                    self._outcome(
                        op.row_id, Status.FAILED, error=f"{entity.name} records cannot be deleted through the API"
                    )
                continue
            if self.stopped:
                self._skip_all(rest)
                continue
            results = system.write(entity.name, ops) if ops else []
            self._note_stop(system, results)
            for op, result in zip(ops, results, strict=True):
                if result.ok:
                    unlink.append((mapping.name, sources[op.row_id]))
                self._outcome(op.row_id, Status.APPLIED if result.ok else Status.FAILED, key=op.key, error=result.error)
        if unlink:
            with self.store.transaction() as db:
                self.store.remove_links(db, self.flow.name, unlink)
