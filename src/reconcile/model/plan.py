"""The plan: everything a run would do, as data.

A plan is one Polars frame with :data:`PLAN_SCHEMA`: a row per record and action. Tests assert on the
:class:`Action` and :class:`Reason` codes; the workbook and the console show the words.

``changes`` lists the properties the row touches. For ``create`` and ``update_target`` the ``field`` is the
target's field and ``new`` the value to write there; for ``update_source`` the ``field`` is the source's field
path. ``old`` is the value on the side written, ``base`` the shadow (the value after the last sync). For a
``conflict`` and a ``differs`` row, ``old`` is the target's value, ``new`` the source's. Values are canonical
strings (dates as ``YYYY-MM-DD``, numbers as Polars prints them); references hold the *source* id of the
referenced record.

A ``differs`` row is a linked pair whose values differ where nothing may be written on purpose (a property
that only flows forward, a blank that may not overwrite, a read-only field, a reference to an unlinked
record, or a source record unlinked on purpose): it is neither in sync nor a write. Its ``reason`` is the
first such property's; ``detail`` names each.

A ``move_link`` row says a stored link moves to another source record: ``source_id`` is the new source
record, ``target_id`` the target record both are linked to, ``detail`` names the old source record (gone from
the source). Applying it removes the link of the old source id and adds the link of the new one, carrying the
old source id's shadows over to the new one, before any write (as merges are recorded);
:attr:`reconcile.engine.build.FlowPlan.moves` lists them as (mapping, from_source_id, source_id, target_id).
The pair's own updates, diffed against the carried shadows, are rows of their own.

A ``link`` row proposes a first-time link (a mapping with ``merge = "review"``): ``source_id`` and ``target_id``
are the pair, ``changes`` list each synced property with ``old`` the target's value and ``new`` the source's,
and ``detail`` names the merge keys that matched. Nothing is written for it, and the pair is not linked until a
person says they are the same record; until then the pair's children see it as not linked.
"""

from __future__ import annotations

from enum import StrEnum

import polars as pl


class Action(StrEnum):
    CREATE = "create"
    UPDATE_TARGET = "update_target"
    UPDATE_SOURCE = "update_source"
    CONFLICT = "conflict"
    DELETE = "delete"
    REJECT = "reject"
    AMBIGUOUS = "ambiguous"
    MOVE_LINK = "move_link"
    DIFFERS = "differs"
    IN_SYNC = "in_sync"
    LINK = "link"
    """A proposed first-time link (``merge_mode = "review"``): linked only when a person says so."""

    @property
    def words(self) -> str:
        return _ACTION_WORDS.get(self, self.value.replace("_", " "))


_ACTION_WORDS: dict[Action, str] = {Action.REJECT: "cannot write", Action.LINK: "link?"}
"""Words other than the code's own: a reject is the tool's verdict, never a reviewer's "reject"."""


CHANGES = (Action.CREATE, Action.UPDATE_TARGET, Action.UPDATE_SOURCE)
"""Rows that write a record's values: what a run counts as its writes."""
WRITES = (*CHANGES, Action.DELETE)
"""Rows that may send something to a system."""
REVIEW = (Action.CONFLICT, Action.REJECT, Action.AMBIGUOUS, Action.LINK)
"""Rows a person has to look at: nothing is written for them."""


class Reason(StrEnum):
    """Why a row is in the plan. The value is the code; :attr:`words` is what a person reads."""

    NEW_IN_SOURCE = "new_in_source"
    SOURCE_CHANGED = "source_changed"
    TARGET_CHANGED = "target_changed"
    FRESH_MERGE = "fresh_merge"
    CONFLICT_SOURCE_WINS = "conflict_source_wins"
    CONFLICT_TARGET_WINS = "conflict_target_wins"
    CONFLICT_NEWEST_SOURCE = "conflict_newest_source"
    CONFLICT_NEWEST_TARGET = "conflict_newest_target"
    CONFLICT_MANUAL = "conflict_manual"
    CONFLICT_KEPT = "conflict_kept"
    FIRST_SYNC_DIFFERS = "first_sync_differs"
    IN_SYNC = "in_sync"
    AMBIGUOUS_MERGE = "ambiguous_merge"
    SOURCE_DELETED = "source_deleted"
    TARGET_DELETED = "target_deleted"
    READ_ONLY_ENTITY = "read_only_entity"
    NO_MERGE_RULE_READ_ONLY = "no_merge_rule_read_only"
    MISSING_REQUIRED = "missing_required"
    INVALID_VALUE = "invalid_value"
    PARENT_MISSING = "parent_missing"
    PARENT_REJECTED = "parent_rejected"
    NO_CHILDREN = "no_children"
    WRITE_FAILED = "write_failed"
    LINK_MOVED = "link_moved"
    FORWARD_ONLY = "forward_only"
    BLANK_KEPT = "blank_kept"
    READ_ONLY_FIELD = "read_only_field"
    UNLINKED_REFERENCE = "unlinked_reference"
    UNLINKED_ON_PURPOSE = "unlinked_on_purpose"
    UNIQUE_TAKEN = "unique_taken"
    SOURCE_DELETED_TARGET_EDITED = "source_deleted_target_edited"
    TARGET_DELETED_SOURCE_EDITED = "target_deleted_source_edited"
    REQUIRED_UNMAPPED = "required_unmapped"
    MERGE_PROPOSED = "merge_proposed"

    @property
    def words(self) -> str:
        return _WORDS[self]


_WORDS: dict[Reason, str] = {
    Reason.NEW_IN_SOURCE: "new in the source: created in the target",
    Reason.SOURCE_CHANGED: "changed in the source since the last sync",
    Reason.TARGET_CHANGED: "changed in the target since the last sync",
    Reason.FRESH_MERGE: "first sync of a linked pair: a blank is filled from the other side, else the flow "
    "direction or the conflict policy decides",
    Reason.CONFLICT_SOURCE_WINS: "changed on both sides; the policy says the source wins",
    Reason.CONFLICT_TARGET_WINS: "changed on both sides; the policy says the target wins",
    Reason.CONFLICT_NEWEST_SOURCE: "changed on both sides; the source was changed last and wins",
    Reason.CONFLICT_NEWEST_TARGET: "changed on both sides; the target was changed last and wins",
    Reason.CONFLICT_MANUAL: "changed on both sides; left for review",
    Reason.CONFLICT_KEPT: "changed on both sides; the winning value cannot be written there (a blank, or a "
    "read-only field), so the other side's value is kept",
    Reason.FIRST_SYNC_DIFFERS: "first sync of a linked pair: the two records differ, there is no last synced value "
    "to tell which side changed, and the policy (manual) leaves it for review",
    Reason.IN_SYNC: "in sync",
    Reason.AMBIGUOUS_MERGE: "several records match by the merge rule; none is linked until a person decides",
    Reason.SOURCE_DELETED: "deleted in the source since the last sync",
    Reason.TARGET_DELETED: "deleted in the target since the last sync",
    Reason.READ_ONLY_ENTITY: "the target entity cannot be written through its API",
    Reason.NO_MERGE_RULE_READ_ONLY: "the target entity is read-only and the mapping has no merge rule to link by",
    Reason.MISSING_REQUIRED: "a field the target requires has no value",
    Reason.INVALID_VALUE: "a value the target would refuse",
    Reason.PARENT_MISSING: "the record it refers to is not linked and is not being created",
    Reason.PARENT_REJECTED: "the record it refers to cannot be created",
    Reason.NO_CHILDREN: "the target requires lines, and no line of this record can be created",
    Reason.WRITE_FAILED: "the system refused the write",
    Reason.LINK_MOVED: "the linked source record is gone and a new source record matches the same target record "
    "by the merge rule: the link moves to it, with its sync history",
    Reason.FORWARD_ONLY: "changed in the target, but the property only flows from the source (a fixed value or "
    'direction = "forward"): not written back',
    Reason.BLANK_KEPT: "blank on one side and filled on the other: a blank does not overwrite a filled value "
    "(blank_overwrites = false)",
    Reason.READ_ONLY_FIELD: "differs, but the field cannot be changed on the side it would be written to "
    "(read-only, or set only on create)",
    Reason.UNLINKED_REFERENCE: "the target refers to a record that is not linked, so the reference cannot be "
    "written back",
    Reason.UNLINKED_ON_PURPOSE: "unlinked on purpose (delete = unlink) when it was deleted in the target: not "
    "created again",
    Reason.UNIQUE_TAKEN: "a value the target keeps unique is already held by another record",
    Reason.SOURCE_DELETED_TARGET_EDITED: "deleted in the source and edited in the target since the last sync; "
    "left for review",
    Reason.TARGET_DELETED_SOURCE_EDITED: "deleted in the target and edited in the source since the last sync; "
    "left for review",
    Reason.REQUIRED_UNMAPPED: "the target requires a field the mapping does not fill: no record of this mapping "
    "can be created until the flow maps it",
    Reason.MERGE_PROPOSED: "matches a target record by the merge rule; linked only when a person says they are "
    "the same record",
}

STRUCTURAL = (Reason.REQUIRED_UNMAPPED, Reason.NO_MERGE_RULE_READ_ONLY, Reason.READ_ONLY_ENTITY)
"""Reasons whose rows cannot be written because of the mapping or the catalogue, not the record: ``structural``."""


class ReviewDecision(StrEnum):
    """What a reviewer decided for a row of the workbook; the values are stored in the state.

    ``reject``, ``dismiss`` and ``keep`` are remembered until the row's content (its ``fingerprint``) changes;
    ``not_same`` is remembered for good.
    """

    APPROVE = "approve"
    """A create or an update: write it."""
    REJECT = "reject"
    """A create or an update: do not write it."""
    KEEP_SOURCE = "keep_source"
    """A conflict's property: the source's value wins and is written to the target."""
    KEEP_TARGET = "keep_target"
    """A conflict's property: the target's value wins and is written back to the source."""
    LINK_TO = "link_to"
    """An ambiguous row: link to the chosen candidate (its target id travels with the decision)."""
    CREATE_NEW = "create_new"
    """An ambiguous row: none of the candidates; create the record in the target."""
    LINK = "link"
    """A proposed link: they are the same record."""
    NOT_SAME = "not_same"
    """A proposed link (or a candidate): never link this pair."""
    DELETE = "delete"
    """A delete: delete the record where it still exists, whatever the mapping's delete policy."""
    KEEP = "keep"
    """A delete: keep the record and the link."""
    UNLINK = "unlink"
    """A delete: remove the link and delete nothing."""
    DISMISS = "dismiss"
    """A row the tool cannot write: stop asking."""


REMEMBERED = (ReviewDecision.REJECT, ReviewDecision.DISMISS, ReviewDecision.KEEP)
"""Decisions that settle a row until its content changes: the row keeps them as ``remembered``."""

DECIDED_SCHEMA: dict[str, pl.DataType] = {
    "mapping": pl.Utf8(),
    "row_id": pl.Utf8(),
    "source_id": pl.Utf8(),
    "target_id": pl.Utf8(),
    "decision": pl.Utf8(),
    "fingerprint": pl.Utf8(),
}
"""Decisions remembered in the state, as the engine takes them (``build_plan(..., decided=)``): the
:class:`ReviewDecision` value, and the fingerprint of the row as it was decided."""


class Status(StrEnum):
    """What became of one plan row when the plan was applied."""

    APPLIED = "applied"
    FAILED = "failed"
    SKIPPED = "skipped"
    """Not sent: not approved, a record it depends on was not made, or the system stopped taking writes."""
    REPORTED = "reported"
    """Nothing to write by policy (a delete that is only reported)."""


class Outcome(StrEnum):
    """How a run ended, as ``runs list`` shows it and a scheduler reads it."""

    IN_SYNC = "in_sync"
    APPLIED = "applied"
    REVIEW = "review"
    FAILED_WRITES = "failed_writes"
    DRY_RUN = "dry_run"
    GUARD = "guard"
    FAILED = "failed"
    PARTIAL = "partial"
    """Some mappings were skipped (an entity they need could not be read); the others ran."""


CHANGE_DTYPE = pl.Struct({"property": pl.Utf8, "field": pl.Utf8, "old": pl.Utf8, "new": pl.Utf8, "base": pl.Utf8})
CANDIDATE_DTYPE = pl.Struct({"target_id": pl.Utf8, "label": pl.Utf8})

PLAN_SCHEMA: dict[str, pl.DataType] = {
    "row_id": pl.Utf8(),
    "mapping": pl.Utf8(),
    "action": pl.Utf8(),
    "reason": pl.Utf8(),
    "detail": pl.Utf8(),
    "source_id": pl.Utf8(),
    "target_id": pl.Utf8(),
    "label": pl.Utf8(),
    "changes": pl.List(CHANGE_DTYPE),
    "parents": pl.List(pl.Utf8()),
    "both_gone": pl.Boolean(),
    "candidates": pl.List(CANDIDATE_DTYPE),
    "structural": pl.Boolean(),
    "remembered": pl.Utf8(),
    "fingerprint": pl.Utf8(),
}
"""``label`` is a few words a person recognises the record by; ``parents`` the row ids it waits for;
``both_gone`` marks a delete whose record is gone from both systems, so that applying it only removes the link.
``candidates`` lists the target records an ``ambiguous`` row matches, with their labels (empty otherwise);
``structural`` marks a row that cannot be written because of the mapping or the catalogue, not the record
(:data:`STRUCTURAL` reasons, and what waits for such a row); ``remembered`` holds the
:class:`ReviewDecision` remembered in the state that settles the row as it is now (not asked again, not
written); ``fingerprint`` is a hash of the row's content (:func:`reconcile.engine.fingerprint.fingerprints`),
the same for the same content in any process."""


def empty_plan() -> pl.DataFrame:
    return pl.DataFrame(schema=PLAN_SCHEMA)
