"""The records of one entity file as a files system holds them while it reads and changes them.

A :class:`Table` keeps the file's records as a frame (:mod:`reconcile.systems.files.formats`): one flat
column per dotted name (``MailAddress.City``), in the file's own types, the columns the catalogue does not
know among them, so that writing it back keeps them. A Parquet file's catalogue fields are held cast to
their types as soon as it is read, as they are written back.

Changes are recorded, not applied one by one: creates, the fields each update sets, deletes. They are laid
over the frame in bulk (:meth:`Table.settle`) when the table is read or written: updates scattered into
their columns, deletes filtered out, creates appended. Each change is also kept as a record to log
(:mod:`reconcile.systems.files.pending`) until the table is written.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl
from filelock import BaseFileLock

from reconcile.errors import ConfigError
from reconcile.model.casting import key_texts, snapshot, typed_columns
from reconcile.model.catalogue import DTYPES, Entity
from reconcile.model.records import column
from reconcile.model.systemfile import TextSettings
from reconcile.model.values import cast_value, json_value, set_field
from reconcile.systems.files.formats import empty, load_file, stored
from reconcile.systems.files.pending import Pending, PendingLog
from reconcile.systems.files.text import Style, header_problem


@dataclass
class Table:
    """The records of one entity file, the changes recorded since it was read, and what writing it needs.

    ``keys`` are the records' keys as text, row for row; :attr:`live` the keys of the records not deleted,
    created ones among them, a set made the first time a write asks for it (a read never does). ``created``
    holds new records, ``updated`` the fields set on records of the frame, ``deleted`` the keys of records
    of the frame deleted. ``style`` is how the file is written back as text (its encoding, mark, line
    endings and separator). ``changes`` are the changes not yet logged, ``log`` and ``lock`` the pending log
    and the lock of a table held open for writing.
    """

    path: Path
    file_format: str
    entity: Entity
    frame: pl.DataFrame
    keys: pl.Series
    style: Style = field(default_factory=Style)
    next_int: int | None = None
    created: dict[str, dict[str, Any]] = field(default_factory=dict)
    updated: dict[str, dict[str, Any]] = field(default_factory=dict)
    deleted: set[str] = field(default_factory=set)
    changed: bool = False
    changes: list[dict[str, Any]] = field(default_factory=list)
    log: PendingLog | None = None
    lock: BaseFileLock | None = None
    _live: set[str] | None = None

    @property
    def live(self) -> set[str]:
        """The keys of the live records: the frame's less those deleted, and those created."""
        if self._live is None:
            self._live = set(self.keys.drop_nulls().to_list()) - self.deleted | set(self.created)
        return self._live

    def snapshot(self) -> pl.DataFrame:
        """The records, changes laid over them, cast to the catalogue's types (a ConfigError when they do not)."""
        self.settle()
        where = str(self.path)
        return snapshot(self.entity, typed_columns(self.entity, self.frame, where, self.keys), where)

    def new_key(self) -> Any:
        """A key for a new record: the next whole number, a guid or a hex id, as the key's type says."""
        ftype = self.entity.fields[self.entity.key].type
        if ftype == "int":
            key = self._next_int()
            self.next_int = key + 1
            return key
        return str(uuid.uuid4()) if ftype == "guid" else uuid.uuid4().hex

    def _next_int(self) -> int:
        """The next whole number after every key the file and this run have held, deleted ones too."""
        if self.next_int is None:
            numbers = pl.concat([self.keys, pl.Series(list(self.created), dtype=pl.String)])
            top = numbers.filter(numbers.str.contains(r"^-?[0-9]{1,18}$")).cast(pl.Int64).max()
            self.next_int = (top if isinstance(top, int) else 0) + 1
        return self.next_int

    def has(self, key: str) -> bool:
        """Whether a live record has ``key``."""
        return key in self.live

    def add(self, key: str, record: dict[str, Any]) -> None:
        """Add a new record (flat, values cast to the catalogue's types)."""
        self._create(key, record)
        self.changes.append({"create": key, "record": {k: json_value(v) for k, v in record.items()}})

    def change(self, key: str, values: dict[str, Any]) -> None:
        """Set (dotted) fields of the live record with ``key``."""
        self._update(key, values)
        self.changes.append({"update": key, "values": {k: json_value(v) for k, v in values.items()}})

    def remove(self, key: str) -> None:
        """Delete the live record with ``key``."""
        self._delete(key)
        self.changes.append({"delete": key})

    def replay(self, pending: Pending) -> None:
        """Lay a pending log's changes over the records read from the file (values cast as the catalogue says)."""
        fields = self.entity.fields

        def typed(values: dict[str, Any]) -> dict[str, Any]:
            return {n: cast_value(v, fields[n].type) if n in fields else v for n, v in values.items()}

        for change in pending.changes:
            if "create" in change:
                key = str(change["create"])
                record: dict[str, Any] = {}
                for name, value in typed(dict(change.get("record") or {})).items():
                    set_field(record, name, value)
                if key in self.created:
                    self.created[key] = {n: stored(v, self.file_format) for n, v in record.items()}
                elif self.has(key):  # the record replaced, where it is
                    self._update(key, {**dict.fromkeys(self.frame.columns), **record})
                else:
                    self._create(key, record)
            elif "update" in change and self.has(str(change["update"])):
                self._update(str(change["update"]), typed(dict(change.get("values") or {})))
            elif "delete" in change and self.has(str(change["delete"])):
                self._delete(str(change["delete"]))
            self.changed = True

    def _create(self, key: str, record: dict[str, Any]) -> None:
        self.live.add(key)
        self.created[key] = {n: stored(v, self.file_format) for n, v in record.items()}
        if self.next_int is not None and key.lstrip("-").isdigit():
            self.next_int = max(self.next_int, int(key) + 1)
        self.changed = True

    def _update(self, key: str, values: dict[str, Any]) -> None:
        target = self.created.get(key)
        if target is None:
            target = self.updated.setdefault(key, {})
        for name, value in values.items():
            set_field(target, name, stored(value, self.file_format))
        self.changed = True

    def _delete(self, key: str) -> None:
        self.live.discard(key)
        if self.created.pop(key, None) is None:
            self.deleted.add(key)
        self.changed = True

    # -- in bulk -------------------------------------------------------------------------------------------

    def settle(self) -> None:
        """Lay the recorded changes over the frame: updates, then deletes, then creates (see the module docs)."""
        frame, keys = self.frame, self.keys
        if self.updated:
            frame = self._set(frame, keys)
        if self.deleted:
            if self.entity.fields[self.entity.key].type == "int":
                self._next_int()  # before the deleted keys are gone: a new record never takes one
            kept = ~keys.is_in(list(self.deleted)).fill_null(False)
            frame, keys = frame.filter(kept), keys.filter(kept)
        if self.created:
            records = list(self.created.values())
            names = dict.fromkeys([*frame.columns, *(n for r in records for n in r)])
            frame = pl.DataFrame(
                pl.concat(self._fitted(_column(frame, name), self._patch(name, [r.get(name) for r in records])))
                for name in names
            )
            keys = pl.concat([keys, pl.Series(keys.name, list(self.created), dtype=pl.String)])
        self.frame, self.keys = frame, keys
        self.created, self.updated, self.deleted = {}, {}, set()

    def _set(self, frame: pl.DataFrame, keys: pl.Series) -> pl.DataFrame:
        """``frame`` with the updated fields set, column by column."""
        position = {key: row for row, key in enumerate(keys.to_list())}
        names = dict.fromkeys(n for values in self.updated.values() for n in values)
        columns: list[pl.Series] = []
        for name in names:
            rows = [position[k] for k, values in self.updated.items() if name in values]
            patch = self._patch(name, [values[name] for values in self.updated.values() if name in values])
            current, patch = self._fitted(_column(frame, name), patch)
            if current.dtype == pl.Object:
                held = current.to_list()
                for row, value in zip(rows, patch.to_list(), strict=True):
                    held[row] = value
                columns.append(pl.Series(name, held, dtype=pl.Object))
            else:
                columns.append(current.scatter(rows, patch))
        return frame.with_columns(columns)

    def _patch(self, name: str, values: list[Any]) -> pl.Series:
        """New values of a column as a series: of the field's type in a Parquet file, else of their kind."""
        f = self.entity.fields.get(name)
        if self.file_format == "parquet" and f is not None:
            return pl.Series(name, values, dtype=DTYPES[f.type], strict=True)
        return column(name, values)

    @staticmethod
    def _fitted(current: pl.Series, patch: pl.Series) -> tuple[pl.Series, pl.Series]:
        """A column and new values of it in one type: the type of either when the other is all null, else
        ``Object`` (a JSON file whose column mixes kinds, as the file then does)."""
        if current.dtype == patch.dtype:
            return current, patch
        if patch.dtype == pl.Null:
            return current, pl.repeat(None, patch.len(), dtype=current.dtype, eager=True).alias(patch.name)
        if current.dtype == pl.Null:
            return pl.repeat(None, current.len(), dtype=patch.dtype, eager=True).alias(current.name), patch
        objects = pl.Object()
        return pl.Series(current.name, current.to_list(), objects), pl.Series(patch.name, patch.to_list(), objects)


def _column(frame: pl.DataFrame, name: str) -> pl.Series:
    if name in frame.columns:
        return frame[name]
    return pl.repeat(None, frame.height, dtype=pl.Null, eager=True).alias(name)


def load_table(
    path: Path, file_format: str, entity: Entity, settings: TextSettings | None = None, source: str = ""
) -> Table:
    """The records of the file at ``path`` (none when there is no file); a ConfigError when it does not read.

    ``settings`` say how a CSV or JSON file is written as text, ``source`` where they are set (for messages).
    A CSV file whose header has no column for the key is refused, the header and a likely separator named.
    """
    loaded = load_file(path, file_format, settings, source)
    frame = loaded.frame
    if file_format == "csv" and frame.columns and entity.key not in frame.columns:
        raise ConfigError(header_problem(path, loaded.style, entity.key, source))
    if not frame.columns:
        frame = empty(entity, file_format).clear(frame.height)
    keys = key_texts(_column(frame, entity.key))
    if file_format == "parquet":  # its catalogue fields as they are written back: of their types
        typed = typed_columns(entity, frame, str(path), keys)
        frame = frame.with_columns(c for c in typed if c.name in frame.columns)
    return Table(path, file_format, entity, frame, keys, style=loaded.style)
