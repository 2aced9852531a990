"""Labels: the few words a person knows a record by, made from its entity's ``label`` fields.

An entity's ``label`` (see :attr:`reconcile.model.catalogue.Entity.label`) lists its fields best first; the
label says each filled one in words, joined by ", ": a whole number with its header ("Sales order no 10023"),
a line's sort order or line number as "line 2", an amount with the currency after it ("5657.78 NOK"), a first
name with the last name after it ("Kari Nordmann"), anything else as it is. A reference says the referenced
record's first label field ("Sales order no 10023" for a line), looked up in that entity's snapshot of the same
system: :func:`reference_labels` makes the lookups, :func:`label_expr` the label. Nulls are left out.

All of it is Polars expressions: a plan may label a million records.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

import polars as pl

from reconcile.engine.normalize import canonical, canonical_key
from reconcile.engine.paths import resolve
from reconcile.model.catalogue import Catalogue, Entity, Field

RefLabels = Mapping[str, pl.DataFrame]
"""Per reference field of a label, the referenced records' words: a frame of ``key`` and ``label``."""

_LINE = re.compile(r"(sortorder|line(number|no|nr|num)?|sequence(number|no)?|position)")
_NAME_PART = re.compile(r"(first|given|middle|last|family|sur)_?name")


def is_line_number(field: Field) -> bool:
    """A whole number that orders a record among its siblings (``SortOrder``, ``LineNumber``): "line 2"."""
    return field.type == "int" and _LINE.fullmatch(field.name.casefold().replace("_", "")) is not None


def _glued(before: Field, after: Field) -> bool:
    """Whether ``after`` follows ``before`` with a space rather than a comma: a currency after an amount, a
    last name after a first name."""
    if after.format == "currency":
        return before.type == "float"
    return bool(_NAME_PART.fullmatch(before.name.casefold()) and _NAME_PART.fullmatch(after.name.casefold()))


def field_words(expr: pl.Expr, dtype: pl.DataType, field: Field) -> pl.Expr:
    """One field's value in a label's words, or null (never blank)."""
    if field.type == "int":
        number = canonical(expr, dtype, "int")
        prefix = "line " if is_line_number(field) else f"{field.header} "
        return pl.lit(prefix) + number
    if field.type == "float":
        return _amount(expr, dtype, field.decimals)
    if field.type == "guid" or field.ref is not None:
        return canonical_key(expr, dtype)
    return canonical(expr, dtype, field.type, field.format)


def _amount(expr: pl.Expr, dtype: pl.DataType, decimals: int | None) -> pl.Expr:
    """A float as an amount: at its decimals when the field keeps some ("5657.80"), else as its canonical text
    without a trailing ".0" ("61288")."""
    text = canonical(expr, dtype, "float", decimals=decimals)
    if not decimals:
        return text.str.replace(r"\.0$", "")
    value = expr.cast(pl.Float64) if dtype.is_numeric() else text.cast(pl.Float64, strict=False)
    # A decimal prints every decimal it keeps; a value too large for one, or not a number, stays as it reads.
    fixed = value.round(decimals).cast(pl.Decimal(38, decimals), strict=False).cast(pl.Utf8)
    return pl.coalesce(fixed, text)


def reference_labels(
    entity: Entity, catalogue: Catalogue, snapshots: Mapping[str, pl.DataFrame]
) -> dict[str, pl.DataFrame]:
    """The lookups a label of ``entity`` needs: per reference field among its ``label``, the referenced records'
    first label field in words, by key. ``snapshots`` are the snapshots of ``catalogue``'s system by entity
    name; a reference whose entity has no label, or no snapshot here, is left out of the labels."""
    lookups: dict[str, pl.DataFrame] = {}
    for name in entity.label:
        field = entity.fields.get(name)
        referenced = catalogue.entity(field.ref) if field is not None and field.ref else None
        if referenced is None or not referenced.label or referenced.name not in snapshots:
            continue
        first = referenced.fields.get(referenced.label[0])
        if first is None or first.ref is not None:
            continue  # a reference of a reference is not followed: one lookup per label field
        snapshot = snapshots[referenced.name]
        key, key_type = resolve(snapshot.schema, referenced.key)
        value, value_type = resolve(snapshot.schema, first.name)
        lookups[name] = (
            snapshot.select(
                canonical_key(key, key_type).alias("key"), field_words(value, value_type, first).alias("label")
            )
            .filter(pl.col("key").is_not_null())
            .unique("key", keep="first", maintain_order=True)
        )
    return lookups


def label_expr(schema: pl.Schema, entity: Entity, refs: RefLabels) -> pl.Expr:
    """The label of each record of a frame of ``entity`` (with ``schema``): null where no label field is filled."""
    segments: list[pl.Expr] = []
    before: Field | None = None
    for name in entity.label:
        field = entity.fields.get(name)
        if field is None:
            continue  # a catalogue file names only its fields (config checks it); an entity made in code may not
        expr, dtype = resolve(schema, name)
        if field.ref is not None:
            lookup = refs.get(name)
            if lookup is None:
                continue
            words = canonical_key(expr, dtype).replace_strict(
                lookup["key"], lookup["label"], default=None, return_dtype=pl.Utf8
            )
        else:
            words = field_words(expr, dtype, field)
        if before is not None and segments and _glued(before, field):
            segments[-1] = pl.concat_str([segments[-1], words], separator=" ", ignore_nulls=True).replace("", None)
        else:
            segments.append(words)
        before = field
    if not segments:
        return pl.lit(None, dtype=pl.Utf8)
    # Each part is null or words, never blank; a blank from joining nothing becomes null once, at the end (a
    # guard on each part would compute it twice).
    return pl.concat_str(segments, separator=", ", ignore_nulls=True).replace("", None)
