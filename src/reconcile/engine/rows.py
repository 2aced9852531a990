"""Plan rows: any frame of records shaped as rows of :data:`reconcile.model.plan.PLAN_SCHEMA`."""

from __future__ import annotations

import polars as pl

from reconcile.model.plan import CANDIDATE_DTYPE, CHANGE_DTYPE, PLAN_SCHEMA, Action, Reason


def row_ids(mapping: str, action: str) -> pl.Expr:
    """Stable, readable row ids: mapping, action, source id and target id."""
    return pl.concat_str(
        [
            pl.lit(f"{mapping}|{action}|"),
            pl.col("source_id").fill_null(""),
            pl.lit("|"),
            pl.col("target_id").fill_null(""),
        ]
    ).alias("row_id")


def row_id(mapping: str, action: Action, source_id: str | None, target_id: str | None) -> str:
    """The id :func:`row_ids` gives the row of one record pair."""
    return f"{mapping}|{action.value}|{source_id or ''}|{target_id or ''}"


def plan_rows(
    frame: pl.DataFrame,
    mapping: str,
    action: Action,
    reason: Reason | pl.Expr,
    detail: pl.Expr | None = None,
    both_gone: pl.Expr | None = None,
    structural: bool = False,
) -> pl.DataFrame:
    """Shape ``frame`` (source_id, target_id, label, optionally changes and candidates) as plan rows.

    ``remembered`` and ``fingerprint`` are left blank: :func:`reconcile.engine.build.build_plan` fills them
    once the rows are final.
    """
    reason_expr = reason if isinstance(reason, pl.Expr) else pl.lit(reason.value)
    columns = {
        "row_id": row_ids(mapping, action.value),
        "mapping": pl.lit(mapping),
        "action": pl.lit(action.value),
        "reason": reason_expr,
        "detail": detail if detail is not None else pl.lit(None, dtype=pl.Utf8),
        "source_id": pl.col("source_id"),
        "target_id": pl.col("target_id"),
        "label": pl.col("label"),
        "changes": pl.col("changes") if "changes" in frame.columns else pl.lit([], dtype=pl.List(CHANGE_DTYPE)),
        "parents": pl.lit([], dtype=pl.List(pl.Utf8)),
        "both_gone": both_gone if both_gone is not None else pl.lit(False),
        "candidates": pl.col("candidates")
        if "candidates" in frame.columns
        else pl.lit([], dtype=pl.List(CANDIDATE_DTYPE)),
        "structural": pl.lit(structural),
        "remembered": pl.lit(None, dtype=pl.Utf8),
        "fingerprint": pl.lit(None, dtype=pl.Utf8),
    }
    return frame.select([expr.cast(PLAN_SCHEMA[name]).alias(name) for name, expr in columns.items()])


def labelled(frame: pl.DataFrame, labels: pl.Series, at: str) -> pl.DataFrame:
    """``frame`` with the ``label`` of each record: ``labels`` are a projected side's, in its rows' order, and the
    column ``at`` of ``frame`` holds each record's row there (null: no label)."""
    return frame.with_columns(labels.gather(frame.get_column(at)).alias("label"))


def change(property_: pl.Expr, field: pl.Expr, old: pl.Expr, new: pl.Expr, base: pl.Expr) -> pl.Expr:
    """One entry of a row's ``changes``."""
    return pl.struct(
        property_.alias("property"),
        field.alias("field"),
        old.cast(pl.Utf8).alias("old"),
        new.cast(pl.Utf8).alias("new"),
        base.cast(pl.Utf8).alias("base"),
    ).alias("change")


def row_lists(frame: pl.DataFrame, columns: list[str]) -> pl.Series:
    """A list per row of ``frame`` of its values in ``columns`` (of one type), in that order.

    The values are stacked column after column, gathered row after row and cut into rows of ``len(columns)``:
    ``pl.concat_list`` over struct columns takes seconds for what this does in a tenth of one.
    """
    rows, width = frame.height, len(columns)
    stacked = pl.concat([frame.get_column(c).alias("values") for c in columns])
    position = pl.int_range(0, rows * width, dtype=pl.Int64, eager=True)
    order = (position % width) * rows + position // width
    return stacked.gather(order).reshape((rows, width)).arr.to_list()
