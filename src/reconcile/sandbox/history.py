"""The sandbox's previous night: links and shadows that make the first demo run show every action.

``data/sandbox/state.json`` lists links as they stood after an earlier sync, each with the values both
sides held then. They are loaded into a new state store once, when the sandbox is first used; the values
are made canonical exactly as the engine would have recorded them.
"""

from __future__ import annotations

import json
from collections.abc import Mapping as MappingType
from pathlib import Path
from typing import Any

import polars as pl

from reconcile.engine.normalize import canonical, canonical_for
from reconcile.errors import ConfigError
from reconcile.model.catalogue import Catalogue
from reconcile.model.flow import Flow
from reconcile.state.store import StateStore


def load_history(path: Path) -> list[dict[str, Any]]:
    """The links of ``state.json``; a malformed file is refused naming the entry."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise ConfigError(f"{path}: cannot be read as JSON: {exc}") from exc
    links = data.get("links") if isinstance(data, dict) else None
    if not isinstance(links, list):
        raise ConfigError(f'{path}: expected {{"links": [...]}}')
    for i, link in enumerate(links):
        missing = [k for k in ("flow", "mapping", "source_id", "target_id") if not isinstance(link.get(k), str | int)]
        if missing:
            raise ConfigError(f"{path}: links[{i}]: missing {', '.join(missing)}")
    return links


def seed_history(store: StateStore, path: Path, flows: list[Flow], catalogues: MappingType[str, Catalogue]) -> int:
    """Record the links and shadows of ``path`` for the flows given; returns how many links."""
    by_name = {f.name: f for f in flows}
    links: list[tuple[str, str, str, str]] = []
    shadows: list[tuple[str, str, str, str]] = []
    raws: list[Any] = []
    # Values are made canonical a column at a time: one column per property and inferred type, cast by the
    # expression that property's values get one by one, which is what the engine recorded.
    columns: dict[tuple[str, str, str, pl.DataType], tuple[pl.Expr, list[int]]] = {}
    for i, entry in enumerate(load_history(path)):
        flow = by_name.get(entry["flow"])
        if flow is None:
            continue
        try:
            mapping = flow.mapping(entry["mapping"])
        except KeyError:
            raise ConfigError(f'{path}: links[{i}]: flow {flow.name} has no mapping "{entry["mapping"]}"') from None
        target = catalogues[flow.target].entity(mapping.target)
        source_id, target_id = str(entry["source_id"]), str(entry["target_id"])
        links.append((flow.name, mapping.name, source_id, target_id))
        for prop, raw in (entry.get("shadow") or {}).items():
            p = mapping.property_for(prop)
            if p is None:
                raise ConfigError(f'{path}: links[{i}].shadow.{prop}: mapping {mapping.name} has no property "{prop}"')
            dtype = inferred_dtype(raw)
            key = (flow.name, mapping.name, prop, dtype)
            if key not in columns:
                expr = (
                    canonical(pl.col("v"), dtype, "string")
                    if p.ref
                    else canonical_for(pl.col("v"), dtype, target.field_named(prop) if target else None, p.type)
                )
                columns[key] = (expr, [])
            columns[key][1].append(len(raws))
            shadows.append((flow.name, mapping.name, source_id, prop))
            raws.append(raw)
    values: list[str | None] = [None] * len(raws)
    for (*_, dtype), (expr, rows) in columns.items():
        column = pl.Series("v", [raws[r] for r in rows], dtype=dtype)
        for r, value in zip(rows, pl.DataFrame([column]).select(expr.alias("v"))["v"], strict=True):
            values[r] = value
    with store.transaction() as db:
        for flow_name in {link[0] for link in links}:
            store.add_links(db, flow_name, [(m, s, t) for f, m, s, t in links if f == flow_name])
            store.set_shadows(
                db,
                flow_name,
                [(m, s, p, v) for (f, m, s, p), v in zip(shadows, values, strict=True) if f == flow_name],
            )
    return len(links)


LONE_DTYPES: dict[type, pl.DataType] = {
    str: pl.String(),
    bool: pl.Boolean(),
    float: pl.Float64(),
    type(None): pl.Null(),
}
"""The type Polars gives a column holding one value of each of these Python types (JSON's scalars but ints)."""


def inferred_dtype(value: object) -> pl.DataType:
    """The type Polars gives a column holding ``value`` alone, so that a column of many casts each as alone."""
    dtype = LONE_DTYPES.get(type(value))
    if dtype is not None:
        return dtype
    if type(value) is int and -(2**63) <= value < 2**63:
        return pl.Int64()
    return pl.Series([value]).dtype
