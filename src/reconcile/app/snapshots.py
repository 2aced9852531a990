"""Load: every entity a flow touches, read once, checked, and kept as Parquet in the run folder.

A snapshot is written to the run folder in a thread of its own while the run goes on (Polars lets go of the
interpreter while it writes): the plan is built meanwhile, and the run waits for the snapshots
(:meth:`Snapshots.kept`) before it writes its plan or anything to a system, so that no run acts on a snapshot
it could not keep.

A read that still fails after the connector's retries does not end the night: the entity is left out, and
so is every mapping that needs it (:func:`skipped_mappings`); the rest of the flow runs, and the run ends
saying what it skipped and why (exit 4). A mapping needs the entities it reads and writes, the mappings it
refers to (its references resolve through their links), and the mappings of the records embedded in its own.
A system that refuses the credentials, whose limit is used up or that cannot be reached is not asked for its other
entities, and an entity only skipped mappings need is not read.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Mapping as MappingType
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from reconcile.app.progress import Reporter
from reconcile.errors import AuthError, NetworkError, RateLimited, SystemFailure
from reconcile.model.casting import repeated
from reconcile.model.catalogue import Catalogue, Entity
from reconcile.model.flow import Flow
from reconcile.report.runfolder import write_parquet
from reconcile.systems.registry import Systems

log = logging.getLogger("reconcile")


@dataclass(frozen=True)
class Snapshots:
    """The snapshots of a flow's entities, by (system, entity), and the entities that could not be read."""

    frames: dict[tuple[str, str], pl.DataFrame]
    failed: dict[tuple[str, str], SystemFailure] = field(default_factory=dict)
    """(system, entity) -> why it could not be read."""
    keeping: tuple[Future[None], ...] = ()
    """The snapshots' writes to the run folder, under way."""

    def kept(self) -> None:
        """Wait until every snapshot is in the run folder; raises what stopped one from being written."""
        for write in self.keeping:
            write.result()


def read_snapshots(flow: Flow, systems: Systems, folder: Path, reporter: Reporter) -> Snapshots:
    """Every entity the flow touches, read once, kept as Parquet in the run folder; failed reads noted.

    Once a read has failed, an entity only the mappings it leaves out need is not read at all.
    """
    catalogues = {name: systems.catalogue(name) for name in (flow.source, flow.target)}
    needs: dict[str, list[tuple[str, str]]] = {}
    for m in flow.mappings:
        for system, name in ((flow.source, m.source), (flow.target, m.target)):
            entity = catalogues[system].entity(name)
            assert entity is not None
            needs.setdefault(m.name, []).append((system, entity.name))
    wanted = list(dict.fromkeys(key for keys in needs.values() for key in keys))
    frames: dict[tuple[str, str], pl.DataFrame] = {}
    failed: dict[tuple[str, str], SystemFailure] = {}
    folder.mkdir(parents=True, exist_ok=True)
    writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="snapshots")
    keeping: list[Future[None]] = []
    for system, name in wanted:
        if (system, name) in failed:
            continue
        if failed:
            skipped = skipped_mappings(flow, catalogues, failed)
            if all(m in skipped for m, keys in needs.items() if (system, name) in keys):
                continue
        reporter.loading(system, name)
        try:
            frame = systems.open(system).read(name)
            refuse_duplicate_ids(system, catalogues[system].entity(name), frame)
        except SystemFailure as exc:
            log.error("could not read %s %s: %s", system, name, exc)
            failed[(system, name)] = exc
            if _system_is_down(exc):  # its other entities would fail the same way: not asked for
                failed.update({key: exc for key in wanted if key[0] == system and key not in frames})
            continue
        reporter.loaded(system, name, frame.height)
        frames[(system, name)] = frame
        keeping.append(writer.submit(write_parquet, frame, folder / f"{system}.{name.replace(' ', '_')}.parquet"))
        log.info("read %s %s: %d records", system, name, frame.height)
    writer.shutdown(wait=False)  # the writes under way go on
    return Snapshots(frames, failed, tuple(keeping))


def _system_is_down(exc: SystemFailure) -> bool:
    """Whether a failed read says the whole system is out of reach: credentials, limits, no connection."""
    return isinstance(exc, AuthError | RateLimited) or (isinstance(exc, NetworkError) and not exc.maybe_applied)


def skipped_mappings(
    flow: Flow, catalogues: MappingType[str, Catalogue], failed: MappingType[tuple[str, str], SystemFailure]
) -> dict[str, str]:
    """The mappings of ``flow`` that need an entity that could not be read, each with why (see the module docs)."""
    skipped: dict[str, str] = {}
    targets: dict[str, str] = {}
    for m in flow.mappings:
        source, target = catalogues[flow.source].entity(m.source), catalogues[flow.target].entity(m.target)
        assert source is not None and target is not None
        targets[m.name] = target.name
        for key in ((flow.source, source.name), (flow.target, target.name)):
            if key in failed and m.name not in skipped:
                skipped[m.name] = f"{key[0]} {key[1]} could not be read ({failed[key]})"
    changed = bool(skipped)
    while changed:
        changed = False
        for m in flow.mappings:
            if m.name in skipped:
                continue
            parent = next((p.ref for p in m.properties if p.ref in skipped), None)
            target = catalogues[flow.target].entity(m.target)
            embedded = target.embedded.entity if target is not None and target.embedded is not None else None
            lines = next((n for n in skipped if embedded is not None and targets.get(n) == embedded), None)
            if parent is not None:
                skipped[m.name] = f"it refers to mapping {parent}, which is skipped"
            elif lines is not None:
                skipped[m.name] = f"its records are created with those of mapping {lines}, which is skipped"
            else:
                continue
            changed = True
    return skipped


def readable_part(
    flow: Flow, catalogues: MappingType[str, Catalogue], snapshots: Snapshots
) -> tuple[Flow, dict[str, str]]:
    """``flow`` less the mappings a failed read leaves out, and those mappings with why.

    When no mapping is left, the first failed read is raised: there is nothing to run.
    """
    skipped = skipped_mappings(flow, catalogues, snapshots.failed)
    if not skipped:
        return flow, skipped
    rest = tuple(m for m in flow.mappings if m.name not in skipped)
    if not rest:
        raise next(iter(snapshots.failed.values()))
    for name, why in skipped.items():
        log.error("mapping %s is skipped: %s", name, why)
    return dataclasses.replace(flow, mappings=rest), skipped


def skipped_words(skipped: MappingType[str, str]) -> str:
    """The skipped mappings in words, for the run's outcome."""
    names = ", ".join(skipped)
    why = "; ".join(f"{name}: {reason}" for name, reason in skipped.items())
    return f"skipped {len(skipped)} mapping{'s' if len(skipped) != 1 else ''} ({names}) because a read failed: {why}"


def refuse_duplicate_ids(system: str, entity: Entity | None, frame: pl.DataFrame) -> None:
    """A snapshot where two records share an id cannot be linked safely: stop, naming the records."""
    if entity is None or entity.key not in frame.columns or frame.is_empty():
        return
    twice = repeated(frame.get_column(entity.key).cast(pl.Utf8))
    if not twice.is_empty():
        shown = ", ".join(twice.head(5).to_list()) + (" ..." if twice.len() > 5 else "")
        raise SystemFailure(
            system,
            f"{entity.name}: {twice.len()} ids occur more than once in the snapshot ({entity.key} = {shown}); "
            "nothing was planned",
        )
