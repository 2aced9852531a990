"""What the state keeps of reviews: remembered decisions, applied reviews, and the key that signs workbooks."""

from __future__ import annotations

import stat
from pathlib import Path

import polars as pl
import pytest

from reconcile.errors import StateError
from reconcile.model.plan import DECIDED_SCHEMA
from reconcile.state.reviews import applied_by, decided, record_review, remember, review_key
from reconcile.state.store import open_state


def _decisions(*rows: tuple[str, str, str]) -> pl.DataFrame:
    return pl.DataFrame(
        [
            {"mapping": "m", "row_id": r, "source_id": r[-1], "target_id": None, "decision": d, "fingerprint": f}
            for r, d, f in rows
        ],
        schema=DECIDED_SCHEMA,
    )


def test_the_review_key_is_made_once_private_to_the_user_and_read_back(tmp_path: Path) -> None:
    key = review_key(tmp_path / "state")
    assert len(key) == 32
    assert review_key(tmp_path / "state") == key  # made once
    mode = stat.S_IMODE((tmp_path / "state" / "review.key").stat().st_mode)
    assert mode == 0o600
    assert [p.name for p in (tmp_path / "state").iterdir()] == ["review.key"]  # no temporary file left


def test_a_missing_or_damaged_review_key_is_an_error_naming_the_file(tmp_path: Path) -> None:
    with pytest.raises(StateError, match=r"review\.key is missing"):
        review_key(tmp_path, make=False)
    (tmp_path / "review.key").write_text("not hex\n")
    with pytest.raises(StateError, match=r"review\.key: not a review key"):
        review_key(tmp_path)


def test_kept_decisions_are_remembered_and_carried_out_ones_forget_the_row(tmp_path: Path) -> None:
    with open_state(tmp_path) as store:
        with store.transaction() as db:
            remember(
                db, "f", _decisions(("m|create|1", "reject", "aa"), ("m|link|2", "not_same", "bb")), "r1", "u", "h"
            )
        assert decided(store, "f").select("row_id", "decision").rows() == [
            ("m|create|1", "reject"),
            ("m|link|2", "not_same"),
        ]
        with store.transaction() as db:
            # Approved later (its content changed): the old reject must not come back if the content reverts.
            remember(db, "f", _decisions(("m|create|1", "approve", "cc")), "r2", "u", "h")
        assert decided(store, "f")["row_id"].to_list() == ["m|link|2"]
        assert decided(store, "other").is_empty()


def test_a_review_is_recorded_as_applied_once(tmp_path: Path) -> None:
    with open_state(tmp_path) as store:
        assert applied_by(store, "plan-1") is None
        with store.transaction() as db:
            record_review(db, "plan-1", "f", "apply-1", "d1")
        assert applied_by(store, "plan-1") == ("apply-1", "d1")
        with pytest.raises(StateError), store.transaction() as db:
            record_review(db, "plan-1", "f", "apply-2", "d2")
        assert applied_by(store, "plan-1") == ("apply-1", "d1")
