"""The review workbook: a plan as an Excel workbook an accountant reads, decides on, and hands back signed.

Sheets, in order: **Summary** (the run, its counts, the questions by mapping and reason, what was decided
earlier, the problems in the flow, the guards, a chart) and **How to review**, always; then, when they have
lines, one sheet per mapping (creates and updates: approve or reject), **Conflicts** (keep one system's value,
per property), **Ambiguous** (which candidate, or create new), **Links** (link, or not the same), **Deletes**
(delete, keep or unlink), **Cannot write** (dismiss) and **Problem details** (the records behind the problems
in the flow). Rows decided earlier and remembered in the state are counted, not asked again. A very hidden
sheet names the run, the plan and each sheet's kind, sealed with the review key.

Every decidable line carries a hidden ``row_id`` and ``check`` (:mod:`reconcile.report.sign`), and only its
Decision cell is unlocked: the sheets are protected without a password. The file is written with xlsxwriter in
constant-memory mode, row after row.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import polars as pl

from reconcile.atomic import write_atomically
from reconcile.model.plan import CANDIDATE_DTYPE, Action, Reason, ReviewDecision, Status
from reconcile.report.cells import NOT_XML
from reconcile.report.changes import mappings_in, write_changes
from reconcile.report.info import RunInfo
from reconcile.report.kinds import FORMAT_VERSION, META_SHEET, SheetKind
from reconcile.report.listings import Listings, problem_key
from reconcile.report.overview import Overview, Problem, Question, write_how_to, write_summary
from reconcile.report.references import shown_references
from reconcile.report.sheet import Book
from reconcile.report.sign import Signer
from reconcile.report.summary import ACTIONS
from reconcile.report.table import Table
from reconcile.report.values import numeric_properties, reason_words

SUMMARY, HOW_TO = "Summary", "How to review"
LISTING_TITLES: dict[SheetKind, str] = {
    SheetKind.CONFLICTS: "Conflicts",
    SheetKind.AMBIGUOUS: "Ambiguous",
    SheetKind.LINKS: "Links",
    SheetKind.DELETES: "Deletes",
    SheetKind.CANNOT_WRITE: "Cannot write",
    SheetKind.PROBLEMS: "Problem details",
}
_RESERVED_SHEETS = (SUMMARY, HOW_TO, *LISTING_TITLES.values(), "Rejected", "History", META_SHEET)
_BAD_SHEET_CHARS = re.compile(r"[\[\]:*?/\\]")
_DELETE_CONFLICTS = (Reason.SOURCE_DELETED_TARGET_EDITED.value, Reason.TARGET_DELETED_SOURCE_EDITED.value)
"""Conflicts between a delete and an edit: decided as deletes are (delete, keep or unlink)."""
_REMEMBERED_WORDS: dict[str, str] = {
    ReviewDecision.REJECT.value: "rejected",
    ReviewDecision.DISMISS.value: "dismissed",
    ReviewDecision.KEEP.value: "kept",
    ReviewDecision.NOT_SAME.value: "not the same",
}
_OPTIONAL: dict[str, pl.Expr] = {
    "detail": pl.lit(None, dtype=pl.Utf8),
    "source_id": pl.lit(None, dtype=pl.Utf8),
    "target_id": pl.lit(None, dtype=pl.Utf8),
    "label": pl.lit(None, dtype=pl.Utf8),
    "candidates": pl.lit([], dtype=pl.List(CANDIDATE_DTYPE)),
    "structural": pl.lit(False),
    "remembered": pl.lit(None, dtype=pl.Utf8),
}


def write_workbook(path: Path, plan: pl.DataFrame, info: RunInfo, key: bytes) -> Path:
    """Write the plan as a review workbook at ``path`` (parents created, replaced whole) and return the path.

    ``key`` is the review key of the state: it signs every decidable line, and is never written to the file.
    """
    missing = [c for c in ("row_id", "mapping", "action", "reason", "changes") if c not in plan.columns]
    if missing:
        raise ValueError(f"not a plan: no column {', '.join(missing)}")
    signer = Signer(key, info.run_id)
    write_atomically(path, lambda tmp: _write(tmp, _complete(plan), info, signer))
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


def _write(path: Path, plan: pl.DataFrame, info: RunInfo, signer: Signer) -> None:
    plan = shown_references(plan, {m.name: m.refs for m in info.mappings if m.refs})
    action, reason = pl.col("action"), pl.col("reason")
    asked = plan.filter(pl.col("remembered").is_null() & (action != Action.IN_SYNC.value))
    if "status" in plan.columns:
        # The workbook of a run that wrote: what it wrote asks nothing more (a failed write may be approved again).
        asked = asked.filter(pl.col("status").is_null() | (pl.col("status") != Status.APPLIED.value))
    structural = asked.filter(pl.col("structural"))
    asked = asked.filter(~pl.col("structural"))
    delete_conflict = (action == Action.CONFLICT.value) & reason.is_in(_DELETE_CONFLICTS)
    listed: dict[SheetKind, pl.DataFrame] = {
        SheetKind.CONFLICTS: asked.filter((action == Action.CONFLICT.value) & ~delete_conflict),
        SheetKind.AMBIGUOUS: asked.filter(action == Action.AMBIGUOUS.value),
        SheetKind.LINKS: asked.filter(action == Action.LINK.value),
        SheetKind.DELETES: asked.filter((action == Action.DELETE.value) | delete_conflict),
        SheetKind.CANNOT_WRITE: asked.filter(action == Action.REJECT.value),
        SheetKind.PROBLEMS: structural,
    }
    on_lists = [Action.CONFLICT.value, Action.AMBIGUOUS.value, Action.LINK.value, Action.DELETE.value]
    changes = asked.filter(~action.is_in([*on_lists, Action.REJECT.value]))
    present = mappings_in(plan, [m.name for m in info.mappings])
    names = list(dict.fromkeys([*(m.name for m in info.mappings), *present]))

    taken = {t.casefold() for t in _RESERVED_SHEETS}
    mapping_titles = {
        name: sheet_title(name, taken)
        for name in names
        if changes.filter(pl.col("mapping").fill_null("") == name).height
    }
    titles = {kind: title for kind, title in LISTING_TITLES.items() if listed[kind].height}
    listed_sheets = [(title, SheetKind.CHANGES) for title in mapping_titles.values()]
    listed_sheets += [(title, kind) for kind, title in titles.items()]

    overview = _overview(plan, info, names, asked, structural, mapping_titles, titles)
    numeric = numeric_properties(plan)
    book = Book(path)
    summary_sheet = book.sheet(SUMMARY)
    write_how_to(book.sheet(HOW_TO), info, listed_sheets)
    signed: list[tuple[str, SheetKind, str, Table]] = []
    for name, title in mapping_titles.items():
        sheet = book.sheet(title)
        rows = changes.filter(pl.col("mapping").fill_null("") == name)
        table = write_changes(sheet, rows, info, info.mapping(name), {p for m, p in numeric if m == name}, signer)
        sheet.finish()
        sheet.protect()
        signed.append((title, SheetKind.CHANGES, name, table))
    listings = Listings(info, numeric, signer)
    writers = {
        SheetKind.CONFLICTS: listings.conflicts,
        SheetKind.AMBIGUOUS: listings.ambiguous,
        SheetKind.LINKS: listings.links,
        SheetKind.DELETES: listings.deletes,
        SheetKind.CANNOT_WRITE: listings.cannot_write,
        SheetKind.PROBLEMS: listings.problem_details,
    }
    for kind, title in titles.items():
        sheet = book.sheet(title)
        signed.append((title, kind, "", writers[kind](sheet, listed[kind])))
        sheet.finish()
    problems = write_summary(summary_sheet, info, overview, signer)
    if problems is not None:
        signed.insert(0, (SUMMARY, SheetKind.SUMMARY, "", problems))
    _write_meta(book, info, signed, signer)
    book.close()


def _overview(
    plan: pl.DataFrame,
    info: RunInfo,
    names: list[str],
    asked: pl.DataFrame,
    structural: pl.DataFrame,
    mapping_titles: dict[str, str],
    titles: dict[SheetKind, str],
) -> Overview:
    present = set(plan.get_column("action").drop_nulls().unique().to_list())
    actions = [*ACTIONS, *(a for a in Action if a not in ACTIONS and a.value in present)]
    counted = plan.group_by(pl.col("mapping").fill_null(""), "action").len()
    by = {(m, a): n for m, a, n in counted.iter_rows()}
    entities = {m.name: f"{m.source} → {m.target}" for m in info.mappings if m.source or m.target}
    counts = [(name, entities.get(name, ""), [by.get((name, a.value), 0) for a in actions]) for name in names]

    sheet_of = {
        Action.CONFLICT.value: titles.get(SheetKind.CONFLICTS, ""),
        Action.AMBIGUOUS.value: titles.get(SheetKind.AMBIGUOUS, ""),
        Action.LINK.value: titles.get(SheetKind.LINKS, ""),
        Action.DELETE.value: titles.get(SheetKind.DELETES, ""),
        Action.REJECT.value: titles.get(SheetKind.CANNOT_WRITE, ""),
    }
    waiting = asked.filter(pl.col("action").is_in([a.value for a in (*_DECIDED_ON_SHEETS, Action.LINK)]))
    questions = []
    for mapping, action, reason, n in (
        waiting.group_by(pl.col("mapping").fill_null(""), "action", "reason", maintain_order=True).len().iter_rows()
    ):
        if reason in _DELETE_CONFLICTS:
            sheet = titles.get(SheetKind.DELETES, "")
        else:
            sheet = sheet_of.get(action) or mapping_titles.get(mapping, "")
        questions.append(Question(mapping, reason_words(reason, None), n, sheet))
    order = {name: i for i, name in enumerate(names)}
    questions.sort(key=lambda q: order.get(q.mapping, len(order)))

    remembered = [
        (mapping, _REMEMBERED_WORDS.get(decision, decision.replace("_", " ")), n)
        for mapping, decision, n in plan.filter(pl.col("remembered").is_not_null())
        .group_by(pl.col("mapping").fill_null(""), "remembered", maintain_order=True)
        .len()
        .iter_rows()
    ]
    problems = [
        Problem(mapping, reason or "", n, details[0] if len(details) == 1 else None, problem_key(mapping, reason))
        for mapping, reason, n, details in structural.group_by(
            pl.col("mapping").fill_null(""), "reason", maintain_order=True
        )
        .agg(pl.len(), pl.col("detail").drop_nulls().unique().head(2))
        .iter_rows()
    ]
    return Overview(counts, actions, questions, remembered, problems)


_DECIDED_ON_SHEETS = (
    Action.CREATE,
    Action.UPDATE_TARGET,
    Action.UPDATE_SOURCE,
    Action.CONFLICT,
    Action.AMBIGUOUS,
    Action.DELETE,
    Action.REJECT,
)


def _write_meta(book: Book, info: RunInfo, sheets: list[tuple[str, SheetKind, str, Table]], signer: Signer) -> None:
    """The very hidden sheet: the run, the plan, and each signed sheet with its kind, header row and columns."""
    rows: list[list[str]] = [
        ["format", FORMAT_VERSION],
        ["run_id", info.run_id],
        ["flow", info.flow],
        ["plan_hash", info.plan_hash],
        ["source_title", info.source_name],
        ["target_title", info.target_name],
        *(
            ["sheet", title, kind.value, mapping, str(table.header_row + 1), json.dumps(table.headers)]
            for title, kind, mapping, table in sheets
        ),
    ]
    sheet = book.sheet(META_SHEET)
    rows = [[sheet.put(r, c, value) for c, value in enumerate(row)] for r, row in enumerate(rows)]
    sheet.put(len(rows), 0, "seal")
    sheet.put(len(rows), 1, signer.seal(rows))
    sheet.ws.very_hidden()


def _complete(plan: pl.DataFrame) -> pl.DataFrame:
    """Add the optional plan columns a hand-made frame or an older plan may lack, as nulls or defaults."""
    extra = [expr.alias(name) for name, expr in _OPTIONAL.items() if name not in plan.columns]
    plan = plan.with_columns(extra) if extra else plan
    return plan.with_columns(pl.col("structural").fill_null(False))
