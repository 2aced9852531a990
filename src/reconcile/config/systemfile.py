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
:data:`PAGING_STYLES`, in :mod:`reconcile.model.styles`) whose classes declare their keys, each table
checked by :mod:`reconcile.config.styles`; the file is checked once, here, and every problem names the
file, the key path and what is valid (with a did-you-mean for a typo). A secret written into the file is
refused without echoing it.

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
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from reconcile.config.catalogue import parse_catalogue
from reconcile.config.styles import build_style, check_value
from reconcile.config.toml import read_toml
from reconcile.errors import ConfigError
from reconcile.model.catalogue import Catalogue
from reconcile.model.names import did_you_mean
from reconcile.model.styles import AUTH_STYLES, PAGING_STYLES, SECRET_KEYS, Auth, CursorPaging, Paging
from reconcile.model.systemfile import FILE_FORMATS, KINDS, Bulk, Connection, Endpoint, Limits, SystemFile, Verb

__all__ = ["connect", "is_system_file", "load_catalogue_file", "load_system_file", "parse_system_file"]

# ---------------------------------------------------------------------------------------------- the parser

_PLACEHOLDER = re.compile(r"\{([^}]*)\}")
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
    return parse_system_file(read_toml(path), str(path), folder=path.parent)


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
        built = build_style(AUTH_STYLES, "auth", data["auth"], "auth", err)
        auth = built if isinstance(built, Auth) else auth
    paging = conn.paging
    if "paging" in data:
        built = build_style(PAGING_STYLES, "paging", data["paging"], "paging", err)
        paging = built if isinstance(built, Paging) else paging
    records = data.get("records", "")
    problem = check_value("records", records)
    if problem:
        err("records", problem)
        records = ""
    timeout = data.get("timeout", conn.timeout)
    if check_value("number", timeout):
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
        problem = check_value("int" if valid[key] == "int" else "number", value)
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
    problem = check_value("records", records)
    if problem:
        err(f"{path}.records", problem)
    paging = conn.paging
    if "paging" in raw:
        built = build_style(PAGING_STYLES, "paging", raw["paging"], f"{path}.paging", err)
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
            if check_value("int", value):
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
        if check_value("number", table["timeout"]):
            err("timeout", "must be a number of seconds above 0")
        else:
            changes["timeout"] = float(table["timeout"])
    if "limits" in table:
        changes["limits"] = _limits(table["limits"], "limits", err)
    auth = conn.auth
    if "auth" in table:
        built = build_style(AUTH_STYLES, "auth", table["auth"], "auth", err)
        auth = built if isinstance(built, Auth) else auth
    for key in SECRET_KEYS:
        if key not in table:
            continue
        if key not in {f.name for f in dataclasses.fields(auth)}:  # type: ignore[arg-type]
            err(key, f'the system\'s auth is "{auth.type}", which takes {_secret_keys(auth)}')
        elif check_value("env", table[key]):
            err(key, check_value("env", table[key]))
        else:
            auth = dataclasses.replace(auth, **{key: table[key]})  # type: ignore[type-var]
    changes["auth"] = auth
    if errors:
        raise ConfigError("\n".join(errors))
    return dataclasses.replace(conn, **changes)


def _secret_keys(auth: Auth) -> str:
    keys = list(auth.secrets.values())
    return ", ".join(keys) if keys else "no secrets"


def load_catalogue_file(path: Path) -> Catalogue:
    """Read and check one catalogue TOML file; a system file's catalogue part, checked whole with the rest."""
    data = read_toml(path)
    if is_system_file(data):
        return parse_system_file(data, str(path), folder=path.parent).catalogue
    return parse_catalogue(data, str(path))


def connect(spec: SystemFile, table: Mapping[str, Any] | None) -> SystemFile:
    """``spec`` with a connections-file table laid over its connection part (see the module docs)."""
    if table is None:
        return spec
    where = f"{table.get('_file', 'the connections file')}: {spec.name}"
    folder = Path(str(table["_file"])).parent if "_file" in table else Path()
    connection = _override(spec.connection, table, where, folder)
    return dataclasses.replace(spec, connection=connection)
