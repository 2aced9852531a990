"""The reads of the Exact Online connector: pages followed from one host, rows typed as the catalogue says.

Pages are fetched one at a time along ``__next`` (Exact gives duplicates or gaps when they are fetched in
parallel), and a next-page link is only followed to the connection's own host, as it gets the token. Values
come back typed: ``/Date(ms)/`` (Amsterdam wall-clock) becomes ``pl.Date`` or ``pl.Datetime(UTC)``, padded
codes and country codes lose their spaces, guids are lower case, the key column is text.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx
import polars as pl

from reconcile.errors import ConfigError, RemoteError
from reconcile.model.catalogue import DTYPES, Catalogue, Entity, Field
from reconcile.model.clock import Clock
from reconcile.systems.exact.wire import CET, error_message, is_transient, parse_date, parse_datetime, unwrap
from reconcile.systems.http.client import HttpClient

SYSTEM = "exact"


class ExactReads:
    """The connection's reading side, shared by full reads, incremental reads and writes."""

    catalogue: Catalogue
    division: int
    clock: Clock
    http: HttpClient
    _origin: httpx.URL

    def _get_all(self, path: str, params: Mapping[str, str], *, what: str) -> list[dict[str, Any]]:
        url: str | None = f"/api/v1/{self.division}/{path}"
        query: Mapping[str, str] | None = params
        rows: list[dict[str, Any]] = []
        while url is not None:
            response = self.http.request("GET", url, endpoint=path, params=query, transient=is_transient)
            if response.status_code != 200:
                raise RemoteError(SYSTEM, f"{what}: {error_message(response)}", response.status_code)
            try:
                page, nxt = unwrap(response.json())
            except ValueError as exc:
                raise RemoteError(SYSTEM, f"{what}: the answer was not OData JSON", response.status_code) from exc
            rows.extend(page)
            url, query = (self._same_origin(nxt, what), None) if nxt else (None, None)
        return rows

    def _same_origin(self, link: str, what: str) -> str:
        """A next-page link, refused unless it points at the connection's own host (it gets our token)."""
        url = self._origin.join(link)
        if (url.scheme, url.host, url.port) != (self._origin.scheme, self._origin.host, self._origin.port):
            raise RemoteError(SYSTEM, f"{what}: a next-page link points at another host; not followed")
        return str(url)

    def _frame(self, ent: Entity, rows: list[dict[str, Any]]) -> pl.DataFrame:
        padded = set(ent.api.get("padded", []))
        columns: list[pl.Series] = []
        for name, fdef in ent.fields.items():
            raw = [row.get(name) for row in rows]
            series = _column(name, fdef, raw, strip=name in padded or fdef.format in ("country", "currency"))
            if name == ent.key:
                series = series.cast(pl.String)
            columns.append(series)
        return pl.DataFrame(columns)

    def _entity(self, name: str) -> Entity:
        ent = self.catalogue.entity(name)
        if ent is None:
            raise ConfigError(f'Exact has no entity "{name}"' + self.catalogue.suggest(name))
        return ent


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
