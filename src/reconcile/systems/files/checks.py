"""The checks a files system makes before it changes a record: what the catalogue says would fail.

A folder of files takes whatever it is given, so the catalogue is the only judge: read-only entities and
fields, fields set only on create, required fields, values that are not their field's type, embedded
records that are not creates, text the file's encoding cannot hold. What fails is a :class:`Refused`, whose
message is the failed result's error.
"""

from __future__ import annotations

from typing import Any

from reconcile.model.catalogue import Entity
from reconcile.model.values import EXPECTED, cast_value, is_blank
from reconcile.systems.base import WriteKind, WriteOp


class Refused(Exception):
    """A write the catalogue says would fail; its message is the failed result's error."""


def cast_values(system: str, entity: Entity, values: dict[str, Any], *, create: bool) -> dict[str, Any]:
    """The op's values cast to the catalogue's types; :class:`Refused` says what cannot be written."""
    cast: dict[str, Any] = {}
    for name, value in values.items():
        f = entity.fields.get(name)
        if f is None:
            raise Refused(f'"{name}" is not a field of {system} {entity.name}{entity.suggest(name)}')
        if f.read_only and not (create and name == entity.key):
            raise Refused(f"{name} is read-only in {system}")
        if f.create_only and not create:
            raise Refused(f"{name} can only be set when the record is created")
        try:
            cast[name] = cast_value(value, f.type)
        except ValueError:
            raise Refused(f"{name} = {value!r} is not {EXPECTED[f.type]}") from None
    return cast


def check_create(system: str, entity: Entity, values: dict[str, Any], filled_by_parent: str | None = None) -> None:
    """Refuse a create of ``entity`` that is not allowed or misses a required field."""
    if entity.read_only:
        raise Refused(f"{system} {entity.name} is read-only: records cannot be created")
    missing = [
        f.name
        for f in entity.fields.values()
        if f.required and not f.read_only and f.name != filled_by_parent and is_blank(values.get(f.name))
    ]
    if missing:
        raise Refused(f"required on create and missing: {', '.join(missing)}")


def check_children(system: str, entity: Entity, child: Entity | None, op: WriteOp) -> None:
    """Refuse ``op`` unless every one of its embedded children can be created with it."""
    if not op.children:
        return
    if entity.embedded is None or child is None:
        raise Refused(f"{system} {entity.name} takes no embedded records")
    for number, op_child in enumerate(op.children, start=1):
        try:
            if op_child.kind is not WriteKind.CREATE:
                raise Refused("embedded records can only be created")
            values = cast_values(system, child, op_child.values, create=True)
            check_create(system, child, values, filled_by_parent=entity.embedded.parent_field)
        except Refused as refused:
            raise Refused(f"{child.name} {number}: {refused}") from None


def check_encodable(values: dict[str, Any], encoding: str, file: str) -> None:
    """Refuse text values that a file in ``encoding`` cannot hold (a UTF encoding holds every one)."""
    if encoding.startswith("utf"):
        return
    for name, value in values.items():
        if isinstance(value, str):
            try:
                value.encode(encoding)
            except UnicodeEncodeError as exc:
                char = value[exc.start]
                raise Refused(
                    f'{name} = {value!r}: "{char}" cannot be written in {file}, whose encoding is {encoding}'
                ) from None
