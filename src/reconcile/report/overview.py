"""The Summary and How to review sheets: the run at a glance, what it asks, and how to answer.

The Summary gives the run's facts, the counts per mapping and action (with a chart), the guards, the questions
waiting for a decision by mapping and reason with the sheet they are on, what was decided earlier and is not
asked again, and last the problems in the flow (one line per mapping and reason, with a count, what to change,
and a Decision cell to dismiss it). The tables share the sheet's columns: a mapping in A, words in B, figures
after. How to review says, in plain words, what each sheet asks and what each answer does.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from reconcile.model.plan import Action, Reason
from reconcile.report.cells import excel_datetime
from reconcile.report.info import RunInfo
from reconcile.report.kinds import FIXED_CHOICES, PROMPTS, SheetKind
from reconcile.report.sheet import Sheet
from reconcile.report.sign import Signer
from reconcile.report.table import Column, Table
from reconcile.report.values import reason_words, scrub

_HIDDEN_AT = 26
"""The Summary's hidden columns (row id, check) start at column AA, clear of its tables and chart."""
_COUNT_WIDTH = 12

_WHAT_TO_CHANGE: dict[str, str] = {
    Reason.REQUIRED_UNMAPPED: "Map the required field in the flow (a property, or a fixed value), then plan again.",
    Reason.NO_MERGE_RULE_READ_ONLY: "Give the mapping a merge rule, so that its records are linked to the records "
    "the target already has.",
    Reason.READ_ONLY_ENTITY: "The target cannot be written through its API: take the mapping out of the flow, or "
    "sync the other way.",
}
_WHAT_TO_CHANGE_ELSE = "Fix the problem of the record it depends on, or change the flow; then plan again."


@dataclass(frozen=True)
class Question:
    """Rows waiting for a decision: how many, of which mapping, why, and on which sheet."""

    mapping: str
    reason: str
    rows: int
    sheet: str


@dataclass(frozen=True)
class Problem:
    """A problem in the flow: a mapping's records that cannot be written for one reason of the flow's making."""

    mapping: str
    reason: str
    records: int
    detail: str | None
    row_id: str
    """The problem's key (:func:`reconcile.report.listings.problem_key`): dismissing it dismisses its records."""


@dataclass(frozen=True)
class Overview:
    """What the Summary shows besides the counts: the questions, the earlier decisions, the problems."""

    counts: Sequence[tuple[str, str, Sequence[int]]]
    """(mapping, its entities, a count per action of :attr:`actions`)."""
    actions: Sequence[Action]
    questions: Sequence[Question]
    remembered: Sequence[tuple[str, str, int]]
    """(mapping, the decision in words, rows)."""
    problems: Sequence[Problem]


def write_summary(sheet: Sheet, info: RunInfo, overview: Overview, signer: Signer) -> Table | None:
    """The Summary sheet; returns the table of its problems in the flow (None when the flow has none)."""
    book, ws = sheet.book, sheet.ws
    ws.write_string(0, 0, "Reconcile run", book.fmt(bold=True, size=14))
    started, started_format = excel_datetime(info.started_at)
    facts = [
        ("Run", info.run_id),
        ("Flow", info.flow),
        ("Systems", f"{info.source_name} → {info.target_name}"),
        ("Started", None),
        ("Mode", "dry run: nothing was written" if info.dry_run else "applied: the changes were written"),
        ("Plan hash", info.plan_hash),
    ]
    for r, (name, value) in enumerate(facts, start=2):
        sheet.label(r, 0, name, book.bold)
        if value is None:
            ws.write_datetime(r, 1, started, book.fmt(started_format, left=True))
        else:
            sheet.put(r, 1, value)

    header_row = 2 + len(facts) + 1
    actions = list(overview.actions)
    ws.set_row(header_row, 45)  # room for the headers in words ("write back to PowerOffice Go" takes three lines)
    counts = Table(
        sheet,
        SheetKind.SUMMARY,
        [Column("Mapping"), Column("Entities"), *(Column(info.action_words(a)) for a in actions), Column("Total")],
        header_row=header_row,
        header_format=book.fmt(bold=True, header=True, wrap=True),
    )
    for col in range(2, 3 + len(actions)):  # counts under headers in words on two lines, not one long line
        sheet.caps[col] = _COUNT_WIDTH
    for name, entities, numbers in overview.counts:
        counts.add([name, entities or None, *numbers, sum(numbers)])
    last_mapping_row = counts.row
    totals = [sum(numbers[i] for _, _, numbers in overview.counts) for i in range(len(actions))]
    total_row = counts.row + 1
    counts.row = total_row
    ws.write_string(total_row, 0, "Total", book.bold)
    for col, number in enumerate([*totals, sum(totals)], start=2):
        ws.write_number(total_row, col, number, book.bold)
    counts.finish(filter_to_row=last_mapping_row)
    # The chart leaves out "in sync" (the last action): thousands of records in sync would flatten every bar
    # a reviewer looks at.
    _chart(sheet, header_row, total_row, len(actions) - (actions[-1:] == [Action.IN_SYNC]))

    line = total_row + 2
    sheet.label(line, 0, "Guards", book.bold)
    for message in info.guards or ("No guard tripped.",):
        line += 1
        sheet.put(line, 0, scrub(message))
    line = _questions(sheet, line + 2, overview)
    # The problems come last: their Decision column runs to the end of the sheet, and nothing else may be in it.
    _, problems = _problems(sheet, line, overview, signer)
    sheet.finish()
    sheet.protect()
    return problems


def _questions(sheet: Sheet, line: int, overview: Overview) -> int:
    book = sheet.book
    waiting = sum(q.rows for q in overview.questions)
    sheet.label(line, 0, "Questions", book.bold)
    sheet.put(line, 1, f"{waiting} waiting for a decision" if waiting else "none: nothing waits for a decision")
    if overview.questions:
        table = Table(
            sheet,
            SheetKind.SUMMARY,
            [Column("Mapping"), Column("Question", wrap=True), Column("Rows"), Column("Sheet")],
            header_row=line + 1,
        )
        for q in overview.questions:
            table.add([q.mapping, q.reason, q.rows, q.sheet])
        line = table.row
    line += 2
    if overview.remembered:
        sheet.label(line, 0, "Decided earlier, not asked again until the record changes", book.bold)
        table = Table(
            sheet,
            SheetKind.SUMMARY,
            [Column("Mapping"), Column("Decision"), Column("Rows")],
            header_row=line + 1,
        )
        for mapping, decision, rows in overview.remembered:
            table.add([mapping, decision, rows])
        line = table.row + 2
    return line


def _problems(sheet: Sheet, line: int, overview: Overview, signer: Signer) -> tuple[int, Table | None]:
    book = sheet.book
    sheet.label(line, 0, "Problems in the flow", book.bold)
    if not overview.problems:
        sheet.put(line, 1, "none")
        return line + 2, None
    sheet.put(line, 1, "records that cannot be written because of the flow; Problem details lists them")
    table = Table(
        sheet,
        SheetKind.SUMMARY,
        [Column("Mapping"), Column("Problem", wrap=True), Column("Records")],
        header_row=line + 1,
        decide=True,
        decision_last=True,
        signer=signer,
        hidden_at=_HIDDEN_AT,
    )
    for p in overview.problems:
        problem = reason_words(p.reason, p.detail)
        change = _WHAT_TO_CHANGE.get(p.reason, _WHAT_TO_CHANGE_ELSE)
        table.add([p.mapping, f"{problem}\n\nWhat to change: {change}", p.records], row_id=p.row_id)
    table.drop_down([w for w, _ in FIXED_CHOICES[SheetKind.SUMMARY]], PROMPTS[SheetKind.SUMMARY])
    return table.row + 2, table


def _chart(sheet: Sheet, header_row: int, total_row: int, actions: int) -> None:
    chart = sheet.book.xlsx.add_chart({"type": "column"})
    title = sheet.ws.get_name()
    chart.add_series(
        {
            "name": "Records",
            "categories": [title, header_row, 2, header_row, 1 + actions],
            "values": [title, total_row, 2, total_row, 1 + actions],
        }
    )
    chart.set_title({"name": "Records by action (in sync left out)"})
    chart.set_y_axis({"name": "records"})
    chart.set_legend({"none": True})
    chart.set_size({"width": 600, "height": 280})
    sheet.ws.insert_chart(2, actions + 4, chart)


def write_how_to(sheet: Sheet, info: RunInfo, sheets: Sequence[tuple[str, SheetKind]]) -> None:
    """The How to review sheet: what each sheet asks and what each answer does, in plain words."""
    book, ws = sheet.book, sheet.ws
    s, t = info.source_name, info.target_name
    ws.set_column(0, 0, 110)
    ws.write_string(0, 0, "How to review", book.fmt(bold=True, size=14))
    kinds = {kind for _, kind in sheets}
    mapping_sheets = [title for title, kind in sheets if kind is SheetKind.CHANGES]
    paragraphs: list[tuple[str, str]] = [
        (
            "",
            f"This workbook shows what reconcile would do to keep {s} and {t} in step, and asks what it cannot "
            "decide itself. Each sheet lists records, one per line.",
        ),
        (
            "Decide",
            "Fill in the Decision cell (shaded yellow: the first column of a sheet, and on the Summary the column "
            "after a problem's count): pick from its list, or leave it blank to decide later. Only Decision cells "
            "are read: anything typed elsewhere is ignored.",
        ),
    ]
    if mapping_sheets:
        paragraphs.append(
            (
                ", ".join(mapping_sheets),
                f"Records to create in {t}, update in {t}, or write back to {s}, with the old and new values side "
                "by side; a new value that differs is highlighted. approve: write it. reject: leave it as it is; "
                "it is not asked again until the record changes.",
            )
        )
    described = {
        SheetKind.CONFLICTS: f"A value changed in both systems since the last sync, one line per value. "
        f"keep {s}'s value: it is written to {t}. keep {t}'s value: it is written back to {s}.",
        SheetKind.AMBIGUOUS: f"A record in {s} matches several records in {t}. Pick the one it is (by its name "
        f"and number), or create new to create it in {t}.",
        SheetKind.LINKS: f"A record in {s} looks like a record in {t}; the two are shown side by side. link: "
        "they are the same record, kept in step from now on. not the same: they are never linked.",
        SheetKind.DELETES: "A record deleted in one system. delete: delete it in the other too. keep: keep it "
        "(not asked again until it changes). unlink: keep both records, but stop keeping them in step.",
        SheetKind.CANNOT_WRITE: f"A record reconcile cannot write, and why (a value {t} would refuse, a "
        f"required value that is empty). Correct it in {s}, or dismiss it: it is not asked again until the "
        "record changes.",
        SheetKind.PROBLEMS: "Records that cannot be written because of how the flow is set up, not because of "
        "the records. The Summary lists each problem once, with what to change; dismiss it there to stop "
        "asking until its records change.",
    }
    titles = {kind: title for title, kind in sheets}
    for kind, text in described.items():
        if kind in kinds:
            paragraphs.append((titles[kind], text))
    paragraphs += [
        (
            "Apply",
            "Save the workbook where it is, then run: reconcile apply <the run folder>. Each decision is carried "
            "out if its record is still as you saw it; a record that changed since is left alone and asked "
            "again in the next plan. results.xlsx in the apply's run folder says what became of each decision.",
        ),
        (
            "Protected",
            "The sheets are protected so that only the Decision cells change (there is no password: it is a "
            "guide, not a lock); sorting and filtering work. Hidden columns tie each line to the plan: a line "
            "whose values were changed, or that comes from another workbook, is refused.",
        ),
    ]
    row = 2
    for heading, text in paragraphs:
        if heading:
            sheet.label(row, 0, heading, book.bold)
            row += 1
        sheet.put(row, 0, text, wrap=True)
        row += 2
    sheet.protect()
