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
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl
from openpyxl import Workbook
from openpyxl.chart import BarChart, Reference
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.worksheet import Worksheet

from reconcile.engine.plan import Action, Reason
from reconcile.report.summary import ACTIONS, action_words, counts_json

if TYPE_CHECKING:
    from reconcile.flow.model import Mapping

META_SHEET = "_reconcile"
"""The very hidden sheet holding the plan hash and the mapping sheets' names."""
FORMAT_VERSION = "1"
DECISION_HEADER = "Decision"
ROW_ID_HEADER = "row_id"
DECISIONS = ("approve", "reject")

Value = str | int | float | Decimal | date | datetime | None

_CELL_LIMIT = 32_767
_WIDTH_MIN, _WIDTH_MAX = 8, 60
_FORMULA_START = ("=", "+", "-", "@")
_RESERVED_SHEETS = ("summary", "conflicts", "rejected", "ambiguous", "history", META_SHEET)
_BAD_SHEET_CHARS = re.compile(r"[\[\]:*?/\\]")
# What XML 1.0 cannot carry (control characters, surrogates, U+FFFE/U+FFFF): openpyxl would write a file
# that no reader opens again.
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_DATETIME = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?")
_NUMBER = r"^-?(0|[1-9][0-9]*)(\.[0-9]+)?$"
_MAX_DIGITS = 15  # Excel keeps 15 significant digits; longer numbers stay text
# Fields that hold identifiers, not quantities: digits, but never numbers (leading zeros, phone numbers).
_ID_LIKE = re.compile(
    r"(?i)(^id$|_id$|^id_|code|number|^nr|nr$|^no$|^num|phone|tel|mobile|fax|zip|post|iban|bic|swift|"
    r"account|bank|vat|org|kid|ssn|ean|gtin|gln|sku|ref|year)"
)
_ID_SUFFIX = re.compile(r"(Id|ID|Ids|IDs)$")
_SECRET_FIELD = re.compile(
    r"(?i)(password|passwd|secret|token|api_?key|private_?key|subscription_?key|credential|authorization)"
)
_SECRET_TEXT = (
    (re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]{8,}"), r"\1 (hidden)"),
    (
        re.compile(
            r"(?i)\b(password|passwd|client_secret|secret|access_token|refresh_token|token|api[_-]?key|"
            r"subscription[_-]?key)(\s*[=:]\s*)(\"[^\"]*\"|'[^']*'|[^\s&,;]+)"
        ),
        r"\1\2(hidden)",
    ),
)
HIDDEN = "(hidden)"

_BOLD = Font(bold=True)
_HEADER_FILL = PatternFill("solid", fgColor="D9E1F2")
CHANGED_FILL = PatternFill("solid", fgColor="FFEB9C")
"""The fill of a new value that differs from the old one."""


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
    numeric = _numeric_properties(plan)
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
    title = _BAD_SHEET_CHARS.sub("_", _NOT_XML.sub("", name)).strip().strip("'").strip() or "mapping"
    title = title[:31].rstrip()
    candidate, n = title, 1
    while candidate.casefold() in taken:
        n += 1
        suffix = f" ({n})"
        candidate = title[: 31 - len(suffix)].rstrip() + suffix
    taken.add(candidate.casefold())
    return candidate


def cell_text(text: str) -> str:
    """Make text safe for a cell: XML-safe characters, line breaks as ``\\n``, within Excel's length limit."""
    text = _NOT_XML.sub("\ufffd", text.replace("\r\n", "\n").replace("\r", "\n"))
    if _utf16_len(text) <= _CELL_LIMIT:
        return text
    marker = f" … [cut here: {len(text):,} characters in all]"
    keep = _CELL_LIMIT - len(marker)
    head = text[:keep]
    while _utf16_len(head) > keep:  # characters beyond the BMP count twice in Excel
        head = head[: keep - (_utf16_len(head) - len(head))]
    return head + marker


def scrub(text: str) -> str:
    """Hide what looks like a credential in free text (a detail from a system's error, say)."""
    for pattern, replacement in _SECRET_TEXT:
        text = pattern.sub(replacement, text)
    return text


def reason_words(code: str | None, detail: str | None) -> str:
    """Say why a row is in the plan: the reason in words, then the detail when there is one."""
    try:
        words = Reason(code).words if code else ""
    except ValueError:
        words = (code or "").replace("_", " ")
    if detail:
        return f"{words}: {scrub(detail)}" if words else scrub(detail)
    return words


# --- sheets -------------------------------------------------------------------------------------------


def _write_summary(ws: Worksheet, plan: pl.DataFrame, info: RunInfo, names: list[str]) -> None:
    ws["A1"] = "Reconcile run"
    ws["A1"].font = Font(bold=True, size=14)
    started, started_format = _excel_datetime(info.started_at)
    facts: list[tuple[str, Value]] = [
        ("Run", info.run_id),
        ("Flow", info.flow),
        ("Systems", f"{info.source} -> {info.target}"),
        ("Started", started),
        ("Mode", "dry run: nothing was written" if info.dry_run else "applied: the changes were written"),
        ("Plan hash", info.plan_hash),
    ]
    for i, (label, value) in enumerate(facts, start=3):
        _put(ws, i, 1, label).font = _BOLD
        cell = _put(ws, i, 2, value)
        if label == "Started":
            cell.number_format = started_format
            cell.alignment = Alignment(horizontal="left")

    entities = {m.name: f"{m.source} -> {m.target}" for m in info.mappings}
    by_mapping = counts_json(plan)
    header_row = 3 + len(facts) + 1
    table = _Table(ws, ["Mapping", "Entities", *(a.words for a in ACTIONS), "Total"], header_row=header_row)
    for name in names:
        row = by_mapping.get(name, {a.value: 0 for a in ACTIONS})
        numbers = [row[a.value] for a in ACTIONS]
        table.add([name, entities.get(name), *numbers, sum(numbers)])
    last_mapping_row = table.row
    totals = [sum(by_mapping.get(n, {}).get(a.value, 0) for n in names) for a in ACTIONS]
    total_row = table.add(["Total", None, *totals, sum(totals)])
    for col in range(1, len(ACTIONS) + 4):
        ws.cell(total_row, col).font = _BOLD
    table.finish(filter_to_row=last_mapping_row)

    line = total_row + 2
    _put(ws, line, 1, "Guards").font = _BOLD
    for message in info.guards or ("No guard tripped.",):
        line += 1
        _put(ws, line, 1, scrub(message))
    line += 2
    _put(ws, line, 1, "How to review").font = _BOLD
    for text in (
        "Each mapping with changes has its own sheet: one row per record, old and new values side by side.",
        "A highlighted new value differs from the old one.",
        "Set Decision to approve or reject; leave it blank to decide later. Only Decision is read back.",
        "Conflicts, Rejected and Ambiguous list those rows across all mappings.",
    ):
        line += 1
        _put(ws, line, 1, text)

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
    table = _Table(ws, [*headers, DECISION_HEADER, ROW_ID_HEADER])
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
            cells += [_value(field, old, field in numeric), _value(field, new, field in numeric)]
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
    table = _Table(
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
            values = [_value(field, change[k], is_number) for k in ("new", "old", "base")]
            table.add([*head, field, *values], typed_from=7)
    table.finish()


def _write_listing(ws: Worksheet, rows: list[dict[str, Any]]) -> None:
    table = _Table(ws, ["Mapping", "Source id", "Target id", "Label", "Reason", "Detail", "Values"])
    for row in rows:
        values = "; ".join(
            f"{field}: {_shown(field, change['new'] if change['new'] is not None else change['old'])}"
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
            _put(ws, r, c, value)


# --- tables and cells ---------------------------------------------------------------------------------


class _Table:
    """A table being written on a sheet: a bold header, rows below it, and the widths its content needs."""

    def __init__(self, ws: Worksheet, headers: Sequence[str], header_row: int = 1) -> None:
        self.ws = ws
        self.header_row = self.row = header_row
        self.width = len(headers)
        self.widths = [len(h) for h in headers]
        for col, header in enumerate(headers, start=1):
            cell = _put(ws, header_row, col, header)
            cell.font = _BOLD
            cell.fill = _HEADER_FILL

    def add(self, values: Sequence[Value], typed_from: int | None = None) -> int:
        """Write one row; values from column ``typed_from`` on get number formats. Returns the row."""
        self.row += 1
        for col, value in enumerate(values, start=1):
            if value is None:
                continue  # an empty cell costs nothing; creating one costs time on big plans
            cell = _put(self.ws, self.row, col, value)
            if typed_from is not None and col >= typed_from:
                _format(cell, value)
            self.widths[col - 1] = max(self.widths[col - 1], _display_len(value))
        return self.row

    def finish(self, filter_to_row: int | None = None) -> None:
        """Freeze the header, filter and size the table.

        The filter spans the hidden row id column too: sorting through the filter then keeps rows whole.
        """
        last = get_column_letter(self.width)
        self.ws.freeze_panes = f"A{self.header_row + 1}"
        self.ws.auto_filter.ref = f"A{self.header_row}:{last}{max(filter_to_row or self.row, self.header_row)}"
        for col, width in enumerate(self.widths, start=1):
            letter = get_column_letter(col)
            self.ws.column_dimensions[letter].width = min(max(width + 2, _WIDTH_MIN), _WIDTH_MAX)


def _put(ws: Worksheet, row: int, col: int, value: Value) -> Any:
    """Write one value; text always as a text cell that can never become a formula."""
    cell = ws.cell(row, col)
    if isinstance(value, str):
        text = cell_text(value)
        cell.value = text
        cell.data_type = "s"  # not "f" for "=...", not "e" for "#N/A"
        if text.startswith(_FORMULA_START):
            cell.quotePrefix = True
    else:
        cell.value = value
    return cell


def _format(cell: Any, value: Value) -> None:
    if isinstance(value, datetime):
        cell.number_format = "yyyy-mm-dd hh:mm:ss" if value.second or value.microsecond else "yyyy-mm-dd hh:mm"
    elif isinstance(value, date):
        cell.number_format = "yyyy-mm-dd"
    elif isinstance(value, Decimal):
        exponent = value.as_tuple().exponent
        if isinstance(exponent, int) and exponent < 0:
            cell.number_format = "0." + "0" * -exponent  # "1.50" shows as 1.50, not 1.5


def _value(field: str, text: str | None, numeric: bool) -> Value:
    """Turn a canonical plan value into what a cell should hold: a date, a number, or text."""
    if text is None:
        return None
    if _SECRET_FIELD.search(field):
        return HIDDEN
    if _DATE.fullmatch(text):
        return _date(text)
    if _DATETIME.fullmatch(text):
        return _datetime(text)
    if numeric:
        return Decimal(text) if "." in text else int(text)
    return text


def _date(text: str) -> Value:
    try:
        value = date.fromisoformat(text)
    except ValueError:
        return text
    return value if value >= date(1900, 3, 1) else text  # Excel cannot show earlier dates


def _datetime(text: str) -> Value:
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        return text
    return value if value >= datetime(1900, 3, 1) else text


def _excel_datetime(moment: datetime) -> tuple[datetime, str]:
    """A datetime Excel can hold (no time zone) and a number format that still says the offset."""
    offset = moment.utcoffset()
    if offset is None:
        return moment, "yyyy-mm-dd hh:mm:ss"
    label = "UTC" if offset == timedelta(0) else _offset_label(offset)
    return moment.replace(tzinfo=None), f'yyyy-mm-dd hh:mm:ss "{label}"'


def _offset_label(offset: timedelta) -> str:
    minutes = int(offset.total_seconds()) // 60
    sign = "+" if minutes >= 0 else "-"
    hours, rest = divmod(abs(minutes), 60)
    return f"UTC{sign}{hours:02d}:{rest:02d}"


def _shown(field: str, text: str | None) -> str:
    if text is None:
        return ""
    return HIDDEN if _SECRET_FIELD.search(field) else text


def _display_len(value: Value) -> int:
    if value is None:
        return 0
    if isinstance(value, datetime):
        return 16
    if isinstance(value, date):
        return 10
    if isinstance(value, str):
        return max((len(line) for line in value.split("\n")), default=0)
    return len(str(value))


def _utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


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


def _numeric_properties(plan: pl.DataFrame) -> set[tuple[str, str]]:
    """The (mapping, property) pairs whose every value in the plan is a plain number, ids and codes aside."""
    values = (
        plan.select(pl.col("mapping").fill_null(""), "changes")
        .explode("changes")
        .drop_nulls("changes")
        .unnest("changes")
        .select(
            "mapping",
            pl.coalesce(pl.col("property"), pl.col("field"), pl.lit("")).alias("property"),
            "old",
            "new",
            "base",
        )
        .unpivot(on=["old", "new", "base"], index=["mapping", "property"])
        .drop_nulls("value")
        .group_by("mapping", "property")
        .agg(
            (
                pl.col("value").str.contains(_NUMBER)
                & (pl.col("value").str.replace_all("[^0-9]", "").str.len_chars() <= _MAX_DIGITS)
            )
            .all()
            .alias("numeric")
        )
        .filter(pl.col("numeric"))
    )
    return {
        (mapping, prop)
        for mapping, prop, _ in values.iter_rows()
        if not (_ID_LIKE.search(prop) or _ID_SUFFIX.search(prop) or _SECRET_FIELD.search(prop))
    }
