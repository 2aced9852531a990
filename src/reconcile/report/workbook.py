"""The review workbook: a plan as an Excel workbook an accountant reads, filters and approves.

Sheets, in order: **Summary** (the run, counts per mapping and action, guards, a chart), one sheet per
mapping with changes (old and new values side by side, a ``Decision`` drop-down, the stable row id in a
hidden column), then **Conflicts**, **Rejected** and **Ambiguous** across mappings. A very hidden sheet holds
what :mod:`reconcile.report.decisions` needs to read the workbook back: the plan hash and which sheet shows
which mapping.

Data from a system is never trusted as a cell formula: every text is written as a text cell, and text that
Excel would read as a formula (``=``, ``+``, ``-``, ``@``) also gets the quote prefix, so editing the cell
keeps it text.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl
from openpyxl import Workbook
from openpyxl.chart import BarChart, Reference
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.worksheet import Worksheet

from reconcile.model.plan import Action, ReviewDecision
from reconcile.report.cells import BOLD, CHANGED_FILL, NOT_XML, Table, Value, excel_datetime, put
from reconcile.report.summary import ACTIONS, action_words, counts_json
from reconcile.report.values import numeric_properties, reason_words, scrub, shown, value_cell

if TYPE_CHECKING:
    from reconcile.model.flow import Mapping

META_SHEET = "_reconcile"
"""The very hidden sheet holding the plan hash and the mapping sheets' names."""
FORMAT_VERSION = "1"
DECISION_HEADER = "Decision"
ROW_ID_HEADER = "row_id"
DECISIONS = tuple(d.value for d in ReviewDecision)

_RESERVED_SHEETS = ("summary", "conflicts", "rejected", "ambiguous", "history", META_SHEET)
_BAD_SHEET_CHARS = re.compile(r"[\[\]:*?/\\]")


@dataclass(frozen=True)
class MappingInfo:
    """What the workbook shows of a mapping: its name, its entities, and its properties' target fields."""

    name: str
    source: str
    target: str
    fields: tuple[str, ...] = ()
    """The properties' target fields in the mapping's order: the sheet shows its columns in this order."""

    @classmethod
    def of(cls, mapping: Mapping) -> MappingInfo:
        """Take what the workbook needs from a flow's mapping."""
        return cls(mapping.name, mapping.source, mapping.target, tuple(p.target for p in mapping.properties))


@dataclass(frozen=True)
class RunInfo:
    """The run a workbook reports: who, what, when, and the plan hash an approval is checked against."""

    run_id: str
    flow: str
    source: str
    target: str
    started_at: datetime
    dry_run: bool
    plan_hash: str
    guards: tuple[str, ...] = ()
    """The messages of the guards that tripped; empty when none did."""
    mappings: tuple[MappingInfo, ...] = ()


def write_workbook(path: Path, plan: pl.DataFrame, info: RunInfo) -> Path:
    """Write the plan as a review workbook at ``path`` (parents created) and return the path."""
    missing = [c for c in ("row_id", "mapping", "action", "reason", "changes") if c not in plan.columns]
    if missing:
        raise ValueError(f"not a plan: no column {', '.join(missing)}")
    plan = _complete(plan)
    known = {m.name: m for m in info.mappings}
    names = list(dict.fromkeys([*known, *plan.get_column("mapping").fill_null("").to_list()]))
    numeric = numeric_properties(plan)
    rows: dict[str, list[dict[str, Any]]] = {name: [] for name in names}
    for row in plan.iter_rows(named=True):
        rows[row["mapping"] or ""].append(row)

    wb = Workbook()
    summary = wb.active
    summary.title = "Summary"
    _write_summary(summary, plan, info, names)

    taken = set(_RESERVED_SHEETS)
    sheets: list[tuple[str, str]] = []
    for name in names:
        changed = [r for r in rows[name] if r["action"] != Action.IN_SYNC]
        if not changed:
            continue
        title = sheet_title(name, taken)
        fields = _fields(known.get(name), changed)
        _write_mapping(wb.create_sheet(title), changed, fields, {p for m, p in numeric if m == name})
        sheets.append((title, name))
    everything = [r for name in names for r in rows[name]]
    _write_conflicts(wb.create_sheet("Conflicts"), everything, numeric)
    _write_listing(wb.create_sheet("Rejected"), [r for r in everything if r["action"] == Action.REJECT])
    _write_listing(wb.create_sheet("Ambiguous"), [r for r in everything if r["action"] == Action.AMBIGUOUS])
    _write_meta(wb.create_sheet(META_SHEET), info, sheets)
    wb.active = 0

    path.parent.mkdir(parents=True, exist_ok=True)
    wb.save(path)
    return path


def sheet_title(name: str, taken: set[str]) -> str:
    """Make a valid, unique Excel sheet name for a mapping (adds it, case-folded, to ``taken``)."""
    title = _BAD_SHEET_CHARS.sub("_", NOT_XML.sub("", name)).strip().strip("'").strip() or "mapping"
    title = title[:31].rstrip()
    candidate, n = title, 1
    while candidate.casefold() in taken:
        n += 1
        suffix = f" ({n})"
        candidate = title[: 31 - len(suffix)].rstrip() + suffix
    taken.add(candidate.casefold())
    return candidate


# --- sheets -------------------------------------------------------------------------------------------


def _write_summary(ws: Worksheet, plan: pl.DataFrame, info: RunInfo, names: list[str]) -> None:
    ws["A1"] = "Reconcile run"
    ws["A1"].font = Font(bold=True, size=14)
    started, started_format = excel_datetime(info.started_at)
    facts: list[tuple[str, Value]] = [
        ("Run", info.run_id),
        ("Flow", info.flow),
        ("Systems", f"{info.source} -> {info.target}"),
        ("Started", started),
        ("Mode", "dry run: nothing was written" if info.dry_run else "applied: the changes were written"),
        ("Plan hash", info.plan_hash),
    ]
    for i, (label, value) in enumerate(facts, start=3):
        put(ws, i, 1, label).font = BOLD
        cell = put(ws, i, 2, value)
        if label == "Started":
            cell.number_format = started_format
            cell.alignment = Alignment(horizontal="left")

    entities = {m.name: f"{m.source} -> {m.target}" for m in info.mappings}
    by_mapping = counts_json(plan)
    header_row = 3 + len(facts) + 1
    table = Table(ws, ["Mapping", "Entities", *(a.words for a in ACTIONS), "Total"], header_row=header_row)
    for name in names:
        row = by_mapping.get(name, {a.value: 0 for a in ACTIONS})
        numbers = [row[a.value] for a in ACTIONS]
        table.add([name, entities.get(name), *numbers, sum(numbers)])
    last_mapping_row = table.row
    totals = [sum(by_mapping.get(n, {}).get(a.value, 0) for n in names) for a in ACTIONS]
    total_row = table.add(["Total", None, *totals, sum(totals)])
    for col in range(1, len(ACTIONS) + 4):
        ws.cell(total_row, col).font = BOLD
    table.finish(filter_to_row=last_mapping_row)

    line = total_row + 2
    put(ws, line, 1, "Guards").font = BOLD
    for message in info.guards or ("No guard tripped.",):
        line += 1
        put(ws, line, 1, scrub(message))
    line += 2
    put(ws, line, 1, "How to review").font = BOLD
    for text in (
        "Each mapping with changes has its own sheet: one row per record, old and new values side by side.",
        "A highlighted new value differs from the old one.",
        "Set Decision to approve or reject; leave it blank to decide later. Only Decision is read back.",
        "Conflicts, Rejected and Ambiguous list those rows across all mappings.",
        "Differs rows differ where nothing is written on purpose (a property that only flows one way, a blank, "
        "a read-only field): they are not in sync, and need no decision.",
    ):
        line += 1
        put(ws, line, 1, text)

    first_action = 3
    chart = BarChart()
    chart.type = "col"
    chart.title = "Records by action"
    chart.y_axis.title = "records"
    chart.legend = None
    chart.add_data(
        Reference(ws, min_col=first_action, max_col=first_action + len(ACTIONS) - 1, min_row=total_row),
        from_rows=True,
        titles_from_data=False,
    )
    chart.set_categories(
        Reference(ws, min_col=first_action, max_col=first_action + len(ACTIONS) - 1, min_row=header_row)
    )
    chart.height, chart.width = 7.5, 16
    ws.add_chart(chart, f"{get_column_letter(len(ACTIONS) + 5)}3")


def _write_mapping(ws: Worksheet, rows: list[dict[str, Any]], fields: list[str], numeric: set[str]) -> None:
    headers = ["Action", "Reason", "Source id", "Target id", "Label"]
    for field in fields:
        headers += [f"{field} (old)", f"{field} (new)"]
    table = Table(ws, [*headers, DECISION_HEADER, ROW_ID_HEADER])
    first_value = 6
    for row in rows:
        changes = _by_property(row)
        cells: list[Value] = [
            action_words(row["action"] or ""),
            reason_words(row["reason"], row["detail"]),
            row["source_id"],
            row["target_id"],
            row["label"],
        ]
        changed: list[int] = []
        for i, field in enumerate(fields):
            change = changes.get(field)
            old, new = (None, None) if change is None else (change["old"], change["new"])
            if change is not None and old != new:
                changed.append(first_value + 2 * i + 1)
            cells += [value_cell(field, old, field in numeric), value_cell(field, new, field in numeric)]
        r = table.add([*cells, None, row["row_id"]], typed_from=first_value)
        for col in changed:
            ws.cell(r, col).fill = CHANGED_FILL
    decision_col = len(headers) + 1
    letter = get_column_letter(decision_col)
    validation = DataValidation(
        type="list",
        formula1=f'"{",".join(DECISIONS)}"',
        allow_blank=True,
        showErrorMessage=True,
        errorTitle="Decision",
        error="Choose approve or reject, or leave the cell blank.",
        showInputMessage=True,
        promptTitle="Decision",
        prompt="approve, reject, or blank to decide later",
    )
    ws.add_data_validation(validation)
    if table.row > 1:
        validation.add(f"{letter}2:{letter}{table.row}")
    table.finish()
    ws.column_dimensions[letter].width = max(ws.column_dimensions[letter].width, 12)
    ws.column_dimensions[get_column_letter(decision_col + 1)].hidden = True


def _write_conflicts(ws: Worksheet, rows: list[dict[str, Any]], numeric: set[tuple[str, str]]) -> None:
    table = Table(
        ws,
        [
            "Mapping",
            "Source id",
            "Target id",
            "Label",
            "Reason",
            "Property",
            "Source value",
            "Target value",
            "Last synced value",
        ],
    )
    for row in rows:
        if row["action"] != Action.CONFLICT:
            continue
        head: list[Value] = [
            row["mapping"],
            row["source_id"],
            row["target_id"],
            row["label"],
            reason_words(row["reason"], row["detail"]),
        ]
        changes = _by_property(row)
        if not changes:
            table.add([*head, None, None, None, None])
        for field, change in changes.items():
            is_number = (row["mapping"] or "", field) in numeric
            # For a conflict, ``new`` is the source's value and ``old`` the target's.
            values = [value_cell(field, change[k], is_number) for k in ("new", "old", "base")]
            table.add([*head, field, *values], typed_from=7)
    table.finish()


def _write_listing(ws: Worksheet, rows: list[dict[str, Any]]) -> None:
    table = Table(ws, ["Mapping", "Source id", "Target id", "Label", "Reason", "Detail", "Values"])
    for row in rows:
        values = "; ".join(
            f"{field}: {shown(field, change['new'] if change['new'] is not None else change['old'])}"
            for field, change in _by_property(row).items()
            if change["new"] is not None or change["old"] is not None
        )
        table.add(
            [
                row["mapping"],
                row["source_id"],
                row["target_id"],
                row["label"],
                reason_words(row["reason"], None),
                scrub(row["detail"]) if row["detail"] else None,
                values or None,
            ]
        )
    table.finish()


def _write_meta(ws: Worksheet, info: RunInfo, sheets: list[tuple[str, str]]) -> None:
    ws.sheet_state = "veryHidden"
    rows: list[tuple[str, ...]] = [
        ("format", FORMAT_VERSION),
        ("plan_hash", info.plan_hash),
        ("run_id", info.run_id),
        ("flow", info.flow),
        *(("sheet", title, name) for title, name in sheets),
    ]
    for r, values in enumerate(rows, start=1):
        for c, value in enumerate(values, start=1):
            put(ws, r, c, value)


# --- the plan -----------------------------------------------------------------------------------------


def _complete(plan: pl.DataFrame) -> pl.DataFrame:
    """Add the optional plan columns a hand-made frame may lack, as nulls."""
    extra = [
        pl.lit(None, dtype=pl.Utf8).alias(c)
        for c in ("detail", "source_id", "target_id", "label")
        if c not in plan.columns
    ]
    return plan.with_columns(extra) if extra else plan


def _key(change: dict[str, Any]) -> str:
    return str(change.get("property") or change.get("field") or "")


def _by_property(row: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {_key(c): c for c in row["changes"] or () if c is not None}


def _fields(mapping: MappingInfo | None, rows: Iterable[dict[str, Any]]) -> list[str]:
    """The properties a mapping's sheet shows: those any row changes, in the mapping's order."""
    seen = dict.fromkeys(key for row in rows for key in _by_property(row))
    order = [f for f in (mapping.fields if mapping else ()) if f in seen]
    return order + [f for f in seen if f not in order]
