"""The JSON a write sends, refused before any call where the catalogue says the write would fail.

A read-only entity or field, a field that can only be set on create, a required field missing or emptied,
a value that is not its field's type: each is a :class:`Refused` whose message is the failed result's
error, so that no call is spent on it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from reconcile.model.catalogue import Catalogue, Entity
from reconcile.model.values import EXPECTED, cast_value, json_value, key_text, nest_record
from reconcile.systems.base import WriteKind, WriteOp


class Refused(Exception):
    """A write the catalogue says would fail; its message is the failed result's error."""


class Bodies:
    """Builds the bodies of writes to the entities of ``catalogue`` (of the system named ``system``)."""

    def __init__(self, system: str, catalogue: Catalogue) -> None:
        self.name = system
        self.catalogue = catalogue

    def body(self, ent: Entity, op: WriteOp) -> dict[str, Any]:
        """The JSON an op sends; :class:`Refused` for what the catalogue says would fail."""
        where = f"{self.name} {ent.name}"
        if op.kind is WriteKind.DELETE:
            if ent.read_only or not ent.deletable:
                raise Refused(f"{where} records cannot be deleted")
            if not op.key:
                raise Refused("a delete needs the record's key")
            return {}
        if ent.read_only:
            raise Refused(
                f"{where} is read-only: records cannot be {'created' if op.kind is WriteKind.CREATE else 'changed'}"
            )
        if op.kind is WriteKind.UPDATE:
            if not op.key:
                raise Refused(f"an update needs the record's {ent.key}")
            if op.children:
                raise Refused("embedded records are only sent with a new record")
            values = {k: v for k, v in op.values.items() if not (k == ent.key and key_text(v) == op.key)}
            wire = self._wire(ent, values, create=False)
            emptied = [n for n, v in wire.items() if ent.fields[n].required and v is None]
            if emptied:
                raise Refused(f"required and cannot be emptied: {', '.join(emptied)}")
            return nest_record(wire)
        body = self._checked_create(ent, op.values)
        if op.children:
            if ent.embedded is None:
                raise Refused(f"{where} takes no embedded records")
            child = self.catalogue.entities[ent.embedded.entity]
            lines = []
            for number, line in enumerate(op.children, start=1):
                try:
                    if line.kind is not WriteKind.CREATE:
                        raise Refused("embedded records can only be created")
                    values = {k: v for k, v in line.values.items() if k != ent.embedded.parent_field}
                    lines.append(self._checked_create(child, values, filled_by_parent=ent.embedded.parent_field))
                except Refused as refused:
                    raise Refused(f"{child.name} {number}: {refused}") from None
            body[ent.embedded.field] = lines
        return body

    def _checked_create(
        self, ent: Entity, values: Mapping[str, Any], filled_by_parent: str | None = None
    ) -> dict[str, Any]:
        wire = self._wire(ent, values, create=True)
        missing = [
            f.name
            for f in ent.fields.values()
            if f.required and not f.read_only and f.name != filled_by_parent and wire.get(f.name) in (None, "")
        ]
        if missing:
            raise Refused(f"required on create and missing: {', '.join(missing)}")
        return nest_record(wire)

    def _wire(self, ent: Entity, values: Mapping[str, Any], *, create: bool) -> dict[str, Any]:
        wire: dict[str, Any] = {}
        for name, value in values.items():
            f = ent.fields.get(name)
            if f is None:
                raise Refused(f'"{name}" is not a field of {self.name} {ent.name}{ent.suggest(name)}')
            if f.read_only:
                raise Refused(f"{name} is read-only in {self.name}")
            if f.create_only and not create:
                raise Refused(f"{name} can only be set when the record is created")
            try:
                wire[name] = json_value(cast_value(value, f.type))
            except ValueError:
                raise Refused(f"{name} = {value!r} is not {EXPECTED[f.type]}") from None
        return wire
