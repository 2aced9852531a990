"""Invariants of the engine, on small random worlds (hypothesis).

Each example is a crm/books world (see :mod:`tests.engine.world`): up to four clients and customers with
values drawn from small pools (so that merge keys collide and blanks, bad emails and odd spellings appear),
stored links (some to records that are gone), shadows, and sales referring to clients. The systems are held
in memory (:class:`~tests.engine.world.MemorySystem`), the links and shadows in a real state store; a plan
is built as a run builds it and applied by the real :class:`~reconcile.apply.applier.Applier`.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from reconcile.apply.applier import Applier
from reconcile.engine.build import FlowPlan, build_plan
from reconcile.model.flow import Flow
from reconcile.model.plan import Action, Reason
from reconcile.state.store import StateStore
from reconcile.validate import validate_rows
from tests.engine.world import CATALOGUES, MemorySystem, clients, customers, flow, memory_systems, orders, plan, sales


def examples(default: int) -> settings:
    """``default`` examples a test (the same ones every run: tests/conftest.py), or RECONCILE_EXAMPLES of them."""
    return settings(
        max_examples=int(os.environ.get("RECONCILE_EXAMPLES", str(default))),
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow],
    )


FAST = examples(12)
SLOW = examples(6)
"""12 examples a test, 6 for those that plan and apply a world several times (up to 0.8 s an example), keep
`make test` in its time on two cores; each test has also passed hundreds of random ones
(`RECONCILE_EXAMPLES=400 pytest tests/engine/test_properties.py` searches anew)."""
REVIEW = {Action.CONFLICT.value, Action.REJECT.value, Action.AMBIGUOUS.value, Action.DELETE.value}
SETTLED = {Action.IN_SYNC.value, Action.DIFFERS.value}
"""Nothing left to write: in sync, or a difference left unwritten on purpose (issue 9, item 11)."""

NAMES = st.sampled_from(["Ola", "Kari", " Kari ", "", None])
EMAILS = st.sampled_from(["ola@x.no", "OLA@x.no", "kari@x.no", "not an email", " ", None])
BORN = st.sampled_from(["1980-05-17", "1980-05-17T00:00:00", "1990-01-02", None])
DATES = st.sampled_from([dt.date(1980, 5, 17), dt.date(1990, 1, 2), None])
COUNTRIES = st.sampled_from(["no", "NO", "se", None])
CODES = st.sampled_from(["A", "B", None])
TIMES = st.sampled_from(["2024-01-01T10:00:00", "2024-02-01T10:00:00", None])
TOTALS = st.sampled_from([5.0, 80.0, None])
CUSTOMER_PROPS = ("Name", "Email", "BirthDate", "Country", "Code")
SHADOW_VALUES = {
    "Name": st.sampled_from(["Ola", "Kari", None]),
    "Email": st.sampled_from(["ola@x.no", "kari@x.no", None]),
    "BirthDate": st.sampled_from(["1980-05-17", None]),
    "Country": st.sampled_from(["NO", "SE", None]),
    "Code": st.sampled_from(["A", None]),
    "Customer": st.sampled_from(["1", "2", None]),
    "Amount": st.sampled_from(["5.0", "80.0", None]),
}


@dataclass
class World:
    """Both systems, the links and the shadows, as plain data drawn by hypothesis."""

    clients: dict[int, dict[str, Any]]
    customers: dict[str, dict[str, Any]]
    sales: dict[int, dict[str, Any]]
    orders: dict[str, dict[str, Any]]
    links: dict[tuple[str, str], str]
    shadows: dict[tuple[str, str, str], str | None]


class Synced:
    """A world on its systems and a state store: planned as a run plans, applied by the real applier."""

    def __init__(self, systems: dict[str, MemorySystem], store: StateStore, the_flow: Flow) -> None:
        self.systems = systems
        self.store = store
        self.flow = the_flow
        self.runs = 0

    def plan(self) -> FlowPlan:
        snapshots = {(s.name, entity): s.read(entity) for s in self.systems.values() for entity in s.records}
        name = self.flow.name
        links, shadows = self.store.links(name), self.store.shadows(name)
        return build_plan(self.flow, CATALOGUES, snapshots, links, shadows, validate=validate_rows)

    def apply(self, result: FlowPlan) -> pl.DataFrame:
        self.runs += 1
        applier = Applier(self.flow, CATALOGUES, self.systems, self.store, run_id=f"run{self.runs}")
        return applier.apply(result)

    def links(self, mapping: str) -> list[tuple[str, str]]:
        """(source id, target id) of the pairs ``mapping`` links, sorted."""
        frame = self.store.links(self.flow.name).filter(pl.col("mapping") == mapping)
        return sorted(frame.select("source_id", "target_id").iter_rows())


@contextmanager
def synced(world: World, the_flow: Flow) -> Iterator[Synced]:
    """``world`` on in-memory systems and a new state store, with its links and shadows recorded.

    The store is SQLite's in-memory database: the schema and statements of a run's, without a disk to wait on
    for each of the hundreds of examples' commits.
    """
    systems = memory_systems(
        clients(*({"id": k, **v} for k, v in world.clients.items())),
        customers(*({"ID": k, **v} for k, v in world.customers.items())),
        sales(*({"id": k, **v} for k, v in world.sales.items())),
        orders(*({"ID": k, **v} for k, v in world.orders.items())),
    )
    with StateStore(Path(":memory:")) as store:
        with store.transaction() as db:
            store.add_links(db, the_flow.name, [(m, s, t) for (m, s), t in world.links.items()])
            store.set_shadows(db, the_flow.name, [(m, s, p, v) for (m, s, p), v in world.shadows.items()])
        yield Synced(systems, store, the_flow)


@st.composite
def worlds(draw: st.DrawFn) -> World:
    n_clients, n_customers = draw(st.integers(0, 4)), draw(st.integers(0, 4))
    the_clients = {
        i: {
            "name": draw(NAMES),
            "email": draw(EMAILS),
            "born": draw(BORN),
            "country": draw(COUNTRIES),
            "changed": draw(TIMES),
            "code": draw(CODES),
        }
        for i in range(1, n_clients + 1)
    }
    the_customers = {
        f"c{i}": {
            "Name": draw(NAMES),
            "Email": draw(EMAILS),
            "BirthDate": draw(DATES),
            "Country": draw(COUNTRIES),
            "Modified": draw(TIMES),
            "Code": draw(CODES),
        }
        for i in range(1, n_customers + 1)
    }
    # Links pair ids one to one; an id past the records drawn is a record that is gone.
    pairs = draw(
        st.lists(
            st.tuples(st.integers(1, 5), st.integers(1, 5)),
            max_size=4,
            unique_by=(lambda p: p[0], lambda p: p[1]),
        )
    )
    the_links = {("customers", str(s)): f"c{t}" for s, t in pairs}
    the_shadows: dict[tuple[str, str, str], str | None] = {}
    for s, _ in pairs:
        for prop in CUSTOMER_PROPS:
            if draw(st.booleans()):
                the_shadows[("customers", str(s), prop)] = draw(SHADOW_VALUES[prop])
    the_sales: dict[int, dict[str, Any]] = {
        10 + i: {"client": draw(st.sampled_from([1, 2, 5, None])), "total": draw(TOTALS)}
        for i in range(draw(st.integers(0, 3)))
    }
    the_orders: dict[str, dict[str, Any]] = {}
    for i in range(draw(st.integers(0, 2))):
        the_orders[f"o{i}"] = {"Customer": draw(st.sampled_from(["c1", "c2", None])), "Amount": draw(TOTALS)}
        linked = draw(st.booleans())
        if the_sales and linked:
            sale = draw(st.sampled_from(sorted(the_sales)))
            if ("orders", str(sale)) not in the_links:
                the_links[("orders", str(sale))] = f"o{i}"
                for prop in ("Customer", "Amount"):
                    the_shadows[("orders", str(sale), prop)] = draw(SHADOW_VALUES[prop])
    return World(the_clients, the_customers, the_sales, the_orders, the_links, the_shadows)


POLICIES = st.builds(
    flow,
    conflict=st.sampled_from(["source", "target", "newest", "manual"]),
    delete=st.sampled_from(["report", "propagate"]),
    blank_overwrites=st.booleans(),
)


ALL_POLICIES = st.builds(
    flow,
    conflict=st.sampled_from(["source", "target", "newest", "manual"]),
    delete=st.sampled_from(["report", "propagate", "unlink"]),
    blank_overwrites=st.booleans(),
)


def keyed(result: FlowPlan) -> set[tuple[str, str | None, str, str]]:
    return set(result.rows.select("mapping", "source_id", "action", "reason").iter_rows())


_OLA = {"name": "Ola", "email": "ola@x.no", "born": "1980-05-17", "country": "no", "changed": "2024-01-01T10:00:00"}
_C = {"Name": "Ola", "Email": "ola@x.no", "BirthDate": dt.date(1980, 5, 17), "Country": "no", "Code": "A"}
REFUSED_LATER = World(
    clients={1: {**_OLA, "code": "A"}, 3: {**_OLA, "name": "", "email": "not an email", "code": "A"}},
    customers={"c1": {**_C, "Country": "se", "Modified": None}, "c2": {**_C, "Modified": "2024-01-01T10:00:00"}},
    sales={},
    orders={},
    links={("customers", "1"): "c2", ("customers", "3"): "c1"},
    shadows={("customers", "3", "Email"): "kari@x.no"},
)
"""A conflict left for review (the target's modified time unknown) that the next night settles, once a write
has stamped the time, into an email the target refuses: found by hypothesis, kept as an example."""


@SLOW
@example(world=REFUSED_LATER, the_flow=flow(conflict="newest", delete="report", blank_overwrites=False))
@given(world=worlds(), the_flow=POLICIES)
def test_after_applying_everything_the_next_plan_is_in_sync(world: World, the_flow: Flow) -> None:
    """Everything is settled except what waits for a person (conflicts, rejects, ambiguous, reported deletes).

    Those rows are the ones the first plan had: applying the rest changed nothing they depend on. One
    exception, a limit of ``conflict = "newest"``: a conflict left for review because a modified time was
    unknown may be settled at the next run, once a write elsewhere in the record has stamped it with the
    time of that write (and the value that wins then may be one the target refuses: a reject).
    (``delete = unlink`` forgets a pair, so the next run treats the record as new: it is
    left out here.)
    """
    with synced(world, the_flow) as run:
        first = run.plan()
        run.apply(first)
        second = run.plan()
        run.apply(second)
        third = run.plan()
    waiting = {k for k in keyed(first) if k[2] in REVIEW}
    in_conflict = {(m, s) for m, s, a, _ in waiting if a == Action.CONFLICT.value}
    newest = {Reason.CONFLICT_NEWEST_SOURCE.value, Reason.CONFLICT_NEWEST_TARGET.value, Reason.CONFLICT_KEPT.value}
    for m, s, action, reason in keyed(second):
        if action in SETTLED or (m, s, action, reason) in waiting:
            continue
        # Settled the next night, the winning value may be one the target refuses: then it is a reject.
        refused = action == Action.REJECT.value and reason == Reason.INVALID_VALUE.value
        settled_later = (
            the_flow.mapping(m).conflict == "newest" and (m, s) in in_conflict and (reason in newest or refused)
        )
        assert settled_later, second.rows.filter((pl.col("mapping") == m) & (pl.col("source_id") == s))
    # And applying the second plan changes nothing more: only what waits for a person is left (with a conflict
    # settled the second night into a value the target refuses).
    refused_later = {k for k in keyed(second) if k[2] == Action.REJECT.value and (k[0], k[1]) in in_conflict}
    assert {k for k in keyed(third) if k[2] not in SETTLED} <= waiting | refused_later


@FAST
@given(world=worlds(), the_flow=ALL_POLICIES)
def test_no_plan_lists_a_record_twice_with_one_action(world: World, the_flow: Flow) -> None:
    """One row per (mapping, source record, action).

    A record may have two rows, never two of one action: a pair whose properties go in both directions gets
    one ``update_target`` row (the properties the source changed) and one ``update_source`` row (the ones
    the target changed), and a property in conflict next to a plain update adds a ``conflict`` row. Each row
    writes one side, so that approving or rejecting one in the workbook never half-applies the other.
    """
    with synced(world, the_flow) as run:
        rows = run.plan().rows.filter(pl.col("source_id").is_not_null())
    counts = rows.group_by("mapping", "source_id", "action").len()
    assert counts.filter(pl.col("len") > 1).is_empty(), counts
    assert rows["row_id"].is_unique().all()
    # in_sync, create, ambiguous and reject never share a record with anything else.
    alone = {Action.IN_SYNC.value, Action.CREATE.value, Action.AMBIGUOUS.value}
    per_record = rows.group_by("mapping", "source_id").agg(pl.col("action"))
    for actions in per_record["action"].to_list():
        assert len(actions) == 1 or not alone & set(actions), actions


@SLOW
@given(
    world=worlds(),
    the_flow=ALL_POLICIES,
    side=st.sampled_from(["source", "target"]),
    edit=st.fixed_dictionaries({"Name": NAMES, "Email": EMAILS, "Country": COUNTRIES}),
)
def test_a_record_edited_on_one_side_only_is_never_a_conflict(
    world: World, the_flow: Flow, side: str, edit: dict[str, Any]
) -> None:
    """After a sync, edit a pair that is in sync on one side: the next plan writes the other side, or nothing.

    Whatever the policy, the modified times or the values, it is never a conflict, and the side edited is
    never written.
    """
    with synced(world, the_flow) as run:
        run.apply(run.plan())
        before = run.plan().rows.filter(pl.col("mapping") == "customers")
        per_record = before.group_by("source_id").agg(pl.col("action"))
        quiet = set(per_record.filter(pl.col("action") == [Action.IN_SYNC.value])["source_id"].to_list())
        pairs = [(s, t) for s, t in run.links("customers") if s in quiet]
        if not pairs:
            return
        s, t = pairs[0]
        if side == "source":
            client = run.systems["crm"].records["Client"][s]
            client.update({"name": edit["Name"], "email": edit["Email"], "changed": "2031-01-01T00:00:00"})
            client["address"] = {"country": edit["Country"]}
            allowed = {*SETTLED, Action.UPDATE_TARGET.value, Action.REJECT.value}
        else:
            run.systems["books"].records["Customer"][t].update({**edit, "Modified": "2031-01-01T00:00:00"})
            allowed = {*SETTLED, Action.UPDATE_SOURCE.value, Action.REJECT.value}
        after = run.plan().rows
    mine = after.filter((pl.col("mapping") == "customers") & (pl.col("source_id") == s))
    assert set(mine["action"].to_list()) <= allowed, mine


@FAST
@given(
    names=st.lists(st.sampled_from(["Ola", "Kari"]), min_size=1, max_size=4),
    source_keys=st.lists(st.sampled_from(["", " ", "   ", None]), min_size=1, max_size=4),
    target_keys=st.lists(st.sampled_from(["", " ", "\t", None]), min_size=1, max_size=4),
)
def test_blank_merge_keys_never_match(
    names: list[str], source_keys: list[str | None], target_keys: list[str | None]
) -> None:
    result = plan(
        flow(),
        clients(*({"id": i, "name": names[i % len(names)], "email": k} for i, k in enumerate(source_keys))),
        customers(*({"ID": f"c{i}", "Name": "Ola", "Email": k} for i, k in enumerate(target_keys))),
    )
    assert result.merges.is_empty()
    customers_rows = result.rows.filter(pl.col("mapping") == "customers")
    assert set(customers_rows["action"].to_list()) == {Action.CREATE.value}
