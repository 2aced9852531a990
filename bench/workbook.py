"""How fast the review workbook is written and read back, against bare xlsxwriter writing the same cells.

A plan of N rows of one mapping, shaped as the engine plans them (a fifth creates with five new values, one
of them a number; the rest updates listing only the properties that change), is written as a signed review
workbook by :func:`reconcile.report.workbook.write_workbook`, from the plan frame to the closed file. The
baseline writes the same cells of the mapping sheet (the same values, typed, with the same fills and formats
and the blank Decision cell) with xlsxwriter in constant-memory mode and nothing else: no Summary, no check,
no conversion, the values made beforehand. Both are measured in the same run, alternated, taking the best of
a few rounds. Then every Decision cell is set to "approve" (in the sheet's XML, as a spreadsheet program would
store it) and the decisions are read back and checked, line by line.

Run with ``python -m bench.workbook``; it prints ``bench workbook rows=.. ours_s=.. xlsxwriter_s=.. ratio=..
read_s=..``.
"""

from __future__ import annotations

import re
import tempfile
import time
import zipfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl
import xlsxwriter

from reconcile.model.plan import PLAN_SCHEMA
from reconcile.report.decisions import read_review_workbook
from reconcile.report.info import MappingInfo, RunInfo
from reconcile.report.workbook import write_workbook

PROPS = ("Name", "Email", "City", "Phone", "CreditLimit")
KEY = b"bench-review-key-of-32-bytes-...."
INFO = RunInfo(
    run_id="bench",
    flow="bench",
    source="src",
    target="dst",
    started_at=datetime(2024, 6, 1, tzinfo=UTC),
    dry_run=True,
    plan_hash="0" * 16,
    mappings=(MappingInfo("customers", "Customers", "Accounts", PROPS),),
    source_title="PowerOffice Go",
    target_title="Exact Online",
)
REASON = "changed in the source since the last sync"


def plan(n: int) -> pl.DataFrame:
    """N rows as the engine plans them: a fifth creates (every property new), the rest updates listing the
    properties that change (the name always, the others now and then)."""
    rows = []
    for i in range(n):
        values = {
            "Name": (f"Customer {i}", f"Customer {i} AS"),
            "Email": (f"post{i}@example.no", f"faktura{i}@example.no"),
            "City": ("Oslo", "Bergen"),
            "Phone": (f"+47 {i:08d}", f"+47 {i + 1:08d}"),
            "CreditLimit": (f"{i % 1000}.50", f"{i % 1000 + 100}.50"),
        }
        changes: list[tuple[str, str | None, str]]
        if i % 5 == 0:
            action, reason, target_id = "create", "new_in_source", None
            changes = [(p, None, new) for p, (_, new) in values.items()]
        else:
            action, reason, target_id = "update_target", "source_changed", f"A-{i}"
            every = {"Name": 1, "City": 3, "CreditLimit": 4, "Email": 7, "Phone": 11}
            changes = [(p, old, new) for p, (old, new) in values.items() if i % every[p] == 0]
        rows.append(
            {
                "row_id": f"customers|{action}|{i}|{target_id or ''}",
                "mapping": "customers",
                "action": action,
                "reason": reason,
                "source_id": str(i),
                "target_id": target_id,
                "label": f"Customer {i} AS",
                "changes": [{"property": p, "field": p, "old": o, "new": v, "base": o} for p, o, v in changes],
                "parents": [],
            }
        )
    return pl.DataFrame(rows, schema={k: v for k, v in PLAN_SCHEMA.items() if k in rows[0]})


def ours(frame: pl.DataFrame, path: Path) -> None:
    write_workbook(path, frame, INFO, KEY)


def cells(frame: pl.DataFrame) -> list[list[Any]]:
    """The mapping sheet's cells as the baseline writes them (None: no cell), made before the clock starts."""
    words = {"create": "create in Exact Online", "update_target": "update in Exact Online"}
    reasons = {"new_in_source": "new in the source: created in the target", "source_changed": REASON}
    out = []
    for i, (row_id, action, reason, source_id, target_id, label, changes) in enumerate(
        frame.select("row_id", "action", "reason", "source_id", "target_id", "label", "changes").iter_rows()
    ):
        by = {c["property"]: c for c in changes}
        values: list[Any] = [label, words[action], reasons[reason], source_id, target_id]
        for prop in PROPS:
            change = by.get(prop)
            pair = (change["old"], change["new"]) if change else (None, None)
            values += [float(v) if v is not None and prop == "CreditLimit" else v for v in pair]
        out.append([*values, row_id, f"{i:032x}"])
    return out


def bare(rows: list[list[Any]], path: Path) -> None:
    """The same cells, with xlsxwriter in constant-memory mode and nothing else."""
    book = xlsxwriter.Workbook(str(path), {"constant_memory": True})
    changed = book.add_format({"pattern": 1, "bg_color": "#FFEB9C"})
    decision = book.add_format({"pattern": 1, "bg_color": "#FFF2CC", "locked": False})
    wrap = book.add_format({"text_wrap": True, "valign": "top"})
    decimals = book.add_format({"num_format": "0.00"})
    formats = {3: wrap, **dict.fromkeys(range(7, 16, 2), changed)}
    ws = book.add_worksheet("customers")
    for r, row in enumerate(rows, start=1):
        ws.write_blank(r, 0, None, decision)
        for c, value in enumerate(row, start=1):
            if value is None:
                continue
            if isinstance(value, str):
                ws.write_string(r, c, value, formats.get(c))
            else:
                ws.write_number(r, c, value, decimals)
    book.close()


def approve_all(path: Path) -> None:
    """Set every Decision cell of the mapping sheet to "approve", in the sheet's XML."""
    blank = re.compile(rb'<c r="(A\d+)" s="(\d+)"/>')
    with zipfile.ZipFile(path) as source:
        parts = {name: source.read(name) for name in source.namelist()}
    name = "xl/worksheets/sheet3.xml"
    parts[name] = blank.sub(rb'<c r="\1" s="\2" t="inlineStr"><is><t>approve</t></is></c>', parts[name])
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as target:
        for part, data in parts.items():
            target.writestr(part, data)


def _timed(fn: Any, *args: Any) -> float:
    start = time.perf_counter()
    fn(*args)
    return time.perf_counter() - start


def run(n: int = 100_000, rounds: int = 2) -> dict[str, Any]:
    frame = plan(n)
    baseline_cells = cells(frame)
    with tempfile.TemporaryDirectory() as folder:
        ours_path, bare_path = Path(folder, "plan.xlsx"), Path(folder, "bare.xlsx")
        t_ours = t_bare = float("inf")
        for _ in range(rounds):  # alternated, so that both see the same machine
            t_ours = min(t_ours, _timed(ours, frame, ours_path))
            t_bare = min(t_bare, _timed(bare, baseline_cells, bare_path))
        approve_all(ours_path)
        t_read = float("inf")
        for _ in range(rounds):
            start = time.perf_counter()
            decided = read_review_workbook(ours_path, KEY).decisions
            t_read = min(t_read, time.perf_counter() - start)
        assert len(decided) == n, len(decided)
    return {
        "rows": n,
        "ours_s": round(t_ours, 2),
        "xlsxwriter_s": round(t_bare, 2),
        "ratio": round(t_ours / t_bare, 2),
        "read_s": round(t_read, 2),
    }


if __name__ == "__main__":
    result = run()
    print("bench workbook " + " ".join(f"{k}={v}" for k, v in result.items()))
