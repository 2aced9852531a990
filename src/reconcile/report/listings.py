"""The sheets across mappings: Conflicts, Ambiguous, Links, Deletes, Cannot write and Problem details.

Each line names the record, its mapping and why it is there, and offers the decisions that mean something for
its kind: whose value to keep (one line per property, only the sides that can be written), which candidate it
is or a new record, link or not the same, delete or keep or unlink, dismiss. Problem details lists the records
behind the Summary's problems in the flow; they are dismissed there, a problem at a time.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import polars as pl

from reconcile.model.plan import ReviewDecision
from reconcile.report.cells import Value
from reconcile.report.changes import change_key
from reconcile.report.info import MappingInfo, RunInfo
from reconcile.report.kinds import (
    CHOICES_HEADER,
    CREATE_NEW,
    FIXED_CHOICES,
    PROBLEM_HEADER,
    PROMPTS,
    PROPERTY_HEADER,
    SheetKind,
    keep_words,
)
from reconcile.report.sheet import Sheet
from reconcile.report.sign import Signer
from reconcile.report.table import Column, Table
from reconcile.report.values import reason_words, scrub, shown, value_cell

_LABEL_IN_CHOICE = 100
"""The longest label a candidate is offered by in a drop-down (its id follows it)."""


class Listings:
    """Writes the listing sheets of one workbook: the run's names, its mappings' headers, and the signer."""

    def __init__(self, info: RunInfo, numeric: set[tuple[str, str]], signer: Signer) -> None:
        self.info = info
        self.numeric = numeric
        self.signer = signer

    def conflicts(self, sheet: Sheet, rows: pl.DataFrame) -> Table:
        """One line per property changed on both sides: keep one system's value, or the other's."""
        s, t = self.info.source_name, self.info.target_name
        columns = [
            Column("Record"),
            Column("Mapping"),
            Column("Reason", wrap=True),
            Column("Property"),
            Column(f"{s}'s value"),
            Column(f"{t}'s value"),
            Column("Last synced value"),
            Column(f"{s} id"),
            Column(f"{t} id"),
        ]
        table = self._table(sheet, SheetKind.CONFLICTS, columns, (PROPERTY_HEADER, CHOICES_HEADER), 2)
        for row in rows.iter_rows(named=True):
            mapping = self.info.mapping(row["mapping"] or "")
            head: list[Value] = [row["label"], row["mapping"], reason_words(row["reason"], row["detail"])]
            ids: list[Value] = [row["source_id"], row["target_id"]]
            changes = _changes(row)
            if not changes:
                table.add([*head, None, None, None, None, *ids], row_id=row["row_id"], decidable=False)
            for key, change in changes.items():
                is_number = (row["mapping"] or "", key) in self.numeric
                # For a conflict, ``new`` is the source's value and ``old`` the target's.
                values = [value_cell(key, change[k], is_number) for k in ("new", "old", "base")]
                keep_source, keep_target = mapping.may_keep(key)
                choices = [
                    *([(keep_words(s), ReviewDecision.KEEP_SOURCE.value)] if keep_source else []),
                    *([(keep_words(t), ReviewDecision.KEEP_TARGET.value)] if keep_target else []),
                ]
                table.add(
                    [*head, mapping.header(key), *values, *ids],
                    changed=(4, 5),
                    row_id=row["row_id"],
                    extras=[key],
                    choices=choices,
                    decidable=bool(choices),
                )
        return self._finish(table, None, SheetKind.CONFLICTS)

    def ambiguous(self, sheet: Sheet, rows: pl.DataFrame) -> Table:
        """A record that matches several: pick the one it is, by its label, or create a new one."""
        columns = [
            Column("Record"),
            Column("Mapping"),
            Column("Reason", wrap=True),
            Column(f"{self.info.source_name} id"),
            Column(f"Candidates in {self.info.target_name}", wrap=True),
            Column("Values", wrap=True),
        ]
        lines = [(row, _choices(row)) for row in rows.iter_rows(named=True)]
        most = max((len(c) for _, c in lines), default=0)
        table = self._table(sheet, SheetKind.AMBIGUOUS, columns, (CHOICES_HEADER,), most)
        for row, choices in lines:
            mapping = self.info.mapping(row["mapping"] or "")
            candidates = "\n".join(words for words, target_id in choices if target_id is not None)
            table.add(
                [
                    row["label"],
                    row["mapping"],
                    reason_words(row["reason"], row["detail"]),
                    row["source_id"],
                    candidates or None,
                    _values(mapping, row, "; "),
                ],
                row_id=row["row_id"],
                choices=choices,
            )
        return self._finish(table, None, SheetKind.AMBIGUOUS)

    def links(self, sheet: Sheet, rows: pl.DataFrame) -> Table:
        """A proposed first-time link: the two records side by side, to link or to tell apart for good."""
        s, t = self.info.source_name, self.info.target_name
        columns = [*self._pair_columns(), Column(f"In {s}", wrap=True), Column(f"In {t}", wrap=True)]
        table = self._table(sheet, SheetKind.LINKS, columns)
        for row in rows.iter_rows(named=True):
            mapping = self.info.mapping(row["mapping"] or "")
            shown = [_values(mapping, row, "\n", "new"), _values(mapping, row, "\n", "old")]
            table.add([*self._pair_cells(row), *shown], row_id=row["row_id"])
        return self._finish(table, SheetKind.LINKS, SheetKind.LINKS)

    def deletes(self, sheet: Sheet, rows: pl.DataFrame) -> Table:
        """A record deleted on one side: delete it on the other too, keep it, or only unlink the pair."""
        table = self._table(sheet, SheetKind.DELETES, [*self._pair_columns(), Column("Values", wrap=True)])
        for row in rows.iter_rows(named=True):
            mapping = self.info.mapping(row["mapping"] or "")
            table.add([*self._pair_cells(row), _values(mapping, row, "; ")], row_id=row["row_id"])
        return self._finish(table, SheetKind.DELETES, SheetKind.DELETES)

    def cannot_write(self, sheet: Sheet, rows: pl.DataFrame) -> Table:
        """A record the tool cannot write, and why: dismiss it to stop asking until it changes."""
        table = self._table(sheet, SheetKind.CANNOT_WRITE, self._record_columns())
        for row in rows.iter_rows(named=True):
            table.add(self._record_cells(row), row_id=row["row_id"])
        return self._finish(table, SheetKind.CANNOT_WRITE, SheetKind.CANNOT_WRITE)

    def problem_details(self, sheet: Sheet, rows: pl.DataFrame) -> Table:
        """The records behind each problem in the flow; the Summary's line of the problem dismisses them."""
        columns = self._record_columns()
        columns[2] = Column("Problem", wrap=True)
        table = Table(sheet, SheetKind.PROBLEMS, columns, signer=self.signer, extras=(PROBLEM_HEADER,))
        for row in rows.iter_rows(named=True):
            table.add(
                self._record_cells(row),
                row_id=row["row_id"],
                extras=[problem_key(row["mapping"], row["reason"])],
            )
        table.finish()
        sheet.protect()
        return table

    def _pair_columns(self) -> list[Column]:
        """The columns that say which pair of records a line is about, and why it is asked."""
        return [
            Column("Record"),
            Column("Mapping"),
            Column("Reason", wrap=True),
            Column(f"{self.info.source_name} id"),
            Column(f"{self.info.target_name} id"),
        ]

    @staticmethod
    def _pair_cells(row: dict[str, Any]) -> list[Value]:
        return [
            row["label"],
            row["mapping"],
            reason_words(row["reason"], row["detail"]),
            row["source_id"],
            row["target_id"],
        ]

    def _record_columns(self) -> list[Column]:
        return [
            Column("Record"),
            Column("Mapping"),
            Column("Reason", wrap=True),
            Column("Detail", wrap=True),
            Column(f"{self.info.source_name} id"),
            Column(f"{self.info.target_name} id"),
            Column("Values", wrap=True),
        ]

    def _record_cells(self, row: dict[str, Any]) -> list[Value]:
        mapping = self.info.mapping(row["mapping"] or "")
        return [
            row["label"],
            row["mapping"],
            reason_words(row["reason"], None),
            scrub(row["detail"]) if row["detail"] else None,
            row["source_id"],
            row["target_id"],
            _values(mapping, row, "; "),
        ]

    def _table(
        self,
        sheet: Sheet,
        kind: SheetKind,
        columns: Sequence[Column],
        extras: Sequence[str] = (),
        choice_cells: int = 0,
    ) -> Table:
        return Table(sheet, kind, columns, decide=True, signer=self.signer, extras=extras, choice_cells=choice_cells)

    @staticmethod
    def _finish(table: Table, fixed: SheetKind | None, kind: SheetKind) -> Table:
        words = [w for w, _ in FIXED_CHOICES[fixed]] if fixed is not None else None
        table.drop_down(words, PROMPTS[kind])
        table.finish()
        table.sheet.protect()
        return table


def problem_key(mapping: str | None, reason: str | None) -> str:
    """The hidden key of a problem in the flow: its mapping and reason."""
    return json.dumps([mapping or "", reason or ""], ensure_ascii=False)


def _changes(row: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {change_key(c): c for c in row["changes"] or () if c is not None}


def _values(mapping: MappingInfo, row: dict[str, Any], separator: str, side: str | None = None) -> str | None:
    """A row's values as one text: "Name: Acme; City: Oslo" (the new value, else the old; or one ``side``)."""
    parts = []
    for key, change in _changes(row).items():
        value = change[side] if side else (change["new"] if change["new"] is not None else change["old"])
        if value is not None:
            parts.append(f"{mapping.header(key)}: {shown(key, value)}")
    return separator.join(parts) or None


def _choices(row: dict[str, Any]) -> list[tuple[str, str | None]]:
    """An ambiguous row's drop-down: each candidate by its label and id, then "create new"."""
    choices: list[tuple[str, str | None]] = []
    for candidate in row.get("candidates") or ():
        target_id = candidate.get("target_id")
        if target_id is None:
            continue
        label = (candidate.get("label") or "").strip()
        if len(label) > _LABEL_IN_CHOICE:
            label = label[: _LABEL_IN_CHOICE - 1] + "…"
        choices.append((f"{label} ({target_id})" if label else str(target_id), str(target_id)))
    return [*choices, (CREATE_NEW, None)]
