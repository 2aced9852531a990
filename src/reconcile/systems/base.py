"""What every system offers the run: a catalogue, a full snapshot per entity, and batched writes.

A connector turns the system's wire format into frames and back; nothing else about the system leaks past
this seam. Values handed to :meth:`System.write` are plain Python values already cast to the catalogue's field
types (``str``, ``int``, ``float``, ``bool``, ``datetime.date``, ``datetime.datetime``, or ``None``), keyed by
field name; dotted names (``MailAddress.City``) address nested objects.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import polars as pl

from reconcile.model.catalogue import Catalogue


class WriteKind(StrEnum):
    """What a :class:`WriteOp` does to its record."""

    CREATE = "create"
    UPDATE = "update"
    DELETE = "delete"


@dataclass(frozen=True)
class WriteOp:
    """One record to create, update or delete.

    ``row_id`` is the plan row this write comes from; results carry it back. ``key`` is the record's id in
    the system (``None`` for a create). For an update, ``values`` holds only the fields that change.
    ``children`` are embedded creates sent inside a parent's create (an order's lines).
    """

    kind: WriteKind
    row_id: str
    values: dict[str, Any] = field(default_factory=dict)
    key: str | None = None
    children: tuple[WriteOp, ...] = ()


@dataclass(frozen=True)
class WriteResult:
    """What became of one :class:`WriteOp`.

    ``key`` is the record's id (the new id for a create). ``error`` is the system's own message when the
    write failed; ``retryable`` says whether the same write may succeed on a later run (a 5xx, a timeout).
    ``children`` holds the results of embedded children, in order. ``stopped`` says the system itself stopped
    taking writes (credentials refused, a limit that outlasts the run, too many errors on the endpoint): the
    run sends nothing more to it and ends as a system failure.
    """

    row_id: str
    ok: bool
    key: str | None = None
    error: str | None = None
    retryable: bool = False
    children: tuple[WriteResult, ...] = ()
    stopped: bool = False


@runtime_checkable
class System(Protocol):
    """One side of a flow."""

    name: str
    catalogue: Catalogue

    def read(self, entity: str) -> pl.DataFrame:
        """A full snapshot of ``entity``: one row per record, one column per catalogue field.

        The key column holds the record's id; nested objects are structs; dates are ``pl.Date`` and
        datetimes ``pl.Datetime`` (UTC).
        """
        ...

    def write(self, entity: str, ops: Sequence[WriteOp]) -> list[WriteResult]:
        """Apply a batch; every op gets its own result, in the same order. Never raises for one bad record."""
        ...

    def calls_left(self) -> int | None:
        """Calls the system's API still allows today, where it says (Exact's daily limit); None where it does not."""
        ...

    def close(self) -> None:
        """Release connections and files."""
        ...


@runtime_checkable
class CarriesIdentity(Protocol):
    """A system with a field a create can carry the writer's own identity in: an idempotency key.

    The applier puts a stamp of its own (the same for the same plan row of the same flow, night after night)
    into that field of every create and journals it before sending; a create whose answer was lost is then
    found by its stamp, and a system that refuses a second record with one stamp makes a create sent twice
    harmless. PowerOffice Go's ``ExternalImportReference`` is such a field.
    """

    def identity_field(self, entity: str) -> str | None:
        """The field of ``entity`` that carries the stamp; None when the entity has none."""
        ...


@runtime_checkable
class FolderSystem(Protocol):
    """A system whose records are files in a folder, which other programs and other runs may write too."""

    folder: Path
