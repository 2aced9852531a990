"""A plan row's fingerprint: a hash of what a person decided on, so that a decision outlives the run it was made in.

A decision is remembered with the fingerprint of the row it was made on; a later plan's row with the same id and
the same fingerprint is the same question, already answered. The fingerprint covers ``row_id``, ``action``,
``reason``, ``detail``, ``changes`` and ``candidates``: never the label (a renamed record asks nothing new),
``remembered`` or ``structural`` (both follow from it). Each value is written length-prefixed (``5:Hello``, ``~``
for a blank) so that no two contents serialise alike, and hashed with SHA-256: the same content gives the same
fingerprint in any process and with any Polars version.
"""

from __future__ import annotations

import hashlib

import polars as pl

from reconcile.model.plan import Action

FINGERPRINT_LENGTH = 16
"""Hex characters kept of the SHA-256 digest."""

_BLANK = "~"


def _text(expr: pl.Expr) -> pl.Expr:
    """``expr`` length-prefixed, or the blank mark (a text made of a null is null)."""
    return pl.concat_str([expr.str.len_bytes().cast(pl.Utf8), pl.lit(":"), expr]).fill_null(pl.lit(_BLANK))


def _listed(column: str, fields: tuple[str, ...]) -> pl.Expr:
    """A list of structs as text: its length, then each entry's fields in turn."""
    entry = pl.concat_str([_text(pl.element().struct.field(f)) for f in fields])
    items = pl.col(column).list.eval(entry).list.join("")
    length = pl.col(column).list.len().cast(pl.Utf8)
    return pl.concat_str([length, pl.lit("["), items, pl.lit("]")]).fill_null(pl.lit(_BLANK))


def canonical_rows(rows: pl.DataFrame) -> pl.Series:
    """Each row's content as one text: what :func:`fingerprints` hashes."""
    return rows.select(
        pl.concat_str(
            [
                *(_text(pl.col(c).cast(pl.Utf8)) for c in ("row_id", "action", "reason", "detail")),
                _listed("changes", ("property", "field", "old", "new", "base")),
                _listed("candidates", ("target_id", "label")),
            ]
        ).alias("canonical")
    ).to_series()


def fingerprints(rows: pl.DataFrame) -> pl.Series:
    """The fingerprint of each plan row (16 hex characters), in row order; null for a row in sync.

    Only a row a person may decide on needs one, and most rows of a nightly plan are in sync: hashing them
    would cost a quarter of the planning time for nothing.
    """
    asked = rows.get_column("action") != Action.IN_SYNC.value
    texts = canonical_rows(rows.filter(asked)).cast(pl.Binary).to_list()
    digests = [hashlib.sha256(text).hexdigest()[:FINGERPRINT_LENGTH] for text in texts]
    return (
        pl.repeat(None, rows.height, dtype=pl.Utf8, eager=True)
        .alias("fingerprint")
        .scatter(asked.arg_true(), pl.Series(digests, dtype=pl.Utf8))
    )
