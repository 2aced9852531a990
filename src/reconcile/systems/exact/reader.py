"""The reader of the Exact Online connector: full snapshots, rows typed as the catalogue says.

A full read uses the bulk endpoint of an entity when it has one (1000 rows a page) and the regular endpoint
otherwise (60 a page), with a ``$select`` of the catalogue's fields; the pages come through
:class:`~reconcile.systems.exact.api.ExactApi`. Values come back typed: ``/Date(ms)/`` (Amsterdam
wall-clock) becomes ``pl.Date`` or ``pl.Datetime(UTC)``, padded codes and country codes lose their spaces,
guids are lower case, the key column is text.
"""

from __future__ import annotations

from typing import Any

import polars as pl

from reconcile.model.catalogue import DTYPES, Entity, Field
from reconcile.systems.exact.api import ExactApi
from reconcile.systems.exact.wire import CET, parse_date, parse_datetime


class ExactReader:
    """Full snapshots of entities, and the typing every snapshot frame goes through."""

    def __init__(self, api: ExactApi) -> None:
        self.api = api

    def read(self, ent: Entity) -> pl.DataFrame:
        """A full snapshot of ``ent``: one row per record, one column per catalogue field."""
        path = str(ent.api.get("bulk") or ent.api["service"])
        params = {"$select": ",".join(ent.fields)}
        rows = self.api.get_all(path, params, what=f"reading {ent.name}")
        return self.frame(ent, rows)

    def frame(self, ent: Entity, rows: list[dict[str, Any]]) -> pl.DataFrame:
        """``rows`` as they came from Exact, as a frame typed as the catalogue says."""
        padded = set(ent.api.get("padded", []))
        columns: list[pl.Series] = []
        for name, fdef in ent.fields.items():
            raw = [row.get(name) for row in rows]
            series = _column(name, fdef, raw, strip=name in padded or fdef.format in ("country", "currency"))
            if name == ent.key:
                series = series.cast(pl.String)
            columns.append(series)
        return pl.DataFrame(columns)


def _column(name: str, fdef: Field, raw: list[Any], *, strip: bool) -> pl.Series:
    """One snapshot column from the raw JSON values, typed as the catalogue says."""
    kind = fdef.type
    dtype = DTYPES[kind]
    if kind in ("date", "datetime"):
        text = pl.Series(name, [v if isinstance(v, str) and v else None for v in raw], dtype=pl.String)
        ms = text.str.extract(r"^/Date\((-?\d+)", 1).cast(pl.Int64)
        if ms.null_count() != text.null_count():
            # Not all /Date(ms)/: parse value by value (rare; ISO text from a proxy, say).
            parse = parse_date if kind == "date" else parse_datetime
            return pl.Series(name, [parse(v) for v in text.to_list()], dtype=dtype)
        wall = pl.from_epoch(ms, "ms")
        if kind == "date":
            return wall.dt.date().alias(name)
        zone = str(CET.key)
        local = wall.dt.replace_time_zone(zone, ambiguous="earliest", non_existent="null")
        return local.dt.convert_time_zone("UTC").alias(name)
    if kind == "string":
        values = [None if v is None else str(v) for v in raw]
        if strip:
            values = [None if v is None else v.strip() for v in values]
        return pl.Series(name, values, dtype=dtype)
    if kind == "guid":
        return pl.Series(name, [None if v is None else str(v).lower() for v in raw], dtype=dtype)
    if kind == "int":
        # Int64 values may arrive as JSON strings (OData v2 writes Edm.Int64 so).
        return pl.Series(name, [None if v is None or v == "" else int(v) for v in raw], dtype=dtype)
    if kind == "float":
        return pl.Series(name, [None if v is None or v == "" else float(v) for v in raw], dtype=dtype)
    return pl.Series(name, [None if v is None else bool(v) for v in raw], dtype=dtype)
