"""The records of one entity file as a files system holds them while it reads and changes them.

A :class:`Table` keeps the records as flat dicts with dotted names (``MailAddress.City``), the file's columns
and (for Parquet) their types, so that writing it back keeps what the catalogue does not know. Changes made
to it are kept as records to log (:mod:`reconcile.systems.files.pending`) until the table is written.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl
from filelock import BaseFileLock

from reconcile.errors import ConfigError
from reconcile.model.catalogue import Entity
from reconcile.model.values import cast_value, flatten_record, json_value, key_text, set_field
from reconcile.systems.files.pending import Pending, PendingLog


@dataclass
class Table:
    """The records of one entity file, and what writing them back needs.

    ``index`` maps each key (as text) to its record's position; ``deleted`` holds the positions of records
    deleted since the file was read. ``changes`` are the changes not yet logged, ``log`` and ``lock`` the
    pending log and the lock of a table held open for writing.
    """

    path: Path
    records: list[dict[str, Any]]
    columns: list[str]
    dtypes: dict[str, pl.DataType] = field(default_factory=dict)
    deleted: set[int] = field(default_factory=set)
    index: dict[str, int] = field(default_factory=dict)
    next_int: int | None = None
    changed: bool = False
    changes: list[dict[str, Any]] = field(default_factory=list)
    log: PendingLog | None = None
    lock: BaseFileLock | None = None

    def live(self) -> list[dict[str, Any]]:
        """The records not deleted, in the file's order."""
        return [r for i, r in enumerate(self.records) if i not in self.deleted]

    def index_keys(self, entity: Entity) -> None:
        """Index the records by ``entity``'s key."""
        self.index = {k: i for i, r in enumerate(self.records) if (k := key_text(r.get(entity.key)))}

    def new_key(self, entity: Entity) -> Any:
        """A key for a new record: the next whole number, a guid or a hex id, as the key's type says."""
        ftype = entity.fields[entity.key].type
        if ftype == "int":
            if self.next_int is None:
                self.next_int = max((int(k) for k in self.index if k.lstrip("-").isdigit()), default=0) + 1
            key = self.next_int
            self.next_int += 1
            return key
        return str(uuid.uuid4()) if ftype == "guid" else uuid.uuid4().hex

    def position(self, key: str) -> int | None:
        """Where the live record with ``key`` is, or None."""
        position = self.index.get(key)
        return None if position is None or position in self.deleted else position

    def add(self, key: str, record: dict[str, Any]) -> None:
        """Append a new record."""
        self.records.append(record)
        self.index[key] = len(self.records) - 1
        self.changed = True
        self.changes.append({"create": key, "record": {k: json_value(v) for k, v in record.items()}})

    def change(self, key: str, values: dict[str, Any]) -> None:
        """Set (dotted) fields of the live record with ``key``."""
        position = self.position(key)
        assert position is not None
        record = self.records[position]
        for name, value in values.items():
            set_field(record, name, value)
        self.changed = True
        self.changes.append({"update": key, "values": {k: json_value(v) for k, v in values.items()}})

    def remove(self, key: str) -> None:
        """Delete the live record with ``key``."""
        position = self.position(key)
        assert position is not None
        self.deleted.add(position)
        self.changed = True
        self.changes.append({"delete": key})

    def replay(self, entity: Entity, pending: Pending) -> None:
        """Lay a pending log's changes over the records read from the file (values cast as the catalogue says)."""

        def typed(values: dict[str, Any]) -> dict[str, Any]:
            return {
                name: cast_value(value, entity.fields[name].type) if name in entity.fields else value
                for name, value in values.items()
            }

        for change in pending.changes:
            if "create" in change:
                key = str(change["create"])
                record: dict[str, Any] = {}
                for name, value in typed(dict(change.get("record") or {})).items():
                    set_field(record, name, value)
                position = self.position(key)
                if position is not None:
                    self.records[position] = record
                else:
                    self.records.append(record)
                    self.index[key] = len(self.records) - 1
            elif "update" in change:
                position = self.position(str(change["update"]))
                if position is not None:
                    for name, value in typed(dict(change.get("values") or {})).items():
                        set_field(self.records[position], name, value)
            elif "delete" in change:
                position = self.position(str(change["delete"]))
                if position is not None:
                    self.deleted.add(position)
            self.changed = True


def load_table(path: Path, file_format: str) -> Table:
    """The records of the file at ``path`` (none when there is no file); a ConfigError when it does not read."""
    if not path.exists():
        return Table(path, [], [])
    try:
        if file_format == "json":
            data = json.loads(path.read_text(encoding="utf-8") or "[]")
            if not isinstance(data, list) or not all(isinstance(r, dict) for r in data):
                raise ConfigError(f"{path}: must hold a JSON array of objects, one per record")
            records = [flatten_record(r) for r in data]
            columns = list(dict.fromkeys(name for r in records for name in r))
            return Table(path, records, columns)
        if path.stat().st_size == 0:
            return Table(path, [], [])
        if file_format == "csv":
            frame = pl.read_csv(path, infer_schema=False)
        else:
            frame = pl.read_parquet(path)
            while structs := [n for n, t in frame.schema.items() if isinstance(t, pl.Struct)]:
                frame = frame.unnest(structs, separator=".")
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{path}: not valid JSON: {exc}") from exc
    except (OSError, pl.exceptions.PolarsError) as exc:
        raise ConfigError(f"{path}: cannot be read as {file_format.upper()}: {exc}") from exc
    return Table(path, frame.to_dicts(), list(frame.columns), dtypes=dict(frame.schema))
