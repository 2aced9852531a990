"""Decisions a person made in an earlier review, as the plan weighs them: nothing is asked twice.

The state hands them in as :data:`reconcile.model.plan.DECIDED_SCHEMA` (mapping, row_id, source_id, target_id,
decision, fingerprint):

- ``not_same``: the pair never matches by a merge rule (not linked, not proposed, not a candidate), for good;
- ``create_new``: the source record matches nothing by a merge rule, so it is created;
- ``reject``, ``dismiss``, ``keep``: a row with the same id and the same fingerprint (the same content) is
  settled: it keeps the decision in ``remembered`` and is neither asked again nor written. A row whose content
  changed comes back as a question;
- a pair a merge rule matches in this plan whose rows are remembered as ``reject`` is not linked: a person
  who refused its changes never said it is the same record.

``link_to`` and ``link`` decisions are links the state stores before the plan is built: no input here.
"""

from __future__ import annotations

import polars as pl

from reconcile.model.plan import DECIDED_SCHEMA, REMEMBERED, ReviewDecision

_PAIR = {"source_id": pl.Utf8, "target_id": pl.Utf8}


def no_decisions() -> pl.DataFrame:
    return pl.DataFrame(schema=DECIDED_SCHEMA)


def apart(decided: pl.DataFrame, mapping: str) -> pl.DataFrame:
    """source_id, target_id of the pairs of ``mapping`` a person said are not the same record."""
    return (
        decided.filter((pl.col("mapping") == mapping) & (pl.col("decision") == ReviewDecision.NOT_SAME.value))
        .select("source_id", "target_id")
        .drop_nulls()
        .unique()
    )


def alone(decided: pl.DataFrame, mapping: str) -> pl.DataFrame:
    """source_id of the records of ``mapping`` a person said match none of their candidates."""
    return (
        decided.filter((pl.col("mapping") == mapping) & (pl.col("decision") == ReviewDecision.CREATE_NEW.value))
        .select("source_id")
        .drop_nulls()
        .unique()
    )


def remember(rows: pl.DataFrame, decided: pl.DataFrame) -> pl.DataFrame:
    """``rows`` (fingerprinted) with ``remembered`` set where a remembered decision settles the row as it is."""
    settled = (
        decided.filter(pl.col("decision").is_in([d.value for d in REMEMBERED]))
        .select("row_id", "fingerprint", pl.col("decision").alias("_remembered"))
        .unique(["row_id", "fingerprint"], keep="last", maintain_order=True)
    )
    if settled.is_empty() or rows.is_empty():
        return rows
    columns = rows.columns
    return (
        rows.join(settled, on=["row_id", "fingerprint"], how="left")
        .with_columns(pl.coalesce("_remembered", "remembered").alias("remembered"))
        .select(columns)
    )


def refused_pairs(merges: pl.DataFrame, rows: pl.DataFrame) -> pl.DataFrame:
    """source_id, target_id of the pairs in ``merges`` that have a row remembered as ``reject``."""
    refused = rows.filter(pl.col("remembered") == ReviewDecision.REJECT.value).select("source_id", "target_id")
    if refused.is_empty() or merges.is_empty():
        return pl.DataFrame(schema=_PAIR)
    return merges.select("source_id", "target_id").join(refused, on=["source_id", "target_id"], how="semi")


def unsettled(rows: pl.DataFrame) -> pl.DataFrame:
    """The rows no remembered decision settles: what a run may write or has to ask."""
    return rows.filter(pl.col("remembered").is_null()) if "remembered" in rows.columns else rows
