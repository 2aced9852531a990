"""Reports of a run: the review workbook (written, and read back for approval) and the console summary.

openpyxl is used here and nowhere else in reconcile.
"""

from __future__ import annotations

from reconcile.report.decisions import read_decisions, read_plan_hash
from reconcile.report.summary import counts, counts_json, render_summary
from reconcile.report.workbook import MappingInfo, RunInfo, write_workbook

__all__ = [
    "MappingInfo",
    "RunInfo",
    "counts",
    "counts_json",
    "read_decisions",
    "read_plan_hash",
    "render_summary",
    "write_workbook",
]
