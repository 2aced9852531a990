"""System files: a company's own system described as data, what it holds and how to reach it.

A system file (``flows/systems/<name>.toml``) is an entity catalogue (:mod:`reconcile.config.catalogue` owns
the entities and fields) plus a connection part::

    system   = "webshop"
    title    = "Webshop"                        # the system as people call it, in the workbook's words
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
    path     = "/customers"                     # the endpoint's keys: reconcile.config.endpoints
    [entities.Customer.fields]
    ...

An entity may override ``records`` and ``paging``. A company that exchanges files says ``kind = "files"``
with ``folder`` and ``format`` (json, csv, parquet) instead, and for CSV and JSON files as people send them
``separator`` (CSV only: one ASCII character, ``","`` unless given), ``encoding`` (a text encoding Python
knows, ``"utf-8"`` unless given) and ``bom`` (whether a new file starts with a byte-order mark; unless
given, only a ``utf-8-sig``, ``utf-16`` or ``utf-32`` one does) (:class:`~reconcile.model.systemfile.TextSettings`).

The file is checked once, in two steps, as every configuration file is (:mod:`reconcile.config.schema`):
the schema (:class:`SystemFileSchema`) checks each key, each ``type``-tagged table (auth, paging) read as the
style it names (:mod:`reconcile.config.styles`); then plain code checks what the keys say together (a key of
the other kind of system, an entity without a path, a cursor with no place in a bare array, the catalogue's
references). Every problem names the file, the key path and what is valid (with a did-you-mean for a typo).
A secret written into the file is refused without echoing it.

**Precedence.** The connection part may be given or overridden per deployment in the connections file,
since a company's real URL and secrets do not belong in git. For each key: the connections file's
``[<system>]`` table, then the system file, then the defaults. The connections table may hold ``base_url``,
``timeout``, ``limits``, ``auth`` (a whole table, replacing the system file's), the secret names
``token_env``, ``key_env``, ``username_env``, ``password_env`` (replacing that one key of the system file's
auth), and for a file system ``folder``, ``format``, ``separator``, ``encoding`` and ``bom`` (:class:`RestOverride`,
:class:`FilesOverride`). The
shape of the API (paths, paging, verbs, bulk endpoints) stays in the system file. A REST system with no table
in the connections file is its local sandbox, whatever ``base_url`` the system file names; a files system is
the ``folder`` its system file names, and its sandbox copy only when it names none.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, ClassVar

import pydantic

from reconcile.config.catalogue import CatalogueSchema, catalogue_problems, parse_catalogue
from reconcile.config.connections import SOURCE_KEY
from reconcile.config.endpoints import EndpointSchema
from reconcile.config.schema import Schema, is_text, must, problem, validate_table
from reconcile.config.styles import AuthTable, PagingTable
from reconcile.config.toml import read_toml
from reconcile.errors import ConfigError
from reconcile.model.catalogue import Catalogue
from reconcile.model.names import did_you_mean
from reconcile.model.styles import SECRET_KEYS, Count, CursorPaging, EnvName, NoAuth, NoPaging, RecordsPath
from reconcile.model.systemfile import FILE_FORMATS, KINDS, Connection, Kind, Limits, SystemFile, TextSettings

# ------------------------------------------------------------------------------------- the connection part


def _url(value: Any) -> str:
    if not isinstance(value, str) or not value.startswith(("http://", "https://")):
        raise problem(f"must be an http:// or https:// URL, not {value!r}")
    return value.rstrip("/")


def _folder(value: Any, info: pydantic.ValidationInfo) -> Path:
    """``~`` expanded; a relative folder is taken from the folder of the file that names it."""
    if not is_text(value):
        raise problem("must be a non-empty string: the folder that holds one file per entity")
    path = Path(value).expanduser()
    return path if path.is_absolute() else Path((info.context or {}).get("folder", ".")) / path


def _above_zero(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and value > 0


def _one_of(choices: tuple[str, ...], noun: str, plural: str) -> pydantic.BeforeValidator:
    """A check that a value is one of ``choices``: ``"file" is not a kind of system (did you mean ...)``."""
    valid = ", ".join(choices)
    return must(
        lambda v: v in choices,
        lambda v: f'"{v}" is not {noun}{did_you_mean(str(v), list(choices))}; valid {plural} are {valid}',
    )


ENCODINGS = ("utf-8", "utf-8-sig", "utf-16", "utf-32", "latin-1", "cp1252", "iso-8859-15", "ascii")
"""Encodings named in the words of a problem with ``encoding`` (any text encoding Python knows is valid)."""


def _separator(value: Any) -> str:
    shown = json.dumps(value, ensure_ascii=False)
    if not isinstance(value, str) or len(value) != 1:
        size = f"is {len(value)} characters" if isinstance(value, str) else "is not text"
        raise problem(f'{shown} {size}; the separator is one character, such as ";" or "\\t" (a tab)')
    if not value.isascii() or value in '"\r\n':
        raise problem(f"{shown} cannot split a CSV line; use an ASCII character other than a quote or a line break")
    return value


def _encoding(value: Any) -> str:
    if not is_text(value):
        raise problem(f"must be the name of a text encoding, such as {', '.join(ENCODINGS[:5])}")
    try:
        "".encode(value)  # a LookupError for a name Python does not know, and for codecs that are not text
    except LookupError:
        raise problem(
            f'"{value}" is not a text encoding{did_you_mean(value, ENCODINGS)}; '
            f"valid encodings are those Python knows, such as {', '.join(ENCODINGS)}"
        ) from None
    return str(value)


Url = Annotated[str, pydantic.BeforeValidator(_url)]
"""An http:// or https:// URL, without a trailing slash."""
Seconds = Annotated[float, must(_above_zero, "must be a number of seconds above 0")]
Folder = Annotated[Path, pydantic.BeforeValidator(_folder)]
FileFormat = Annotated[str, _one_of(FILE_FORMATS, "a file format", "formats")]
Separator = Annotated[str, pydantic.BeforeValidator(_separator)]
Encoding = Annotated[str, pydantic.BeforeValidator(_encoding)]
TEXT_KEYS = ("separator", "encoding", "bom")
"""The keys of a files system that say how its files are written as text."""


def text_settings(table: pydantic.BaseModel, text: TextSettings) -> TextSettings:
    """``text`` with the separator, encoding and bom that ``table`` gives."""
    given = {key: getattr(table, key) for key in TEXT_KEYS if getattr(table, key) is not None}
    return dataclasses.replace(text, **given)


def text_problems(table: pydantic.BaseModel, file_format: str, at: str) -> list[str]:
    """The text keys ``table`` gives that a file of ``file_format`` has no use for, a line each (``at`` + key)."""
    takes = {"csv": TEXT_KEYS, "json": ("encoding", "bom")}.get(file_format, ())
    wrong = [key for key in TEXT_KEYS if getattr(table, key) is not None and key not in takes]
    for_what = {"separator": 'format = "csv"'}
    return [
        f'{at}{key}: only for {for_what.get(key, "CSV and JSON files")}; this system\'s format is "{file_format}"'
        for key in wrong
    ]


class LimitsSchema(Schema):
    """At most ``calls`` calls in any ``window`` seconds; ``max_errors`` failed calls an hour per endpoint."""

    table_hint = "a table such as { calls = 10, window = 1 } (10 calls a second)"

    calls: Count | None = None
    window: Annotated[float, must(_above_zero, "must be a number above 0")] = 1.0
    max_errors: Count = 20

    def to_limits(self) -> Limits:
        return Limits(calls=self.calls, window=self.window, max_errors=self.max_errors)


class SystemFileSchema(CatalogueSchema):
    """A system file: a catalogue whose entity tables may hold their endpoints, and the connection part."""

    # a catalogue's entity tables with their endpoints' keys: a narrower dict than the catalogue's, which mypy
    # (dicts being invariant) does not allow
    entities: Annotated[
        dict[str, EndpointSchema],
        must(lambda v: isinstance(v, dict) and bool(v), "at least one entity table is required"),
    ] = pydantic.Field(default_factory=dict)  # type: ignore[assignment]
    kind: Annotated[Kind, _one_of(KINDS, "a kind of system", "kinds")] = "rest"
    base_url: Url | None = None
    auth: AuthTable | None = None
    paging: PagingTable | None = None
    records: RecordsPath = ""
    timeout: Seconds = 60.0
    limits: LimitsSchema | None = None
    folder: Folder | None = None
    format: FileFormat = "json"
    separator: Separator | None = None
    encoding: Encoding | None = None
    bom: bool | None = None

    def to_connection(self) -> Connection:
        if self.kind == "files":
            text = text_settings(self, TextSettings())
            return Connection(kind="files", folder=self.folder, format=self.format, text=text)
        return Connection(
            kind="rest",
            base_url=self.base_url,
            auth=self.auth or NoAuth(),
            paging=self.paging or NoPaging(),
            records=self.records,
            timeout=self.timeout,
            limits=self.limits.to_limits() if self.limits is not None else Limits(),
        )

    def problems(self, connection: Connection, where: str) -> list[str]:
        """What the keys say together that does not hold, each problem a line naming ``where``."""
        other: Kind = "files" if self.kind == "rest" else "rest"
        only = f'only for a system of kind = "{other}"; this one is kind = "{self.kind}"'
        problems = [f"{where}: {key}: {only}" for key in KIND_KEYS[other] if key in self.model_fields_set]
        if self.kind == "files":
            problems += text_problems(self, self.format, f"{where}: ")
        for name, entity in self.entities.items():
            at = f"{where}: entities.{name}"
            if self.kind == "files":
                given = [key for key in EndpointSchema.endpoint_keys() if key in entity.model_fields_set]
                problems += [f"{at}.{key}: {only}" for key in given]
            elif entity.path is None:
                problems.append(
                    f"{at}.path: missing; a REST system needs the path of each entity, such as path = "
                    '"/customers" (a system that exchanges files says kind = "files")'
                )
            else:
                endpoint = entity.to_endpoint(connection)
                paging = endpoint.paging
                if isinstance(paging, CursorPaging) and paging.cursor_field and not endpoint.records:
                    place = f"{at}.paging" if entity.paging is not None else f"{where}: paging"
                    problems.append(
                        f"{place}.cursor_field: a bare array has no place for a cursor: say where the records "
                        'sit (records = "data") or use cursor_header'
                    )
        problems += catalogue_problems(self.system, self.entities, where)
        return list(dict.fromkeys(problems))


# ------------------------------------------------------------------------------------------------ overrides


class OverrideSchema(Schema):
    """A system's table in the connections file: a deployment's connection laid over the system file's."""

    kind: ClassVar[Kind]

    @classmethod
    def unknown_key(cls, key: str) -> str:
        valid = cls.valid_keys()
        if key in ("token", "key", "password", "username", "secret", "api_key"):
            hint = "; secrets are never written here: name the environment variable that holds one in a *_env key"
        elif key in (*RestOverride.valid_keys(), *FilesOverride.valid_keys()):
            hint = f' (not for a system of kind = "{cls.kind}")'
        elif key in (*EndpointSchema.endpoint_keys(), "kind"):
            hint = "; the shape of the API stays in the system file"
        else:
            hint = did_you_mean(key, valid)
        return f"unknown key{hint}; valid keys are {', '.join(valid)}"

    def problems(self, connection: Connection, where: str) -> list[str]:
        """What the table says that the system's connection cannot take, each problem a line naming ``where``."""
        return []

    def over(self, connection: Connection) -> Connection:
        """``connection`` with the keys this table gives."""
        raise NotImplementedError


class RestOverride(OverrideSchema):
    """The connections-file table of a REST system."""

    kind = "rest"

    base_url: Url | None = None
    timeout: Seconds | None = None
    limits: LimitsSchema | None = None
    auth: AuthTable | None = None
    token_env: EnvName | None = None
    key_env: EnvName | None = None
    username_env: EnvName | None = None
    password_env: EnvName | None = None

    def problems(self, connection: Connection, where: str) -> list[str]:
        auth = self.auth or connection.auth
        takes = ", ".join(auth.secrets.values()) or "no secrets"
        wrong = [key for key in SECRET_KEYS if key in self.model_fields_set and key not in auth.secrets.values()]
        return [f'{where}.{key}: the system\'s auth is "{auth.type}", which takes {takes}' for key in wrong]

    def over(self, connection: Connection) -> Connection:
        secrets = {key: getattr(self, key) for key in SECRET_KEYS if key in self.model_fields_set}
        return dataclasses.replace(
            connection,
            base_url=self.base_url or connection.base_url,
            timeout=self.timeout or connection.timeout,
            limits=self.limits.to_limits() if self.limits is not None else connection.limits,
            auth=(self.auth or connection.auth).model_copy(update=secrets),
        )


class FilesOverride(OverrideSchema):
    """The connections-file table of a system that exchanges files."""

    kind = "files"

    folder: Folder | None = None
    format: FileFormat | None = None
    separator: Separator | None = None
    encoding: Encoding | None = None
    bom: bool | None = None

    def problems(self, connection: Connection, where: str) -> list[str]:
        return text_problems(self, self.format or connection.format, f"{where}.")

    def over(self, connection: Connection) -> Connection:
        return dataclasses.replace(
            connection,
            folder=self.folder or connection.folder,
            format=self.format or connection.format,
            text=text_settings(self, connection.text),
        )


OVERRIDES: Mapping[Kind, type[OverrideSchema]] = {"rest": RestOverride, "files": FilesOverride}
KIND_KEYS: Mapping[Kind, tuple[str, ...]] = {
    "rest": ("base_url", "auth", "paging", "records", "timeout", "limits"),
    "files": ("folder", "format", *TEXT_KEYS),
}
"""The top-level keys only a system of each kind may hold."""

# ------------------------------------------------------------------------------------------------- reading


def is_system_file(data: Mapping[str, Any]) -> bool:
    """Whether parsed TOML has a connection part (else it is a bare catalogue)."""
    if any(key in data and key not in CatalogueSchema.valid_keys() for key in SystemFileSchema.valid_keys()):
        return True
    entities = data.get("entities")
    return isinstance(entities, dict) and any(
        isinstance(e, dict) and any(k in e for k in EndpointSchema.endpoint_keys()) for e in entities.values()
    )


def load_system_file(path: Path) -> SystemFile:
    """Read and check one system file."""
    return parse_system_file(read_toml(path), str(path), folder=path.parent)


def parse_system_file(data: Mapping[str, Any], where: str, *, folder: Path | None = None) -> SystemFile:
    """Build a system file from parsed TOML; every problem, of either part, names ``where`` and the key path.

    ``folder`` is what a relative ``folder`` key is resolved against (the system file's own folder).
    """
    schema, problems = validate_table(SystemFileSchema, data, where, context={"folder": folder or Path()})
    if schema is None:
        raise ConfigError("\n".join(problems))
    connection = schema.to_connection()
    problems = schema.problems(connection, where)
    if problems:
        raise ConfigError("\n".join(problems))
    entities = {name: entity.to_entity(name) for name, entity in schema.entities.items()}
    catalogue = schema.to_catalogue(entities, where)
    rest = schema.entities.items() if schema.kind == "rest" else ()
    endpoints = {name: entity.to_endpoint(connection) for name, entity in rest}
    return SystemFile(catalogue=catalogue, connection=connection, endpoints=endpoints, source=where)


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
    source = str(table.get(SOURCE_KEY, "the connections file"))
    folder = Path(source).parent if SOURCE_KEY in table else Path()
    given = {key: value for key, value in table.items() if key != SOURCE_KEY}
    over, problems = validate_table(OVERRIDES[spec.kind], given, source, at=(spec.name,), context={"folder": folder})
    if over is not None:
        problems = over.problems(spec.connection, f"{source}: {spec.name}")
    if over is None or problems:
        raise ConfigError("\n".join(problems))
    return dataclasses.replace(spec, connection=over.over(spec.connection))
