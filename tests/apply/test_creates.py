"""Creates whose answers go astray: lost after the system committed, or naming a record that is already linked.

The systems are the engine world's in-memory ones (crm -> books) with one trait each, written down where
they are made: one that commits a create and then answers with a 502, one that changes the values it is sent,
one that de-duplicates what it is sent. The state is a real state store.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import replace
from pathlib import Path

import polars as pl
import pytest

from reconcile.app.recover import recover_pending
from reconcile.apply.applier import Applier
from reconcile.model.flow import Flow
from reconcile.model.plan import Action, Status
from reconcile.state.store import StateStore
from reconcile.systems.base import WriteKind, WriteOp, WriteResult
from tests.engine.world import BOOKS, CATALOGUES, MemorySystem, clients, customers, flow, plan, snapshots

OLA = {"name": "Ola", "email": "ola@x.no", "born": "1980-05-17", "country": "NO"}


class LostAnswers(MemorySystem):
    """Commits every write, then answers with a 502 (a gateway that timed out after the system wrote) until mended."""

    mended = False

    def write(self, entity: str, ops: Sequence[WriteOp]) -> list[WriteResult]:
        results = super().write(entity, ops)
        if self.mended:
            return results
        return [WriteResult(op.row_id, False, error="502 Bad Gateway", retryable=True) for op in ops]


class Restyles(LostAnswers):
    """Loses its answers too, and keeps names in capitals: a created record no longer holds the values sent.

    ``Segment`` carries the writer's identity stamp (a :class:`~reconcile.systems.base.CarriesIdentity`).
    """

    def identity_field(self, entity: str) -> str | None:
        return "Segment" if entity == "Customer" else None

    def write(self, entity: str, ops: Sequence[WriteOp]) -> list[WriteResult]:
        shouted = [WriteOp(op.kind, op.row_id, {**op.values, "Name": str(op.values["Name"]).upper()}) for op in ops]
        return super().write(entity, shouted)


class DeDuplicates(MemorySystem):
    """Answers a create with the record it already holds when one has the same Name (Exact's addresses)."""

    def write(self, entity: str, ops: Sequence[WriteOp]) -> list[WriteResult]:
        results = []
        for op in ops:
            same = [
                k
                for k, r in self.records[entity].items()
                if op.kind is WriteKind.CREATE and r["Name"] == op.values["Name"]
            ]
            results.append(WriteResult(op.row_id, True, key=same[0]) if same else super().write(entity, [op])[0])
        return results


@pytest.fixture
def store(tmp_path: Path) -> Iterator[StateStore]:
    with StateStore(tmp_path / "state.db") as the_store:
        yield the_store


def _night(the_flow: Flow, systems: dict[str, MemorySystem], store: StateStore, run: str) -> pl.DataFrame:
    """One run as the nightly job makes it: recovery, then the plan from fresh snapshots, then apply."""
    snapshots = {(name, entity): system.read(entity) for name, system in systems.items() for entity in system.records}
    recover_pending(the_flow, store, BOOKS, snapshots)
    links, shadows = store.links(the_flow.name), store.shadows(the_flow.name)
    the_plan = plan(
        the_flow, snapshots[("crm", "Client")], snapshots[("books", "Customer")], links, shadows,
        snapshots[("crm", "Sale")], snapshots[("books", "Order")],
    )  # fmt: skip
    Applier(the_flow, CATALOGUES, dict(systems), store, run).apply(the_plan)
    return the_plan.rows


def _with(books: type[MemorySystem], *rows: dict[str, object]) -> dict[str, MemorySystem]:
    """crm holding client ``rows``, and an empty books of kind ``books``."""
    frames = snapshots(clients(*rows), customers())
    return {
        "crm": MemorySystem("crm", {e: frame for (s, e), frame in frames.items() if s == "crm"}),
        "books": books("books", {e: frame for (s, e), frame in frames.items() if s == "books"}),
    }


def test_a_create_whose_answer_was_lost_is_linked_not_made_again(store: StateStore) -> None:
    """Two clients with the same values, created, both answers lost; no merge rule to find them by."""
    the_flow = flow(merge=False)
    systems = _with(LostAnswers, {"id": 1, **OLA}, {"id": 2, **OLA})
    _night(the_flow, systems, store, "run1")
    assert len(systems["books"].records["Customer"]) == 2
    assert store.pending(the_flow.name), "a create that may have happened stays pending"

    systems["books"].mended = True  # type: ignore[attr-defined]
    rows = _night(the_flow, systems, store, "run2")
    assert rows.filter(pl.col("action") == Action.CREATE.value).is_empty()
    assert len(systems["books"].records["Customer"]) == 2
    linked = store.links(the_flow.name).filter(pl.col("mapping") == "customers")
    assert sorted(linked["source_id"]) == ["1", "2"] and linked["target_id"].n_unique() == 2


def test_a_stamped_create_is_found_by_its_stamp_though_the_system_changed_its_values(store: StateStore) -> None:
    the_flow = flow(merge=False)
    systems = _with(Restyles, {"id": 1, **OLA})
    _night(the_flow, systems, store, "run1")
    [(key, record)] = systems["books"].records["Customer"].items()
    assert record["Name"] == "OLA" and str(record["Segment"]).startswith("reconcile-")
    [pending] = store.pending(the_flow.name)
    assert (pending["stamp_field"], pending["stamp"]) == ("Segment", record["Segment"])

    systems["books"].mended = True  # type: ignore[attr-defined]
    rows = _night(the_flow, systems, store, "run2")
    assert rows.filter(pl.col("action") == Action.CREATE.value).is_empty()
    assert len(systems["books"].records["Customer"]) == 1
    assert store.links(the_flow.name).filter(pl.col("mapping") == "customers")["target_id"].to_list() == [key]


def test_a_create_answered_with_a_linked_record_is_shared_where_the_mapping_says_many_to_one(
    store: StateStore,
) -> None:
    plain = flow(merge=False)  # its orders refer to customers: a shared mapping cannot be referred to
    the_flow = replace(plain, mappings=(replace(plain.mapping("customers"), many_to_one=True),))
    systems = _with(DeDuplicates, {"id": 1, **OLA}, {"id": 2, **OLA, "email": "ola@y.no"})
    _night(the_flow, systems, store, "run1")
    assert len(systems["books"].records["Customer"]) == 1
    linked = store.links(the_flow.name).filter(pl.col("mapping") == "customers")
    assert sorted(linked["source_id"]) == ["1", "2"] and linked["target_id"].n_unique() == 1


def test_a_create_answered_with_a_linked_record_is_a_failed_write_otherwise_and_the_run_goes_on(
    store: StateStore,
) -> None:
    the_flow = flow(merge=False)
    systems = _with(
        DeDuplicates, {"id": 1, **OLA}, {"id": 2, **OLA, "email": "ola@y.no"}, {"id": 3, **OLA, "name": "Kari"}
    )
    snapshots = {(n, e): s.read(e) for n, s in systems.items() for e in s.records}
    the_plan = plan(the_flow, snapshots[("crm", "Client")], snapshots[("books", "Customer")])
    outcomes = Applier(the_flow, CATALOGUES, dict(systems), store, "run1").apply(the_plan)
    by_source = dict(
        outcomes.join(the_plan.rows.select("row_id", "source_id", "mapping"), on="row_id")
        .filter(pl.col("mapping") == "customers")
        .select("source_id", "status")
        .iter_rows()
    )
    assert by_source == {"1": Status.APPLIED, "2": Status.FAILED, "3": Status.APPLIED}
    error = outcomes.filter(pl.col("status") == Status.FAILED)["error"].item()
    assert "already linked to source record 1" in error and "many_to_one" in error
    linked = store.links(the_flow.name).filter(pl.col("mapping") == "customers")
    assert sorted(linked["source_id"]) == ["1", "3"]
