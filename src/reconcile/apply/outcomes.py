"""What became of each plan row a run applied, and whether a system stopped taking writes."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import polars as pl

from reconcile.model.plan import Status
from reconcile.systems.base import System, WriteResult

OUTCOME_SCHEMA = {"row_id": pl.Utf8, "status": pl.Utf8, "key": pl.Utf8, "error": pl.Utf8}
"""One row per plan row applied; ``status`` is a :class:`~reconcile.model.plan.Status`."""


class Outcomes:
    """The outcome of every row so far; shared by the parts of one run's apply."""

    def __init__(self) -> None:
        self.rows: list[dict[str, Any]] = []
        self.failed: set[str] = set()
        self.stopped: str | None = None
        """Set when a system stopped taking writes; nothing more is sent after it."""

    def add(self, row_id: str, status: Status, key: str | None = None, error: str | None = None) -> None:
        self.rows.append({"row_id": row_id, "status": status, "key": key, "error": error})
        if status == Status.FAILED:
            self.failed.add(row_id)

    def note_stop(self, system: System, results: Iterable[WriteResult]) -> None:
        if self.stopped is None:
            for result in results:
                if result.stopped:
                    self.stopped = f"{system.name} stopped taking writes: {result.error}"
                    return

    def skip_all(self, rows: pl.DataFrame) -> None:
        for row_id in rows["row_id"]:
            self.add(row_id, Status.SKIPPED, error=f"not sent: {self.stopped}")

    def frame(self) -> pl.DataFrame:
        if not self.rows:
            return pl.DataFrame(schema=OUTCOME_SCHEMA)
        return pl.DataFrame(self.rows, schema=OUTCOME_SCHEMA)
