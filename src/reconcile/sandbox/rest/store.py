"""The records the generic emulator holds, and how it changes them as a careful real system would.

It assigns ids (the next number for an int key, a new GUID for a guid key), keeps the entity's modified
time, and refuses unknown and read-only fields (400), a missing required field or a value of the wrong type
(422), writes to a read-only entity (405), and an id that exists already (409), each as a :class:`Problem`.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any

from reconcile.model.catalogue import Entity
from reconcile.model.clock import Clock
from reconcile.model.systemfile import SystemFile
from reconcile.model.values import EXPECTED, cast_value, flatten_record, json_value, key_text, nest_record
from reconcile.sandbox.rest.answers import Problem


class RecordStore:
    """Each entity's records by key, as flat dicts with dotted names; ``changed`` names the entities written."""

    def __init__(self, spec: SystemFile, clock: Clock) -> None:
        self.spec = spec
        self.clock = clock
        self.tables: dict[str, dict[str, dict[str, Any]]] = {name: {} for name in spec.endpoints}
        self.changed: set[str] = set()

    def entity(self, name: str) -> Entity:
        """The catalogue entity named so; ``KeyError`` when there is none."""
        ent = self.spec.catalogue.entity(name)
        if ent is None:
            raise KeyError(name)
        return ent

    def put(self, entity: str, rows: list[dict[str, Any]]) -> None:
        """Replace an entity's records (nested JSON objects, each with its key)."""
        ent = self.entity(entity)
        table: dict[str, dict[str, Any]] = {}
        for row in rows:
            flat = flatten_record(row)
            key = key_text(flat.get(ent.key))
            if key is not None:
                table[key] = flat
        self.tables[ent.name] = table
        self.changed.add(ent.name)

    def existing(self, ent: Entity, key: str) -> dict[str, Any]:
        """The record of ``ent`` with ``key``; a 404 when there is none."""
        record = self.tables[ent.name].get(key)
        if record is None:
            raise Problem(404, f"no {ent.name} with {ent.key} {key}")
        return record

    def delete(self, ent: Entity, key: str) -> None:
        if ent.read_only or not ent.deletable:
            raise Problem(405, f"{ent.name} records cannot be deleted")
        self.existing(ent, key)
        del self.tables[ent.name][key]
        self.changed.add(ent.name)

    def create(self, ent: Entity, body: dict[str, Any], parent: tuple[str, Any] | None = None) -> dict[str, Any]:
        """Make a record (with its embedded records) from a create's body; the record as the API shows it."""
        if ent.read_only:
            raise Problem(405, f"{ent.name} records cannot be created")
        lines = body.pop(ent.embedded.field, None) if ent.embedded is not None else None
        values = self._values(ent, body, create=True)
        if parent is not None:
            values[parent[0]] = parent[1]
        missing = [
            f.name for f in ent.fields.values() if f.required and not f.read_only and values.get(f.name) in (None, "")
        ]
        if missing:
            raise Problem(422, f"missing required field(s): {', '.join(missing)}")
        if lines is not None and (ent.embedded is None or not isinstance(lines, list)):
            raise Problem(400, f"{ent.embedded.field if ent.embedded else 'lines'} must be an array of records")
        table = self.tables[ent.name]
        key = key_text(values.get(ent.key))
        if key is None:
            key = self._new_key(ent)
            values[ent.key] = int(key) if ent.fields[ent.key].type == "int" else key
        elif key in table:
            raise Problem(409, f"{ent.name} {ent.key} {key} already exists")
        if ent.modified is not None:
            values[ent.modified] = self._now(ent)
        record = {ent.key: values.pop(ent.key), **values}
        table[key] = record
        self.changed.add(ent.name)
        if ent.embedded is None or not lines:
            return record
        child = self.entity(ent.embedded.entity)
        link = (ent.embedded.parent_field, record[ent.key])
        made = [nest_record(self.create(child, dict(line), parent=link)) for line in lines if isinstance(line, dict)]
        return {**record, ent.embedded.field: made}

    def update(self, ent: Entity, key: str, body: dict[str, Any], *, replace: bool) -> dict[str, Any]:
        """Change a record from an update's body (``replace``: a PUT, which empties what it leaves out)."""
        if ent.read_only:
            raise Problem(405, f"{ent.name} records cannot be changed")
        current = self.existing(ent, key)
        values = self._values(ent, body, create=False, current=current)
        if replace:  # PUT: every writable field the body leaves out is emptied
            for f in ent.fields.values():
                if not f.read_only and f.name != ent.key and not f.create_only:
                    values.setdefault(f.name, None)
        emptied = [n for n, v in values.items() if ent.fields[n].required and v in (None, "")]
        if emptied:
            raise Problem(422, f"required and cannot be emptied: {', '.join(emptied)}")
        updated = {**current, **values}
        if ent.modified is not None:
            updated[ent.modified] = self._now(ent)
        self.tables[ent.name][key] = updated
        self.changed.add(ent.name)
        return updated

    def bulk_item(self, ent: Entity, creating: bool, item: Any) -> dict[str, Any]:
        """One entry of a bulk answer: the record made or changed, or an object with its ``error``."""
        try:
            if not isinstance(item, dict):
                raise Problem(400, "each item must be a JSON object")
            if creating:
                return nest_record(self.create(ent, dict(item)))
            key = key_text(flatten_record(item).get(ent.key))
            if key is None:
                raise Problem(400, f"each item must hold its {ent.key}")
            return nest_record(self.update(ent, key, item, replace=False))
        except Problem as problem:
            return {"error": {"status": problem.status, "message": problem.message}}

    def _values(
        self, ent: Entity, body: dict[str, Any], *, create: bool, current: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        values: dict[str, Any] = {}
        for name, value in flatten_record(body).items():
            f = ent.fields.get(name)
            if f is None:
                raise Problem(400, f'"{name}" is not a field of {ent.name}')
            if current is not None and name == ent.key and key_text(value) == key_text(current.get(name)):
                continue
            if f.read_only:
                if current is not None and value == current.get(name):
                    continue  # a PUT that sends a read-only field back unchanged
                raise Problem(400, f"{name} is read-only")
            if f.create_only and not create:
                raise Problem(400, f"{name} can only be set when the record is created")
            try:
                values[name] = json_value(cast_value(value, f.type))
            except ValueError:
                raise Problem(422, f"{name}: {json.dumps(value)} is not {EXPECTED[f.type]}") from None
        return values

    def _now(self, ent: Entity) -> Any:
        assert ent.modified is not None
        return json_value(cast_value(datetime.fromtimestamp(self.clock.now(), UTC), ent.fields[ent.modified].type))

    def _new_key(self, ent: Entity) -> str:
        ftype = ent.fields[ent.key].type
        if ftype == "int":
            numbers = [int(k) for k in self.tables[ent.name] if k.lstrip("-").isdigit()]
            return str(max(numbers, default=0) + 1)
        return str(uuid.uuid4()) if ftype == "guid" else uuid.uuid4().hex
