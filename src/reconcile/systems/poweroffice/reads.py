"""The reads of the PowerOffice Go connector: full snapshots, and order lines kept between runs.

"Customers person" and "Suppliers person" are the records with ``IsPerson = true`` of the same endpoints
(the entity's ``filter``). Order lines come from each order's ``/Complete`` and carry
``sesam_SalesOrderId``; the reader remembers which order holds each line, since a line is written under
its order's path (:meth:`PowerOfficeReader.order_of`). Given a cache, order lines are read only for the
orders that are new or changed (see :mod:`reconcile.systems.poweroffice.connector`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import polars as pl

from reconcile.errors import RemoteError
from reconcile.model.catalogue import Entity
from reconcile.systems.cache import Snapshot, SnapshotCache
from reconcile.systems.poweroffice.api import SYSTEM, PowerOfficeApi
from reconcile.systems.poweroffice.wire import fold, json_of, problem_text, to_frame


class PowerOfficeReader:
    """Reads entities through one :class:`PowerOfficeApi`, with an optional cache for order lines."""

    def __init__(self, api: PowerOfficeApi, cache: SnapshotCache | None = None) -> None:
        self.api = api
        self.cache = cache
        self._line_orders: dict[str, str] = {}

    def read(self, ent: Entity) -> pl.DataFrame:
        """A full snapshot of ``ent``: one row per record, one column per catalogue field."""
        api = ent.api
        if api.get("split") and self.cache is not None:
            return self.cached_lines(ent, self.cache)
        if api.get("split"):
            frame = to_frame(ent, self.read_lines(ent))
            self._remember(frame)
            return frame
        if api.get("version") == 1:
            return to_frame(ent, self.api.v1_list(ent))
        wanted = {k.casefold(): v for k, v in dict(api.get("filter", {})).items()}
        return to_frame(ent, self.api.v2_list(ent, str(api["path"])), keep=wanted)

    # ------------------------------------------------------------------------------------ order lines

    def order_of(self, ent: Entity, line_id: str) -> str | None:
        """The id of the order holding the line ``line_id``; the lines are read again when it is not known."""
        order_id = self._line_orders.get(line_id.lower())
        if order_id is None:
            self._remember(to_frame(ent, self.read_lines(ent)))
            order_id = self._line_orders.get(line_id.lower())
        return order_id

    def note_line(self, line_id: str, order_id: str) -> None:
        """Remember that the order ``order_id`` holds the line ``line_id`` (a line just written)."""
        self._line_orders[line_id.lower()] = order_id

    def forget_line(self, line_id: str) -> None:
        """Forget the line ``line_id`` (deleted)."""
        self._line_orders.pop(line_id.lower(), None)

    def read_lines(self, ent: Entity) -> list[dict[str, Any]]:
        """Every order's lines, one ``/Complete`` per order."""
        parent = self.api.entity(str(ent.api["parent"]))
        lines: list[dict[str, Any]] = []
        for order in self.api.v2_list(parent, str(parent.api["path"])):
            lines.extend(self.order_lines(ent, parent, str(fold(order).get("id")))[0])
        return lines

    def order_lines(self, ent: Entity, parent: Entity, order_id: str) -> tuple[list[dict[str, Any]], str | None]:
        """The lines of one order (from its ``/Complete``) and the order's stamp they were read at."""
        response = self.api.v2_call("GET", f"{parent.api['path']}/{order_id}/Complete", ent)
        if response.status_code == 404:
            return [], None  # deleted since the list was read
        if response.status_code != 200:
            raise RemoteError(SYSTEM, f"reading {ent.name}: {problem_text(response)}", response.status_code)
        body = json_of(response)
        if not isinstance(body, dict):
            raise RemoteError(SYSTEM, f"reading {ent.name}: the answer for order {order_id} is not a JSON object")
        complete = fold(body)
        stamp = complete.get("lastchangeddatetimeoffset")
        lines: list[dict[str, Any]] = []
        for line in complete.get(str(ent.api["split"]).casefold()) or []:
            item = dict(line)
            item["sesam_SalesOrderId"] = order_id
            item["sesam_LastChangedDateTimeOffset"] = stamp
            lines.append(item)
        return lines, None if stamp is None else str(stamp)

    def _remember(self, frame: pl.DataFrame, *, anew: bool = True) -> None:
        """Remember which order holds each line of a snapshot of lines; ``anew``: over what was known."""
        ids = frame["Id"].cast(pl.String).str.to_lowercase().to_list()
        found: dict[Any, Any] = dict(zip(ids, frame["sesam_SalesOrderId"].cast(pl.String).to_list(), strict=True))
        found.pop(None, None)
        if anew:
            self._line_orders.update(found)
        else:
            self._line_orders = {**found, **self._line_orders}

    def cached_lines(self, ent: Entity, cache: SnapshotCache) -> pl.DataFrame:
        """Order lines from the cached snapshot, read again only for orders that are new or changed.

        The cursor maps each order id (lower case) to the stamp its lines were read at, as the API wrote
        it: stamps are compared as text, since Go's seven decimals are finer than a datetime holds.
        """
        parent = self.api.entity(str(ent.api["parent"]))
        snapshot = cache.load(ent.name, to_frame(ent, []).schema, {"orders": dict})
        read_at: Mapping[str, Any] = snapshot.cursor.get("orders", {}) if snapshot is not None else {}
        full_at = snapshot.full_at if snapshot is not None else self.api.clock.now()
        orders: dict[str, str | None] = {}
        kept: list[str] = []
        fresh: list[dict[str, Any]] = []
        for order in self.api.v2_list(parent, str(parent.api["path"])):
            folded = fold(order)
            order_id = str(folded.get("id"))
            key = order_id.lower()
            stamp = folded.get("lastchangeddatetimeoffset")
            if snapshot is not None and stamp is not None and read_at.get(key) == str(stamp):
                kept.append(key)
                orders[key] = str(stamp)
                continue
            lines, orders[key] = self.order_lines(ent, parent, order_id)
            fresh.extend(lines)
        frames = [to_frame(ent, fresh)]
        self._remember(frames[0])
        if snapshot is not None and kept:
            frames.insert(0, snapshot.frame.filter(pl.col("sesam_SalesOrderId").is_in(kept)))
        position = {key: i for i, key in enumerate(orders)}
        # In the order of the header list, each order's lines as it holds them: as a full read has them.
        frame = (
            pl.concat(frames)
            .with_columns(pl.col("sesam_SalesOrderId").replace_strict(position, default=None).alias("__order"))
            .sort("__order", maintain_order=True)
            .drop("__order")
        )
        self._remember(frame, anew=False)
        cursor = {"orders": {key: stamp for key, stamp in orders.items() if stamp is not None}}
        cache.save(ent.name, Snapshot(frame, cursor, full_at))
        return frame
