"""Creates, journaled: pending before they are sent, done with their link and shadows in one transaction.

Every create is written to the journal as ``pending`` before it is sent, with the canonical values it
writes and, where the target has a field for one (:class:`~reconcile.systems.base.CarriesIdentity`), the
identity stamp it carries. Its link and shadows are recorded in the transaction that marks it ``done``. A
create that may have happened without an answer (a timeout, a 5xx, a run that died) stays ``pending``: the
next run looks for it in the target, by its stamp and then by its values, before anything is created
again (:mod:`reconcile.app.recover`). A create the system refused is ``failed`` and planned again.

A system may answer a create with a record it already had (Exact de-duplicates addresses). When that
record is linked to another source record of the mapping, the two share it only where the mapping says
``many_to_one``; otherwise the create is refused as a failed write that names both, and the run goes on.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from typing import Any

import polars as pl

from reconcile.apply.links import LinkIndex
from reconcile.apply.outcomes import Outcomes
from reconcile.model.catalogue import Catalogue, Entity, Field
from reconcile.model.flow import Flow, Mapping
from reconcile.model.plan import Action, Status
from reconcile.model.values import cast_value
from reconcile.state.journal import JournalState, journal_finish, journal_note, journal_pending
from reconcile.state.store import StateStore
from reconcile.systems.base import CarriesIdentity, System, WriteKind, WriteOp, WriteResult

Shadow = tuple[str, str, str, str | None]
"""(mapping, source_id, property, value)."""


def identity_stamp(flow: str, row_id: str) -> str:
    """The stamp a create of plan row ``row_id`` of ``flow`` carries: the same every night, 50 characters."""
    return "reconcile-" + hashlib.sha256(f"{flow}\n{row_id}".encode()).hexdigest()[:40]


def typed(value: str | None, field: Field | None) -> Any:
    """A canonical plan value as the Python value a connector writes for ``field``."""
    return None if value is None else value if field is None else cast_value(value, field.type)


def plan_values(
    mapping: Mapping, entity: Entity, changes: Iterable[dict[str, Any]], links: LinkIndex
) -> tuple[dict[str, Any], str | None]:
    """The typed values of a row's changes, references translated; or the reason they cannot be."""
    refs = {p.target: p.ref for p in mapping.properties if p.ref}
    values: dict[str, Any] = {}
    for change in changes:
        field, new = change["field"], change["new"]
        if change["property"] in refs and new is not None:
            parent = refs[change["property"]]
            assert parent is not None
            target_id = links.target(parent, new)
            if target_id is None:
                return {}, f"the {parent} record {new} it refers to was not created"
            values[field] = target_id
        else:
            values[field] = typed(new, entity.field_named(field))
    return values, None


def _shadows(mapping: Mapping, row: dict[str, Any]) -> list[Shadow]:
    return [(mapping.name, row["source_id"], c["property"], c["new"]) for c in row["changes"]]


class Creates:
    """Sends one flow's creates to its target, journaled; one per run, sharing the run's links and outcomes."""

    def __init__(
        self,
        flow: Flow,
        target_cat: Catalogue,
        target: System,
        store: StateStore,
        run_id: str,
        links: LinkIndex,
        outcomes: Outcomes,
        progress: Callable[[int], None],
    ) -> None:
        self.flow = flow
        self.target_cat = target_cat
        self.target = target
        self.store = store
        self.run_id = run_id
        self.links = links
        self.outcomes = outcomes
        self.progress = progress
        self.shared = frozenset(m.name for m in flow.mappings if m.many_to_one)

    def embedded_children(self, rows: pl.DataFrame) -> set[str]:
        """Row ids of creates that travel inside their parent's create (an order's lines)."""
        children: set[str] = set()
        for mapping in self.flow.mappings:
            entity = self.target_cat.entity(mapping.target)
            if entity is None or entity.embedded is None:
                continue
            parents = rows.filter((pl.col("mapping") == mapping.name) & (pl.col("action") == Action.CREATE.value))
            kids = rows.filter(
                (pl.col("action") == Action.CREATE.value)
                & pl.col("parents").list.eval(pl.element().is_in(parents["row_id"].implode())).list.any()
            )
            children.update(kids["row_id"].to_list())
        return children

    def send(self, mapping: Mapping, entity: Entity, batch: pl.DataFrame, all_rows: pl.DataFrame) -> None:
        """Create the records of one batch of ``mapping``'s create rows (their embedded children with them)."""
        if self.outcomes.stopped:
            self.outcomes.skip_all(batch)
            return
        child_spec = self._child_spec(entity, all_rows)
        stamp_field = self.target.identity_field(entity.name) if isinstance(self.target, CarriesIdentity) else None
        ops: list[WriteOp] = []
        journal: list[dict[str, Any]] = []
        shadows: dict[str, list[Shadow]] = {}
        for row in batch.iter_rows(named=True):
            if any(p in self.outcomes.failed for p in row["parents"]):
                self.outcomes.add(row["row_id"], Status.SKIPPED, error="the record it belongs to was not created")
                continue
            values, problem = plan_values(mapping, entity, row["changes"], self.links)
            if problem:
                self.outcomes.add(row["row_id"], Status.FAILED, error=problem)
                continue
            entry = self._entry(mapping, entity, row)
            if stamp_field is not None:
                if values.get(stamp_field) in (None, ""):
                    values[stamp_field] = identity_stamp(self.flow.name, row["row_id"])
                entry |= {"stamp_field": stamp_field, "stamp": str(values[stamp_field])}
            children = self._children(entity, row["row_id"], child_spec, journal, shadows)
            ops.append(WriteOp(WriteKind.CREATE, row["row_id"], values, children=children))
            journal.append(entry)
            shadows[row["row_id"]] = _shadows(mapping, row)
        if not ops:
            return
        with self.store.transaction() as db:
            ids = journal_pending(db, self.run_id, self.flow.name, journal)
        journal_ids = {entry["row_id"]: jid for entry, jid in zip(journal, ids, strict=True)}
        results = self.target.write(entity.name, ops)
        self.outcomes.note_stop(self.target, results)
        self._record(ops, results, journal, journal_ids, shadows)
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
        shadows: dict[str, list[Shadow]],
    ) -> tuple[WriteOp, ...]:
        ops: list[WriteOp] = []
        for row in spec.get(parent_row, []):
            mapping = self.flow.mapping(row["mapping"])
            entity = self.target_cat.entity(mapping.target)
            assert entity is not None and parent.embedded is not None
            changes = [c for c in row["changes"] if c["property"] != parent.embedded.parent_field]
            values, problem = plan_values(mapping, entity, changes, self.links)
            if problem:
                self.outcomes.add(row["row_id"], Status.FAILED, error=problem)
                continue
            ops.append(WriteOp(WriteKind.CREATE, row["row_id"], values))
            journal.append(self._entry(mapping, entity, row))
            shadows[row["row_id"]] = _shadows(mapping, row)
        return tuple(ops)

    def _entry(self, mapping: Mapping, entity: Entity, row: dict[str, Any]) -> dict[str, Any]:
        return {
            "mapping": mapping.name,
            "row_id": row["row_id"],
            "system": self.flow.target,
            "entity": entity.name,
            "kind": WriteKind.CREATE.value,
            "source_id": row["source_id"],
            "target_id": row["target_id"],
            # The canonical values, so a later run can recognise the record in a snapshot.
            "payload": {c["property"]: c["new"] for c in row["changes"]},
        }

    def _taken(self, entry: dict[str, Any], key: str) -> str | None:
        """Why the record ``key`` a create was answered with cannot be linked to it; None when it can."""
        holders = self.links.sources(entry["mapping"], key) - {entry["source_id"]}
        if not holders or entry["mapping"] in self.shared:
            return None
        return (
            f"{self.target.name} answered with {entry['entity']} {key}, the record already linked to source "
            f"record {', '.join(sorted(holders))} (the system gave back a record it had instead of a new one); "
            f"not linked: mapping {entry['mapping']} links one record to one unless it says many_to_one = true"
        )

    def _record(
        self,
        ops: list[WriteOp],
        results: list[WriteResult],
        journal: list[dict[str, Any]],
        journal_ids: dict[str, int],
        shadows: dict[str, list[Shadow]],
    ) -> None:
        by_row = {e["row_id"]: e for e in journal}
        flat: list[tuple[WriteOp, WriteResult]] = []
        for op, result in zip(ops, results, strict=True):
            flat.append((op, result))
            child_results = result.children or tuple(
                WriteResult(c.row_id, False, error=result.error or "not created", retryable=result.retryable)
                for c in op.children
            )
            flat.extend(zip(op.children, child_results, strict=False))
        settled: list[tuple[str, Status, str | None, str | None]] = []
        with self.store.transaction() as db:
            for op, result in flat:
                entry, journal_id = by_row[op.row_id], journal_ids[op.row_id]
                taken = self._taken(entry, result.key) if result.ok and result.key is not None else None
                if result.ok and result.key is not None and taken is None:
                    journal_finish(db, journal_id, JournalState.DONE, target_id=result.key)
                    link = (entry["mapping"], entry["source_id"], result.key)
                    self.store.add_links(db, self.flow.name, [link], shared=self.shared)
                    self.store.set_shadows(db, self.flow.name, shadows[op.row_id])
                    self.links.add(*link)
                    settled.append((op.row_id, Status.APPLIED, link[2], None))
                elif taken is not None:
                    journal_finish(db, journal_id, JournalState.FAILED, error=taken, target_id=result.key)
                    settled.append((op.row_id, Status.FAILED, None, taken))
                elif result.retryable or result.ok:
                    # It may have been made (a timeout, a 5xx after the system committed, an answer without
                    # the new id): the next run looks for it.
                    journal_note(db, journal_id, result.error)
                    looked_for = "(the next run looks for it before creating it again)"
                    settled.append((op.row_id, Status.FAILED, None, f"{result.error or 'no answer'} {looked_for}"))
                else:
                    journal_finish(db, journal_id, JournalState.FAILED, error=result.error)
                    settled.append((op.row_id, Status.FAILED, None, result.error or "no id returned"))
        for row_id, status, key, error in settled:
            self.outcomes.add(row_id, status, key=key, error=error)
