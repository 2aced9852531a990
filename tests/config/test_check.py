"""The flow checker: a flow held against small inline catalogues, one finding per table row.

The two catalogues below are tiny on purpose. ``shop`` is the source: Customers (with a nested MailAddress and
a read-only Created), Orders (whose CustomerId references Customers). ``erp`` is the target: Accounts (Name
required, Type limited to A or D, City writable), Contacts (Account required and referencing Accounts, City
read-only), Orders (OrderedBy required, referencing Accounts) and Departments (read-only entity).
"""

from __future__ import annotations

import tomllib

import pytest

from reconcile.config.catalogue import parse_catalogue
from reconcile.config.check import Finding, check_flow, raise_on_errors
from reconcile.config.flow import parse_flow
from reconcile.errors import FlowError
from reconcile.model.catalogue import Catalogue
from reconcile.systems.catalogues import builtin_catalogue, catalogue_path

SHOP = """
system = "shop"
[entities.Customers]
key = "Id"
fields.Id = { type = "int", read_only = true }
fields.Code = {}
fields.Name = {}
fields.Email = {}
fields."MailAddress.City" = {}
fields."MailAddress.CountryCode" = {}
fields.Created = { type = "datetime", read_only = true }
[entities.Orders]
key = "Id"
fields.Id = { type = "guid", read_only = true }
fields.CustomerId = { type = "int", ref = "Customers" }
fields.Total = { type = "float" }
"""

ERP = """
system = "erp"
[entities.Accounts]
key = "ID"
fields.ID = { type = "guid", read_only = true }
fields.Code = {}
fields.Name = { required = true }
fields.City = {}
fields.Type = { values = ["A", "D"] }
fields.Size = { type = "int" }
[entities.Contacts]
key = "ID"
fields.ID = { type = "guid", read_only = true }
fields.Account = { type = "guid", required = true, ref = "Accounts" }
fields.Name = {}
fields.City = { read_only = true }
[entities.Orders]
key = "ID"
fields.ID = { type = "guid", read_only = true }
fields.OrderedBy = { type = "guid", required = true, ref = "Accounts" }
fields.Contact = { type = "guid", ref = "Contacts" }
fields.Amount = { type = "float" }
[entities.Departments]
key = "ID"
read_only = true
fields.ID = { type = "guid", read_only = true }
fields.Code = { read_only = true }
"""

CATALOGUES: dict[str, Catalogue] = {
    c.system: c for c in (parse_catalogue(tomllib.loads(SHOP), "shop"), parse_catalogue(tomllib.loads(ERP), "erp"))
}

ACCOUNTS = """
[[mapping]]
name = "accounts"
source = "Customers"
target = "Accounts"
merge = [[["Code", "Code"]]]
properties = [{ source = "Name", target = "Name" }, { source = "MailAddress.City", target = "City" }]
"""


def flow_text(*mappings: str, source: str = "shop", target: str = "erp") -> str:
    return f'name = "x"\nsource = "{source}"\ntarget = "{target}"\n' + "".join(mappings)


def mapping(source: str, target: str, *, name: str = "m", merge: str = "", properties: str = "") -> str:
    text = f'\n[[mapping]]\nname = "{name}"\nsource = "{source}"\ntarget = "{target}"\n'
    if merge:
        text += f"merge = {merge}\n"
    if properties:
        text += f"properties = [{properties}]\n"
    return text


def check(text: str) -> list[Finding]:
    return check_flow(parse_flow(tomllib.loads(text), "flows/x.toml"), CATALOGUES)


def test_a_sound_flow_has_nothing_to_say() -> None:
    assert check(flow_text(ACCOUNTS)) == []


def test_entities_match_without_regard_to_case() -> None:
    assert check(flow_text(ACCOUNTS.replace('"Accounts"', '"accounts"'))) == []


ERRORS = [
    pytest.param(
        flow_text(ACCOUNTS, source="shopp"),
        'flows/x.toml: source = "shopp": unknown system (did you mean "shop"?); valid systems are erp, shop',
        id="unknown-system",
    ),
    pytest.param(
        flow_text(mapping("Customers", "Acounts", properties='{ source = "Name", target = "Name" }')),
        'flows/x.toml: mapping[0].target = "Acounts": no such entity in erp (did you mean "Accounts"?)',
        id="unknown-entity-did-you-mean",
    ),
    pytest.param(
        flow_text(mapping("Invoices", "Accounts", properties='{ source = "Name", target = "Name" }')),
        'mapping[0].source = "Invoices": no such entity in shop; valid entities are Customers, Orders',
        id="unknown-entity-what-is-valid",
    ),
    pytest.param(
        flow_text(ACCOUNTS.replace('target = "Name" }', 'target = "Nmae" }')),
        'mapping[0].properties[0].target = "Nmae": no such field in erp Accounts (did you mean "Name"?)',
        id="unknown-target-field",
    ),
    pytest.param(
        flow_text(ACCOUNTS.replace('source = "MailAddress.City"', 'source = "MailAddress.Cty"')),
        'mapping[0].properties[1].source = "MailAddress.Cty": no such field in shop Customers '
        '(did you mean "MailAddress.City"?)',
        id="unknown-dotted-field",
    ),
    pytest.param(
        flow_text(ACCOUNTS.replace('source = "MailAddress.City"', 'source = "MailAddress"')),
        'mapping[0].properties[1].source = "MailAddress": is an object in shop Customers, not a field; '
        "name one of its fields: MailAddress.City, MailAddress.CountryCode",
        id="object-instead-of-field",
    ),
    pytest.param(
        flow_text(ACCOUNTS.replace('[["Code", "Code"]]', '[["Code", "Cod"]]')),
        'mapping[0].merge[0][0][1] = "Cod": no such field in erp Accounts (did you mean "Code"?)',
        id="unknown-merge-field",
    ),
    pytest.param(
        flow_text(ACCOUNTS.replace('[["Code", "Code"]]', '[["Code", "Code"]], [["Mail", "Name"]]')),
        'mapping[0].merge[1][0][0] = "Mail": no such field in shop Customers (did you mean "Email"?)',
        id="unknown-field-in-second-combination",
    ),
    pytest.param(
        flow_text(ACCOUNTS.replace("properties = [", 'properties = [{ value = "X", target = "Type" }, ')),
        'mapping[0].properties[0].value = "X": is not a value Type accepts; valid values are A, D',
        id="fixed-value-not-allowed",
    ),
    pytest.param(
        flow_text(ACCOUNTS.replace("properties = [", 'properties = [{ value = "big", target = "Size" }, ')),
        'mapping[0].properties[0].value = "big": Size holds a whole number',
        id="fixed-value-wrong-type",
    ),
]


@pytest.mark.parametrize(("text", "expected"), ERRORS)
def test_errors_name_file_key_path_and_what_is_valid(text: str, expected: str) -> None:
    errors = [str(f) for f in check(text) if f.level == "error"]
    assert any(expected in e for e in errors), errors


CONTACTS = mapping(
    "Customers",
    "Contacts",
    name="contacts",
    merge='[[["Email", "Name"]]]',
    properties='{ source = "Name", target = "Name" }, { source = "Code", target = "Account", ref = "accounts" }',
)

WARNINGS = [
    pytest.param(
        flow_text(mapping("Customers", "Departments", name="deps")),
        'mapping[0]: "deps" can link nothing: erp Departments is read-only and the mapping has no merge '
        "rule; its creates will be rejected",
        id="read-only-target-no-merge",
    ),
    pytest.param(
        flow_text(mapping("Customers", "Departments", name="deps", merge='[[["Code", "Code"]]]')),
        '"deps" links only: erp Departments is read-only, so its creates are rejected',
        id="read-only-target-with-merge",
    ),
    pytest.param(
        flow_text(ACCOUNTS.replace('{ source = "Name", target = "Name" }, ', "")),
        "mapping[0]: Accounts.Name is required on create and nothing maps it: creates will be rejected",
        id="required-field-unmapped",
    ),
    pytest.param(
        flow_text(mapping("Customers", "Accounts", name="a", merge='[[["Code", "Code"]]]')),
        '"a" has no properties: it can link and create records but syncs no values',
        id="no-properties",
    ),
    pytest.param(
        flow_text(mapping("Orders", "Contacts", name="odd")),
        '"odd" pairs shop Orders with erp Contacts, but no field joins them',
        id="nothing-joins-them",
    ),
    pytest.param(
        flow_text(ACCOUNTS, CONTACTS.replace('target = "Name" }', 'target = "City" }')),
        'mapping[1].properties[0].target = "City": is read-only in erp: synced from the target only',
        id="read-only-target-field",
    ),
    pytest.param(
        flow_text(ACCOUNTS.replace('source = "MailAddress.City"', 'source = "Created"')),
        'mapping[0].properties[1].source = "Created": is read-only in shop: changes made in erp are not written back',
        id="read-only-source-field",
    ),
    pytest.param(
        flow_text(
            ACCOUNTS,
            CONTACTS,
            mapping(
                "Orders",
                "Orders",
                name="orders",
                properties='{ source = "CustomerId", target = "OrderedBy", ref = "contacts" }',
            ),
        ),
        'mapping[2].properties[0].ref = "contacts": mapping "contacts" has target erp Contacts, '
        "but OrderedBy holds the id of erp Accounts",
        id="ref-to-the-wrong-entity",
    ),
    pytest.param(
        flow_text(
            ACCOUNTS,
            mapping(
                "Orders",
                "Orders",
                name="orders",
                properties='{ source = "CustomerId", target = "OrderedBy" }',
            ),
        ),
        'mapping[1].properties[0].source = "CustomerId": holds an id of shop Customers and erp OrderedBy '
        "an id of Accounts, but the property has no ref: the id would be copied untranslated; "
        'add ref = "accounts"',
        id="id-without-ref",
    ),
    pytest.param(
        flow_text(ACCOUNTS, ACCOUNTS.replace('name = "accounts"', 'name = "accounts-again"')),
        'flows/x.toml: mapping[1]: mapping "accounts-again" repeats mapping "accounts" '
        "(Customers -> Accounts) exactly; folded into one",
        id="duplicated-mapping-folded",
    ),
]


@pytest.mark.parametrize(("text", "expected"), WARNINGS)
def test_warnings_say_what_a_mapping_cannot_do(text: str, expected: str) -> None:
    findings = check(text)
    assert [str(f) for f in findings if f.level == "error"] == []
    warnings = [str(f) for f in findings if f.level == "warning"]
    assert any(expected in w for w in warnings), warnings
    raise_on_errors(findings)  # warnings alone never stop a run


def test_a_mapping_that_can_link_nothing_says_only_that() -> None:
    findings = check(flow_text(mapping("Customers", "Departments", name="deps")))
    assert len(findings) == 1


def test_errors_come_before_warnings_and_raise_together() -> None:
    text = flow_text(
        mapping("Customers", "Departments", name="deps"),
        ACCOUNTS.replace('target = "Name" }', 'target = "Nmae" }').replace('"Code", "Code"', '"Code", "Cod"'),
    )
    findings = check(text)
    assert [f.level for f in findings] == ["error", "error", "warning", "warning"]
    with pytest.raises(FlowError) as caught:
        raise_on_errors(findings)
    assert len(caught.value.messages) == 2
    assert all(m.startswith("flows/x.toml: mapping[1].") for m in caught.value.messages)


def test_an_unknown_system_leaves_its_side_unchecked() -> None:
    findings = check(flow_text(ACCOUNTS, target="nowhere"))
    assert [f.path for f in findings] == ["target"]


def test_a_finding_reads_file_key_path_value_and_message() -> None:
    finding = Finding(
        "error",
        "mapping[0].source",
        'no such entity in erp (did you mean "Accounts"?)',
        file="flows/x.toml",
        value="Acounts",
    )
    assert str(finding) == (
        'flows/x.toml: mapping[0].source = "Acounts": no such entity in erp (did you mean "Accounts"?)'
    )
    assert str(Finding("warning", "mapping[1]", "has no properties")) == "mapping[1]: has no properties"


@pytest.mark.parametrize("system", ["exact", "poweroffice"])
def test_the_builtin_catalogues_load(system: str) -> None:
    if not catalogue_path(system).exists():
        pytest.skip(f"{system}.toml is not written yet")
    catalogue = builtin_catalogue(system)
    assert catalogue.system == system
    assert catalogue.entities


def test_a_unique_field_that_no_merge_rule_compares_is_a_warning() -> None:
    """Issue 9, item 6: a create whose unique value the target holds is rejected; the checker says so early."""
    erp = parse_catalogue(tomllib.loads(ERP.replace("fields.Code = {}", "fields.Code = { unique = true }", 1)), "erp")
    catalogues = {**CATALOGUES, "erp": erp}
    props = '{ source = "Name", target = "Name" }, { source = "Code", target = "Code" }'
    unmerged = flow_text(mapping("Customers", "Accounts", name="a", properties=props))
    merged = flow_text(mapping("Customers", "Accounts", name="a", properties=props, merge='[[["Code", "Code"]]]'))
    said = [str(f) for f in check_flow(parse_flow(tomllib.loads(unmerged), "flows/x.toml"), catalogues)]
    assert (
        'flows/x.toml: mapping[0].properties[1].target = "Code": is unique in erp Accounts and no merge rule '
        "compares it: a create whose Code a record there already holds is rejected, never linked "
        '(add merge = [[["Code", "Code"]]] to link it)'
    ) in said
    assert check_flow(parse_flow(tomllib.loads(merged), "flows/x.toml"), catalogues) == []


def test_required_fields_nothing_maps_are_one_warning_per_mapping() -> None:
    """Issue 10: a mapping that can create nothing is one problem, said once, naming the mapping, entity and fields."""
    erp = parse_catalogue(tomllib.loads(ERP.replace("fields.Code = {}", "fields.Code = { required = true }", 1)), "erp")
    text = flow_text(mapping("Customers", "Accounts", name="a", properties='{ source = "City", target = "City" }'))
    said = [str(f) for f in check_flow(parse_flow(tomllib.loads(text), "flows/x.toml"), {**CATALOGUES, "erp": erp})]
    unmapped = [s for s in said if "required on create" in s]
    assert unmapped == [
        "flows/x.toml: mapping[0]: Accounts.Code and Accounts.Name are required on create and nothing maps them: "
        'creates will be rejected; "a" can create no record until the flow maps them'
    ]
