"""What a workbook says of its run and mappings besides the plan: names as people say them, headers, choices."""

from __future__ import annotations

from collections.abc import Mapping as MappingType
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from reconcile.engine.settle import conflict_sides
from reconcile.model.plan import Action
from reconcile.report.summary import action_words

if TYPE_CHECKING:
    from reconcile.model.catalogue import Entity
    from reconcile.model.flow import Mapping


@dataclass(frozen=True)
class MappingInfo:
    """What the workbook shows of a mapping: its name, its entities, its fields and their headers."""

    name: str
    source: str
    target: str
    fields: tuple[str, ...] = ()
    """The properties' target fields in the mapping's order: the sheet shows its columns in this order."""
    headers: MappingType[str, str] = field(default_factory=dict)
    """Field -> the words a column of it is headed with (from the catalogue's description); else the field."""
    sides: MappingType[str, tuple[bool, bool]] = field(default_factory=dict)
    """Property -> (may keep the source's value, may keep the target's value) in a conflict; else both."""
    refs: MappingType[str, str] = field(default_factory=dict)
    """Reference property -> the mapping it is translated through: the workbook shows the record it refers to."""

    @classmethod
    def of(cls, mapping: Mapping, source: Entity | None = None, target: Entity | None = None) -> MappingInfo:
        """Take what the workbook needs from a flow's mapping and, when given, its entities' catalogues: the
        headers from the target's field descriptions, and which side's value a conflict may keep."""
        fields = tuple(p.target for p in mapping.properties)
        headers: dict[str, str] = {}
        for name in fields:
            found = target.field_named(name) if target is not None else None
            if found is not None and found.header != name:
                headers[name] = found.header
        sides = {name: conflict_sides(mapping, name, source, target) for name in fields}
        refs = {p.target: p.ref for p in mapping.properties if p.ref}
        return cls(mapping.name, mapping.source, mapping.target, fields, headers, sides, refs)

    def header(self, field_name: str) -> str:
        """The words a column of ``field_name`` is headed with."""
        return self.headers.get(field_name) or field_name

    def may_keep(self, field_name: str) -> tuple[bool, bool]:
        return self.sides.get(field_name, (True, True))


def system_action_words(code: str | None, source_name: str, target_name: str) -> str:
    """An action in words that name the system written: "create in Exact Online", "write back to PowerOffice Go"."""
    if code == Action.CREATE:
        return f"create in {target_name}"
    if code == Action.UPDATE_TARGET:
        return f"update in {target_name}"
    if code == Action.UPDATE_SOURCE:
        return f"write back to {source_name}"
    return action_words(code or "")


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
    source_title: str = ""
    """The source system as people call it ("PowerOffice Go"); the system's name when empty."""
    target_title: str = ""

    @property
    def source_name(self) -> str:
        return self.source_title or self.source

    @property
    def target_name(self) -> str:
        return self.target_title or self.target

    def action_words(self, code: str | None) -> str:
        """An action in words that name the system written: "create in Exact Online"."""
        return system_action_words(code, self.source_name, self.target_name)

    def mapping(self, name: str) -> MappingInfo:
        """The mapping's info; a bare one for a mapping the run does not describe."""
        for info in self.mappings:
            if info.name == name:
                return info
        return MappingInfo(name, "", "")
