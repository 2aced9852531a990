"""System files: a company's own system described as data, what it holds and how to reach it.

A system file (``flows/systems/<name>.toml``) is an entity catalogue (:mod:`reconcile.systems.catalogue`
owns the entities and fields) plus a connection part::

    system   = "webshop"
    base_url = "https://shop.example.com/api"   # optional here; a deployment's URL goes in the connections file
    records  = "data"                           # where a page's records sit in the answer; "" = a bare array

    [auth]                                      # bearer | api_key | basic | none
    type      = "bearer"
    token_env = "WEBSHOP_TOKEN"                 # secrets are named by environment variable, never written

    [paging]                                    # page_number | offset | cursor | link_header | none
    type = "page_number"
    page_param = "page"
    size_param = "per_page"
    size = 100

    [entities.Customer]
    key      = "id"                             # the id field; the system assigns it on create
    modified = "updated_at"
    path     = "/customers"                     # GET lists, POST creates; PATCH, PUT and DELETE at path/{id}
    update   = "PUT"                            # PATCH (the default) or PUT, or { method = ..., path = ... }
    bulk     = { create = "/customers/batch", size = 100 }
    [entities.Customer.fields]
    ...

An entity may override ``records`` and ``paging``. A company that exchanges files says ``kind = "files"``
with ``folder`` and ``format`` (json, csv, parquet) instead.

Every ``type``-tagged table (auth, paging) is resolved through a registry (:data:`AUTH_STYLES`,
:data:`PAGING_STYLES`) whose classes declare their keys; the file is checked once, here, and every problem
names the file, the key path and what is valid (with a did-you-mean for a typo). A secret written into the
file is refused without echoing it.

**Precedence.** The connection part may be given or overridden per deployment in the connections file,
since a company's real URL and secrets do not belong in git. For each key: the connections file's
``[<system>]`` table, then the system file, then the defaults. The connections table may hold ``base_url``,
``timeout``, ``limits``, ``auth`` (a whole table, replacing the system file's), the secret names
``token_env``, ``key_env``, ``username_env``, ``password_env`` (replacing that one key of the system file's
auth), and for a file system ``folder`` and ``format``. The shape of the API (paths, paging, verbs, bulk
endpoints) stays in the system file. A system with no table in the connections file is its local sandbox,
whatever ``base_url`` or ``folder`` the system file names (:meth:`SystemFile.connect`).
"""

from __future__ import annotations

import dataclasses
import re
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Literal

from reconcile.errors import ConfigError
from reconcile.systems.catalogue import Catalogue, did_you_mean, parse_catalogue

__all__ = [
    "AUTH_STYLES",
    "FILE_FORMATS",
    "PAGING_STYLES",
    "ApiKeyAuth",
    "Auth",
    "BasicAuth",
    "BearerAuth",
    "Bulk",
    "Connection",
    "CursorPaging",
    "Endpoint",
    "Limits",
    "LinkHeaderPaging",
    "NoAuth",
    "NoPaging",
    "OffsetPaging",
    "PageNumberPaging",
    "Paging",
    "SystemFile",
    "Verb",
    "is_system_file",
    "load_system_file",
    "parse_system_file",
]

Kind = Literal["rest", "files"]
KINDS: tuple[str, ...] = ("rest", "files")
FILE_FORMATS: tuple[str, ...] = ("json", "csv", "parquet")
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_HEADER = re.compile(r"^[A-Za-z0-9!#$%&'*+.^_`|~-]+$")
_RECORDS = re.compile(r"^[A-Za-z0-9_$@-]+(\.[A-Za-z0-9_$@-]+)*$")
_PLACEHOLDER = re.compile(r"\{([^}]*)\}")

# -------------------------------------------------------------------------------------------- typed tables

KeyKind = Literal["text", "int", "first", "number", "env", "header", "param", "records"]


def _key(default: Any = dataclasses.MISSING, kind: KeyKind = "text", doc: str = "") -> Any:
    """A dataclass field that is also a key of a ``type``-tagged table, with how its value is checked."""
    return field(default=default, metadata={"kind": kind, "doc": doc})


def _check_value(kind: KeyKind, value: Any) -> str:
    """What is wrong with ``value`` for a key of ``kind``, or ""."""
    if kind == "int":
        return (
            ""
            if isinstance(value, int) and not isinstance(value, bool) and value > 0
            else "must be a whole number above 0"
        )
    if kind == "first":
        ok = isinstance(value, int) and not isinstance(value, bool) and value in (0, 1)
        return "" if ok else "must be 0 or 1: the number of the first page"
    if kind == "number":
        ok = isinstance(value, int | float) and not isinstance(value, bool) and value > 0
        return "" if ok else "must be a number above 0"
    if not isinstance(value, str) or (not value.strip() and kind != "records"):
        return "must be a non-empty string"
    if kind == "env" and not _ENV_NAME.match(value):
        return f'must be the name of an environment variable (letters, digits, "_"), not "{value}"'
    if kind == "header" and not _HEADER.match(value):
        return f'must be an HTTP header name such as "X-API-Key", not "{value}"'
    if kind == "records" and value and not _RECORDS.match(value):
        return f'must be a dotted path such as "data" or "result.items" ("" for a bare array), not "{value}"'
    if kind == "param" and not _HEADER.match(value):
        return f'must be a query parameter name such as "page", not "{value}"'
    return ""


class _Tagged:
    """A table of a ``type``-tagged config: its dataclass fields are its keys."""

    type: ClassVar[str]

    def problems(self) -> list[tuple[str, str]]:
        """(key, message) for what the keys say together that no single key shows."""
        return []


def _build(
    registry: Mapping[str, type[_Tagged]],
    what: str,
    raw: Any,
    path: str,
    err: Callable[[str, str], None],
    default: str | None = None,
) -> _Tagged | None:
    """The config a ``type``-tagged table describes, or None after reporting what is wrong with it."""
    styles = ", ".join(registry)
    if not isinstance(raw, dict):
        err(path, f'must be a table such as {{ type = "{next(iter(registry))}", ... }}; valid types are {styles}')
        return None
    tag = raw.get("type", default)
    if tag is None:
        err(f"{path}.type", f"missing; valid {what} types are {styles}")
        return None
    if tag not in registry:
        err(
            f"{path}.type",
            f'{what} type "{tag}" is unknown{did_you_mean(str(tag), list(registry))}; valid types are {styles}',
        )
        return None
    cls = registry[tag]
    keys = {f.name: f for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    kwargs: dict[str, Any] = {}
    ok = True
    for name, value in raw.items():
        if name == "type":
            continue
        spec = keys.get(name)
        if spec is None:
            valid = ", ".join(["type", *keys]) if keys else "type"
            hint = did_you_mean(name, list(keys))
            if f"{name}_env" in keys:
                hint = f'; secrets are never written in a file: name the variable that holds it in "{name}_env"'
            err(f"{path}.{name}", f'unknown key for {what} type "{tag}"{hint}; valid keys are {valid}')
            ok = False
            continue
        problem = _check_value(spec.metadata["kind"], value)
        if problem:
            err(f"{path}.{name}", problem)
            ok = False
            continue
        kwargs[name] = value
    for name, spec in keys.items():
        if spec.default is dataclasses.MISSING and name not in raw:
            doc = f" ({spec.metadata['doc']})" if spec.metadata.get("doc") else ""
            err(f"{path}.{name}", f'missing; {what} type "{tag}" requires it{doc}')
            ok = False
    if not ok:
        return None
    built = cls(**kwargs)
    for name, message in built.problems():
        err(f"{path}.{name}" if name else path, message)
        ok = False
    return built if ok else None


# ---------------------------------------------------------------------------------------------------- auth


class Auth(_Tagged):
    """How every call logs in. ``secrets`` maps each secret's role to the key naming its variable."""

    secrets: ClassVar[dict[str, str]] = {}

    def secret_env(self) -> dict[str, str | None]:
        """Each secret's role (``token``, ``key``, ``username``, ``password``) -> its environment variable."""
        return {role: getattr(self, key) for role, key in self.secrets.items()}


@dataclass(frozen=True)
class NoAuth(Auth):
    """No credentials: an open API, or one behind a network boundary."""

    type: ClassVar[str] = "none"


@dataclass(frozen=True)
class BearerAuth(Auth):
    """``Authorization: Bearer <token>``, the token read from ``token_env``."""

    type: ClassVar[str] = "bearer"
    secrets: ClassVar[dict[str, str]] = {"token": "token_env"}
    token_env: str | None = _key(None, "env", "the environment variable that holds the token")


@dataclass(frozen=True)
class ApiKeyAuth(Auth):
    """An API key in a header (``header``, default ``X-API-Key``), the key read from ``key_env``."""

    type: ClassVar[str] = "api_key"
    secrets: ClassVar[dict[str, str]] = {"key": "key_env"}
    header: str = _key("X-API-Key", "header")
    key_env: str | None = _key(None, "env", "the environment variable that holds the key")


@dataclass(frozen=True)
class BasicAuth(Auth):
    """HTTP basic auth, the user name and password read from ``username_env`` and ``password_env``."""

    type: ClassVar[str] = "basic"
    secrets: ClassVar[dict[str, str]] = {"username": "username_env", "password": "password_env"}
    username_env: str | None = _key(None, "env")
    password_env: str | None = _key(None, "env")


AUTH_STYLES: dict[str, type[Auth]] = {c.type: c for c in (BearerAuth, ApiKeyAuth, BasicAuth, NoAuth)}
"""Auth styles by their ``type`` tag; a new style is a class here and a header builder in rest.py."""
SECRET_KEYS = ("token_env", "key_env", "username_env", "password_env")

# -------------------------------------------------------------------------------------------------- paging


class Paging(_Tagged):
    """How a full list is read page by page."""


@dataclass(frozen=True)
class NoPaging(Paging):
    """One call answers every record."""

    type: ClassVar[str] = "none"


@dataclass(frozen=True)
class PageNumberPaging(Paging):
    """``?page=1&per_page=100``, then page 2, ... until a page holds fewer than ``size`` records.

    ``size`` must not be above the most the system sends in one page.
    """

    type: ClassVar[str] = "page_number"
    page_param: str = _key("page", "param")
    size_param: str = _key("per_page", "param")
    size: int = _key(100, "int")
    first_page: int = _key(1, "first")


@dataclass(frozen=True)
class OffsetPaging(Paging):
    """``?offset=0&limit=100``, then offset 100, ... until a page holds fewer than ``limit`` records."""

    type: ClassVar[str] = "offset"
    offset_param: str = _key("offset", "param")
    limit_param: str = _key("limit", "param")
    limit: int = _key(100, "int")


@dataclass(frozen=True)
class CursorPaging(Paging):
    """Each answer names the next page's cursor, in a body field or a header; no cursor, no more pages."""

    type: ClassVar[str] = "cursor"
    cursor_param: str = _key("cursor", "param")
    cursor_field: str | None = _key(None, "records", 'the cursor\'s place in the body, such as "meta.next_cursor"')
    cursor_header: str | None = _key(None, "header", 'the header that holds the cursor, such as "X-Next-Cursor"')
    size_param: str | None = _key(None, "param")
    size: int = _key(100, "int")

    def problems(self) -> list[tuple[str, str]]:
        if (self.cursor_field is None) == (self.cursor_header is None):
            return [("", "needs exactly one of cursor_field (a place in the body) and cursor_header (a header)")]
        return []


@dataclass(frozen=True)
class LinkHeaderPaging(Paging):
    """The next page's URL in the ``Link`` header (RFC 8288, ``rel="next"``); no such link, no more pages."""

    type: ClassVar[str] = "link_header"
    size_param: str | None = _key(None, "param")
    size: int = _key(100, "int")


PAGING_STYLES: dict[str, type[Paging]] = {
    c.type: c for c in (PageNumberPaging, OffsetPaging, CursorPaging, LinkHeaderPaging, NoPaging)
}
"""Paging styles by their ``type`` tag; the connector and the emulator each resolve a style by its tag."""

# ------------------------------------------------------------------------------------------- the endpoints


@dataclass(frozen=True)
class Verb:
    """One write call: its HTTP method and its path (``{id}`` stands for the record's id)."""

    method: str
    path: str

    def url(self, key: str | None = None) -> str:
        return self.path if key is None else self.path.replace("{id}", _quote(key))


def _quote(key: str) -> str:
    from urllib.parse import quote

    return quote(key, safe="")


@dataclass(frozen=True)
class Bulk:
    """An endpoint that takes an array of records; ``size`` records a call at most."""

    create: str | None = None
    update: str | None = None
    size: int = 100


@dataclass(frozen=True)
class Endpoint:
    """How one entity is read and written over HTTP."""

    path: str
    records: str
    paging: Paging
    get: Verb
    create: Verb
    update: Verb
    delete: Verb
    bulk: Bulk | None = None


@dataclass(frozen=True)
class Limits:
    """At most ``calls`` calls in any ``window`` seconds; ``max_errors`` failed calls an hour per endpoint."""

    calls: int | None = None
    window: float = 1.0
    max_errors: int = 20


@dataclass(frozen=True)
class Connection:
    """Where a system lives and how to log in: the system file's connection part, a deployment's on top."""

    kind: Kind = "rest"
    base_url: str | None = None
    auth: Auth = field(default_factory=NoAuth)
    paging: Paging = field(default_factory=NoPaging)
    records: str = ""
    timeout: float = 60.0
    limits: Limits = field(default_factory=Limits)
    folder: Path | None = None
    format: str = "json"


@dataclass(frozen=True)
class SystemFile:
    """A custom system: its catalogue, its connection, and its entities' endpoints (REST systems)."""

    catalogue: Catalogue
    connection: Connection
    endpoints: Mapping[str, Endpoint]
    source: str = ""

    @property
    def name(self) -> str:
        return self.catalogue.system

    @property
    def kind(self) -> Kind:
        return self.connection.kind

    def endpoint(self, entity: str) -> Endpoint:
        ent = self.catalogue.entity(entity)
        if ent is None or ent.name not in self.endpoints:
            raise ConfigError(f'{self.name}: no entity "{entity}"{self.catalogue.suggest(entity)}')
        return self.endpoints[ent.name]

    def connect(self, table: Mapping[str, Any] | None) -> SystemFile:
        """This system with a connections-file table laid over its connection part (see the module docs)."""
        if table is None:
            return self
        where = f"{table.get('_file', 'the connections file')}: {self.name}"
        folder = Path(str(table["_file"])).parent if "_file" in table else Path()
        connection = _override(self.connection, table, where, folder)
        return dataclasses.replace(self, connection=connection)


# ---------------------------------------------------------------------------------------------- the parser

_CONNECTION_KEYS = ("kind", "base_url", "auth", "paging", "records", "timeout", "limits", "folder", "format")
_REST_ONLY = ("base_url", "auth", "paging", "records", "timeout", "limits")
_FILES_ONLY = ("folder", "format")
_ENTITY_KEYS = ("path", "records", "paging", "get", "create", "update", "delete", "bulk")
_CATALOGUE_KEYS = ("system", "description", "entities")
_CATALOGUE_ENTITY_KEYS = ("key", "read_only", "deletable", "modified", "embedded", "description", "api", "fields")
_OVERRIDE_KEYS = ("base_url", "timeout", "limits", "auth", *SECRET_KEYS, "folder", "format")
_VERBS = {"get": ("GET",), "create": ("POST", "PUT"), "update": ("PATCH", "PUT", "POST"), "delete": ("DELETE",)}
_DEFAULT_VERB = {"get": "GET", "create": "POST", "update": "PATCH", "delete": "DELETE"}


def is_system_file(data: Mapping[str, Any]) -> bool:
    """Whether parsed TOML has a connection part (else it is a bare catalogue)."""
    if any(k in data for k in _CONNECTION_KEYS):
        return True
    entities = data.get("entities")
    return isinstance(entities, dict) and any(
        isinstance(e, dict) and any(k in e for k in _ENTITY_KEYS) for e in entities.values()
    )


def load_system_file(path: Path) -> SystemFile:
    """Read and check one system file."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from exc
    except OSError as exc:
        raise ConfigError(f"{path}: cannot be read: {exc.strerror}") from exc
    return parse_system_file(data, str(path), folder=path.parent)


def parse_system_file(data: Mapping[str, Any], where: str, *, folder: Path | None = None) -> SystemFile:
    """Build a system file from parsed TOML; every problem, of either part, names ``where`` and the key path.

    ``folder`` is what a relative ``folder`` key is resolved against (the system file's own folder).
    """
    errors: list[str] = []

    def err(path: str, message: str) -> None:
        errors.append(f"{where}: {path}: {message}")

    for key in data:
        if key not in (*_CATALOGUE_KEYS, *_CONNECTION_KEYS):
            valid = ", ".join((*_CATALOGUE_KEYS, *_CONNECTION_KEYS))
            err(key, f"unknown key{did_you_mean(key, [*_CATALOGUE_KEYS, *_CONNECTION_KEYS])}; valid keys are {valid}")
    kind = data.get("kind", "rest")
    if kind not in KINDS:
        err(
            "kind",
            f'"{kind}" is not a kind of system{did_you_mean(str(kind), list(KINDS))}; valid kinds are rest, files',
        )
        kind = "rest"
    wrong = _REST_ONLY if kind == "files" else _FILES_ONLY
    for key in wrong:
        if key in data:
            err(
                key,
                f'only for a system of kind = "{"rest" if kind == "files" else "files"}"; this one is kind = "{kind}"',
            )
    connection = _connection(data, kind, err, folder or Path())
    catalogue_data: dict[str, Any] = {k: v for k, v in data.items() if k in _CATALOGUE_KEYS}
    raw_entities = data.get("entities")
    endpoints: dict[str, Endpoint] = {}
    if isinstance(raw_entities, dict):
        catalogue_data["entities"] = {}
        for name, raw in raw_entities.items():
            if not isinstance(raw, dict):
                catalogue_data["entities"][name] = raw
                continue
            path = f"entities.{name}"
            for key in raw:
                if key not in (*_CATALOGUE_ENTITY_KEYS, *_ENTITY_KEYS):
                    options = [*_CATALOGUE_ENTITY_KEYS, *_ENTITY_KEYS]
                    err(
                        f"{path}.{key}", f"unknown key{did_you_mean(key, options)}; valid keys are {', '.join(options)}"
                    )
            catalogue_data["entities"][name] = {k: v for k, v in raw.items() if k in _CATALOGUE_ENTITY_KEYS}
            if kind == "files":
                for key in _ENTITY_KEYS:
                    if key in raw:
                        err(f"{path}.{key}", 'only for a system of kind = "rest"; this one is kind = "files"')
                continue
            endpoint = _endpoint(raw, path, connection, err)
            if endpoint is not None:
                endpoints[name] = endpoint
    catalogue: Catalogue | None = None
    try:
        catalogue = parse_catalogue(catalogue_data, where)
    except ConfigError as exc:
        errors.extend(str(exc).splitlines())
    if errors or catalogue is None:
        raise ConfigError("\n".join(dict.fromkeys(errors)))
    return SystemFile(catalogue=catalogue, connection=connection, endpoints=endpoints, source=where)


def _connection(data: Mapping[str, Any], kind: str, err: Callable[[str, str], None], folder: Path) -> Connection:
    conn = Connection(kind="files" if kind == "files" else "rest")
    if kind == "files":
        return _files_part(conn, data, err, folder)
    base_url = data.get("base_url")
    if base_url is not None:
        base_url = _url(base_url, "base_url", err)
    auth = conn.auth
    if "auth" in data:
        built = _build(AUTH_STYLES, "auth", data["auth"], "auth", err)
        auth = built if isinstance(built, Auth) else auth
    paging = conn.paging
    if "paging" in data:
        built = _build(PAGING_STYLES, "paging", data["paging"], "paging", err)
        paging = built if isinstance(built, Paging) else paging
    records = data.get("records", "")
    problem = _check_value("records", records)
    if problem:
        err("records", problem)
        records = ""
    timeout = data.get("timeout", conn.timeout)
    if _check_value("number", timeout):
        err("timeout", "must be a number of seconds above 0")
        timeout = conn.timeout
    limits = _limits(data["limits"], "limits", err) if "limits" in data else conn.limits
    return Connection(
        kind="rest",
        base_url=base_url,
        auth=auth,
        paging=paging,
        records=records,
        timeout=float(timeout),
        limits=limits,
    )


def _files_part(conn: Connection, data: Mapping[str, Any], err: Callable[[str, str], None], folder: Path) -> Connection:
    fmt = data.get("format", "json")
    if fmt not in FILE_FORMATS:
        err(
            "format",
            f'"{fmt}" is not a file format{did_you_mean(str(fmt), list(FILE_FORMATS))}; '
            "valid formats are json, csv, parquet",
        )
        fmt = "json"
    where: Path | None = None
    if "folder" in data:
        raw = data["folder"]
        if not isinstance(raw, str) or not raw.strip():
            err("folder", "must be a non-empty string: the folder that holds one file per entity")
        else:
            where = Path(raw).expanduser()
            where = where if where.is_absolute() else folder / where
    return dataclasses.replace(conn, folder=where, format=str(fmt))


def _url(value: Any, path: str, err: Callable[[str, str], None]) -> str | None:
    if not isinstance(value, str) or not value.startswith(("http://", "https://")):
        err(path, f"must be an http:// or https:// URL, not {value!r}")
        return None
    return value.rstrip("/")


def _limits(raw: Any, path: str, err: Callable[[str, str], None]) -> Limits:
    valid = {"calls": "int", "window": "number", "max_errors": "int"}
    if not isinstance(raw, dict):
        err(path, "must be a table such as { calls = 10, window = 1 } (10 calls a second)")
        return Limits()
    out: dict[str, Any] = {}
    for key, value in raw.items():
        if key not in valid:
            err(
                f"{path}.{key}",
                f"unknown key{did_you_mean(key, list(valid))}; valid keys are calls, window, max_errors",
            )
            continue
        problem = _check_value("int" if valid[key] == "int" else "number", value)
        if problem:
            err(f"{path}.{key}", problem)
            continue
        out[key] = float(value) if key == "window" else value
    return Limits(**out)


def _path(value: Any, path: str, err: Callable[[str, str], None], *, with_id: bool) -> str | None:
    if not isinstance(value, str) or not value.startswith("/"):
        err(path, f'must be a path that starts with "/", such as "/customers", not {value!r}')
        return None
    names = _PLACEHOLDER.findall(value)
    unknown = [n for n in names if n != "id"]
    if unknown:
        err(path, f'"{{{unknown[0]}}}" is not a placeholder; the only one is {{id}}, the record\'s id')
        return None
    if with_id and "id" not in names:
        err(path, f'must hold {{id}} where the record\'s id goes, such as "{value.rstrip("/")}/{{id}}"')
        return None
    if not with_id and names:
        err(path, "takes no {id}: it names the collection, not one record")
        return None
    return value


def _verb(raw: Any, name: str, base: str, path: str, err: Callable[[str, str], None]) -> Verb | None:
    methods = _VERBS[name]
    with_id = name != "create"
    default_path = f"{base.rstrip('/')}/{{id}}" if with_id else base
    if raw is None:
        return Verb(_DEFAULT_VERB[name], default_path)
    if isinstance(raw, str):
        raw = {"method": raw}
    if not isinstance(raw, dict):
        err(path, f"must be a method ({' or '.join(methods)}) or a table {{ method = ..., path = ... }}")
        return None
    for key in raw:
        if key not in ("method", "path"):
            err(f"{path}.{key}", f"unknown key{did_you_mean(key, ['method', 'path'])}; valid keys are method, path")
    method = str(raw.get("method", _DEFAULT_VERB[name])).upper()
    if method not in methods:
        err(
            f"{path}.method" if "path" in raw else path,
            f'"{raw.get("method")}" is not valid here; valid methods are {", ".join(methods)}',
        )
        return None
    target = _path(raw.get("path", default_path), f"{path}.path", err, with_id=with_id)
    return Verb(method, target) if target else None


def _endpoint(raw: Mapping[str, Any], path: str, conn: Connection, err: Callable[[str, str], None]) -> Endpoint | None:
    if "path" not in raw:
        err(
            f"{path}.path",
            'missing; a REST system needs the path of each entity, such as path = "/customers" '
            '(a system that exchanges files says kind = "files")',
        )
        return None
    base = _path(raw["path"], f"{path}.path", err, with_id=False)
    records = raw.get("records", conn.records)
    problem = _check_value("records", records)
    if problem:
        err(f"{path}.records", problem)
    paging = conn.paging
    if "paging" in raw:
        built = _build(PAGING_STYLES, "paging", raw["paging"], f"{path}.paging", err)
        paging = built if isinstance(built, Paging) else paging
    if isinstance(paging, CursorPaging) and paging.cursor_field and not records:
        where = f"{path}.paging" if "paging" in raw else "paging"
        err(
            f"{where}.cursor_field",
            'a bare array has no place for a cursor: say where the records sit (records = "data") or use cursor_header',
        )
    if base is None:
        return None
    verbs = {name: _verb(raw.get(name), name, base, f"{path}.{name}", err) for name in _VERBS}
    bulk = _bulk(raw["bulk"], f"{path}.bulk", err) if "bulk" in raw else None
    if any(v is None for v in verbs.values()) or problem:
        return None
    get, create, update, delete = (verbs[n] for n in ("get", "create", "update", "delete"))
    assert get and create and update and delete
    return Endpoint(base, str(records), paging, get, create, update, delete, bulk)


def _bulk(raw: Any, path: str, err: Callable[[str, str], None]) -> Bulk | None:
    if not isinstance(raw, dict):
        err(path, 'must be a table such as { create = "/customers/batch", size = 100 }')
        return None
    valid = ["create", "update", "size"]
    out: dict[str, Any] = {}
    for key, value in raw.items():
        if key not in valid:
            err(f"{path}.{key}", f"unknown key{did_you_mean(key, valid)}; valid keys are create, update, size")
        elif key == "size":
            if _check_value("int", value):
                err(f"{path}.size", "must be a whole number above 0: the most records one call takes")
            else:
                out["size"] = value
        else:
            checked = _path(value, f"{path}.{key}", err, with_id=False)
            if checked:
                out[key] = checked
    if "create" not in raw and "update" not in raw:
        err(path, "names no endpoint; give create, update or both (a path that takes an array of records)")
        return None
    return Bulk(**out)


# ---------------------------------------------------------------------------------------------- overrides


def _override(conn: Connection, table: Mapping[str, Any], where: str, folder: Path) -> Connection:
    """``conn`` with a connections-file table laid over it; problems name the connections file."""
    errors: list[str] = []

    def err(path: str, message: str) -> None:
        errors.append(f"{where}.{path}: {message}")

    valid = [k for k in _OVERRIDE_KEYS if (k in _FILES_ONLY) == (conn.kind == "files")]
    for key in table:
        if key == "_file":
            continue
        if key not in valid:
            hint = did_you_mean(key, valid)
            if key in ("token", "key", "password", "username", "secret", "api_key"):
                hint = "; secrets are never written here: name the environment variable that holds one in a *_env key"
            elif key in _OVERRIDE_KEYS:
                hint = f' (not for a system of kind = "{conn.kind}")'
            elif key in (*_ENTITY_KEYS, "paging", "records", "kind"):
                hint = "; the shape of the API stays in the system file"
            err(key, f"unknown key{hint}; valid keys are {', '.join(valid)}")
    if conn.kind == "files":
        files = _files_part(conn, {"format": conn.format, **table}, err, folder)
        if errors:
            raise ConfigError("\n".join(errors))
        return files if "folder" in table else dataclasses.replace(files, folder=conn.folder)
    changes: dict[str, Any] = {}
    if "base_url" in table:
        changes["base_url"] = _url(table["base_url"], "base_url", err)
    if "timeout" in table:
        if _check_value("number", table["timeout"]):
            err("timeout", "must be a number of seconds above 0")
        else:
            changes["timeout"] = float(table["timeout"])
    if "limits" in table:
        changes["limits"] = _limits(table["limits"], "limits", err)
    auth = conn.auth
    if "auth" in table:
        built = _build(AUTH_STYLES, "auth", table["auth"], "auth", err)
        auth = built if isinstance(built, Auth) else auth
    for key in SECRET_KEYS:
        if key not in table:
            continue
        if key not in {f.name for f in dataclasses.fields(auth)}:  # type: ignore[arg-type]
            err(key, f'the system\'s auth is "{auth.type}", which takes {_secret_keys(auth)}')
        elif _check_value("env", table[key]):
            err(key, _check_value("env", table[key]))
        else:
            auth = dataclasses.replace(auth, **{key: table[key]})  # type: ignore[type-var]
    changes["auth"] = auth
    if errors:
        raise ConfigError("\n".join(errors))
    return dataclasses.replace(conn, **changes)


def _secret_keys(auth: Auth) -> str:
    keys = list(auth.secrets.values())
    return ", ".join(keys) if keys else "no secrets"
