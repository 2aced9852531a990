"""Catalogue files: each broken catalogue is refused with the file, the key path and what is valid."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from reconcile.config.catalogue import parse_catalogue
from reconcile.config.systemfile import load_system_file
from reconcile.errors import ConfigError
from reconcile.systems.catalogues import builtin_catalogue

GOOD = """
system = "erp"
[entities.Accounts]
key = "ID"
modified = "Modified"
fields.ID = { type = "guid", read_only = true }
fields.Name = { required = true, max_length = 50 }
fields.Type = { values = ["A", "D"] }
fields.Modified = { type = "datetime", read_only = true }
[entities.Orders]
key = "ID"
embedded = { entity = "Lines", parent_field = "Order", field = "Lines" }
fields.ID = { type = "guid", read_only = true }
fields.Account = { type = "guid", ref = "Accounts" }
[entities.Lines]
key = "ID"
fields.ID = { type = "guid", read_only = true }
fields.Order = { type = "guid", ref = "Orders" }
"""


def with_(old: str, new: str) -> str:
    assert old in GOOD
    return GOOD.replace(old, new, 1)


def test_a_good_catalogue_loads_with_defaults_applied() -> None:
    catalogue = parse_catalogue(tomllib.loads(GOOD), "erp.toml")
    accounts = catalogue.entities["Accounts"]
    assert catalogue.system == "erp" and catalogue.source == "erp.toml"
    assert accounts.key == "ID" and accounts.modified == "Modified" and accounts.deletable
    assert accounts.fields["Name"].required and accounts.fields["Name"].max_length == 50
    assert accounts.fields["Name"].type == "string"
    assert accounts.fields["Type"].values == ("A", "D")
    assert catalogue.entities["Orders"].embedded is not None
    assert catalogue.entities["Orders"].embedded.parent_field == "Order"
    assert catalogue.entities["Orders"].fields["Account"].ref == "Accounts"


def test_a_read_only_entity_is_not_deletable_unless_it_says_so() -> None:
    catalogue = parse_catalogue(
        tomllib.loads(with_('key = "ID"\nmodified', 'key = "ID"\nread_only = true\nmodified')), "x"
    )
    assert not catalogue.entities["Accounts"].deletable


BROKEN = [
    pytest.param(
        with_('system = "erp"', 'sytem = "erp"'),
        'sytem: unknown key (did you mean "system"?); valid keys are system, description, entities',
        id="typo-top-level",
    ),
    pytest.param(with_('system = "erp"', ""), "system: a system name is required", id="no-system"),
    pytest.param('system = "erp"\n', "entities: at least one entity table is required", id="no-entities"),
    pytest.param('system = "erp"\nentities = 3\n', "entities: at least one entity table is required", id="entities-3"),
    pytest.param(
        with_('modified = "Modified"', 'modifed = "Modified"'),
        'entities.Accounts.modifed: unknown key (did you mean "modified"?); valid keys are key, read_only,',
        id="typo-in-an-entity",
    ),
    pytest.param(
        with_("max_length = 50", "maxlength = 50"),
        'entities.Accounts.fields.Name.maxlength: unknown key (did you mean "max_length"?)',
        id="typo-in-a-field",
    ),
    pytest.param(
        with_("fields.Name = { required = true, max_length = 50 }", 'fields.Name = "string"'),
        'entities.Accounts.fields.Name: must be a table such as { type = "string" }',
        id="field-not-a-table",
    ),
    pytest.param(
        with_('type = "datetime"', 'type = "DateTime"'),
        'entities.Accounts.fields.Modified.type: "DateTime" is not a type (did you mean "datetime"?); '
        "valid types are string, int, float, bool, date, datetime, guid",
        id="bad-type",
    ),
    pytest.param(
        with_("max_length = 50", 'format = "mail"'),
        'entities.Accounts.fields.Name.format: "mail" is not a format (did you mean "email"?); valid formats are',
        id="bad-format",
    ),
    pytest.param(
        with_("required = true", 'required = "yes"'),
        "entities.Accounts.fields.Name.required: 'yes' is not valid; use true or false",
        id="bad-bool",
    ),
    pytest.param(
        with_("max_length = 50", 'max_length = "50"'),
        "entities.Accounts.fields.Name.max_length: '50' is not valid; use a whole number",
        id="bad-number",
    ),
    pytest.param(
        with_('values = ["A", "D"]', "values = [1, 2]"),
        "entities.Accounts.fields.Type.values[0]: 1 is not valid; use a string",
        id="values-not-strings",
    ),
    pytest.param(
        with_('key = "ID"\nmodified', "modified"),
        "entities.Accounts.key: missing; it is required (the name of the field that identifies a record)",
        id="no-key",
    ),
    pytest.param(
        with_('key = "ID"', 'key = "Id"'),
        'entities.Accounts.key: "Id" must name one of the entity\'s fields (did you mean "ID"?)',
        id="key-names-no-field",
    ),
    pytest.param(
        with_('modified = "Modified"', 'modified = "Modifed"'),
        'entities.Accounts.modified: "Modifed" is not a field of Accounts (did you mean "Modified"?)',
        id="modified-names-no-field",
    ),
    pytest.param(
        with_('modified = "Modified"', 'modified = "Modified"\nlabel = ["Name", "Typ"]'),
        'entities.Accounts.label[1]: "Typ" is not a field of Accounts (did you mean "Type"?)',
        id="label-names-no-field",
    ),
    pytest.param(
        with_('modified = "Modified"', 'modified = "Modified"\nlabel = "Name"'),
        "entities.Accounts.label: must be a list of the fields a person knows a record by",
        id="label-not-a-list",
    ),
    pytest.param(
        with_('ref = "Accounts"', 'ref = "Account"'),
        'entities.Orders.fields.Account.ref: "Account" is not an entity of erp (did you mean "Accounts"?)',
        id="ref-names-no-entity",
    ),
    pytest.param(
        with_('entity = "Lines"', 'entity = "Line"'),
        'entities.Orders.embedded.entity: "Line" is not an entity of erp (did you mean "Lines"?)',
        id="embedded-names-no-entity",
    ),
    pytest.param(
        with_(', field = "Lines"', ""),
        "entities.Orders.embedded.field: missing; it is required",
        id="embedded-half-given",
    ),
    pytest.param(
        with_("embedded = {", "api = 3\nembedded = {"),
        "entities.Orders.api: must be a table",
        id="api-not-a-table",
    ),
]


@pytest.mark.parametrize(("text", "expected"), BROKEN)
def test_a_broken_catalogue_is_refused_naming_file_and_key_path(text: str, expected: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_catalogue(tomllib.loads(text), "erp.toml")
    assert expected in str(caught.value)
    assert all(line.startswith("erp.toml: ") for line in str(caught.value).splitlines())


def test_every_problem_of_the_schema_is_reported_at_once() -> None:
    text = with_("required = true", 'required = "yes"').replace('type = "datetime"', 'type = "text"')
    with pytest.raises(ConfigError) as caught:
        parse_catalogue(tomllib.loads(text), "erp.toml")
    assert len(str(caught.value).splitlines()) == 2


def test_fields_that_are_not_a_table_are_refused() -> None:
    with pytest.raises(ConfigError, match=r"erp.toml: entities.A.fields: must be a table"):
        parse_catalogue({"system": "erp", "entities": {"A": {"key": "ID", "fields": 3}}}, "erp.toml")


def test_a_catalogue_marks_unique_fields_and_the_decimals_a_float_keeps() -> None:
    """Issue 9, items 6 and 12: ``unique`` and ``decimals`` are facts of a field."""
    text = with_(
        "fields.Type = {",
        'fields.Code = { unique = true }\nfields.Limit = { type = "float", decimals = 2 }\nfields.Type = {',
    )
    accounts = parse_catalogue(tomllib.loads(text), "erp.toml").entities["Accounts"]
    assert accounts.fields["Code"].unique and accounts.unique_fields() == ["Code"]
    assert accounts.fields["Limit"].decimals == 2
    assert accounts.fields["Name"].decimals is None and not accounts.fields["Name"].unique


@pytest.mark.parametrize(
    ("field", "expected"),
    [
        (
            '{ type = "int", decimals = 2 }',
            'entities.Accounts.fields.Limit.decimals: only a float field keeps decimals; "Limit" is int',
        ),
        (
            '{ type = "float", decimals = -1 }',
            "entities.Accounts.fields.Limit.decimals: -1 is not valid; use a whole number of decimals from 0 to 15",
        ),
        ('{ unique = "yes" }', "entities.Accounts.fields.Limit.unique: 'yes' is not valid; use true or false"),
    ],
)
def test_unique_and_decimals_are_checked(field: str, expected: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_catalogue(
            tomllib.loads(with_("fields.Type = {", f"fields.Limit = {field}\nfields.Type = {{")), "erp.toml"
        )
    assert f"erp.toml: {expected}" in str(caught.value)


def test_the_shipped_catalogues_mark_the_codes_their_systems_keep_unique() -> None:
    exact, poweroffice = builtin_catalogue("exact"), builtin_catalogue("poweroffice")
    for catalogue, entity, field in (
        (exact, "Items", "Code"),
        (exact, "VATCodes", "Code"),
        (poweroffice, "Product", "Code"),
        (poweroffice, "Departments", "Code"),
        (poweroffice, "Customers", "ExternalImportReference"),
    ):
        assert catalogue.entities[entity].fields[field].unique, (catalogue.system, entity, field)
    assert exact.entities["SalesOrderLines"].fields["AmountFC"].decimals == 2


def test_a_catalogue_names_its_system_as_people_say_it_or_by_its_system_name() -> None:
    titled = parse_catalogue(tomllib.loads(f'title = "Our ERP"\n{GOOD}'), "erp.toml")
    assert titled.title == "Our ERP"
    assert parse_catalogue(tomllib.loads(GOOD), "erp.toml").title == "erp"
    with pytest.raises(ConfigError) as refused:
        parse_catalogue(tomllib.loads(f"title = 3\n{GOOD}"), "erp.toml")
    assert "erp.toml: title" in str(refused.value)


def test_the_shipped_systems_are_named_as_people_say_them() -> None:
    assert builtin_catalogue("exact").title == "Exact Online"
    assert builtin_catalogue("poweroffice").title == "PowerOffice Go"


def test_a_catalogue_lists_the_fields_a_person_knows_a_record_by() -> None:
    catalogue = parse_catalogue(
        tomllib.loads(with_('modified = "Modified"', 'modified = "Modified"\nlabel = ["Name"]')), "x"
    )
    assert catalogue.entities["Accounts"].label == ("Name",)
    assert catalogue.entities["Orders"].label == ()


def test_the_shipped_catalogues_label_the_entities_of_the_flows() -> None:
    """Every entity a shipped flow reads or writes says what a person knows its records by, in fields it has."""
    poweroffice, exact = builtin_catalogue("poweroffice"), builtin_catalogue("exact")
    assert poweroffice.entities["SalesOrders"].label == (
        "SalesOrderNo",
        "SalesOrderDate",
        "TotalAmount",
        "CurrencyCode",
    )
    assert poweroffice.entities["SalesOrderLines"].label[0] == "sesam_SalesOrderId"  # the order, by its number
    for catalogue in (poweroffice, exact):
        for entity in catalogue.entities.values():
            assert entity.label, (catalogue.system, entity.name)
            assert all(name in entity.fields for name in entity.label)
    for path in sorted((Path(__file__).resolve().parents[2] / "flows" / "systems").glob("*.toml")):
        catalogue = load_system_file(path).catalogue
        assert all(entity.label for entity in catalogue.entities.values()), path


def test_the_shipped_catalogues_head_their_fields_in_words() -> None:
    accounts = builtin_catalogue("exact").entities["Accounts"].fields
    assert accounts["Code"].header == "Account code"  # the first clause of its description
    assert accounts["AddressLine1"].header == "Address line 1"  # no description: its name in words
    assert accounts["VATNumber"].header == "VAT number"
    orders = builtin_catalogue("poweroffice").entities["SalesOrders"].fields
    assert orders["CustomerId"].header == "Customer"
    # no field of a shipped catalogue is headed by a note about it rather than a name for it
    notes = ("primary key", "derived from", "assigned by", "defaults to", "int64", "shadows", "required in")
    headers = [
        f.header.casefold()
        for system in ("exact", "poweroffice")
        for entity in builtin_catalogue(system).entities.values()
        for f in entity.fields.values()
    ]
    assert not [h for h in headers if h.startswith(notes)]
