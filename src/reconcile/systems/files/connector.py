"""A system that is a folder of files: one JSON, CSV or Parquet file per entity, described by a catalogue.

For companies that exchange files instead of offering an API, and for running the engine end to end on local
data. ``Customers.json`` holds an array of objects (nested objects for dotted fields such as
``MailAddress.City``); ``Customers.csv`` and ``Customers.parquet`` hold one flat column per field, dotted
fields named with their dotted name. A CSV or JSON file is text in the separator, encoding and byte-order
mark the system file sets, and is written back as it was (:mod:`reconcile.systems.files.text`). A snapshot
(:meth:`FileSystem.read`) casts every catalogue field to its type and folds dotted fields into structs;
fields the catalogue does not know stay in the file untouched.

**Missing data is not empty data.** A folder that is not there, or an entity file that is not in it, is a
:class:`~reconcile.errors.ConfigError` naming it (and naming a file whose name differs only in case or in
format): read as an empty snapshot, it would plan every record of the other side as new. An entity with no
records is an empty file (``[]``, a header line, or no bytes at all).

**Writes** refuse up front what the catalogue says would fail (read-only entities and fields, required fields
missing on create), and replace the file atomically: a crash leaves the old file or the new one, never half of
either. The file is held as a frame and changes are laid over it in bulk
(:mod:`reconcile.systems.files.table`), then written by Polars (:mod:`reconcile.systems.files.formats`; a JSON
file's nulls are written as no key). Embedded children's file is written before their parents'. By default
each batch replaces its file. With ``write_once`` (as a nightly run opens a files system) each entity file is
written once, when the run is done with it (:meth:`FileSystem.flush`, or :meth:`FileSystem.close`); until then
the changes live in memory, where reads see them, and in a pending log beside the file that is synced before
``write`` answers (:mod:`reconcile.systems.files.pending`), so that a run that stops before the flush loses
nothing it reported written. While a run holds writes for a file, it holds a lock beside it
(``.<file>.lock``): another run that writes the same file waits for the flush instead of writing over it. A
run that reads a file whose pending log a run that is gone left behind takes the log over, and its flush puts
those writes into the file (a dry run's too: they were answered for already, by the run that died).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import polars as pl
from filelock import FileLock, Timeout

from reconcile.atomic import write_atomically
from reconcile.errors import ConfigError, SystemFailure
from reconcile.model.catalogue import Catalogue, Entity
from reconcile.model.systemfile import FILE_FORMATS, TextSettings
from reconcile.model.values import as_utc, cast_value, is_blank, key_text, set_field
from reconcile.systems.base import System, WriteKind, WriteOp, WriteResult
from reconcile.systems.files.checks import Refused, cast_values, check_children, check_create, check_encodable
from reconcile.systems.files.formats import dump
from reconcile.systems.files.pending import PendingLog, digest
from reconcile.systems.files.table import Table, load_table

SHARED = 0o644
"""The mode of a new entity file: the files are exchanged with other programs, as a folder's files are."""

BATCH_SIZE = 500
"""Records a run hands a files system at once: no API limits a batch, and each batch costs a synced pending-log
append and two journal transactions."""

LOCK_TIMEOUT = 1800.0
"""Seconds a run waits for another run's writes to a file to be flushed before it gives up."""

FileFormat = Literal["json", "csv", "parquet"]


def _dump(table: Table, entity: Entity, file_format: FileFormat, target: Path) -> None:
    """Write ``table`` to ``target`` in ``file_format`` and its style (the temporary file of an atomic replace)."""
    table.settle()
    dump(table.frame, file_format, target, table.style)


class FileSystem(System):
    """A folder with one ``<Entity>.json``, ``.csv`` or ``.parquet`` file per entity of ``catalogue``.

    ``write_once`` keeps writes until :meth:`flush` (see the module docs); ``lock_timeout`` is how long a
    run then waits for another run's writes to the same file. ``text`` says how CSV and JSON files are read
    and made as text (separator, encoding, byte-order mark), and ``source`` names where it is set (the system
    file), for messages.
    """

    def __init__(
        self,
        name: str,
        catalogue: Catalogue,
        folder: Path | str,
        format: FileFormat = "json",
        *,
        now: Callable[[], datetime] | None = None,
        write_once: bool = False,
        lock_timeout: float = LOCK_TIMEOUT,
        text: TextSettings | None = None,
        source: str = "",
    ) -> None:
        if format not in FILE_FORMATS:
            raise ConfigError(f'{name}: file format "{format}" is not valid; valid formats are json, csv, parquet')
        self.name = name
        self.catalogue = catalogue
        self.folder = Path(folder)
        self.format: FileFormat = format
        self.write_once = write_once
        self.lock_timeout = lock_timeout
        self.text = text or TextSettings()
        self.source = source
        self._now = now or (lambda: datetime.now(UTC))
        self.batch_size = BATCH_SIZE
        """How many records a run writes per batch (see :data:`BATCH_SIZE`)."""
        self._open: dict[str, Table] = {}
        """The tables held open for writing, by entity name, until they are flushed."""

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
        """Write what is pending (:meth:`flush`)."""
        self.flush()

    # -- read ----------------------------------------------------------------------------------------------

    def read(self, entity: str) -> pl.DataFrame:
        ent = self.entity(entity)
        held = self._open.get(ent.name)
        if held is not None:
            return held.snapshot()
        path = self._file(ent, creating=False)
        log = PendingLog(path)
        if self.write_once and log.exists():
            # Writes a run answered for and did not put into the file: when that run is gone (the lock is
            # free), this one takes them over, and its flush writes them.
            held = self._hold(ent, wait=False)
            if held is not None:
                self._open[ent.name] = held
                return held.snapshot()
        table = self._load(path, ent)
        if log.exists():
            pending = log.read()
            if log.applies(pending, digest(path)):
                table.replay(pending)
        return table.snapshot()

    def _file(self, entity: Entity, *, creating: bool) -> Path:
        """The file of ``entity``; a ConfigError when it is missing and may not be made (see the module docs)."""
        if not self.folder.is_dir():
            raise ConfigError(
                f'{self.name}: the folder {self.folder} does not exist; a system of kind = "files" reads '
                "one file per entity there (check its folder in the system file or the connections file)"
            )
        path = self.path(entity.name)
        if path.exists():
            return path
        stem = entity.name.casefold()
        others = sorted(p.name for p in self.folder.iterdir() if p.stem.casefold() == stem and p.is_file())
        if others:
            raise ConfigError(
                f"{self.name}: no {path.name} in {self.folder}; there is {', '.join(others)} "
                f"(the name must be {path.name}: entity {entity.name}, format {self.format})"
            )
        if creating:
            return path
        raise ConfigError(
            f"{self.name}: no {path.name} in {self.folder}, so {entity.name} cannot be read; "
            "if it has no records yet, create the file empty"
        )

    # -- write ---------------------------------------------------------------------------------------------

    def write(self, entity: str, ops: Sequence[WriteOp]) -> list[WriteResult]:
        ent = self.entity(entity)
        touched: dict[str, Table] = {}
        now = self._now()
        results = [self._apply(ent, op, touched, now) for op in ops]
        # Children first: a crash between the two files leaves lines without an order, never an order
        # that claims lines it does not have.
        names = sorted(touched, key=lambda name: name == ent.name)
        if not self.write_once:
            self.flush(names)
            return results
        for name in names:
            table = touched[name]
            if table.log is not None and table.changes:
                try:
                    table.log.append(table.changes)
                except OSError as exc:
                    self._drop(name)
                    raise SystemFailure(self.name, f"cannot write {table.log.path}: {exc.strerror or exc}") from exc
            table.changes = []
        return results

    def flush(self, entities: Iterable[str] | None = None) -> None:
        """Write each entity file with pending writes (of ``entities``, or all) once, atomically.

        Its pending log is removed after and its lock released, even when writing fails: the log then
        keeps the writes for the next run.
        """
        names = [n for n in (self._open if entities is None else entities) if n in self._open]
        failure: SystemFailure | None = None
        for name in names:
            table = self._open[name]
            try:
                if failure is None and table.changed:
                    self._save(self.entity(name), table)
                if failure is None and table.log is not None:
                    table.log.remove()
            except SystemFailure as exc:
                failure = exc
            finally:
                self._drop(name)
        if failure is not None:
            raise failure

    def _drop(self, name: str) -> None:
        table = self._open.pop(name, None)
        if table is not None and table.lock is not None:
            table.lock.release()

    def _table(self, entity: Entity, touched: dict[str, Table]) -> Table:
        if entity.name not in self._open:
            held = self._hold(entity)
            assert held is not None
            self._open[entity.name] = held
        touched[entity.name] = self._open[entity.name]
        return touched[entity.name]

    def _hold(self, entity: Entity, *, wait: bool = True) -> Table | None:
        """The table of ``entity`` read for writing, locked and with its pending log when ``write_once``.

        ``wait=False`` answers None at once when another run holds the file.
        """
        path = self._file(entity, creating=True)
        lock = None
        if self.write_once:
            lock = FileLock(str(path.with_name(f".{path.name}.lock")), timeout=self.lock_timeout if wait else 0)
            try:
                lock.acquire()
            except Timeout as exc:
                if not wait:
                    return None
                raise SystemFailure(
                    self.name, f"another run has held {path} for writing for {self.lock_timeout:.0f} s; try later"
                ) from exc
        try:
            base = digest(path)
            table = self._load(path, entity)
            table.snapshot()  # refuse to write over a file whose records do not read
            log = PendingLog(path)
            if log.exists():
                pending = log.read()
                if log.applies(pending, base):
                    table.replay(pending)
                    table.log = log
                else:
                    log.remove()  # flushed already; the run stopped before removing it
            if self.write_once and table.log is None:
                log.start(base)
                table.log = log
        except BaseException:
            if lock is not None:
                lock.release()
            raise
        table.lock = lock
        return table

    def _load(self, path: Path, entity: Entity) -> Table:
        return load_table(path, self.format, entity, self.text, self.source)

    def _save(self, entity: Entity, table: Table) -> None:
        def write(tmp: Path) -> None:
            _dump(table, entity, self.format, tmp)
            if table.log is not None:
                new = digest(tmp)
                assert new is not None
                table.log.mark_flushed(new)

        try:
            write_atomically(table.path, write, mode=None if table.path.exists() else SHARED)
        except OSError as exc:
            raise SystemFailure(self.name, f"cannot write {table.path}: {exc.strerror or exc}") from exc
        except UnicodeEncodeError as exc:  # refused record by record before; a last guard
            raise SystemFailure(
                self.name, f"cannot write {table.path}: {exc.object[exc.start]!r} is not in {exc.encoding}"
            ) from exc

    def _apply(self, entity: Entity, op: WriteOp, touched: dict[str, Table], now: datetime) -> WriteResult:
        try:
            if op.kind is WriteKind.CREATE:
                return self._create(entity, op, touched, now)
            if op.kind is WriteKind.UPDATE:
                return self._update(entity, op, touched, now)
            return self._delete(entity, op, touched)
        except Refused as refused:
            children = tuple(
                WriteResult(c.row_id, ok=False, error="not created: its parent was refused") for c in op.children
            )
            return WriteResult(op.row_id, ok=False, key=op.key, error=str(refused), children=children)

    def _where(self, entity: Entity) -> str:
        return f"{self.name} {entity.name}"

    def _stamp(self, entity: Entity, now: datetime) -> dict[str, Any]:
        """The maintained modified field's new value, if the entity has one."""
        if entity.modified is None:
            return {}
        return {entity.modified: cast_value(as_utc(now), entity.fields[entity.modified].type)}

    def _create(
        self,
        entity: Entity,
        op: WriteOp,
        touched: dict[str, Table],
        now: datetime,
        parent: tuple[str, Any] | None = None,
    ) -> WriteResult:
        values = cast_values(self.name, entity, op.values, create=True)
        if parent is not None:
            values[parent[0]] = parent[1]
        check_create(self.name, entity, values)
        child_entity = self.entity(entity.embedded.entity) if op.children and entity.embedded else None
        check_children(self.name, entity, child_entity, op)
        table = self._table(entity, touched)
        check_encodable(values, table.style.encoding, table.path.name)
        key = values.get(entity.key)
        if is_blank(key):
            key = table.new_key()
        text = key_text(key)
        assert text is not None
        if table.has(text):
            raise Refused(f"{self._where(entity)} {entity.key} = {text} already exists")
        if entity.fields[entity.key].type == "int" and table.next_int is not None and isinstance(key, int):
            table.next_int = max(table.next_int, key + 1)
        record: dict[str, Any] = {}
        set_field(record, entity.key, key)
        for name, value in {**values, **self._stamp(entity, now)}.items():
            if name != entity.key:
                set_field(record, name, value)
        table.add(text, record)
        children: tuple[WriteResult, ...] = ()
        if child_entity is not None and entity.embedded is not None:
            parent_field = entity.embedded.parent_field
            link = (parent_field, cast_value(key, child_entity.fields[parent_field].type))
            children = tuple(self._create_child(child_entity, c, touched, now, link) for c in op.children)
        return WriteResult(op.row_id, ok=True, key=text, children=children)

    def _create_child(
        self, entity: Entity, op: WriteOp, touched: dict[str, Table], now: datetime, parent: tuple[str, Any]
    ) -> WriteResult:
        try:
            return self._create(entity, op, touched, now, parent=parent)
        except Refused as refused:  # checked with its parent already; only a key clash is left
            return WriteResult(op.row_id, ok=False, error=str(refused))

    def _existing(self, entity: Entity, op: WriteOp, touched: dict[str, Table]) -> Table:
        if is_blank(op.key):
            raise Refused(f"an {op.kind} needs the record's {entity.key}")
        table = self._table(entity, touched)
        if not table.has(str(op.key)):
            raise Refused(f"no {entity.name} with {entity.key} = {op.key} in {table.path.name}")
        return table

    def _update(self, entity: Entity, op: WriteOp, touched: dict[str, Table], now: datetime) -> WriteResult:
        if entity.read_only:
            raise Refused(f"{self._where(entity)} is read-only: records cannot be changed")
        table = self._existing(entity, op, touched)
        values = {k: v for k, v in op.values.items() if not (k == entity.key and key_text(v) == op.key)}
        values = cast_values(self.name, entity, values, create=False)
        check_encodable(values, table.style.encoding, table.path.name)
        emptied = [n for n, v in values.items() if entity.fields[n].required and is_blank(v)]
        if emptied:
            raise Refused(f"required and cannot be emptied: {', '.join(emptied)}")
        table.change(str(op.key), {**values, **self._stamp(entity, now)})
        return WriteResult(op.row_id, ok=True, key=op.key)

    def _delete(self, entity: Entity, op: WriteOp, touched: dict[str, Table]) -> WriteResult:
        if entity.read_only or not entity.deletable:
            raise Refused(f"{self._where(entity)} records cannot be deleted")
        table = self._existing(entity, op, touched)
        table.remove(str(op.key))
        return WriteResult(op.row_id, ok=True, key=op.key)
