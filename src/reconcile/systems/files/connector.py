"""A system that is a folder of files: one JSON, CSV or Parquet file per entity, described by a catalogue.

For companies that exchange files instead of offering an API, and for running the engine end to end on local
data. ``Customers.json`` holds an array of objects (nested objects for dotted fields such as
``MailAddress.City``); ``Customers.csv`` and ``Customers.parquet`` hold one flat column per field, dotted
fields named with their dotted name. A snapshot (:meth:`FileSystem.read`) casts every catalogue field to its
type and folds dotted fields into structs; fields the catalogue does not know stay in the file untouched.

Writes refuse up front what the catalogue says would fail (read-only entities and fields, required fields
missing on create), and each batch replaces the file atomically: a crash leaves the old file or the new one,
never half of either. A batch with embedded children writes the child file first, then the parent file.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import polars as pl

from reconcile.atomic import write_atomically
from reconcile.errors import ConfigError, SystemFailure
from reconcile.model.catalogue import DTYPES, Catalogue, Entity
from reconcile.model.systemfile import FILE_FORMATS
from reconcile.model.values import (
    EXPECTED,
    as_utc,
    cast_value,
    flatten_record,
    is_blank,
    json_value,
    key_text,
    nest_record,
    set_field,
    text_value,
    typed_frame,
)
from reconcile.systems.base import System, WriteKind, WriteOp, WriteResult

SHARED = 0o644
"""The mode of a new entity file: the files are exchanged with other programs, as a folder's files are."""

FileFormat = Literal["json", "csv", "parquet"]


@dataclass
class _Table:
    """The records of one entity file, as flat dicts with dotted names, and what writing them back needs."""

    path: Path
    records: list[dict[str, Any]]
    columns: list[str]
    dtypes: dict[str, pl.DataType] = field(default_factory=dict)
    deleted: set[int] = field(default_factory=set)
    index: dict[str, int] = field(default_factory=dict)
    next_int: int | None = None
    changed: bool = False

    def live(self) -> list[dict[str, Any]]:
        return [r for i, r in enumerate(self.records) if i not in self.deleted]


# -- files ---------------------------------------------------------------------------------------------------


def _load(path: Path, file_format: FileFormat) -> _Table:
    if not path.exists():
        return _Table(path, [], [])
    try:
        if file_format == "json":
            data = json.loads(path.read_text(encoding="utf-8") or "[]")
            if not isinstance(data, list) or not all(isinstance(r, dict) for r in data):
                raise ConfigError(f"{path}: must hold a JSON array of objects, one per record")
            records = [flatten_record(r) for r in data]
            columns = list(dict.fromkeys(name for r in records for name in r))
            return _Table(path, records, columns)
        if path.stat().st_size == 0:
            return _Table(path, [], [])
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
    return _Table(path, frame.to_dicts(), list(frame.columns), dtypes=dict(frame.schema))


def _dump(table: _Table, entity: Entity, file_format: FileFormat, target: Path) -> None:
    """Write ``table`` to ``target`` in ``file_format`` (the temporary file of an atomic replace)."""
    records = table.live()
    columns = list(dict.fromkeys([*(table.columns or entity.fields), *(n for r in records for n in r)]))
    if file_format == "json":
        data = [nest_record({k: json_value(v) for k, v in r.items()}) for r in records]
        target.write_text(json.dumps(data, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
        return
    if file_format == "csv":
        series = [pl.Series(c, [text_value(r.get(c)) for r in records], dtype=pl.String) for c in columns]
        pl.DataFrame(series).write_csv(target)
        return
    out: list[pl.Series] = []
    for c in columns:
        known = entity.fields.get(c)
        if known is not None:
            values = [cast_value(r.get(c), known.type) for r in records]
            out.append(pl.Series(c, values, dtype=DTYPES[known.type]))
        else:
            out.append(pl.Series(c, [r.get(c) for r in records], dtype=table.dtypes.get(c), strict=False))
    pl.DataFrame(out).write_parquet(target)


# -- the system ----------------------------------------------------------------------------------------------


class _Refused(Exception):
    """A write the catalogue says would fail; its message is the failed result's error."""


class FileSystem(System):
    """A folder with one ``<Entity>.json``, ``.csv`` or ``.parquet`` file per entity of ``catalogue``."""

    def __init__(
        self,
        name: str,
        catalogue: Catalogue,
        folder: Path | str,
        format: FileFormat = "json",
        *,
        now: Callable[[], datetime] | None = None,
    ) -> None:
        if format not in FILE_FORMATS:
            raise ConfigError(f'{name}: file format "{format}" is not valid; valid formats are json, csv, parquet')
        self.name = name
        self.catalogue = catalogue
        self.folder = Path(folder)
        self.format: FileFormat = format
        self._now = now or (lambda: datetime.now(UTC))

    def entity(self, name: str) -> Entity:
        """The catalogue entity named so, without regard to case; :class:`ConfigError` when there is none."""
        found = self.catalogue.entity(name)
        if found is None:
            raise ConfigError(f'{self.name}: no entity "{name}"{self.catalogue.suggest(name)}')
        return found

    def path(self, entity: str) -> Path:
        """The file that holds ``entity``."""
        return self.folder / f"{self.entity(entity).name}.{self.format}"

    def calls_left(self) -> int | None:
        """A folder of files has no call budget."""
        return None

    def close(self) -> None:
        """Nothing stays open between calls."""

    # -- read ----------------------------------------------------------------------------------------------

    def read(self, entity: str) -> pl.DataFrame:
        ent = self.entity(entity)
        table = _load(self.path(ent.name), self.format)
        return self._frame(ent, table)

    def _frame(self, entity: Entity, table: _Table) -> pl.DataFrame:
        return typed_frame(entity, table.records, str(table.path))

    # -- write ---------------------------------------------------------------------------------------------

    def write(self, entity: str, ops: Sequence[WriteOp]) -> list[WriteResult]:
        ent = self.entity(entity)
        tables: dict[str, _Table] = {}
        now = self._now()
        results = [self._apply(ent, op, tables, now) for op in ops]
        # Children first: a crash between the two files leaves lines without an order, never an order
        # that claims lines it does not have.
        for name, table in sorted(tables.items(), key=lambda item: item[0] == ent.name):
            if table.changed:
                self._save(self.entity(name), table)
        return results

    def _table(self, entity: Entity, tables: dict[str, _Table]) -> _Table:
        if entity.name not in tables:
            table = _load(self.path(entity.name), self.format)
            self._frame(entity, table)  # refuse to write over a file whose records do not read
            table.index = {k: i for i, r in enumerate(table.records) if (k := key_text(r.get(entity.key)))}
            tables[entity.name] = table
        return tables[entity.name]

    def _save(self, entity: Entity, table: _Table) -> None:
        try:
            write_atomically(
                table.path,
                lambda tmp: _dump(table, entity, self.format, tmp),
                mode=None if table.path.exists() else SHARED,
            )
        except OSError as exc:
            raise SystemFailure(self.name, f"cannot write {table.path}: {exc.strerror or exc}") from exc

    def _apply(self, entity: Entity, op: WriteOp, tables: dict[str, _Table], now: datetime) -> WriteResult:
        try:
            if op.kind is WriteKind.CREATE:
                return self._create(entity, op, tables, now)
            if op.kind is WriteKind.UPDATE:
                return self._update(entity, op, tables, now)
            return self._delete(entity, op, tables)
        except _Refused as refused:
            children = tuple(
                WriteResult(c.row_id, ok=False, error="not created: its parent was refused") for c in op.children
            )
            return WriteResult(op.row_id, ok=False, key=op.key, error=str(refused), children=children)

    def _where(self, entity: Entity) -> str:
        return f"{self.name} {entity.name}"

    def _cast_values(self, entity: Entity, values: dict[str, Any], *, create: bool) -> dict[str, Any]:
        """The op's values cast to the catalogue's types; :class:`_Refused` says what cannot be written."""
        cast: dict[str, Any] = {}
        for name, value in values.items():
            f = entity.fields.get(name)
            if f is None:
                raise _Refused(f'"{name}" is not a field of {self._where(entity)}{entity.suggest(name)}')
            if f.read_only and not (create and name == entity.key):
                raise _Refused(f"{name} is read-only in {self.name}")
            if f.create_only and not create:
                raise _Refused(f"{name} can only be set when the record is created")
            try:
                cast[name] = cast_value(value, f.type)
            except ValueError:
                raise _Refused(f"{name} = {value!r} is not {EXPECTED[f.type]}") from None
        return cast

    def _check_create(self, entity: Entity, values: dict[str, Any], filled_by_parent: str | None = None) -> None:
        if entity.read_only:
            raise _Refused(f"{self._where(entity)} is read-only: records cannot be created")
        missing = [
            f.name
            for f in entity.fields.values()
            if f.required and not f.read_only and f.name != filled_by_parent and is_blank(values.get(f.name))
        ]
        if missing:
            raise _Refused(f"required on create and missing: {', '.join(missing)}")

    def _new_key(self, entity: Entity, table: _Table) -> Any:
        ftype = entity.fields[entity.key].type
        if ftype == "int":
            if table.next_int is None:
                table.next_int = max((int(k) for k in table.index if k.lstrip("-").isdigit()), default=0) + 1
            key = table.next_int
            table.next_int += 1
            return key
        return str(uuid.uuid4()) if ftype == "guid" else uuid.uuid4().hex

    def _stamp(self, entity: Entity, record: dict[str, Any], now: datetime) -> None:
        if entity.modified is not None:
            set_field(record, entity.modified, cast_value(as_utc(now), entity.fields[entity.modified].type))

    def _create(
        self,
        entity: Entity,
        op: WriteOp,
        tables: dict[str, _Table],
        now: datetime,
        parent: tuple[str, Any] | None = None,
    ) -> WriteResult:
        values = self._cast_values(entity, op.values, create=True)
        if parent is not None:
            values[parent[0]] = parent[1]
        self._check_create(entity, values)
        child_entity = self._check_children(entity, op)
        table = self._table(entity, tables)
        key = values.get(entity.key)
        if is_blank(key):
            key = self._new_key(entity, table)
        text = key_text(key)
        assert text is not None
        if text in table.index and table.index[text] not in table.deleted:
            raise _Refused(f"{self._where(entity)} {entity.key} = {text} already exists")
        if entity.fields[entity.key].type == "int" and table.next_int is not None and isinstance(key, int):
            table.next_int = max(table.next_int, key + 1)
        record: dict[str, Any] = {}
        set_field(record, entity.key, key)
        for name, value in values.items():
            if name != entity.key:
                set_field(record, name, value)
        self._stamp(entity, record, now)
        table.records.append(record)
        table.index[text] = len(table.records) - 1
        table.changed = True
        children: tuple[WriteResult, ...] = ()
        if child_entity is not None and entity.embedded is not None:
            parent_field = entity.embedded.parent_field
            link = (parent_field, cast_value(key, child_entity.fields[parent_field].type))
            children = tuple(self._create_child(child_entity, c, tables, now, link) for c in op.children)
        return WriteResult(op.row_id, ok=True, key=text, children=children)

    def _create_child(
        self, entity: Entity, op: WriteOp, tables: dict[str, _Table], now: datetime, parent: tuple[str, Any]
    ) -> WriteResult:
        try:
            return self._create(entity, op, tables, now, parent=parent)
        except _Refused as refused:  # checked with its parent already; only a key clash is left
            return WriteResult(op.row_id, ok=False, error=str(refused))

    def _check_children(self, entity: Entity, op: WriteOp) -> Entity | None:
        """The child entity of ``op``'s embedded children, once every child is known to be writable."""
        if not op.children:
            return None
        if entity.embedded is None:
            raise _Refused(f"{self._where(entity)} takes no embedded records")
        child_entity = self.entity(entity.embedded.entity)
        for number, child in enumerate(op.children, start=1):
            try:
                if child.kind is not WriteKind.CREATE:
                    raise _Refused("embedded records can only be created")
                values = self._cast_values(child_entity, child.values, create=True)
                self._check_create(child_entity, values, filled_by_parent=entity.embedded.parent_field)
            except _Refused as refused:
                raise _Refused(f"{child_entity.name} {number}: {refused}") from None
        return child_entity

    def _existing(self, entity: Entity, op: WriteOp, tables: dict[str, _Table]) -> tuple[_Table, int]:
        if is_blank(op.key):
            raise _Refused(f"an {op.kind} needs the record's {entity.key}")
        table = self._table(entity, tables)
        position = table.index.get(str(op.key))
        if position is None or position in table.deleted:
            raise _Refused(f"no {entity.name} with {entity.key} = {op.key} in {table.path.name}")
        return table, position

    def _update(self, entity: Entity, op: WriteOp, tables: dict[str, _Table], now: datetime) -> WriteResult:
        if entity.read_only:
            raise _Refused(f"{self._where(entity)} is read-only: records cannot be changed")
        table, position = self._existing(entity, op, tables)
        values = {k: v for k, v in op.values.items() if not (k == entity.key and key_text(v) == op.key)}
        values = self._cast_values(entity, values, create=False)
        emptied = [n for n, v in values.items() if entity.fields[n].required and is_blank(v)]
        if emptied:
            raise _Refused(f"required and cannot be emptied: {', '.join(emptied)}")
        record = table.records[position]
        for name, value in values.items():
            set_field(record, name, value)
        self._stamp(entity, record, now)
        table.changed = True
        return WriteResult(op.row_id, ok=True, key=op.key)

    def _delete(self, entity: Entity, op: WriteOp, tables: dict[str, _Table]) -> WriteResult:
        if entity.read_only or not entity.deletable:
            raise _Refused(f"{self._where(entity)} records cannot be deleted")
        table, position = self._existing(entity, op, tables)
        table.deleted.add(position)
        table.changed = True
        return WriteResult(op.row_id, ok=True, key=op.key)
