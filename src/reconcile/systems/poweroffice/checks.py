"""What PowerOffice Go would refuse, refused before any call: the catalogue's rules and a few of Go's own.

A write that is sure to fail costs a call and teaches nothing; it is a row's failure with the reason in
words instead. The catalogue says which entities and fields are read-only, which fields are set only on
create, which are required, their lengths and allowed values; Go adds that an address needs ``City`` and
``ZipCode`` when it is created, and that an order line with a product needs a ``Quantity``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from reconcile.model.catalogue import Entity
from reconcile.systems.base import WriteKind, WriteOp

_ADDRESS_REQUIRED = ("City", "ZipCode")


def refuse(ent: Entity, op: WriteOp, children: Entity | None = None) -> str | None:
    """Why ``op`` cannot succeed, in words, or ``None`` when it may be sent."""
    if op.kind in (WriteKind.CREATE, WriteKind.UPDATE) and ent.read_only:
        return f"PowerOffice Go's {ent.name} are read-only: they cannot be {op.kind}d through the API"
    if op.kind is WriteKind.DELETE:
        if not ent.deletable:
            return f"PowerOffice Go's {ent.name} cannot be deleted through the API"
        return None if op.key else f"a delete of {ent.name} needs the record's {ent.key}"
    if op.kind is WriteKind.UPDATE and not op.key:
        return f"an update of {ent.name} needs the record's {ent.key}"
    problem = check_values(ent, op.values, create=op.kind is WriteKind.CREATE)
    if problem is not None:
        return problem
    if op.children:
        if op.kind is not WriteKind.CREATE or ent.embedded is None or children is None:
            return f"{ent.name} take no embedded records here"
        for number, child in enumerate(op.children, start=1):
            problem = check_values(children, child.values, create=True, implied=ent.embedded.parent_field)
            if problem is not None:
                return f"{children.name} {number}: {problem}"
    return None


def check_values(ent: Entity, values: Mapping[str, Any], *, create: bool, implied: str | None = None) -> str | None:
    """The first problem with ``values`` for a create or an update of ``ent``, or ``None``."""
    for name, value in values.items():
        if name == implied:
            continue
        field = ent.fields.get(name)
        if field is None:
            return f'{ent.name} has no field "{name}"{ent.suggest(name)}'
        if field.read_only:
            return f"{name} is read-only in PowerOffice Go's {ent.name}"
        if field.create_only and not create:
            return f"{name} can only be set when a {ent.name} record is created"
        if value is None or value == "":
            if field.required and not create:
                return f"{name} is required in {ent.name} and cannot be emptied"
            continue
        if field.max_length is not None and isinstance(value, str) and len(value) > field.max_length:
            return f"{name} is {len(value)} characters long; PowerOffice Go takes at most {field.max_length}"
        if field.values is not None and str(value) not in field.values:
            return f'{name} = "{value}" is not one of {", ".join(field.values)}'
    if create:
        missing = [n for n in ent.required_fields() if n != implied and values.get(n) in (None, "")]
        if missing:
            return f"{ent.name} needs {', '.join(missing)} to be created"
        if ent.api.get("version") == 2 and any(n.startswith("MailAddress.") and v for n, v in values.items()):
            lacking = [n for n in _ADDRESS_REQUIRED if not values.get(f"MailAddress.{n}")]
            if lacking and all(f"MailAddress.{n}" in ent.fields for n in _ADDRESS_REQUIRED):
                return (
                    f"an address is created with {' and '.join(_ADDRESS_REQUIRED)}; MailAddress.{lacking[0]} is missing"
                )
    has_product = "ProductId" in ent.fields and values.get("ProductId") not in (None, "")
    if create and has_product and "Quantity" in ent.fields and values.get("Quantity") is None:
        return "a line with a product needs a Quantity"
    return None
