"""The one value caster: what files and APIs hold, and canonical plan values, as the Python values written."""

from __future__ import annotations

from datetime import UTC, date, datetime

import polars as pl
import pytest

from reconcile.model.values import FALSE_WORDS, TRUE_WORDS, cast_value, formula_safe, put_at, value_at


@pytest.mark.parametrize(
    ("text", "ftype", "expected"),
    [
        ("true", "bool", True),
        ("false", "bool", False),
        ("2024-05-01", "date", date(2024, 5, 1)),
        ("2024-05-01T09:30:00", "datetime", datetime(2024, 5, 1, 9, 30, tzinfo=UTC)),
        ("2024-05-01T11:30:00+02:00", "datetime", datetime(2024, 5, 1, 9, 30, tzinfo=UTC)),
        ("80", "int", 80),
        ("1.5", "float", 1.5),
        ("80", "float", 80.0),
        ("NO", "string", "NO"),
        ("3f2504e0-4f89-11d3-9a0c-0305e82c3301", "guid", "3f2504e0-4f89-11d3-9a0c-0305e82c3301"),
    ],
)
def test_a_canonical_plan_value_is_cast_to_what_a_connector_writes(text: str, ftype: str, expected: object) -> None:
    cast = cast_value(text, ftype)  # type: ignore[arg-type]
    assert cast == expected
    assert type(cast) is type(expected)
    if isinstance(cast, datetime):
        assert cast.tzinfo is UTC


def test_one_set_of_words_for_true_and_false() -> None:
    assert {"ja", "yes", "true", "1"} <= set(TRUE_WORDS)
    assert {"nei", "no", "false", "0"} <= set(FALSE_WORDS)
    assert not set(TRUE_WORDS) & set(FALSE_WORDS)
    for word in TRUE_WORDS:
        assert cast_value(word.upper(), "bool") is True
    for word in FALSE_WORDS:
        assert cast_value(f" {word} ", "bool") is False
    with pytest.raises(ValueError):
        cast_value("maybe", "bool")


def test_a_dotted_path_in_a_json_body() -> None:
    body: dict[str, object] = {}
    put_at(body, "meta.next.cursor", "abc")
    put_at(body, "data", [1])
    assert body == {"meta": {"next": {"cursor": "abc"}}, "data": [1]}
    assert value_at(body, "meta.next.cursor") == "abc"
    assert value_at(body, "") is body
    assert value_at(body, "data.cursor") is None
    assert value_at(None, "meta") is None


def test_formula_safe_quotes_only_text_that_starts_as_a_formula() -> None:
    frame = pl.DataFrame({"id": ["=1+1", "a-b", None, " =1"], "n": [-2, 1, 2, 3]})
    safe = formula_safe(frame)
    assert safe.rows() == [("'=1+1", -2), ("a-b", 1), (None, 2), (" =1", 3)]
    assert safe.schema == frame.schema
