"""The incremental reads of the Exact Online connector: sync endpoints, ``sync/Deleted`` and the snapshot cache.

An entity with a sync endpoint is read through its cached snapshot: the rows whose ``Timestamp`` moved since
the last read are laid over it, and the keys the deletion log lists for the entity's type since then are
dropped; an entity whose values Exact computes from another entity is read in full when that one changed.
The rules, and what is not seen, are in :mod:`reconcile.systems.exact.connector`.
"""

from __future__ import annotations

from typing import cast

import polars as pl

from reconcile.errors import RemoteError
from reconcile.model.casting import BadValue
from reconcile.model.catalogue import Entity
from reconcile.model.clock import Clock
from reconcile.systems.cache import Snapshot, SnapshotCache
from reconcile.systems.exact.api import SYSTEM, ExactApi
from reconcile.systems.exact.columns import typed_column
from reconcile.systems.exact.reader import ExactReader, raw_frame

CACHE_MAX_AGE = 30 * 86400.0
"""How long ago a cached snapshot may have been read in full: well inside the two months ``sync/Deleted``
keeps, and a bound on how long changes can go unseen after an unnoticed division move."""
DERIVED_FROM = {"Contacts": "Accounts", "SalesOrders": "SalesOrderLines", "Quotations": "QuotationLines"}
"""Entities with values Exact computes from another entity's records, whose changes may not move their own
``Timestamp`` (a contact's city comes from its account, an order's amount from its lines)."""


def has_sync(ent: Entity) -> bool:
    """Whether ``ent`` can be read through the cache: it has a sync endpoint and a deletion log type."""
    return bool(ent.api.get("sync")) and ent.api.get("deleted") is not None


class ExactSync:
    """Reads of entities with a sync endpoint, through the snapshot cache."""

    def __init__(self, api: ExactApi, reader: ExactReader, cache: SnapshotCache, clock: Clock) -> None:
        self.api = api
        self.reader = reader
        self.cache = cache
        self.clock = clock

    def read(self, ent: Entity) -> pl.DataFrame:
        """``ent`` through its sync endpoint: the cached snapshot refreshed, or else read in full."""
        source = self.api.entity(DERIVED_FROM[ent.name]) if ent.name in DERIVED_FROM else None
        needs = {"timestamp": int, "deleted": int, **({"source": int} if source is not None else {})}
        snapshot = self.cache.load(ent.name, self.reader.frame(ent, []).schema, needs)
        cursor: dict[str, int] = {}
        if snapshot is not None:
            cursor = {name: int(value) for name, value in snapshot.cursor.items()}
            frame = self._refresh(ent, source, snapshot.frame, cursor)
            if frame is not None:
                self.cache.save(ent.name, Snapshot(frame, cursor, snapshot.full_at))
                return frame
        full_at = self.clock.now()
        # Where the next refresh starts must be known before the records are read, not after: what
        # changes while they are read is then read again next time rather than missed.
        if "deleted" not in cursor:
            cursor["deleted"] = _highest(self._deleted_rows(1), 1)
        if source is not None and "source" not in cursor:
            cursor["source"] = _highest(self._sync_rows(source, 1, select="Timestamp"), 1)
        rows = self._sync_rows(ent, 1)
        cursor["timestamp"] = _highest(rows, 1)
        frame = _merge(self.reader.frame(ent, []), self.reader.typed(ent, rows), ent.key, _NONE)
        self.cache.save(ent.name, Snapshot(frame, cursor, full_at))
        return frame

    def _refresh(
        self, ent: Entity, source: Entity | None, cached: pl.DataFrame, cursor: dict[str, int]
    ) -> pl.DataFrame | None:
        """``cached`` brought up to date, moving ``cursor`` on; None when it must be read in full.

        On None, ``cursor`` holds only positions a full read may start from.
        """
        if source is not None:
            changed = self._sync_rows(source, cursor["source"], select="Timestamp")
            if changed.height:
                cursor["source"] = _highest(changed, cursor["source"])
                del cursor["timestamp"]
                return None
        rows = self._sync_rows(ent, cursor["timestamp"])
        deleted = self._deleted_rows(cursor["deleted"])
        cursor["deleted"] = _highest(deleted, cursor["deleted"])
        if source is not None and _keys_of_type(deleted, source).len():
            del cursor["timestamp"]
            return None
        cursor["timestamp"] = _highest(rows, cursor["timestamp"])
        return _merge(cached, self.reader.typed(ent, rows), ent.key, _keys_of_type(deleted, ent))

    def _sync_rows(self, ent: Entity, since: int, *, select: str | None = None) -> pl.DataFrame:
        """The records of ``ent`` changed or created after ``since`` (a ``Timestamp``), oldest first, as a raw
        frame (:func:`~reconcile.model.records.records_frame`)."""
        names = select or ",".join(["Timestamp", *ent.fields])
        params = {"$select": names, "$filter": f"Timestamp gt {since}L"}
        rows = self.api.get_all(str(ent.api["sync"]), params, what=f"reading {ent.name} changed since {since}")
        return raw_frame(rows, names.split(","))

    def _deleted_rows(self, since: int) -> pl.DataFrame:
        """The deletion log after ``since``: every entity type, oldest first, as a raw frame."""
        names = "Timestamp,EntityKey,EntityType"
        params = {"$select": names, "$filter": f"Timestamp gt {since}L"}
        rows = self.api.get_all("sync/Deleted", params, what=f"reading the deletion log since {since}")
        return raw_frame(rows, names.split(","))


_NONE = pl.Series("gone", [], dtype=pl.String)


def _ints(raw: pl.DataFrame, name: str) -> pl.Series:
    """The column ``name`` of ``raw`` as whole numbers (Int64 values may come as text); nulls where none."""
    if name not in raw.columns:
        return pl.repeat(None, raw.height, dtype=pl.Int64, eager=True)
    try:
        return typed_column(raw[name], "int")
    except BadValue as failed:
        raise RemoteError(SYSTEM, f"{name} = {failed.value!r} is not a whole number") from None


def _highest(raw: pl.DataFrame, floor: int) -> int:
    """The highest ``Timestamp`` in a raw frame of rows, at least ``floor``."""
    highest = _ints(raw, "Timestamp").max()
    return floor if highest is None else max(floor, int(cast(int, highest)))


def _keys_of_type(deleted: pl.DataFrame, ent: Entity) -> pl.Series:
    """The keys of ``ent``'s records in a stretch of the deletion log (lower case, as snapshots hold them)."""
    if "EntityKey" not in deleted.columns:
        return _NONE
    code = int(ent.api.get("deleted", -1))
    keys = typed_column(deleted["EntityKey"], "guid").filter(_ints(deleted, "EntityType").fill_null(0) == code)
    return keys.drop_nulls().unique().alias("gone")


def _merge(cached: pl.DataFrame, changed: pl.DataFrame, key: str, gone: pl.Series) -> pl.DataFrame:
    """``cached`` with ``changed`` laid over it (the last version of a key wins) less ``gone``, by key."""
    merged = pl.concat([cached, changed]) if changed.height else cached
    merged = merged.unique(subset=[key], keep="last", maintain_order=True)
    if gone.len():
        merged = merged.filter(~pl.col(key).is_in(gone.implode()))
    return merged.sort(key)
