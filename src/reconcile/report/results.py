"""The results workbook of an applied review: what became of each decision, in words.

One sheet, **Results**: the apply run, the plan run it carried out, who applied it and when, a count per
status, then one line per decision (the record, its mapping, the cell it was decided in, the decision in the
workbook's words, the status, and what happened: written, failed with the system's error, skipped because the
record it belongs to was not written, refused as stale with what changed, remembered, linked). Failures and
refusals come first: they are what a person has to act on.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from reconcile.atomic import write_atomically
from reconcile.model.plan import ReviewDecision
from reconcile.report.cells import excel_datetime
from reconcile.report.info import system_action_words
from reconcile.report.kinds import CREATE_NEW, FIXED_CHOICES, keep_words
from reconcile.report.sheet import Book
from reconcile.report.table import Column, Table
from reconcile.report.values import scrub

STATUS_WORDS: dict[str, str] = {
    "failed": "failed",
    "stale": "refused: stale",
    "skipped": "skipped",
    "written": "written",
    "done": "done",
}
"""A status as the results say it; the order is the order lines are listed in."""
_CHOICE_WORDS = {decision.value: words for choices in FIXED_CHOICES.values() for words, decision in choices}
_COLUMNS = ("where", "mapping", "row_id", "action", "label", "decision", "property", "target_id", "status", "message")


def decision_words(decision: str | None, source_title: str, target_title: str) -> str:
    """A decision as the workbook offered it: "keep Exact Online's value", "create new", "approve"."""
    words = {
        ReviewDecision.KEEP_SOURCE.value: keep_words(source_title),
        ReviewDecision.KEEP_TARGET.value: keep_words(target_title),
        ReviewDecision.CREATE_NEW.value: CREATE_NEW,
        ReviewDecision.LINK_TO.value: "link to the chosen record",
    }
    return words.get(decision or "") or _CHOICE_WORDS.get(decision or "", (decision or "").replace("_", " "))


def write_results(
    path: Path,
    rows: pl.DataFrame,
    *,
    plan_run_id: str,
    run_id: str,
    flow: str,
    source_title: str = "the source",
    target_title: str = "the target",
) -> Path:
    """Write the results of an applied review at ``path`` and return the path.

    ``rows`` has a line per decision: where, mapping, row_id, action, label, decision, property, status (a
    word of :data:`STATUS_WORDS`, or any other) and message; ``user``, ``host`` and ``applied_at`` when known.
    """
    missing = [c for c in ("row_id", "status") if c not in rows.columns]
    if missing:
        raise ValueError(f"not the results of a review: no column {', '.join(missing)}")
    rows = rows.with_columns(pl.lit(None, dtype=pl.Utf8).alias(c) for c in _COLUMNS if c not in rows.columns)
    order = {status: i for i, status in enumerate(STATUS_WORDS)}
    rows = rows.with_columns(
        pl.col("status").replace_strict(order, default=len(order), return_dtype=pl.Int64).alias("_order")
    ).sort("_order", maintain_order=True)
    write_atomically(path, lambda tmp: _write(tmp, rows, plan_run_id, run_id, flow, source_title, target_title))
    return path


def _write(
    path: Path, rows: pl.DataFrame, plan_run_id: str, run_id: str, flow: str, source_title: str, target_title: str
) -> None:
    book = Book(path)
    sheet = book.sheet("Results")
    ws = sheet.ws
    ws.write_string(0, 0, "Results of the review", book.fmt(bold=True, size=14))
    facts: list[tuple[str, str]] = [("Applied by run", run_id), ("Plan of run", plan_run_id), ("Flow", flow)]
    if "user" in rows.columns and rows.height:
        first = rows.row(0, named=True)
        facts.append(("Applied by", f"{first.get('user') or '?'} on {first.get('host') or '?'}"))
    line = 2
    for name, value in facts:
        sheet.label(line, 0, name, book.bold)
        sheet.put(line, 1, value)
        line += 1
    if "applied_at" in rows.columns and rows.height and rows.item(0, "applied_at") is not None:
        moment, number_format = excel_datetime(rows.item(0, "applied_at"))
        sheet.label(line, 0, "Applied at", book.bold)
        ws.write_datetime(line, 1, moment, book.fmt(number_format, left=True))
        line += 1
    line += 1
    counts = rows.group_by("status", maintain_order=True).len()
    sheet.label(line, 0, "Decisions", book.bold)
    sheet.put(line, 1, rows.height)
    for status, n in counts.iter_rows():
        line += 1
        sheet.put(line, 0, STATUS_WORDS.get(status or "", status or ""))
        sheet.put(line, 1, n)
    table = Table(
        sheet,
        "results",
        [
            Column("Record"),
            Column("Mapping"),
            Column("Decided in"),
            Column("Action"),
            Column("Decision"),
            Column("Status"),
            Column("What happened", wrap=True),
        ],
        header_row=line + 2,
    )
    for row in rows.select(_COLUMNS).iter_rows(named=True):
        decision = decision_words(row["decision"], source_title, target_title)
        if row["decision"] == ReviewDecision.LINK_TO.value and row["target_id"]:
            decision = f"link to {target_title} record {row['target_id']}"
        if row["property"]:
            decision = f"{decision} ({row['property']})"
        status = row["status"] or ""
        table.add(
            [
                row["label"] or row["row_id"],
                row["mapping"],
                row["where"],
                system_action_words(row["action"], source_title, target_title) or None,
                decision or None,
                STATUS_WORDS.get(status, status),
                scrub(row["message"]) if row["message"] else None,
            ]
        )
    table.finish()
    sheet.finish()
    book.close()
