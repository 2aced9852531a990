"""Counts of a plan per mapping and action: the console table of a run, and the figures for plan.json.

The console table is plain fixed-width text so it reads the same in a terminal and in a cron mail (the columns
``move link`` and ``differs`` left out here)::

    flow shop-to-ledger, run 20240601-0200
    mapping    create  upd→target  upd→source  conflict  delete  cannot write  ambiguous  link?  ...  in sync
    ---------  ------  ----------  ----------  --------  ------  ------------  ---------  -----  ...  -------
    customers       2           1           0         1       0             1          0      0  ...       12
    ---------  ------  ----------  ----------  --------  ------  ------------  ---------  -----  ...  -------
    total           2           1           0         1       0             1          0      0  ...       12
    outcome: dry run, nothing written

Under it, :func:`render_questions` names what waits for a person, by mapping and reason, and the problems of the
flow itself, one line each. ``cannot write`` is the tool's verdict on a record (a ``reject`` row); ``link?`` a
link proposed for review.

``differs`` counts linked records whose values differ where nothing may be written on purpose (a property that
only flows forward, a blank that may not overwrite, a read-only field, a reference to an unlinked record) and
records unlinked on purpose: never counted as in sync.
"""

from __future__ import annotations

from collections.abc import Mapping

import polars as pl

from reconcile.model.plan import Action, Reason
from reconcile.report.values import reason_words

ACTIONS: tuple[Action, ...] = (
    Action.CREATE,
    Action.UPDATE_TARGET,
    Action.UPDATE_SOURCE,
    Action.CONFLICT,
    Action.DELETE,
    Action.REJECT,
    Action.AMBIGUOUS,
    Action.LINK,
    Action.MOVE_LINK,
    Action.DIFFERS,
    Action.IN_SYNC,
)
"""The order actions are shown in, everywhere a person reads them."""

_CONSOLE_HEADERS: dict[Action, str] = {
    Action.CREATE: "create",
    Action.UPDATE_TARGET: "upd→target",
    Action.UPDATE_SOURCE: "upd→source",
    Action.CONFLICT: "conflict",
    Action.DELETE: "delete",
    Action.REJECT: "cannot write",
    Action.AMBIGUOUS: "ambiguous",
    Action.LINK: "link?",
    Action.MOVE_LINK: "move link",
    Action.DIFFERS: "differs",
    Action.IN_SYNC: "in sync",
}

_MAX_NAME = 40


def action_words(code: str) -> str:
    """Say an action code the way a person reads it (``update_target`` -> ``update target``)."""
    try:
        return Action(code).words
    except ValueError:
        return code.replace("_", " ")


def counts(plan: pl.DataFrame) -> pl.DataFrame:
    """Count a plan's rows per mapping and action: mappings in plan order, actions in :data:`ACTIONS` order.

    Only combinations that occur are listed; :func:`counts_json` fills in the zeros.
    """
    order = {action.value: i for i, action in enumerate(ACTIONS)}
    mappings = plan.select(pl.col("mapping").fill_null("")).unique(maintain_order=True).with_row_index("_m")
    return (
        plan.select(pl.col("mapping").fill_null(""), pl.col("action").fill_null(""))
        .group_by("mapping", "action", maintain_order=True)
        .agg(pl.len().cast(pl.Int64).alias("count"))
        .join(mappings, on="mapping", how="left")
        .with_columns(pl.col("action").replace_strict(order, default=len(order), return_dtype=pl.Int64).alias("_a"))
        .sort("_m", "_a", "action")
        .select("mapping", "action", "count")
    )


def counts_json(plan: pl.DataFrame) -> dict[str, dict[str, int]]:
    """Count a plan's rows as mapping -> action -> count for plan.json; every action present, 0 when none."""
    result: dict[str, dict[str, int]] = {}
    for mapping, action, count in counts(plan).iter_rows():
        row = result.setdefault(mapping, {a.value: 0 for a in ACTIONS})
        row[action] = count
    return result


def render_summary(
    plan: pl.DataFrame,
    *,
    flow: str,
    run_id: str,
    outcome: str,
    counted: Mapping[str, Mapping[str, int]] | None = None,
) -> str:
    """Render the plan's counts as a fixed-width plain-text table for the console and cron mail.

    ``counted`` are the plan's counts (:func:`counts_json`), when the caller has them already.
    """
    by_mapping = counts_json(plan) if counted is None else counted
    names = [_shorten(name) for name in by_mapping]
    name_width = max([len("mapping"), len("total"), *(len(n) for n in names)])
    totals = {a.value: sum(row[a.value] for row in by_mapping.values()) for a in ACTIONS}
    widths = [
        max(len(_CONSOLE_HEADERS[a]), *(len(str(row[a.value])) for row in [*by_mapping.values(), totals]))
        for a in ACTIONS
    ]

    def line(name: str, cells: list[str]) -> str:
        return "  ".join([name.ljust(name_width), *(c.rjust(w) for c, w in zip(cells, widths, strict=True))])

    rule = "  ".join(["-" * name_width, *("-" * w for w in widths)])
    lines = [
        f"flow {flow}, run {run_id}",
        line("mapping", [_CONSOLE_HEADERS[a] for a in ACTIONS]),
        rule,
        *(
            line(name, [str(row[a.value]) for a in ACTIONS])
            for name, row in zip(names, by_mapping.values(), strict=True)
        ),
    ]
    if not by_mapping:
        lines.append("(the plan is empty)")
    lines += [rule, line("total", [str(totals[a.value]) for a in ACTIONS]), f"outcome: {outcome}"]
    return "\n".join(text.rstrip() for text in lines) + "\n"


def _shorten(name: str) -> str:
    return name if len(name) <= _MAX_NAME else name[: _MAX_NAME - 1] + "…"


def render_questions(questions: pl.DataFrame, problems: pl.DataFrame, remembered: int) -> str:
    """Say, under the counts, which rows wait for a decision and which problems are the flow's own.

    ``questions`` are plan rows; ``problems`` has mapping, reason, records and a detail (one line per mapping
    and reason). Lines name the mapping, the count, what the rows are and why, in the words the workbook uses.
    """
    lines: list[str] = []
    if not questions.is_empty():
        lines.append(f"waiting for a decision ({questions.height}):")
        grouped = questions.group_by("mapping", "action", "reason", maintain_order=True).len()
        for mapping, action, reason, n in grouped.iter_rows():
            lines.append(f"  {mapping}: {n} {action_words(action)}: {reason_words(reason, None)}")
    if not problems.is_empty():
        lines.append(
            f"problems of the flow itself, one line each ({problems.height}); change the flow, not the records:"
        )
        for mapping, reason, n, detail in problems.select("mapping", "reason", "records", "detail").iter_rows():
            why = reason_words(reason, None)
            if reason == Reason.REQUIRED_UNMAPPED and detail:
                why = f"{detail}: no record of the mapping can be created until the flow maps it"
            lines.append(f"  {mapping}: {n} record{'s' * (n != 1)}: {why}")
    if remembered:
        lines.append(
            f"decided earlier and not asked again until they change: {remembered} row{'s' * (remembered != 1)}"
        )
    return "".join(line + "\n" for line in lines)
