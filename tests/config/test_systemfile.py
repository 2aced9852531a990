"""System files: checked once, with messages that name the file, the key path and what is valid.

The mistakes are a table of (file text, expected message); each file is a small valid system with one thing
wrong. Then: what a valid file holds, how a connections-file table lays over it, and that the catalogues
(the sandbox systems' and the built-in ones) still load as before.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from reconcile.config.systemfile import connect, load_catalogue_file, load_system_file, parse_system_file
from reconcile.errors import ConfigError
from reconcile.model.styles import ApiKeyAuth, BearerAuth, CursorPaging, NoPaging, PageNumberPaging
from reconcile.systems.catalogues import builtin_catalogue

FLOWS = Path(__file__).resolve().parents[2] / "flows"

GOOD = """
system = "shop"
records = "data"
[auth]
type = "bearer"
token_env = "SHOP_TOKEN"
[paging]
type = "page_number"
[entities.Customer]
key = "id"
path = "/customers"
[entities.Customer.fields]
id = { type = "int", read_only = true }
name = { type = "string", required = true }
"""


def with_(old: str, new: str) -> str:
    assert old in GOOD
    return GOOD.replace(old, new, 1)


MISTAKES = [
    (with_('records = "data"', 'recrods = "data"'), 'shop.toml: recrods: unknown key (did you mean "records"?)'),
    (
        with_('type = "bearer"', 'type = "bearer_token"'),
        'auth.type: auth type "bearer_token" is unknown (did you mean "bearer"?);'
        " valid types are bearer, api_key, basic, none",
    ),
    (
        with_('token_env = "SHOP_TOKEN"', 'token = "abc123"'),
        'auth.token: unknown key for auth type "bearer";'
        ' secrets are never written in a file: name the variable that holds it in "token_env"',
    ),
    (
        with_('token_env = "SHOP_TOKEN"', 'token_env = "shop-token"'),
        'auth.token_env: must be the name of an environment variable (letters, digits, "_"), not "shop-token"',
    ),
    (
        with_('type = "page_number"', 'type = "pages"'),
        'paging.type: paging type "pages" is unknown; valid types are page_number, offset, cursor, link_header, none',
    ),
    (with_('type = "page_number"', 'type = "page_number"\nsize = 0'), "paging.size: must be a whole number above 0"),
    (
        with_('type = "page_number"', 'type = "offset"\npage_param = "p"'),
        'paging.page_param: unknown key for paging type "offset" (did you mean "offset_param"?);'
        " valid keys are type, offset_param, limit_param, limit",
    ),
    (
        with_('type = "page_number"', 'type = "cursor"'),
        "paging: needs exactly one of cursor_field (a place in the body) and cursor_header (a header)",
    ),
    (
        with_('records = "data"', 'records = ""').replace(
            'type = "page_number"', 'type = "cursor"\ncursor_field = "next"'
        ),
        "paging.cursor_field: a bare array has no place for a cursor",
    ),
    (
        with_('path = "/customers"', ""),
        "entities.Customer.path: missing;"
        ' a REST system needs the path of each entity, such as path = "/customers"'
        ' (a system that exchanges files says kind = "files")',
    ),
    (
        with_('path = "/customers"', 'path = "customers"'),
        'entities.Customer.path: must be a path that starts with "/", such as "/customers", not \'customers\'',
    ),
    (
        with_('path = "/customers"', 'path = "/customers"\nupdate = "POST2"'),
        'entities.Customer.update: "POST2" is not valid here; valid methods are PATCH, PUT, POST',
    ),
    (
        with_('path = "/customers"', 'path = "/customers"\ndelete = { path = "/customers/{key}" }'),
        'entities.Customer.delete.path: "{key}" is not a placeholder; the only one is {id}',
    ),
    (
        with_('path = "/customers"', 'path = "/customers"\nupdate = { method = "PUT", path = "/customers" }'),
        'entities.Customer.update.path: must hold {id} where the record\'s id goes, such as "/customers/{id}"',
    ),
    (
        with_('path = "/customers"', 'path = "/customers"\nbulk = { size = 10 }'),
        "entities.Customer.bulk: names no endpoint; give create, update or both",
    ),
    (
        with_('path = "/customers"', 'path = "/customers"\nbulk = { create = "/customers/batch", sise = 10 }'),
        'entities.Customer.bulk.sise: unknown key (did you mean "size"?)',
    ),
    (
        with_('path = "/customers"', 'path = "/customers"\npaht = "/c"'),
        'entities.Customer.paht: unknown key (did you mean "path"?)',
    ),
    (with_('key = "id"', 'key = "Id"'), 'entities.Customer.key: "Id" must name one of the entity\'s fields'),
    (
        with_('name = { type = "string", required = true }', 'name = { type = "text", required = true }'),
        'entities.Customer.fields.name.type: "text" is not a type;'
        " valid types are string, int, float, bool, date, datetime, guid",
    ),
    (
        with_('name = { type = "string", required = true }', 'name = { type = "string", requird = true }'),
        'entities.Customer.fields.name.requird: unknown key (did you mean "required"?)',
    ),
    (
        with_('system = "shop"', 'system = "shop"\nkind = "file"'),
        'kind: "file" is not a kind of system (did you mean "files"?); valid kinds are rest, files',
    ),
    (
        with_('system = "shop"', 'system = "shop"\nkind = "files"'),
        'records: only for a system of kind = "rest"; this one is kind = "files"',
    ),
    (
        with_('system = "shop"', 'system = "shop"\nkind = "files"'),
        'entities.Customer.path: only for a system of kind = "rest"; this one is kind = "files"',
    ),
    (
        with_('system = "shop"', 'system = "shop"\nbase_url = "shop.example.com"'),
        "base_url: must be an http:// or https:// URL, not 'shop.example.com'",
    ),
    (
        with_('system = "shop"', 'system = "shop"\n[limits]\ncalls = "ten"'),
        "limits.calls: must be a whole number above 0",
    ),
    (
        with_('name = { type = "string", required = true }', 'name = { type = "string" }\n[limits]\ncals = 3'),
        'limits.cals: unknown key (did you mean "calls"?); valid keys are calls, window, max_errors',
    ),
    (with_('system = "shop"', 'system = "shop"\ntimeout = 0'), "timeout: must be a number of seconds above 0"),
    (
        with_('system = "shop"', 'system = "shop"\nformat = "csv"'),
        'format: only for a system of kind = "files"; this one is kind = "rest"',
    ),
    (
        with_('type = "bearer"\n', ""),
        "auth.type: missing; valid auth types are bearer, api_key, basic, none",
    ),
    (
        with_('type = "page_number"', 'type = "cursor"\ncursor_field = "next"\ncursor_header = "X-Next"'),
        "paging: needs exactly one of cursor_field (a place in the body) and cursor_header (a header)",
    ),
    (
        with_('path = "/customers"', 'path = "/customers"\nupdate = { method = "GET", path = "/customers/{id}" }'),
        'entities.Customer.update.method: "GET" is not valid here; valid methods are PATCH, PUT, POST',
    ),
    (
        with_('path = "/customers"', 'path = "/customers"\ncreate = { path = "/customers/{id}" }'),
        "entities.Customer.create.path: takes no {id}: it names the collection, not one record",
    ),
    (
        with_('path = "/customers"', 'path = "/customers"\nbulk = "/customers/batch"'),
        'entities.Customer.bulk: must be a table such as { create = "/customers/batch", size = 100 }',
    ),
]


@pytest.mark.parametrize(("text", "message"), MISTAKES, ids=[m[1][:48] for m in MISTAKES])
def test_a_mistake_is_refused_naming_file_key_path_and_what_is_valid(text: str, message: str) -> None:
    with pytest.raises(ConfigError) as refused:
        parse_system_file(tomllib.loads(text), "shop.toml")
    assert message in str(refused.value)
    assert all(line.startswith("shop.toml: ") for line in str(refused.value).splitlines())


def test_every_mistake_is_reported_at_once() -> None:
    text = with_('records = "data"', 'recrods = "data"').replace('path = "/customers"', 'path = "customers"')
    with pytest.raises(ConfigError) as refused:
        parse_system_file(tomllib.loads(text), "shop.toml")
    assert len(str(refused.value).splitlines()) == 2


def test_a_secret_is_never_echoed() -> None:
    with pytest.raises(ConfigError) as refused:
        parse_system_file(tomllib.loads(with_('token_env = "SHOP_TOKEN"', 'token = "abc123"')), "shop.toml")
    assert "abc123" not in str(refused.value)
    spec = parse_system_file(tomllib.loads(GOOD), "shop.toml")
    with pytest.raises(ConfigError) as also:
        connect(spec, {"token": "abc123", "_file": "conn.toml"})
    assert "abc123" not in str(also.value) and "secrets are never written here" in str(also.value)


def test_a_valid_file_and_its_defaults() -> None:
    spec = parse_system_file(tomllib.loads(GOOD), "shop.toml")
    ep = spec.endpoint("customer")
    assert spec.kind == "rest" and spec.connection.base_url is None
    assert spec.connection.auth == BearerAuth(token_env="SHOP_TOKEN")
    assert ep.paging == PageNumberPaging() and ep.records == "data"
    assert (ep.create.method, ep.create.path) == ("POST", "/customers")
    assert (ep.update.method, ep.update.url("4 2")) == ("PATCH", "/customers/4%202")
    assert (ep.delete.method, ep.get.path) == ("DELETE", "/customers/{id}")
    assert ep.bulk is None
    assert spec.catalogue.entities["Customer"].required_fields() == ["name"]


def test_an_entity_overrides_paging_and_records() -> None:
    text = with_('path = "/customers"', 'path = "/customers"\nrecords = ""\npaging = { type = "none" }')
    ep = parse_system_file(tomllib.loads(text), "shop.toml").endpoint("Customer")
    assert ep.records == "" and ep.paging == NoPaging()


def test_the_connections_file_lays_over_the_system_file() -> None:
    spec = parse_system_file(
        tomllib.loads(GOOD.replace('system = "shop"', 'system = "shop"\nbase_url = "https://a.example"')), "shop.toml"
    )
    # a key of the connections file wins; what it leaves out stays as the system file says
    over = connect(spec, {"base_url": "https://b.example/api/", "token_env": "PROD_TOKEN", "_file": "conn.toml"})
    assert over.connection.base_url == "https://b.example/api"
    assert over.connection.auth == BearerAuth(token_env="PROD_TOKEN")
    assert over.endpoint("Customer") == spec.endpoint("Customer")  # the API's shape stays in the system file
    assert connect(spec, None) is spec
    whole = connect(spec, {"auth": {"type": "api_key", "key_env": "K"}, "_file": "conn.toml"})
    assert whole.connection.auth == ApiKeyAuth(key_env="K")
    mistakes = {
        "bse_url": 'conn.toml: shop.bse_url: unknown key (did you mean "base_url"?)',
        "key_env": 'conn.toml: shop.key_env: the system\'s auth is "bearer", which takes token_env',
        "paging": "conn.toml: shop.paging: unknown key; the shape of the API stays in the system file",
        "folder": 'conn.toml: shop.folder: unknown key (not for a system of kind = "rest")',
    }
    for key, message in mistakes.items():
        with pytest.raises(ConfigError) as refused:
            connect(spec, {key: "X", "_file": "conn.toml"})
        assert message in str(refused.value)


def test_a_file_system_takes_its_folder_from_either_file(tmp_path: Path) -> None:
    text = 'system = "drop"\nkind = "files"\nformat = "csv"\nfolder = "exchange"\n' + GOOD.split("[entities", 1)[
        1
    ].join(["[entities", ""]).replace('path = "/customers"\n', "")
    (tmp_path / "drop.toml").write_text(text)
    spec = load_system_file(tmp_path / "drop.toml")
    assert spec.kind == "files" and spec.connection.format == "csv"
    assert spec.connection.folder == tmp_path / "exchange"  # relative to the system file
    over = connect(spec, {"folder": "/srv/drop", "format": "parquet", "_file": str(tmp_path / "c.toml")})
    assert over.connection.folder == Path("/srv/drop") and over.connection.format == "parquet"
    beside = connect(spec, {"folder": "drop", "_file": str(tmp_path / "conf" / "c.toml")})
    assert beside.connection.folder == tmp_path / "conf" / "drop"  # relative to the connections file
    assert beside.connection.format == "csv"  # what the connections file leaves out stays
    with pytest.raises(ConfigError) as refused:
        connect(spec, {"base_url": "https://x.example", "_file": "c.toml"})
    assert (
        'c.toml: drop.base_url: unknown key (not for a system of kind = "files"); valid keys are folder, format'
        in str(refused.value)
    )


@pytest.mark.parametrize("name", ["webshop", "crm", "erp", "pms"])
def test_the_sandbox_systems_each_page_and_log_in_their_own_way(name: str) -> None:
    spec = load_system_file(FLOWS / "systems" / f"{name}.toml")
    assert load_catalogue_file(FLOWS / "systems" / f"{name}.toml") == spec.catalogue
    styles = {
        "webshop": ("page_number", "bearer"),
        "crm": ("cursor", "api_key"),
        "erp": ("offset", "basic"),
        "pms": ("link_header", "bearer"),
    }
    paging = {ep.paging.type for ep in spec.endpoints.values()}
    assert (paging, spec.connection.auth.type) == ({styles[name][0]}, styles[name][1])
    if name == "crm":
        assert isinstance(spec.connection.paging, CursorPaging)


def test_the_builtin_catalogues_load_unchanged() -> None:
    for system in ("exact", "poweroffice"):
        assert builtin_catalogue(system).entities


@pytest.mark.parametrize(
    ("name", "title"), [("webshop", "Webshop"), ("crm", "Custom CRM"), ("erp", "ERP"), ("pms", "PMS")]
)
def test_a_system_file_names_its_system_as_people_say_it(name: str, title: str) -> None:
    assert load_system_file(FLOWS / "systems" / f"{name}.toml").catalogue.title == title


def test_a_system_file_without_a_title_is_named_by_its_system() -> None:
    assert parse_system_file(tomllib.loads(GOOD), "shop.toml").catalogue.title == "shop"
    titled = parse_system_file(tomllib.loads(f'title = "The shop"\n{GOOD}'), "shop.toml")
    assert titled.catalogue.title == "The shop"
