"""Load: every entity a flow touches, read once, checked, and kept as Parquet in the run folder."""

from __future__ import annotations

import logging
from pathlib import Path

import polars as pl

from reconcile.app.progress import Reporter
from reconcile.errors import SystemFailure
from reconcile.model.catalogue import Entity
from reconcile.model.flow import Flow
from reconcile.systems.registry import Systems

log = logging.getLogger("reconcile")


def read_snapshots(
    flow: Flow, systems: Systems, folder: Path, reporter: Reporter
) -> dict[tuple[str, str], pl.DataFrame]:
    """Every entity the flow touches, read once, kept as Parquet in the run folder."""
    wanted: dict[tuple[str, str], None] = {}
    for m in flow.mappings:
        for system, name in ((flow.source, m.source), (flow.target, m.target)):
            entity = systems.catalogue(system).entity(name)
            assert entity is not None
            wanted[(system, entity.name)] = None
    snapshots: dict[tuple[str, str], pl.DataFrame] = {}
    folder.mkdir(parents=True, exist_ok=True)
    for system, name in wanted:
        reporter.loading(system, name)
        frame = systems.open(system).read(name)
        reporter.loaded(system, name, frame.height)
        refuse_duplicate_ids(system, systems.catalogue(system).entity(name), frame)
        snapshots[(system, name)] = frame
        frame.write_parquet(folder / f"{system}.{name.replace(' ', '_')}.parquet")
        log.info("read %s %s: %d records", system, name, frame.height)
    return snapshots


def refuse_duplicate_ids(system: str, entity: Entity | None, frame: pl.DataFrame) -> None:
    """A snapshot where two records share an id cannot be linked safely: stop, naming the records."""
    if entity is None or entity.key not in frame.columns or frame.is_empty():
        return
    ids = frame.get_column(entity.key).cast(pl.Utf8)
    twice = ids.filter(ids.is_duplicated()).unique().sort()
    if not twice.is_empty():
        shown = ", ".join(twice.head(5).to_list()) + (" ..." if twice.len() > 5 else "")
        raise SystemFailure(
            system,
            f"{entity.name}: {twice.len()} ids occur more than once in the snapshot ({entity.key} = {shown}); "
            "nothing was planned",
        )
