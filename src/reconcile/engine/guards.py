"""Guards: the checks that stop a run before it writes something a person would not want written.

A snapshot that shrank suspiciously (empty while links exist, or below ``shrink`` times the last run's
count) stops the run before anything is planned as deleted. Per-mapping limits on creates, updates and
deletes (a count, or a share of the target) stop it before anything is written. ``--force`` overrides both.
"""

from __future__ import annotations

from collections.abc import Mapping as MappingType

import polars as pl

from reconcile.engine.decided import unsettled
from reconcile.errors import SnapshotShrank
from reconcile.model.catalogue import Catalogue
from reconcile.model.flow import Flow
from reconcile.model.plan import Action, Reason


def check_shrink(
    flow: Flow,
    snapshots: MappingType[tuple[str, str], pl.DataFrame],
    last: MappingType[tuple[str, str], int],
    links: pl.DataFrame,
    force: bool = False,
) -> None:
    """Raise :class:`SnapshotShrank` when a snapshot looks cut short."""
    problems: list[str] = []
    linked_mappings = set(links["mapping"].unique().to_list()) if not links.is_empty() else set()
    for (system, entity), frame in snapshots.items():
        now, before = frame.height, last.get((system, entity))
        readers = [
            m
            for m in flow.mappings
            if entity.casefold() == (m.source if system == flow.source else m.target).casefold()
        ]
        uses = [m.name for m in readers if m.name in linked_mappings]
        # Each entity is held to the strictest ratio of the mappings that read it, not to the most lenient
        # ratio of the whole flow.
        ratio = max((m.guards.shrink for m in readers), default=flow.defaults.guards.shrink)
        if now == 0 and uses:
            problems.append(f"{system} {entity} is empty while {len(uses)} mapping(s) hold links to it")
        elif before and now < before * ratio:
            problems.append(f"{system} {entity} has {now} records; the last run saw {before} (below {ratio:.0%})")
    if problems and not force:
        raise SnapshotShrank(
            flow.target,
            "a snapshot shrank suspiciously; nothing was planned as deleted:\n  "
            + "\n  ".join(problems)
            + "\nif the records really are gone, run again with --force",
        )


def check_guards(
    flow: Flow,
    plan: pl.DataFrame,
    snapshots: MappingType[tuple[str, str], pl.DataFrame],
    catalogues: MappingType[str, Catalogue],
) -> list[str]:
    """The messages of every guard the plan trips; empty when it may be applied.

    Rows settled by a remembered decision are never written, so they count for no limit.
    """
    plan = unsettled(plan)
    messages: list[str] = []
    for m in flow.mappings:
        g = m.guards
        mine = plan.filter(pl.col("mapping") == m.name)
        entity = catalogues[flow.target].entity(m.target)
        size = snapshots.get((flow.target, entity.name), pl.DataFrame()).height if entity else 0
        creates = mine.filter(pl.col("action") == Action.CREATE.value).height
        updates = mine.filter(pl.col("action").is_in([Action.UPDATE_TARGET.value, Action.UPDATE_SOURCE.value])).height
        deletes = mine.filter(pl.col("action") == Action.DELETE.value).height if m.delete == "propagate" else 0
        for what, count, limit in (
            ("creates", creates, g.max_creates),
            ("updates", updates, g.max_updates),
            ("deletes", deletes, g.max_deletes),
        ):
            if limit is not None and count > limit:
                messages.append(f"mapping {m.name}: {count} {what} planned, more than the limit of {limit}")
        for what, count, share in (
            ("updates", updates, g.max_update_share),
            ("deletes", deletes, g.max_delete_share),
        ):
            if share is not None and size and count > 1 and count / size > share:
                messages.append(
                    f"mapping {m.name}: {count} {what} planned, {count / size:.0%} of the {size} target records "
                    f"(the limit is {share:.0%})"
                )
    return messages


def check_budget(flow: Flow, plan: pl.DataFrame, calls_left: MappingType[str, int | None]) -> list[str]:
    """A message for each system whose API budget (calls left today) the plan's writes would exceed.

    Every create, update and propagated delete costs at least one call; what is left must cover them.
    """
    plan = unsettled(plan)
    writes = {
        flow.target: plan.filter(pl.col("action").is_in([Action.CREATE.value, Action.UPDATE_TARGET.value])).height,
        flow.source: plan.filter(pl.col("action") == Action.UPDATE_SOURCE.value).height,
    }
    propagated = {m.name for m in flow.mappings if m.delete == "propagate"}
    deletes = plan.filter((pl.col("action") == Action.DELETE.value) & pl.col("mapping").is_in(sorted(propagated)))
    writes[flow.target] += deletes.filter(pl.col("reason") == Reason.SOURCE_DELETED).height
    writes[flow.source] += deletes.filter(pl.col("reason") == Reason.TARGET_DELETED).height
    messages = []
    for system, needed in writes.items():
        left = calls_left.get(system)
        if left is not None and needed > left:
            messages.append(
                f"{system}: the plan needs at least {needed} calls and the API allows {left} more today; "
                "apply it after the daily limit resets, or in parts"
            )
    return messages


def check_first_sync(
    flow: Flow,
    plan: pl.DataFrame,
    snapshots: MappingType[tuple[str, str], pl.DataFrame],
    catalogues: MappingType[str, Catalogue],
    links: pl.DataFrame,
) -> list[str]:
    """A message for each mapping whose creates could duplicate what the target holds, on a flow's first run.

    A flow's first run is one whose state holds no link of it: a new flow, or a state that was lost, left
    empty or looked for in the wrong place. A mapping without a merge rule cannot find the records the
    target already holds, so it would create each of them again. That may be meant (the target's records
    are other records), and ``--first-sync`` says so.
    """
    if not links.is_empty():
        return []
    plan = unsettled(plan)
    messages: list[str] = []
    for m in flow.mappings:
        entity = catalogues[flow.target].entity(m.target)
        if m.merge or entity is None:
            continue
        held = snapshots.get((flow.target, entity.name), pl.DataFrame()).height
        creates = plan.filter((pl.col("mapping") == m.name) & (pl.col("action") == Action.CREATE.value)).height
        if held and creates:
            messages.append(
                f"mapping {m.name}: first sync of flow {flow.name}, and {flow.target} {entity.name} already holds "
                f"{held} records; with no merge rule to find them by, {creates} creates could make them again"
            )
    return messages
