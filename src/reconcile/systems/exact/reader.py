"""The reader of the Exact Online connector: full snapshots, rows typed as the catalogue says.

A full read uses the bulk endpoint of an entity when it has one (1000 rows a page) and the regular endpoint
otherwise (60 a page), with a ``$select`` of the catalogue's fields; the pages come through
:class:`~reconcile.systems.exact.api.ExactApi`. The rows become a frame in bulk and are typed by expressions
(:mod:`reconcile.systems.exact.columns`): ``/Date(ms)/`` (Amsterdam wall-clock) becomes ``pl.Date`` or
``pl.Datetime(UTC)``, padded codes and country codes lose their spaces, guids are lower case, the key column
is text. A value that is not of its field's type is a :class:`~reconcile.errors.ConfigError` naming the
entity, the record and the field.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from typing import Any

import polars as pl

from reconcile.model.casting import BadValue, bad_value, key_texts
from reconcile.model.catalogue import Entity
from reconcile.model.records import records_frame
from reconcile.systems.exact.api import SYSTEM, ExactApi
from reconcile.systems.exact.columns import typed_column


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

    def frame(self, ent: Entity, rows: Sequence[Mapping[str, Any]]) -> pl.DataFrame:
        """``rows`` as they came from Exact, as a frame typed as the catalogue says."""
        return self.typed(ent, raw_frame(rows, ent.fields))

    def typed(self, ent: Entity, raw: pl.DataFrame) -> pl.DataFrame:
        """A raw frame of Exact's rows (:func:`raw_frame`), typed."""
        padded = set(ent.api.get("padded", []))
        columns: list[pl.Series] = []
        for name, fdef in ent.fields.items():
            source = raw[name] if name in raw.columns else pl.repeat(None, raw.height, dtype=pl.Null, eager=True)
            strip = name in padded or fdef.format in ("country", "currency")
            try:
                series = typed_column(source.alias(name), fdef.type, strip=strip)
            except BadValue as failed:
                keys = key_texts(raw[ent.key]) if ent.key in raw.columns else None
                key = keys[failed.row] if keys is not None and keys[failed.row] is not None else f"#{failed.row + 1}"
                raise bad_value(f"{SYSTEM} {ent.name}", key, fdef, failed.value) from None
            columns.append(series.cast(pl.String) if name == ent.key else series)
        return pl.DataFrame(columns, height=raw.height) if columns else pl.DataFrame(height=raw.height)


def raw_frame(rows: Sequence[Mapping[str, Any]], names: Collection[str]) -> pl.DataFrame:
    """The values of ``names`` in ``rows``, a column each, as JSON has them (see
    :func:`~reconcile.model.records.records_frame`); an object stays a value, for the typing to refuse."""
    raw = records_frame(rows, names=names)
    nested = {name.split(".", 1)[0] for name in raw.columns if "." in name}
    if not nested:
        return raw
    kept = raw.select(name for name in raw.columns if name.split(".", 1)[0] not in nested)
    objects = [pl.Series(name, [row.get(name) for row in rows], dtype=pl.Object) for name in sorted(nested)]
    return kept.with_columns(objects)
