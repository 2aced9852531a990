"""Project snapshots through a mapping: each side becomes a frame of canonical property values.

A projected frame has ``__id`` (the record's id as text), ``__modified`` (its modified time, UTC, or null),
``__label`` (a few words a person recognises it by: its entity's ``label`` fields, see
:mod:`reconcile.engine.labels`, or else the mapping's fields that look like a name), one ``p:<target field>``
column per synced property and one ``m:<combination>:<pair>`` column per merge key, all canonical text (see
:mod:`reconcile.engine.normalize`; merge keys folded to lower case unless the mapping's ``merge_case_sensitive``).
Reference properties hold the *source* id of the referenced record on both sides: the target's value is
translated back through the parent mapping's links, and a target id with no link becomes ``target:<id>``, which
equals no source id.
"""

from __future__ import annotations

from collections.abc import Mapping as MappingType

import polars as pl

from reconcile.engine.labels import RefLabels, label_expr
from reconcile.engine.normalize import canonical, canonical_for, canonical_key, folded, parse_datetime
from reconcile.engine.paths import resolve
from reconcile.model.catalogue import Entity
from reconcile.model.flow import Mapping, Property

ID, MODIFIED, LABEL = "__id", "__modified", "__label"
UNLINKED_PREFIX = "target:"


def prop_col(target_field: str) -> str:
    return f"p:{target_field}"


def raw_col(target_field: str) -> str:
    """A property's value as its snapshot holds it, typed, before it is made canonical."""
    return f"r:{target_field}"


def merge_col(combination: int, pair: int) -> str:
    return f"m:{combination}:{pair}"


_RAW_MERGE = "mr:"


def raw_merge_col(combination: int, pair: int) -> str:
    """A merge key as the snapshot holds it (a side projected ``raw``), until :func:`merge_keys` makes it one."""
    return f"{_RAW_MERGE}{combination}:{pair}"


def _merge_key(expr: pl.Expr, dtype: pl.DataType, mapping: Mapping, target: Entity, field: str) -> pl.Expr:
    """A merge key as keys compare: canonical text, folded to lower case unless the mapping says otherwise."""
    key = canonical_for(expr, dtype, target.field_named(field), "string")
    return key if mapping.merge_case_sensitive else folded(key)


def merge_keys(frame: pl.DataFrame, mapping: Mapping, target: Entity) -> pl.DataFrame:
    """``frame`` with its raw merge keys made keys, under :func:`merge_col`: only the records a stored link does
    not hold are matched by them, so a side projected ``raw`` leaves them to be made for those alone."""
    schema = frame.schema
    made = [
        _merge_key(pl.col(raw_merge_col(c, k)), schema[raw_merge_col(c, k)], mapping, target, pair[1]).alias(
            merge_col(c, k)
        )
        for c, combination in enumerate(mapping.merge)
        for k, pair in enumerate(combination)
        if raw_merge_col(c, k) in schema
    ]
    if not made:
        return frame
    return frame.with_columns(made).drop([c for c in frame.columns if c.startswith(_RAW_MERGE)])


def _id_expr(schema: pl.Schema, key: str) -> pl.Expr:
    expr, dtype = resolve(schema, key)
    return canonical_key(expr, dtype).alias(ID)


def _modified_expr(schema: pl.Schema, entity: Entity) -> pl.Expr:
    if entity.modified is None:
        return pl.lit(None, dtype=pl.Datetime("us")).alias(MODIFIED)
    expr, dtype = resolve(schema, entity.modified)
    if isinstance(dtype, pl.Datetime):
        value = expr if dtype.time_zone is None else expr.dt.convert_time_zone("UTC").dt.replace_time_zone(None)
        return value.dt.cast_time_unit("us").alias(MODIFIED)
    if dtype == pl.Date:
        return expr.cast(pl.Datetime("us")).alias(MODIFIED)
    return parse_datetime(expr.cast(pl.Utf8).str.strip_chars()).alias(MODIFIED)


LABEL_FIELDS = ("name", "fullname", "firstname", "lastname", "description", "email", "code", "number", "title")
"""Target fields a person knows a record by, best first: an entity without ``label`` fields is labelled by the
first two a mapping has."""


def _label_properties(synced: list[Property]) -> list[Property]:
    plain = [p for p in synced if not p.ref]
    known = sorted(
        (p for p in plain if p.target.casefold() in LABEL_FIELDS), key=lambda p: LABEL_FIELDS.index(p.target.casefold())
    )
    return known or plain


def _label_exprs(schema: pl.Schema, paths: list[str], own: Entity, refs: RefLabels) -> tuple[pl.Expr, pl.Expr | None]:
    """The label of each record, and what names the records it leaves null (None: it leaves none null)."""
    parts = [canonical(*resolve(schema, p), "string") for p in paths[:2]]
    if not parts:
        fallback = canonical(*resolve(schema, own.key), "string")
    else:
        joined = pl.concat_str(parts, separator=" ", ignore_nulls=True)
        fallback = pl.when(joined == "").then(None).otherwise(joined)
    if not own.label:
        return fallback.alias(LABEL), None
    # A record none of whose label fields is filled is still named by what the mapping has.
    return label_expr(schema, own, refs).alias(LABEL), fallback.alias(LABEL)


def _project(
    snapshot: pl.DataFrame, mapping: Mapping, own: Entity, target: Entity, side: int, refs: RefLabels, raw: bool
) -> pl.DataFrame:
    """One side of ``mapping`` (0 the source, 1 the target), every value made canonical in the target's terms;
    with ``raw``, a value (but a reference) is left as the snapshot types it, under :func:`raw_col`."""
    schema = snapshot.schema
    synced = [p for p in mapping.properties if p.source is not None]
    paths = {p.target: (p.source, p.target)[side] for p in synced}
    label, fallback = _label_exprs(schema, [str(paths[p.target]) for p in _label_properties(synced)], own, refs)
    exprs = [_id_expr(schema, own.key), _modified_expr(schema, own), label]
    for prop in synced:
        expr, dtype = resolve(schema, str(paths[prop.target]))
        if prop.ref:
            exprs.append(canonical_key(expr, dtype).alias(prop_col(prop.target)))
        elif raw:
            exprs.append(expr.alias(raw_col(prop.target)))
        else:
            exprs.append(canonical_value(expr, dtype, prop, target).alias(prop_col(prop.target)))
    for c, combination in enumerate(mapping.merge):
        for k, pair in enumerate(combination):
            expr, dtype = resolve(schema, pair[side])
            if raw:
                exprs.append(expr.alias(raw_merge_col(c, k)))
            else:
                exprs.append(_merge_key(expr, dtype, mapping, target, pair[1]).alias(merge_col(c, k)))
    frame = snapshot.select(exprs)
    if fallback is not None and frame[LABEL].has_nulls():
        # Only the records whose label fields are all blank are named otherwise: most records have a label.
        unnamed = frame[LABEL].is_null()
        named_so = snapshot.lazy().filter(unnamed).select(fallback).collect()[LABEL]
        frame = frame.with_columns(frame[LABEL].scatter(unnamed.arg_true(), named_so))
    # A filter copies every column: only a snapshot with a record without a key pays for it.
    return frame.filter(pl.col(ID).is_not_null()) if frame[ID].has_nulls() else frame


def project_source(
    snapshot: pl.DataFrame,
    mapping: Mapping,
    source: Entity,
    target: Entity,
    refs: RefLabels | None = None,
    *,
    raw: bool = False,
) -> pl.DataFrame:
    """The source side of ``mapping``, in the target's terms; ``refs`` are the lookups the source entity's label
    needs (:func:`reconcile.engine.labels.reference_labels`). With ``raw``, values stay as the snapshot types
    them until :func:`canonical_values` makes them canonical: most records of a night are in sync, and equal
    values of one type are equal canonical values, so only the few that differ need their canonical text."""
    return _project(snapshot, mapping, source, target, 0, refs or {}, raw)


def project_target(
    snapshot: pl.DataFrame,
    mapping: Mapping,
    target: Entity,
    parent_links: MappingType[str, pl.DataFrame],
    refs: RefLabels | None = None,
    *,
    raw: bool = False,
) -> pl.DataFrame:
    """The target side of ``mapping``; ``parent_links`` maps a ref'd mapping name to its links frame, ``refs``
    are the lookups the target entity's label needs; ``raw`` as :func:`project_source` has it."""
    frame = _project(snapshot, mapping, target, target, 1, refs or {}, raw)
    for prop in mapping.properties:
        if prop.ref and prop.source is not None:
            frame = _translate_back(frame, prop_col(prop.target), parent_links.get(prop.ref))
    return frame


def _translate_back(frame: pl.DataFrame, column: str, links: pl.DataFrame | None) -> pl.DataFrame:
    """Replace target ids in ``column`` by the source ids they are linked to."""
    if links is None or links.is_empty():
        back = pl.DataFrame(schema={"target_id": pl.Utf8, "source_id": pl.Utf8})
    else:
        back = links.select("target_id", "source_id").unique("target_id")
    joined = frame.join(back, left_on=column, right_on="target_id", how="left")
    translated = (
        pl.when(pl.col(column).is_null())
        .then(None)
        .otherwise(pl.coalesce(pl.col("source_id"), pl.lit(UNLINKED_PREFIX) + pl.col(column)))
    )
    return joined.with_columns(translated.alias(column)).drop("source_id")


def canonical_value(value: pl.Expr, dtype: pl.DataType, prop: Property, target: Entity) -> pl.Expr:
    """The canonical value of a property from its raw ``value`` (of ``dtype``), in the target's terms."""
    return canonical_for(value, dtype, target.field_named(prop.target), prop.type, written=True)


def canonical_values(frame: pl.DataFrame, mapping: Mapping, target: Entity) -> pl.DataFrame:
    """``frame`` (a side projected ``raw``, or the rows of one a caller gathered: most records of a night need
    no canonical text) with each raw value made canonical, under :func:`prop_col` as a projection without
    ``raw`` has it. A frame with no raw value keeps its values as they are."""
    schema = frame.schema
    made = [
        canonical_value(pl.col(raw_col(p.target)), schema[raw_col(p.target)], p, target).alias(prop_col(p.target))
        for p in mapping.properties
        if raw_col(p.target) in schema
    ]
    frame = merge_keys(frame, mapping, target)
    if not made:
        return frame
    return frame.with_columns(made).drop([c for c in frame.columns if c.startswith(raw_col(""))])
