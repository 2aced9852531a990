"""The flow loader: each broken flow file is refused with the file, the key path and what is valid."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from reconcile.config.flow import load_flow, parse_flow
from reconcile.errors import FlowError

HEAD = 'name = "f"\nsource = "src"\ntarget = "tgt"\n'

GOOD = (
    HEAD
    + """
[defaults]
conflict = "source"

[[mapping]]
name = "accounts"
source = "Customers"
target = "Accounts"
merge = [[["Code", "Code"]], [["Name", "Name"], ["City", "City"]]]
properties = [
  { source = "Name", target = "Name" },
  { source = "MailAddress.City", target = "City", direction = "forward" },
  { value = "A", target = "Type" },
]

[[mapping]]
name = "contacts"
source = "Persons"
target = "Contacts"
conflict = "manual"
properties = [{ source = "CustomerId", target = "Account", ref = "accounts" }]
"""
)


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "x.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_a_good_flow_loads_with_defaults_applied(tmp_path: Path) -> None:
    flow = load_flow(_write(tmp_path, GOOD))
    assert flow.path.endswith("x.toml")
    accounts, contacts = flow.mappings
    assert accounts.conflict == "source"
    assert contacts.conflict == "manual"
    assert accounts.merge == ((("Code", "Code"),), (("Name", "Name"), ("City", "City")))
    assert accounts.properties[1].source == "MailAddress.City"
    assert not accounts.properties[1].syncs_back
    assert accounts.properties[2].is_fixed
    assert contacts.refs == ("accounts",)
    assert flow.warnings == ()


MAPPING = '[[mapping]]\nname = "a"\nsource = "S"\ntarget = "T"\n'

BROKEN = [
    pytest.param(
        HEAD + MAPPING + 'proprties = [{ source = "A", target = "A" }]\n',
        'mapping[0].proprties: unknown key (did you mean "properties"?); valid keys are',
        id="typo-in-a-key",
    ),
    pytest.param(
        'name = "f"\nsorce = "src"\ntarget = "tgt"\n' + MAPPING,
        'sorce: unknown key (did you mean "source"?)',
        id="typo-in-a-top-level-key",
    ),
    pytest.param(
        HEAD + MAPPING + 'conflict = "newer"\n',
        "mapping[0].conflict: 'newer' is not valid; valid values are source, target, newest, manual",
        id="bad-policy",
    ),
    pytest.param(
        HEAD + '[defaults]\ndelete = "remove"\n' + MAPPING,
        "defaults.delete: 'remove' is not valid; valid values are report, propagate, unlink",
        id="bad-default-policy",
    ),
    pytest.param(
        HEAD + MAPPING + 'merge = [["Code", "Code"]]\n',
        "mapping[0].merge[0][0]: 'Code' is not a [source, target] pair of field names",
        id="merge-missing-a-level",
    ),
    pytest.param(
        HEAD + MAPPING + 'merge = "Code"\n',
        "mapping[0].merge: must be a list of combinations, each a list of [source, target] pairs",
        id="merge-not-a-list",
    ),
    pytest.param(
        HEAD + MAPPING + 'merge = [[["Code"]]]\n',
        "mapping[0].merge[0][0]: ['Code'] is not a [source, target] pair",
        id="merge-half-a-pair",
    ),
    pytest.param(
        HEAD + MAPPING + 'properties = [{ source = "A", target = "A", ref = "acounts" }]\n',
        'mapping[0].properties[0].ref: "acounts" is not a mapping of this flow; valid mappings are a',
        id="ref-to-unknown-mapping",
    ),
    pytest.param(
        HEAD
        + MAPPING
        + 'properties = [{ source = "B", target = "B", ref = "b" }]\n'
        + '[[mapping]]\nname = "b"\nsource = "S2"\ntarget = "T2"\n'
        + 'properties = [{ source = "A", target = "A", ref = "a" }]\n',
        "mapping[0]: references form a cycle: a -> b -> a",
        id="cycle",
    ),
    pytest.param(
        HEAD + MAPPING + 'properties = [{ source = "A", target = "A", type = "text" }]\n',
        "mapping[0].properties[0].type: 'text' is not valid; valid values are string, int",
        id="bad-property-type",
    ),
    pytest.param(
        HEAD + MAPPING + 'properties = [{ source = "A", value = "x", target = "A" }]\n',
        'mapping[0].properties[0]: give exactly one of "source"',
        id="source-and-value",
    ),
    pytest.param(
        HEAD + MAPPING + 'properties = [{ source = "A", target = "A" }, { source = "B", target = "A" }]\n',
        'mapping[0].properties: target field "A" is mapped twice',
        id="target-mapped-twice",
    ),
    pytest.param(
        HEAD + MAPPING + MAPPING.replace('"S"', '"S2"'),
        'mapping[1].name: "a" is already the name of mapping[0]; names are unique',
        id="duplicate-name",
    ),
    pytest.param(
        HEAD + MAPPING + "[mapping.guards]\nmax_deletes = -1\n",
        "mapping[0].guards.max_deletes: -1 is not valid; use a whole number of records",
        id="bad-guard",
    ),
    pytest.param(
        HEAD + MAPPING + "blank_overwrites = 1\n",
        "mapping[0].blank_overwrites: 1 is not valid; use true or false",
        id="bad-bool",
    ),
    pytest.param(HEAD, "mapping: at least one [[mapping]] table is required", id="no-mapping"),
    pytest.param('source = "src"\ntarget = "tgt"\n' + MAPPING, "name: a non-empty string is required", id="no-name"),
    pytest.param(HEAD + "[[mapping]\n", "not valid TOML", id="bad-toml"),
    pytest.param(
        HEAD + MAPPING + 'conflict = "Newest"\n',
        "mapping[0].conflict: 'Newest' is not valid; valid values are source, target, newest, manual "
        '(did you mean "newest"?)',
        id="policy-did-you-mean",
    ),
    pytest.param(
        HEAD + MAPPING + 'properties = [{ source = "A", target = "A", direction = "back" }]\n',
        "mapping[0].properties[0].direction: 'back' is not valid; valid values are both, forward",
        id="bad-direction",
    ),
    pytest.param(
        HEAD + MAPPING + 'properties = [{ target = "A" }]\n',
        'mapping[0].properties[0]: give exactly one of "source" (a field path) or "value"',
        id="neither-source-nor-value",
    ),
    pytest.param(
        HEAD + MAPPING + 'properties = [{ value = "x", target = "A", ref = "a" }]\n',
        "mapping[0].properties[0].ref: a fixed value cannot be a reference",
        id="fixed-value-with-ref",
    ),
    pytest.param(
        HEAD + MAPPING + 'properties = [{ value = 2024-01-01, target = "A" }]\n',
        "mapping[0].properties[0].value: a fixed value must be a string, a number or a boolean",
        id="fixed-value-a-date",
    ),
    pytest.param(
        HEAD + MAPPING + 'properties = ["A"]\n',
        'mapping[0].properties[0]: must be a table such as { source = "Name", target = "Name", type = "string" }',
        id="property-not-a-table",
    ),
    pytest.param(
        HEAD + MAPPING + 'properties = "A"\n',
        "mapping[0].properties: must be a list of property tables",
        id="properties-not-a-list",
    ),
    pytest.param(
        HEAD + MAPPING + "merge = [[]]\n",
        "mapping[0].merge[0]: must be a non-empty list of [source, target] pairs",
        id="merge-empty-combination",
    ),
    pytest.param(
        HEAD + MAPPING + "[mapping.guards]\nmax_delete = 3\n",
        'mapping[0].guards.max_delete: unknown key (did you mean "max_deletes"?); valid keys are max_creates,',
        id="typo-in-a-guard",
    ),
    pytest.param(
        HEAD + "[defaults.guards]\nmax_update_share = 1.5\n" + MAPPING,
        "defaults.guards.max_update_share: 1.5 is not valid; use a share between 0 and 1",
        id="bad-default-share",
    ),
    pytest.param(HEAD + "defaults = 3\n" + MAPPING, "defaults: must be a table", id="defaults-not-a-table"),
    pytest.param(HEAD + "mapping = [3]\n", "mapping[0]: must be a table", id="mapping-not-a-table"),
    pytest.param(HEAD + "description = 3\n" + MAPPING, "description: 3 is not valid; use a string", id="bad-text"),
    pytest.param(
        HEAD
        + MAPPING
        + 'properties = [{ source = "A", target = "A" }]\n'
        + MAPPING.replace('"a"', '"b"')
        + ('properties = [{ source = "A", target = "A", ref = "A" }]\n'),
        'mapping[1].properties[0].ref: "A" is not a mapping of this flow (did you mean "a"?); valid mappings are a, b',
        id="ref-did-you-mean",
    ),
]


UNSAFE_NAMES = ["../../escape", "a/b", "a\\\\b", ".hidden", "-rf", "x" * 101, "two words", "run:1"]


@pytest.mark.parametrize("name", UNSAFE_NAMES)
def test_a_flow_name_that_cannot_name_a_folder_as_it_is_is_refused(tmp_path: Path, name: str) -> None:
    """The flow's name names its run folders under the report directory: nothing may lead out of it."""
    path = _write(tmp_path, GOOD.replace('name = "f"', f"name = {name!r}".replace("'", '"'), 1))
    with pytest.raises(FlowError) as caught:
        load_flow(path)
    assert caught.value.messages == [
        f"{path}: name: {name!r} cannot name the run folders: use letters, digits, '-', '_' and '.', not starting "
        "with '.' or '-' (at most 100 characters), e.g. \"crm-to-exact\""
    ]


@pytest.mark.parametrize("name", ["crm-to-exact", "kunder_æøå", "flow.2", "F1"])
def test_a_flow_name_of_letters_digits_dashes_underscores_and_dots_loads(tmp_path: Path, name: str) -> None:
    assert load_flow(_write(tmp_path, GOOD.replace('name = "f"', f'name = "{name}"', 1))).name == name


@pytest.mark.parametrize(("text", "expected"), BROKEN)
def test_a_broken_flow_is_refused_naming_file_and_key_path(tmp_path: Path, text: str, expected: str) -> None:
    path = _write(tmp_path, text)
    with pytest.raises(FlowError) as caught:
        load_flow(path)
    assert expected in str(caught.value)
    assert all(m.startswith(f"{path}: ") for m in caught.value.messages)


def test_every_problem_is_reported_at_once() -> None:
    data = {
        "name": "f",
        "source": "s",
        "target": "t",
        "mapping": [{"name": "a", "source": "S", "target": "T", "conflict": "x", "delete": "y"}],
    }
    with pytest.raises(FlowError) as caught:
        parse_flow(data, "flows/f.toml")
    assert len(caught.value.messages) == 2


def test_an_unreadable_file_is_a_flow_error(tmp_path: Path) -> None:
    with pytest.raises(FlowError, match="cannot be read"):
        load_flow(tmp_path / "missing.toml")


def test_a_duplicated_mapping_is_folded_with_a_warning(tmp_path: Path) -> None:
    twice = HEAD + MAPPING + 'properties = [{ source = "A", target = "A" }]\n'
    twice += twice.removeprefix(HEAD).replace('name = "a"', 'name = "a2"')
    flow = load_flow(_write(tmp_path, twice))
    assert [m.name for m in flow.mappings] == ["a"]
    (warning,) = flow.warnings
    assert 'mapping[1]: mapping "a2" repeats mapping "a" (S -> T) exactly; folded into one' in warning


def test_mappings_that_differ_only_in_a_setting_are_not_folded(tmp_path: Path) -> None:
    twice = HEAD + MAPPING + 'properties = [{ source = "A", target = "A" }]\n'
    twice += twice.removeprefix(HEAD).replace('name = "a"', 'name = "a2"') + "blank_overwrites = true\n"
    flow = load_flow(_write(tmp_path, twice))
    assert [m.name for m in flow.mappings] == ["a", "a2"]
    assert flow.warnings == ()


def test_a_mapping_may_say_its_merge_keys_compare_as_written() -> None:
    """Issue 9, item 5: merge keys compare without regard to case unless the mapping says otherwise."""
    text = GOOD.replace('target = "Accounts"\n', 'target = "Accounts"\nmerge_case_sensitive = true\n', 1)
    accounts, contacts = parse_flow(tomllib.loads(text), "x.toml").mappings
    assert accounts.merge_case_sensitive and not contacts.merge_case_sensitive
    with pytest.raises(FlowError, match=r"x.toml: mapping\[0\].merge_case_sensitive: 'yes' is not valid"):
        parse_flow(tomllib.loads(text.replace("= true", '= "yes"', 1)), "x.toml")


def test_a_mapping_or_the_defaults_may_ask_for_first_links_to_be_reviewed() -> None:
    """Issue 10: merge_mode = "review" proposes a first link; "auto", the default, makes it."""
    accounts, contacts = parse_flow(tomllib.loads(GOOD), "x.toml").mappings
    assert (accounts.merge_mode, contacts.merge_mode) == ("auto", "auto")
    text = GOOD.replace('conflict = "source"\n', 'conflict = "source"\nmerge_mode = "review"\n', 1)
    text = text.replace('conflict = "manual"\n', 'conflict = "manual"\nmerge_mode = "auto"\n', 1)
    accounts, contacts = parse_flow(tomllib.loads(text), "x.toml").mappings
    assert (accounts.merge_mode, contacts.merge_mode) == ("review", "auto")
    with pytest.raises(FlowError) as caught:
        parse_flow(tomllib.loads(HEAD + MAPPING + 'merge_mode = "ask"\n'), "x.toml")
    assert "x.toml: mapping[0].merge_mode: 'ask' is not valid; valid values are auto, review" in str(caught.value)
