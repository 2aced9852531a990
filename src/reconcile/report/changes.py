"""A mapping's sheet: its creates and updates, old and new values side by side, each to approve or reject.

One line per record: the Decision drop-down, the record, what would be done in words that name the system
written ("update in Exact Online"), why, the two ids, then each field's old and new value under the field's
header. A new value that differs from the old one is highlighted. Lines that need no decision follow (values
that differ where nothing is written on purpose, a link that moves): they show, and nothing is read from them.

This is the sheet a plan of 100,000 rows fills, so it is written with care for the cost per cell.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import polars as pl

from reconcile.model.plan import CHANGES
from reconcile.report.cells import Value
from reconcile.report.info import MappingInfo, RunInfo
from reconcile.report.kinds import FIXED_CHOICES, PROMPTS, SheetKind
from reconcile.report.sheet import Sheet
from reconcile.report.sign import Signer
from reconcile.report.table import Column, Mode, Table
from reconcile.report.values import is_secret, reason_words, value_maker

DECIDABLE = frozenset(a.value for a in CHANGES)
_DATE_START = r"^\d{4}-\d{2}-\d{2}"
_UNSAFE = r"[\x00-\x08\x0B-\x1F\x{FFFE}\x{FFFF}]"
"""What :func:`reconcile.report.cells.cell_text` would change: control characters but tab and line feed, CR."""
_FORMULA = r"^[=+\-@]"
_SHORT = 16_383


def change_key(change: dict[str, Any]) -> str:
    """The property a change is about (its field when a hand-made plan names none)."""
    return str(change.get("property") or change.get("field") or "")


def sheet_fields(mapping: MappingInfo, rows: pl.DataFrame) -> list[str]:
    """The properties a mapping's sheet shows: those any row changes, in the mapping's order."""
    keys = (
        rows.select(pl.col("changes").explode().drop_nulls())
        .unnest("changes")
        .select(pl.coalesce(pl.col("property"), pl.col("field"), pl.lit("")).alias("key"))
        .get_column("key")
        .unique(maintain_order=True)
        .to_list()
        if rows.height
        else []
    )
    order = [f for f in mapping.fields if f in set(keys)]
    return order + [f for f in keys if f not in order]


def write_changes(
    sheet: Sheet,
    rows: pl.DataFrame,
    info: RunInfo,
    mapping: MappingInfo,
    numeric: set[str],
    signer: Signer,
) -> Table:
    """Write a mapping's lines on ``sheet``: decidable ones first, then the others; returns the table.

    The frame is shaped in Polars first (a column per field's old and new value, whether it changed, the
    reason in words, each column's width), so that the loop over lines does little more than write cells.
    """
    fields = sheet_fields(mapping, rows)
    columns = [
        Column("Record"),
        Column("Action"),
        Column("Reason", wrap=True),
        Column(f"{info.source_name} id"),
        Column(f"{info.target_name} id"),
    ]
    for name in fields:
        header = mapping.header(name)
        columns += [Column(f"{header} (old)"), Column(f"{header} (new)")]
    table = Table(sheet, SheetKind.CHANGES, columns, decide=True, signer=signer)
    wide = _wide(rows, fields, info)
    width = len(columns)
    first_value = width - 2 * len(fields)
    _fit(sheet, table.first, wide, width)
    makers: list[tuple[int, Callable[[str | None], Value]]] = []
    for i, name in enumerate(fields):
        at = first_value + 2 * i
        if name in numeric and not is_secret(name):
            table.modes[at] = table.modes[at + 1] = Mode.NUMBER
        elif name in numeric or is_secret(name) or _dated(wide, at):
            makers += [(at, value_maker(name, name in numeric)), (at + 1, value_maker(name, name in numeric))]
    for at, plain in enumerate(_plain(wide, width)):
        if plain and table.modes[at] is Mode.GENERAL and not table.wraps[at] and at not in dict(makers):
            table.modes[at] = Mode.PLAIN
    add = table.add
    for line in wide.iter_rows():
        cells: list[Value] = list(line[:width])
        for at, make in makers:
            cells[at] = make(cells[at])  # type: ignore[arg-type]
        flags = line[width + 2 :]
        changed = [first_value + 2 * i + 1 for i, flag in enumerate(flags) if flag]
        add(cells, changed=changed, row_id=line[width], decidable=line[width + 1])
    table.drop_down([w for w, _ in FIXED_CHOICES[SheetKind.CHANGES]], PROMPTS[SheetKind.CHANGES])
    table.finish()
    return table


def _wide(rows: pl.DataFrame, fields: list[str], info: RunInfo) -> pl.DataFrame:
    """One row per line: the visible cells as text, then row_id, decidable, and a changed flag per field."""
    ordered = rows.with_columns(
        pl.int_range(pl.len()).alias("_line"),
        pl.col("action").is_in(list(DECIDABLE)).alias("_decidable"),
    ).sort(pl.col("_decidable").not_(), maintain_order=True)
    pairs = ordered.select("reason", "detail").unique()
    words = pairs.with_columns(pl.Series("_why", [reason_words(r, d) for r, d in pairs.iter_rows()], dtype=pl.Utf8))
    actions = {a: info.action_words(a) for a in ordered.get_column("action").unique().to_list()}
    base = ordered.join(words, on=["reason", "detail"], how="left", nulls_equal=True, maintain_order="left").select(
        "_line",
        pl.col("label"),
        pl.col("action").replace_strict(actions, default=None, return_dtype=pl.Utf8).alias("_action"),
        "_why",
        "source_id",
        "target_id",
        "row_id",
        "_decidable",
    )
    if fields:
        values = (
            ordered.select("_line", "changes")
            .explode("changes")
            .drop_nulls("changes")
            .unnest("changes")
            .with_columns(pl.coalesce(pl.col("property"), pl.col("field"), pl.lit("")).alias("_key"))
            .filter(pl.col("_key").is_in(fields))
            .unique(["_line", "_key"], keep="last", maintain_order=True)
            .with_columns(pl.col("old").ne_missing(pl.col("new")).alias("_changed"))
            .pivot(on="_key", index="_line", values=["old", "new", "_changed"], separator="\x00")
        )
        base = base.join(values, on="_line", how="left", maintain_order="left")
    value_columns = []
    flag_columns = []
    for name in fields:
        for side in ("old", "new"):
            column = f"{side}\x00{name}"
            value_columns.append(pl.col(column) if column in base.columns else pl.lit(None, dtype=pl.Utf8))
        flag = f"_changed\x00{name}"
        flag_columns.append(pl.col(flag).fill_null(False) if flag in base.columns else pl.lit(False))
    return base.select(
        "label",
        "_action",
        "_why",
        "source_id",
        "target_id",
        *(c.alias(f"_v{i}") for i, c in enumerate(value_columns)),
        "row_id",
        "_decidable",
        *(c.alias(f"_c{i}") for i, c in enumerate(flag_columns)),
    )


def _dated(wide: pl.DataFrame, at: int) -> bool:
    """Whether a field's old or new values (columns ``at`` and the next) hold a date: those become date cells."""
    columns = wide.columns[at : at + 2]
    return bool(wide.select(pl.any_horizontal(pl.col(c).str.contains(_DATE_START).any() for c in columns)).item())


def _plain(wide: pl.DataFrame, width: int) -> list[bool]:
    """Which of the first ``width`` columns hold only text that is safe in a cell as it is (or nothing)."""
    checks = []
    for name in wide.columns[:width]:
        text = pl.col(name)
        unsafe = (
            text.str.contains(_UNSAFE)
            | (text.str.len_chars() > _SHORT)
            | text.str.contains(_FORMULA)
            | (text.str.starts_with("<r>") & text.str.ends_with("</r>"))
        )
        checks.append(unsafe.fill_null(False).any().not_().alias(name))
    return list(wide.select(checks).row(0)) if checks else []


def _fit(sheet: Sheet, first: int, wide: pl.DataFrame, width: int) -> None:
    """Size the sheet's columns from the frame at once, instead of value by value as they are written."""
    lengths = wide.select(pl.col(c).cast(pl.Utf8).str.len_chars().max().fill_null(0) for c in wide.columns[:width]).row(
        0
    )
    for i, length in enumerate(lengths):
        sheet.widths[first + i] = max(sheet.widths.get(first + i, 0), int(length))
    sheet.fitting = False


def decidable(rows: pl.DataFrame) -> pl.DataFrame:
    """The rows a mapping's sheet offers a decision for."""
    return rows.filter(pl.col("action").is_in(list(DECIDABLE)))


def mappings_in(rows: pl.DataFrame, known: Iterable[str]) -> list[str]:
    """The mappings of ``rows``: those the run describes first, in its order, then the others as they come."""
    present = rows.get_column("mapping").fill_null("").unique(maintain_order=True).to_list()
    order = [m for m in known if m in set(present)]
    return order + [m for m in present if m not in order]
