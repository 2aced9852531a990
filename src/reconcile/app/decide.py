"""Carry out a reviewed workbook's decisions against a plan built now: row by row, stale rows refused.

Every decided row of the workbook is looked up in the plan built now. A row whose content (its fingerprint)
is what the reviewer saw is carried out; a row that moved on, or is gone, is refused as stale, saying what
changed, and appears in the next plan. An unrelated change elsewhere never throws the review away.

What each decision does (:class:`reconcile.model.plan.ReviewDecision`):

- ``approve``: the create or update is written. A child whose parent row is in the plan but not approved is
  skipped, and the results say so.
- ``reject``, ``dismiss``, ``keep``: nothing is written; the state remembers the decision with the row's
  fingerprint, so the row is not asked again until it changes. A pair linked by a merge rule in this plan
  whose changes were rejected is not linked.
- ``keep_source`` / ``keep_target``: the chosen value of a conflicting property is written to the other side.
- ``link_to`` (an ambiguous row's candidate) and ``link`` (a proposed link): the link is recorded; the pair's
  values are compared by the next run, which shows what differs.
- ``create_new`` and ``not_same``: remembered, and the plan is built again with them, so that a record none of
  whose candidates is the same is created now.
- ``delete`` / ``unlink``: the delete row is applied as the reviewer chose, whatever the mapping's policy.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any

import polars as pl

from reconcile.apply.applier import Approval
from reconcile.engine.build import FlowPlan
from reconcile.engine.rows import row_id
from reconcile.engine.settle import settle_conflicts
from reconcile.model.flow import Flow
from reconcile.model.plan import CHANGES, DECIDED_SCHEMA, REMEMBERED, Action, Reason, ReviewDecision
from reconcile.report.summary import action_words
from reconcile.report.values import reason_words


class Fate(StrEnum):
    """What became of one decision."""

    WRITTEN = "written"
    FAILED = "failed"
    SKIPPED = "skipped"
    STALE = "stale"
    DONE = "done"
    """Carried out without a write to a system: remembered, linked, or nothing to do."""


DECISION_SCHEMA: dict[str, pl.DataType] = {
    "row_id": pl.Utf8(),
    "decision": pl.Utf8(),
    "property": pl.Utf8(),
    "target_id": pl.Utf8(),
    "where": pl.Utf8(),
}
"""The decisions read from a workbook: one per decided line (a conflict's line names its property)."""

_LINK_SCHEMA = {"mapping": pl.Utf8(), "source_id": pl.Utf8(), "target_id": pl.Utf8()}
_MATCHING = (ReviewDecision.LINK_TO, ReviewDecision.LINK, ReviewDecision.CREATE_NEW, ReviewDecision.NOT_SAME)
_DELETED_AND_EDITED = {
    Reason.SOURCE_DELETED_TARGET_EDITED.value: Reason.SOURCE_DELETED.value,
    Reason.TARGET_DELETED_SOURCE_EDITED.value: Reason.TARGET_DELETED.value,
}


@dataclass(frozen=True)
class Reviewed:
    """A reviewed workbook, read and checked: its decisions and the plan rows it showed."""

    plan_run_id: str
    decisions: pl.DataFrame
    """:data:`DECISION_SCHEMA`: one per decided line; blank decisions are left out."""
    stored: pl.DataFrame
    """The plan rows of the run the workbook was made by (its ``plan.parquet``), with their fingerprints."""

    @property
    def digest(self) -> str:
        """What the decisions are, in 16 hex digits: one workbook with other decisions is another review."""
        lines = sorted(
            "\x1f".join(v or "" for v in row)
            for row in self.decisions.select("row_id", "decision", "property", "target_id").iter_rows()
        )
        return hashlib.sha256("\x1e".join(lines).encode()).hexdigest()[:16]


Replan = Callable[[pl.DataFrame, pl.DataFrame], FlowPlan]
"""Build the plan again with extra links (mapping, source_id, target_id) and extra decisions (DECIDED_SCHEMA)."""


@dataclass(frozen=True)
class Carried:
    """What a review comes to against the plan built now."""

    plan: FlowPlan
    """The plan to apply: conflicts settled as updates, decided deletes as deletes, links chosen as merges."""
    approval: Approval
    remember: pl.DataFrame
    """Decisions for the state to remember (:data:`reconcile.state.reviews.DECIDED_SCHEMA`)."""
    fates: pl.DataFrame
    """row_id, decision, property, target_id, where, mapping, action, label, carried (the row id applied for it,
    or null), message (why not, or what was done without a write), fate (stale or skipped when known before
    the run; else null: the run's outcome says)."""
    stale: pl.DataFrame = field(default_factory=lambda: pl.DataFrame(schema={"where": pl.Utf8, "message": pl.Utf8}))


def carry_out(decisions: pl.DataFrame, stored: pl.DataFrame, plan: FlowPlan, flow: Flow, replan: Replan) -> Carried:
    """Match the workbook's ``decisions`` to the plan built now (``plan``), given the ``stored`` plan they were
    made on, and say what to apply, what to remember and what became of every decision."""
    decisions = decisions.join(
        stored.select(
            "row_id",
            "mapping",
            "action",
            "reason",
            "label",
            "source_id",
            "target_id",
            pl.col("fingerprint").alias("fingerprint_stored"),
            pl.struct("row_id", "mapping", "source_id", "target_id", "detail", "changes").alias("stored_row"),
        ),
        on="row_id",
        how="left",
        suffix="_stored",
    )
    matching = decisions.filter(pl.col("decision").is_in([d.value for d in _MATCHING]))
    fresh_matching, stale_matching = _fresh(matching, plan.rows)
    links = fresh_matching.filter(pl.col("decision").is_in([ReviewDecision.LINK_TO, ReviewDecision.LINK])).select(
        "mapping",
        "source_id",
        pl.coalesce(pl.col("target_id"), pl.col("target_id_stored")).alias("target_id"),
    )
    extra = _decided(
        fresh_matching.filter(pl.col("decision").is_in([ReviewDecision.CREATE_NEW, ReviewDecision.NOT_SAME]))
    )
    if not links.is_empty() or not extra.is_empty():
        plan = replan(links.cast(_LINK_SCHEMA), extra)  # type: ignore[arg-type]
    rest = decisions.filter(~pl.col("decision").is_in([d.value for d in _MATCHING]))
    fresh, stale = _fresh(rest, plan.rows)
    rows = plan.rows

    # Deleted on one side and edited on the other: decided as a delete, applied as one.
    deleted_edited = fresh.filter(
        pl.col("decision").is_in([ReviewDecision.DELETE, ReviewDecision.UNLINK])
        & pl.col("reason").is_in(list(_DELETED_AND_EDITED))
    )["row_id"]
    rows = rows.with_columns(
        pl.when(pl.col("row_id").is_in(deleted_edited.implode()))
        .then(pl.lit(Action.DELETE.value))
        .otherwise(pl.col("action"))
        .alias("action"),
        pl.when(pl.col("row_id").is_in(deleted_edited.implode()))
        .then(pl.col("reason").replace(_DELETED_AND_EDITED))
        .otherwise(pl.col("reason"))
        .alias("reason"),
    )

    approved = set(fresh.filter(pl.col("decision") == ReviewDecision.APPROVE)["row_id"])
    deletes = {
        row_id: ReviewDecision(decision)
        for row_id, decision in fresh.filter(pl.col("decision").is_in([ReviewDecision.DELETE, ReviewDecision.UNLINK]))
        .select("row_id", "decision")
        .iter_rows()
    }
    approved |= set(deletes)
    carried_as: dict[str, str] = {row_id: row_id for row_id in approved}

    # Conflicts settled per property: written as the updates the engine would plan for that side.
    kept = fresh.filter(pl.col("decision").is_in([ReviewDecision.KEEP_SOURCE, ReviewDecision.KEEP_TARGET]))
    choices = kept.select(
        "row_id",
        "property",
        pl.when(pl.col("decision") == ReviewDecision.KEEP_SOURCE)
        .then(pl.lit("source"))
        .otherwise(pl.lit("target"))
        .alias("side"),
    )
    if not choices.is_empty():
        settled = settle_conflicts(rows, choices, flow)
        rows, settled_ids = _merge_settled(rows, settled, approved)
        approved |= settled_ids
        for decided in kept.iter_rows(named=True):
            source_wins = decided["decision"] == ReviewDecision.KEEP_SOURCE
            update = Action.UPDATE_TARGET if source_wins else Action.UPDATE_SOURCE
            carried_as[f"{decided['row_id']}\x00{decided['property']}"] = row_id(
                decided["mapping"], update, decided["source_id"], decided["target_id_stored"]
            )

    # Creates of records none of whose candidates is the same.
    planned = set(rows["row_id"])
    for decided in fresh_matching.filter(pl.col("decision") == ReviewDecision.CREATE_NEW).iter_rows(named=True):
        create = row_id(decided["mapping"], Action.CREATE, decided["source_id"], None)
        if create in planned:
            approved.add(create)
            carried_as[decided["row_id"]] = create

    # A child approved without its parent: its parent's row is in the plan and not approved.
    orphans = rows.filter(pl.col("row_id").is_in(sorted(approved))).select("row_id", "parents").explode("parents")
    plan_ids = set(rows["row_id"])
    orphaned = {child: parent for child, parent in orphans.iter_rows() if parent in plan_ids and parent not in approved}
    approved -= set(orphaned)

    rejected_pairs = fresh.filter(pl.col("decision") == ReviewDecision.REJECT).select("mapping", "source_id")
    merges = _reviewed_merges(plan.merges, rows, approved, rejected_pairs)
    plan = replace(plan, rows=rows, merges=pl.concat([merges, links.cast(_LINK_SCHEMA)]))  # type: ignore[arg-type]

    remember = pl.concat(
        [
            _decided(fresh.filter(pl.col("decision").is_in(REMEMBERED))),
            extra,
        ]
    )
    fates = _fates(pl.concat([fresh, fresh_matching], how="diagonal_relaxed"), carried_as, orphaned, rows)
    stale_all = pl.concat([stale_matching, stale], how="diagonal_relaxed")
    fates = (
        pl.concat([fates, stale_all.select(fates.columns)], how="diagonal_relaxed")
        if not stale_all.is_empty()
        else fates
    )
    return Carried(
        plan=plan,
        approval=Approval(rows=frozenset(approved), deletes=deletes),
        remember=remember,
        fates=fates,
        stale=stale_all.select("where", "message"),
    )


def _fresh(decisions: pl.DataFrame, rows: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(decisions whose row is in ``rows`` as the reviewer saw it, stale ones saying what changed)."""
    now = rows.select("row_id", pl.col("fingerprint").alias("fingerprint_now"))
    joined = decisions.join(now, on="row_id", how="left")
    is_fresh = pl.col("fingerprint_stored").is_not_null() & (pl.col("fingerprint_now") == pl.col("fingerprint_stored"))
    fresh = joined.filter(is_fresh).drop("fingerprint_now")
    stale = joined.filter(~is_fresh.fill_null(False))
    messages = [_what_changed(row, rows) for row in stale.iter_rows(named=True)]
    stale = stale.with_columns(
        pl.Series("message", messages, dtype=pl.Utf8),
        pl.lit(None, dtype=pl.Utf8).alias("carried"),
        pl.lit(Fate.STALE.value).alias("fate"),
    ).drop("fingerprint_now")
    return fresh, stale


def _what_changed(decided: dict[str, Any], rows: pl.DataFrame) -> str:
    """Say why a decided row is stale: what its record's row holds now against what the reviewer saw."""
    if decided["fingerprint_stored"] is None:
        return "refused: the row is not in the workbook's plan"
    was = decided["stored_row"]
    side = "source_id" if was["source_id"] is not None else "target_id"
    same = rows.filter((pl.col("mapping") == was["mapping"]) & (pl.col(side) == was[side]))
    if same.is_empty():
        return (
            "refused as stale: nothing is planned for this record any more (written since, or in sync); "
            "see the next plan"
        )
    now = same.row(0, named=True)
    if now["row_id"] != was["row_id"]:
        planned = f"{action_words(now['action'])} ({reason_words(now['reason'], None)})"
        return f"refused as stale: the record changed, and is now planned as {planned}; see the next plan"
    before = {c["property"] or c["field"]: c for c in was["changes"] or ()}
    after = {c["property"] or c["field"]: c for c in now["changes"] or ()}
    said = []
    for prop in dict.fromkeys([*before, *after]):
        old, new = before.get(prop), after.get(prop)
        if old is None and new is not None:
            said.append(f"{prop} now changes too")
        elif new is None and old is not None:
            said.append(f"{prop} no longer changes")
        elif old is not None and new is not None and (old["new"], old["old"]) != (new["new"], new["old"]):
            said.append(f"{prop} was {_shown(old)} in the workbook, is {_shown(new)} now")
    if not said and (was["detail"] or "") != (now["detail"] or ""):
        said.append(f"now: {now['detail']}")
    return (
        "refused as stale: " + ("; ".join(said) or "the record changed since the plan was made") + "; see the next plan"
    )


def _shown(change: dict[str, Any]) -> str:
    """A change as the workbook showed it: the value it would write, and the value it replaces."""
    new, old = change["new"], change["old"]
    return repr(new) if old is None or old == new else f"{old!r} -> {new!r}"


def _decided(decisions: pl.DataFrame) -> pl.DataFrame:
    """Decisions as the state remembers them."""
    return decisions.select(
        "mapping",
        "row_id",
        "source_id",
        pl.coalesce(pl.col("target_id"), pl.col("target_id_stored")).alias("target_id")
        if "target_id_stored" in decisions.columns
        else pl.col("target_id"),
        "decision",
        pl.col("fingerprint_stored").alias("fingerprint"),
    ).cast(DECIDED_SCHEMA)  # type: ignore[arg-type]


def _merge_settled(rows: pl.DataFrame, settled: pl.DataFrame, approved: set[str]) -> tuple[pl.DataFrame, set[str]]:
    """Add the settled conflicts' updates to the plan; an approved update of the same pair takes them along."""
    ids = set(settled["row_id"])
    both = rows.filter(pl.col("row_id").is_in(sorted(ids & approved)))
    combined = (
        pl.concat([both, settled.select(rows.columns)])
        .group_by("row_id", maintain_order=True)
        .agg(pl.exclude("changes").first(), pl.col("changes").explode())
        .select(rows.columns)
    )
    kept = rows.filter(~pl.col("row_id").is_in(sorted(ids)))
    return pl.concat([kept, combined]), ids


def _reviewed_merges(
    merges: pl.DataFrame, rows: pl.DataFrame, approved: set[str], rejected: pl.DataFrame
) -> pl.DataFrame:
    """The merges a review records: a pair's link only when each of its writes was approved (or it has none)."""
    writes = rows.filter(pl.col("action").is_in(CHANGES)).select("mapping", "source_id", "row_id")
    waiting = writes.filter(~pl.col("row_id").is_in(sorted(approved))).select("mapping", "source_id")
    return merges.join(pl.concat([waiting, rejected]).unique(), on=["mapping", "source_id"], how="anti")


def _fates(
    fresh: pl.DataFrame, carried_as: dict[str, str], orphaned: dict[str, str], rows: pl.DataFrame
) -> pl.DataFrame:
    """Each fresh decision with the row applied for it (``carried``) or what was done instead (``message``)."""
    labels = dict(rows.select("row_id", "label").iter_rows())
    out: list[dict[str, object]] = []
    for row in fresh.iter_rows(named=True):
        decision = ReviewDecision(row["decision"])
        key = f"{row['row_id']}\x00{row['property']}" if row["property"] else row["row_id"]
        carried = carried_as.get(key)
        message = _MESSAGES.get(decision)
        fate = None
        if row["row_id"] in orphaned:
            parent = orphaned[row["row_id"]]
            carried, fate = None, Fate.SKIPPED.value
            message = f"skipped: the record it belongs to ({labels.get(parent) or parent}) was not approved"
        elif decision is ReviewDecision.CREATE_NEW and carried is None:
            message = "remembered: not linked to a candidate; no create is planned for it now"
        out.append(
            {
                **{k: row.get(k) for k in ("row_id", "decision", "property", "target_id", "where")},
                "mapping": row["mapping"],
                "action": row["action"],
                "label": row["label"],
                "carried": carried,
                "message": message,
                "fate": fate,
            }
        )
    schema = {
        **DECISION_SCHEMA,
        "mapping": pl.Utf8(),
        "action": pl.Utf8(),
        "label": pl.Utf8(),
        "carried": pl.Utf8(),
        "message": pl.Utf8(),
        "fate": pl.Utf8(),
    }
    return pl.DataFrame(out, schema=schema)


_MESSAGES: dict[ReviewDecision, str] = {
    ReviewDecision.REJECT: "rejected: not written, and not asked again until the record changes",
    ReviewDecision.DISMISS: "dismissed: not asked again until the record changes",
    ReviewDecision.KEEP: "kept: nothing deleted, and not asked again until the record changes",
    ReviewDecision.NOT_SAME: "remembered: these records are never linked",
    ReviewDecision.LINK: "linked: the next run compares the two records' values",
    ReviewDecision.LINK_TO: "linked: the next run compares the two records' values",
}
