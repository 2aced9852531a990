"""The run folder's plan: ``plan.parquet``, ``plan.json`` (counts and the plan's content hash) and the workbook."""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Mapping as MappingType
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path

import polars as pl

from reconcile.engine.build import FlowPlan
from reconcile.engine.fingerprint import fingerprints
from reconcile.model.catalogue import Catalogue
from reconcile.model.flow import Flow
from reconcile.report.info import MappingInfo, RunInfo
from reconcile.report.summary import counts_json

log = logging.getLogger("reconcile")


def write_parquet(frame: pl.DataFrame, path: Path) -> None:
    """Write a frame of the run folder as Parquet: zstd at its fastest level, which at a million rows takes a
    third less time than the default level for files a few percent larger."""
    frame.write_parquet(path, compression="zstd", compression_level=1)


def plan_hash(rows: pl.DataFrame) -> str:
    """A content hash of the plan: the same plan gives the same hash, whatever the row order.

    Each row counts by its id, action and reason, and by its fingerprint, which covers the rest of what a
    person decides on (:mod:`reconcile.engine.fingerprint`; rows in sync have none): one SHA-256 over those,
    sorted, instead of a serialisation of every row.
    """
    if "fingerprint" not in rows.columns:
        rows = rows.with_columns(fingerprints(rows))
    lines = rows.select(
        pl.concat_str(
            [pl.col(c).cast(pl.Utf8).fill_null("~") for c in ("row_id", "action", "reason", "fingerprint")],
            separator="\t",
        ).alias("line")
    )["line"].sort()
    digest = hashlib.sha256()
    for chunk in lines.to_frame().iter_slices(65536):
        digest.update(chunk["line"].str.join("\n").item().encode())
        digest.update(b"\n")
    return digest.hexdigest()[:16]


def write_run_folder(
    flow: Flow,
    plan: FlowPlan,
    rows: pl.DataFrame,
    report_dir: Path,
    run_id: str,
    started: datetime,
    dry_run: bool,
    guards: list[str],
    outcome: str,
    *,
    key: bytes,
    catalogues: MappingType[str, Catalogue] | None = None,
    workbook: bool = True,
    counts: MappingType[str, MappingType[str, int]] | None = None,
    state_dir: Path | None = None,
    connections: Path | None = None,
) -> None:
    """Write the plan as Parquet (with the outcome of every row), its JSON summary and the review workbook.

    ``key`` is the state's review key, which signs the workbook; ``catalogues`` (by system) give the systems'
    titles and the fields' headers. Without ``workbook`` the folder has everything but the workbook; with it,
    the time the workbook took is logged (``-v``), apart from the rest of the run. ``counts`` are the plan's
    (:func:`~reconcile.report.summary.counts_json`), when the caller has them already. ``state_dir`` and
    ``connections`` are recorded (as absolute paths) so that ``apply`` finds them from the folder alone.
    """
    # The plan's file is written while its hash is worked out: Polars lets go of the interpreter as it writes.
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="run-folder") as writer:
        written = writer.submit(write_parquet, rows, report_dir / "plan.parquet")
        digest = plan_hash(plan.rows)
        write_parquet(plan.merges, report_dir / "merges.parquet")
        written.result()
    summary = {
        "run_id": run_id,
        "flow": flow.name,
        "flow_file": str(Path(flow.path).resolve()) if flow.path else "",  # apply may run elsewhere
        "state_dir": str(state_dir.resolve()) if state_dir is not None else "",
        "connections": str(connections.resolve()) if connections is not None else "",
        "source": flow.source,
        "target": flow.target,
        "started_at": started.isoformat(timespec="seconds"),
        "dry_run": dry_run,
        "plan_hash": digest,
        "outcome": outcome,
        "guards": guards,
        "counts": counts_json(plan.rows) if counts is None else counts,
    }
    (report_dir / "plan.json").write_text(json.dumps(summary, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    if not workbook:
        return
    catalogues = catalogues or {}
    source, target = catalogues.get(flow.source), catalogues.get(flow.target)
    info = RunInfo(
        run_id=run_id,
        flow=flow.name,
        source=flow.source,
        target=flow.target,
        started_at=started,
        dry_run=dry_run,
        plan_hash=digest,
        guards=tuple(guards),
        mappings=tuple(
            MappingInfo.of(m, source.entity(m.source) if source else None, target.entity(m.target) if target else None)
            for m in flow.mappings
        ),
        source_title=source.title if source else "",
        target_title=target.title if target else "",
    )
    began = time.perf_counter()
    from reconcile.report.workbook import write_workbook  # its writer is imported only by a run that needs it

    write_workbook(report_dir / "plan.xlsx", rows, info, key)  # rows: with what became of each, when applied
    log.info("wrote the workbook (%d rows) in %.3f s", rows.height, time.perf_counter() - began)
