"""Plan codes: the words a person reads for them, and what counts as a question."""

from __future__ import annotations

from reconcile.model.plan import REVIEW, STRUCTURAL, Action, Reason, ReviewDecision


def test_the_tools_verdict_reads_cannot_write_and_a_proposed_link_asks() -> None:
    assert Action.REJECT.words == "cannot write"
    assert Action.REJECT.value == "reject"
    assert Action.LINK.words == "link?"
    assert Action.UPDATE_TARGET.words == "update target"


def test_a_proposed_link_waits_for_review() -> None:
    assert Action.LINK in REVIEW


def test_structural_reasons_are_the_mappings_not_the_records() -> None:
    assert set(STRUCTURAL) == {Reason.REQUIRED_UNMAPPED, Reason.NO_MERGE_RULE_READ_ONLY, Reason.READ_ONLY_ENTITY}
    assert "until the flow maps it" in Reason.REQUIRED_UNMAPPED.words
    assert "when a person says" in Reason.MERGE_PROPOSED.words


def test_review_decisions_keep_their_stored_values() -> None:
    assert [d.value for d in ReviewDecision] == [
        "approve",
        "reject",
        "keep_source",
        "keep_target",
        "link_to",
        "create_new",
        "link",
        "not_same",
        "delete",
        "keep",
        "unlink",
        "dismiss",
    ]
