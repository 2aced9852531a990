"""The one renderer of schema problems: key paths as a person writes them, and what is valid there.

The schema below is made up for the test: a tagged union (``type`` picks the table's other keys), a list of
tables, a table of tables, and a field described for when it is missing.
"""

from __future__ import annotations

from typing import Annotated, Literal

import pydantic
import pytest

from reconcile.config.schema import Schema, key_path, validate_table


class Bearer(Schema):
    type: Literal["bearer"]
    token_env: str


class Basic(Schema):
    type: Literal["basic"]
    username_env: str
    password_env: str


class Step(Schema):
    table_hint = 'a table such as { name = "x" }'

    name: str
    kind: Literal["read", "write"] = pydantic.Field("read", title="kind")


class Root(Schema):
    url: str = pydantic.Field(description="the host every call goes to")
    auth: Annotated[Bearer | Basic, pydantic.Field(discriminator="type")] | None = None
    steps: list[Step] = pydantic.Field(default_factory=list, description="a list of step tables")
    named: dict[str, Step] = pydantic.Field(default_factory=dict)
    mode: Literal["fast", "careful"] = "fast"


@pytest.mark.parametrize(
    ("loc", "path"),
    [
        (("mapping", 3, "merge", 0, 1), "mapping[3].merge[0][1]"),
        (("entities", "Accounts", "fields", "Name", "type"), "entities.Accounts.fields.Name.type"),
        (("exact", "division"), "exact.division"),
        ((), ""),
    ],
)
def test_a_key_path_reads_as_written(loc: tuple[str | int, ...], path: str) -> None:
    assert key_path(loc) == path


PROBLEMS = [
    pytest.param({}, "url: missing; it is required (the host every call goes to)", id="missing-described"),
    pytest.param(
        {"url": "u", "ulr": "u"},
        'ulr: unknown key (did you mean "url"?); valid keys are url, auth, steps, named, mode',
        id="unknown-key",
    ),
    pytest.param(
        {"url": "u", "mode": "fats"},
        "mode: 'fats' is not valid; valid values are fast, careful (did you mean \"fast\"?)",
        id="a-value-not-among-the-valid",
    ),
    pytest.param(
        {"url": "u", "steps": [{"name": "a", "kind": "wirte"}]},
        'steps[0].kind: "wirte" is not a kind (did you mean "write"?); valid kinds are read, write',
        id="a-titled-value",
    ),
    pytest.param({"url": "u", "steps": [3]}, 'steps[0]: must be a table such as { name = "x" }', id="table-hint"),
    pytest.param({"url": "u", "steps": 3}, "steps: must be a list of step tables", id="list-described"),
    pytest.param({"url": "u", "named": {"a": {}}}, "named.a.name: missing; it is required", id="table-of-tables"),
    pytest.param({"url": 3}, "url: 3 is not valid; use a string", id="wrong-type"),
    pytest.param(
        {"url": "u", "auth": {"type": "baerer"}},
        'auth.type: "baerer" is not a type (did you mean "bearer"?); valid types are bearer, basic',
        id="unknown-tag",
    ),
    pytest.param(
        {"url": "u", "auth": {"token_env": "T"}},
        "auth.type: missing; it is required (one of bearer, basic)",
        id="no-tag",
    ),
    pytest.param(
        {"url": "u", "auth": {"type": "basic", "username_env": "U", "password": "p"}},
        'auth.password: unknown key (did you mean "password_env"?); valid keys are type, username_env, '
        'password_env; secrets are never written here: name their environment variable in "password_env"',
        id="the-tag-is-not-in-the-path",
    ),
]


@pytest.mark.parametrize(("data", "expected"), PROBLEMS)
def test_each_problem_names_the_key_path_and_what_is_valid(data: dict[str, object], expected: str) -> None:
    table, problems = validate_table(Root, data, "f.toml")
    assert table is None
    assert f"f.toml: {expected}" in problems, problems


def test_every_problem_is_found_at_once_and_a_place_in_the_file_is_prefixed() -> None:
    _, problems = validate_table(Root, {"url": 3, "mode": "x", "extra": 1}, "c.toml", at=("webshop",))
    assert len(problems) == 3
    assert all(p.startswith("c.toml: webshop.") for p in problems)


def test_a_secret_in_an_unknown_key_is_never_echoed() -> None:
    _, problems = validate_table(Root, {"url": "u", "auth": {"type": "bearer", "token": "s3cret"}}, "f.toml")
    assert problems and "s3cret" not in "".join(problems)
