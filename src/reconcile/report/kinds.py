"""The kinds of sheet a review workbook has, and the words of each kind's Decision drop-down.

The writer offers these words and the reader maps them back to a :class:`ReviewDecision`; both take them from
here. Conflicts and ambiguous matches offer words of their own per line (the systems' names, the candidates'
labels): those lines carry their choices in a hidden ``choices`` cell, sealed with the line.
"""

from __future__ import annotations

from enum import StrEnum

from reconcile.model.plan import ReviewDecision

META_SHEET = "_reconcile"
"""The very hidden sheet naming the run, the plan and each sheet's kind, sealed."""
FORMAT_VERSION = "2"
"""The layout of the workbook; a workbook of another format is refused, to be exported again."""


class SheetKind(StrEnum):
    """What a sheet shows; the meta sheet names each sheet's kind, and a line's check covers it."""

    SUMMARY = "summary"
    """The run, its counts, the questions, and one line per problem in the flow (dismiss)."""
    HOW_TO = "how_to"
    CHANGES = "changes"
    """One mapping's creates and updates: approve or reject."""
    CONFLICTS = "conflicts"
    """One line per property changed on both sides: keep one system's value."""
    AMBIGUOUS = "ambiguous"
    """A source record that matches several target records: pick one, or create a new one."""
    LINKS = "links"
    """A proposed first-time link: link, or not the same."""
    DELETES = "deletes"
    """A record deleted on one side: delete it on the other, keep it, or unlink."""
    CANNOT_WRITE = "cannot_write"
    """A record the tool cannot write: dismiss."""
    PROBLEMS = "problems"
    """The records behind the Summary's problems in the flow: no decision of their own."""


DECISION_HEADER = "Decision"
ROW_ID_HEADER = "row_id"
CHECK_HEADER = "check"
PROPERTY_HEADER = "property"
"""A Conflicts line's property (hidden): the decision is per property."""
CHOICES_HEADER = "choices"
"""A line's own drop-down (hidden): a JSON list of [words, value]."""
PROBLEM_HEADER = "problem"
"""The problem a Problem details line belongs to (hidden): the Summary line that dismisses it."""
CHOICE_HEADER = "choice {n}"
"""The hidden cells a line's own drop-down lists."""

CREATE_NEW = "create new"
"""The Ambiguous choice for none of the candidates."""

FIXED_CHOICES: dict[SheetKind, tuple[tuple[str, ReviewDecision], ...]] = {
    SheetKind.CHANGES: (("approve", ReviewDecision.APPROVE), ("reject", ReviewDecision.REJECT)),
    SheetKind.LINKS: (("link", ReviewDecision.LINK), ("not the same", ReviewDecision.NOT_SAME)),
    SheetKind.DELETES: (
        ("delete", ReviewDecision.DELETE),
        ("keep", ReviewDecision.KEEP),
        ("unlink", ReviewDecision.UNLINK),
    ),
    SheetKind.CANNOT_WRITE: (("dismiss", ReviewDecision.DISMISS),),
    SheetKind.SUMMARY: (("dismiss", ReviewDecision.DISMISS),),
}
"""The drop-down of every line of a kind, in the order offered."""

PROMPTS: dict[SheetKind, str] = {
    SheetKind.CHANGES: "approve to write it, reject to leave it; blank to decide later",
    SheetKind.CONFLICTS: "whose value to keep; blank to decide later",
    SheetKind.AMBIGUOUS: "the record it is, or create new; blank to decide later",
    SheetKind.LINKS: "link if they are the same record, else not the same; blank to decide later",
    SheetKind.DELETES: "delete it on the other side too, keep it, or unlink; blank to decide later",
    SheetKind.CANNOT_WRITE: "dismiss to stop asking until the record changes; blank to decide later",
    SheetKind.SUMMARY: "dismiss to stop asking until the records change; blank to decide later",
}


def keep_words(title: str) -> str:
    """The Conflicts choice that keeps one system's value: "keep Exact Online's value"."""
    return f"keep {title}'s value"
