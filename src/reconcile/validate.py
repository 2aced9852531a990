"""Validation of what a plan would write, with pandera schemas built from the catalogue and the mapping.

Every row the plan would write is checked against the schema of the side it writes: required fields,
types, lengths, formats and allowed values. An invalid row becomes a reject that names each bad field and
value; valid rows go on. Nothing invalid is ever sent (Exact blocks keys that send too many bad requests).
"""

from __future__ import annotations

import warnings

import polars as pl

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    import pandera.polars as pa
    from pandera.errors import SchemaErrors

from reconcile.model.catalogue import Entity, Field
from reconcile.model.flow import Mapping
from reconcile.model.plan import PLAN_SCHEMA, Action, Reason

_PATTERNS: dict[str, tuple[str, str]] = {
    "date": (r"^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$", "is not a date (YYYY-MM-DD)"),
    "datetime": (r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}", "is not a date and time"),
    "int": (r"^-?\d+$", "is not a whole number"),
    "float": (r"^-?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$", "is not a number"),
    "bool": (r"^(true|false)$", "is not true or false"),
    "guid": (
        r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$",
        "is not a guid",
    ),
    "email": (r"^[^@\s]+@[^@\s]+\.[^@\s]+$", "is not an email address"),
    "country": (r"^[A-Z]{2}$", "is not a two-letter country code"),
    "currency": (r"^[A-Z]{3}$", "is not a three-letter currency code"),
    "url": (r"^(https?://)?[^\s/$.?#][^\s]*\.[^\s]+$", "is not a web address"),
    "phone": (r"^\+?[0-9][0-9 ()\-./]{3,}$", "is not a phone number"),
}


def _checks(field: Field, is_ref: bool) -> list[pa.Check]:
    checks: list[pa.Check] = []
    if not is_ref and field.type in _PATTERNS:
        pattern, words = _PATTERNS[field.type]
        checks.append(pa.Check.str_matches(pattern, error=words))
    if field.format is not None and not is_ref:
        pattern, words = _PATTERNS[field.format]
        checks.append(pa.Check.str_matches(pattern, error=words))
    if field.max_length is not None:
        checks.append(
            pa.Check.str_length(max_value=field.max_length, error=f"is longer than {field.max_length} characters")
        )
    if field.values is not None:
        checks.append(pa.Check.isin(list(field.values), error="is not one of " + ", ".join(field.values)))
    return checks


def _schema(entity: Entity, fields: list[str], refs: set[str], required: set[str]) -> pa.DataFrameSchema:
    columns = {"row_id": pa.Column(pl.Utf8)}
    for name in fields:
        field = entity.field_named(name)
        checks = _checks(field, name in refs) if field is not None else []
        columns[name] = pa.Column(pl.Utf8, checks=checks, nullable=name not in required)
    return pa.DataFrameSchema(columns)


def _failures(rows: pl.DataFrame, entity: Entity, refs: set[str], creating: bool) -> pl.DataFrame:
    """row_id, problem: every reason the rows (all of one action) cannot be written to ``entity``."""
    values = rows.select("row_id", "changes").explode("changes").unnest("changes").filter(pl.col("field").is_not_null())
    fields = sorted(values.get_column("field").unique().to_list())
    embedded = {entity.embedded.field} if entity.embedded else set()
    required = {f for f in entity.required_fields() if f != entity.key and f not in embedded} if creating else set()
    problems: list[pl.DataFrame] = []
    absent = sorted(required - set(fields))
    wide = (
        values.pivot(on="field", index="row_id", values="new", aggregate_function="first")
        if fields
        else rows.select("row_id")
    )
    wide = rows.select("row_id").join(wide, on="row_id", how="left")
    for name in absent:
        wide = wide.with_columns(pl.lit(None, dtype=pl.Utf8).alias(name))
    columns = [*fields, *absent]
    wide = wide.select("row_id", *[pl.col(c).cast(pl.Utf8) for c in columns])
    try:
        _schema(entity, columns, refs, required).validate(wide, lazy=True)
    except SchemaErrors as exc:
        cases = exc.failure_cases.filter(pl.col("index").is_not_null())
        ids = wide.select(pl.int_range(pl.len(), dtype=pl.Int32).alias("index"), "row_id")
        words = (
            pl.when(pl.col("check") == "not_nullable")
            .then(pl.col("column") + pl.lit(" is required and has no value"))
            .otherwise(
                pl.col("column") + pl.lit(' "') + pl.col("failure_case").cast(pl.Utf8) + pl.lit('" ') + pl.col("check")
            )
        )
        problems.append(
            cases.join(ids, on="index", how="inner").select("row_id", words.alias("problem"), pl.col("check"))
        )
    if not creating:
        # An update that would blank a field the system requires.
        blanked = values.filter(pl.col("new").is_null() & pl.col("field").is_in(entity.required_fields()))
        problems.append(
            blanked.select(
                "row_id",
                (pl.col("field") + pl.lit(" is required and would be blanked")).alias("problem"),
                pl.lit("not_nullable").alias("check"),
            )
        )
    if not problems:
        return pl.DataFrame(schema={"row_id": pl.Utf8, "problem": pl.Utf8, "check": pl.Utf8})
    return pl.concat(problems)


def validate_rows(rows: pl.DataFrame, mapping: Mapping, source: Entity, target: Entity) -> pl.DataFrame:
    """Turn the rows of one mapping that would write invalid values into rejects naming field and value."""
    refs = {p.target for p in mapping.properties if p.ref}
    source_refs = {p.source for p in mapping.properties if p.ref and p.source}
    found: list[pl.DataFrame] = []
    kinds = (
        (Action.CREATE, target, refs, True),
        (Action.UPDATE_TARGET, target, refs, False),
        (Action.UPDATE_SOURCE, source, source_refs, False),
    )
    # Most rows of a night write nothing: they are set apart once, not once per kind of write.
    writing = rows.filter(pl.col("action").is_in([action.value for action, *_ in kinds]))
    for action, entity, ref_fields, creating in kinds:
        chosen = writing.filter(pl.col("action") == action.value)
        if not chosen.is_empty():
            found.append(_failures(chosen, entity, ref_fields, creating))
    if not found:
        return rows
    failures = pl.concat(found)
    if failures.is_empty():
        return rows
    verdict = failures.group_by("row_id").agg(
        pl.col("problem").unique(maintain_order=True).str.join("; ").alias("problems"),
        (pl.col("check") == "not_nullable").all().alias("only_missing"),
    )
    out = rows.join(verdict, on="row_id", how="left")
    bad = pl.col("problems").is_not_null()
    reason = (
        pl.when(pl.col("only_missing"))
        .then(pl.lit(Reason.MISSING_REQUIRED.value))
        .otherwise(pl.lit(Reason.INVALID_VALUE.value))
    )
    return out.with_columns(
        pl.when(bad).then(pl.lit(Action.REJECT.value)).otherwise(pl.col("action")).alias("action"),
        pl.when(bad).then(reason).otherwise(pl.col("reason")).alias("reason"),
        pl.when(bad).then(pl.col("problems")).otherwise(pl.col("detail")).alias("detail"),
    ).select(list(PLAN_SCHEMA))
