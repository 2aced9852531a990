"""The invariants a world must hold after a clean rerun, checked against both systems and the state.

The oracle knows the world, not the engine: from the flows, the records both systems hold now, the records
the target held before any run, and the edits people made, it works out what must be true and names each
way it is not (:class:`Finding`, with a short code for the table):

- ``duplicate``   a target record the runs made that no link holds; two links to one target record; two
                  target records with one merge key (compared as a person means it: case and Unicode form)
- ``lost``        a source record that no link holds (it never reached the target)
- ``dangling``    a link to a record that is not there
- ``value``       a linked pair whose values differ by the mapping (a reference through the parent's link)
- ``lost-change`` an edit a person made that neither system holds any more
- ``shadow``      a shadow that differs from what both systems hold
- ``pending``     a journal entry still pending after a clean rerun
- ``unsettled``   a plan made right after the clean rerun that still has something to do

Values compare by meaning: text trimmed and NFC-normalised, e-mail addresses without regard to case,
numbers at six decimals, dates as ISO dates.
"""

from __future__ import annotations

import unicodedata
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import polars as pl

from reconcile.config.flow import load_flow
from reconcile.model.catalogue import Catalogue
from reconcile.model.flow import Flow, Mapping
from reconcile.model.shadows import narrow
from reconcile.model.values import key_text
from reconcile.state.store import StateStore, open_state
from tests.faults.worlds.base import Records, RunOutcome, World

SHOWN = 3
"""Examples a finding names before it says how many more there are."""


@dataclass(frozen=True)
class Finding:
    """One way the world breaks an invariant: a code for the table, and what a person reads."""

    code: str
    detail: str

    def __str__(self) -> str:
        return f"{self.code}: {self.detail}"


def canon(value: Any, email: bool = False) -> str | None:
    """A value as it is meant: what two systems must agree on."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(round(float(value), 6))
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=UTC)).astimezone(UTC).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    text = unicodedata.normalize("NFC", str(value).strip())
    try:
        return repr(round(float(text), 6))
    except ValueError:
        pass
    if text.lower() in ("true", "false"):
        return text.lower()
    return text.casefold() if email else text


def _few(items: list[str]) -> str:
    more = len(items) - SHOWN
    return ", ".join(items[:SHOWN]) + (f" and {more} more" if more > 0 else "")


class Oracle:
    """Checks one world after its clean rerun; :meth:`check` returns every finding."""

    def __init__(self, world: World) -> None:
        self.world = world
        self.flows: list[Flow] = [load_flow(path) for path in world.flows]
        with world.systems() as systems:
            self.catalogues: dict[str, Catalogue] = {
                name: systems.catalogue(name) for flow in self.flows for name in (flow.source, flow.target)
            }
        self.records: Records = world.records()
        self.findings: list[Finding] = []

    def find(self, code: str, detail: str) -> None:
        self.findings.append(Finding(code, detail))

    def check(self) -> list[Finding]:
        with open_state(self.world.state_dir) as store:
            linked: dict[tuple[str, str], set[str]] = defaultdict(set)
            for flow in self.flows:
                links = store.links(flow.name)
                shadows = narrow(store.shadows(flow.name))
                by_mapping = {
                    m.name: dict(links.filter(pl.col("mapping") == m.name).select("source_id", "target_id").iter_rows())
                    for m in flow.mappings
                }
                for mapping in flow.mappings:
                    target = self._entity(flow.target, mapping.target)
                    linked[(flow.target, target)] |= set(by_mapping[mapping.name].values())
                    self._mapping(flow, mapping, by_mapping, shadows)
                self._pending(store, flow)
        self._orphans(linked)
        self._edits()
        return self.findings

    # -- per mapping -------------------------------------------------------------------------------------------

    def _entity(self, system: str, name: str) -> str:
        entity = self.catalogues[system].entity(name)
        assert entity is not None
        return entity.name

    def _mapping(self, flow: Flow, mapping: Mapping, links: dict[str, dict[str, str]], shadows: pl.DataFrame) -> None:
        where = f"{flow.name} {mapping.name}"
        source = self.records[(flow.source, self._entity(flow.source, mapping.source))]
        target = self.records[(flow.target, self._entity(flow.target, mapping.target))]
        mine = links[mapping.name]
        twice = [t for t, n in Counter(mine.values()).items() if n > 1]
        if twice:
            self.find("duplicate", f"{where}: target records linked to several source records: {_few(twice)}")
        gone = [f"{s} -> {t}" for s, t in mine.items() if s not in source or t not in target]
        if gone:
            self.find("dangling", f"{where}: links to records that are not there: {_few(gone)}")
        lost = sorted(set(source) - set(mine))
        if lost:
            self.find("lost", f"{where}: source records that never reached {flow.target}: {_few(lost)}")
        self._merge_keys(flow, mapping, target)
        shadow = {
            (s, p): v
            for s, p, v in shadows.filter(pl.col("mapping") == mapping.name)
            .select("source_id", "property", "value")
            .iter_rows()
        }
        target_entity = self.catalogues[flow.target].entity(mapping.target)
        assert target_entity is not None
        differ: list[str] = []
        stale: list[str] = []
        for source_id, target_id in sorted(mine.items()):
            if source_id not in source or target_id not in target:
                continue
            s, t = source[source_id], target[target_id]
            for prop in mapping.properties:
                if prop.source is None:
                    continue
                found = target_entity.fields.get(prop.target)
                email = found is not None and found.format == "email"
                if prop.ref is not None:
                    parent = key_text(s.get(prop.source))
                    want = links.get(prop.ref, {}).get(parent) if parent is not None else None
                    have, base = key_text(t.get(prop.target)), canon(parent)
                else:
                    want, have = canon(s.get(prop.source), email), canon(t.get(prop.target), email)
                    base = want
                if want != have:
                    differ.append(f"{source_id}.{prop.source}={want!r} but {target_id}.{prop.target}={have!r}")
                elif (source_id, prop.target) in shadow and canon(shadow[(source_id, prop.target)], email) != base:
                    stale.append(
                        f"{source_id}.{prop.target}: shadow {shadow[(source_id, prop.target)]!r}, both {base!r}"
                    )
        if differ:
            self.find("value", f"{where}: linked records differ: {_few(differ)}")
        if stale:
            self.find("shadow", f"{where}: shadows differ from both systems: {_few(stale)}")

    def _merge_keys(self, flow: Flow, mapping: Mapping, target: dict[str, dict[str, Any]]) -> None:
        for rule in mapping.merge:
            fields = [t for _, t in rule]
            keys = Counter(
                tuple(canon(r.get(f), email=True) for f in fields)
                for r in target.values()
                if all(canon(r.get(f)) is not None for f in fields)
            )
            twice = [" + ".join(str(k) for k in key) for key, n in keys.items() if n > 1]
            if twice:
                self.find(
                    "duplicate",
                    f"{flow.name} {mapping.name}: {flow.target} holds several records with "
                    f"{' + '.join(fields)} = {_few(twice)}",
                )

    # -- across mappings ---------------------------------------------------------------------------------------

    def _orphans(self, linked: dict[tuple[str, str], set[str]]) -> None:
        """Records a run made that no link holds: a create that happened twice, or whose link was lost."""
        for (system, entity), ids in linked.items():
            held = set(self.records[(system, entity)])
            orphans = sorted(held - ids - self.world.preexisting.get((system, entity), set()))
            if orphans:
                self.find("duplicate", f"{system} {entity}: records made by a run that no link holds: {_few(orphans)}")

    def _edits(self) -> None:
        missing: list[str] = []
        for edit in self.world.edits:
            held = self.records.get((edit.system, self._entity(edit.system, edit.entity)), {})
            record = held.get(edit.key)
            if record is None:
                missing.append(f"{edit.system} {edit.entity} {edit.key} is gone")
            elif canon(record.get(edit.field), True) != canon(edit.value, True):
                held_now = record.get(edit.field)
                missing.append(f"{edit.system} {edit.entity} {edit.key}.{edit.field}={held_now!r}, not {edit.value!r}")
        if missing:
            self.find("lost-change", _few(missing))

    def _pending(self, store: StateStore, flow: Flow) -> None:
        pending = store.pending(flow.name)
        if pending:
            rows = [f"{p['mapping']} {p['kind']} {p['source_id']}" for p in pending]
            self.find("pending", f"{flow.name}: journal entries still pending: {_few(rows)}")


def settled(dry: RunOutcome, flow: str) -> list[Finding]:
    """A plan made right after a clean rerun (``dry``, a dry run) must find nothing to do."""
    if dry.plan is None:
        return [Finding("unsettled", f"{flow}: the plan after the clean rerun ended {dry}")]
    open_rows = dry.plan.filter(pl.col("action") != "in_sync")
    if open_rows.is_empty():
        return []
    counts = open_rows.group_by("mapping", "action").len().sort("mapping", "action").iter_rows()
    held = _few([f"{m} {a} x{n}" for m, a, n in counts])
    return [Finding("unsettled", f"{flow}: a plan after the clean rerun still holds {held}")]
