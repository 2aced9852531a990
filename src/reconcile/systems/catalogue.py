"""Entity catalogues: what a system holds, as data.

A catalogue says, for each entity of a system, its key, its fields (with type, required-on-create, read-only,
the entity a field references), whether the entity can be written at all, and which child entity is created
embedded in it. Catalogues are TOML files; the engine, the validator and the flow checker read them, the
connectors and emulators honour them.

Nested objects are fields with dotted names (``MailAddress.City``): a snapshot holds them as Polars structs,
and the projection follows the path.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, cast, get_args

import polars as pl

from reconcile.errors import ConfigError
from reconcile.tomlfile import read_toml

FieldType = Literal["string", "int", "float", "bool", "date", "datetime", "guid"]
FIELD_TYPES: tuple[str, ...] = get_args(FieldType)
FieldFormat = Literal["email", "country", "currency", "url", "phone"]
FIELD_FORMATS: tuple[str, ...] = get_args(FieldFormat)

CATALOGUE_DIR = Path(__file__).parent / "catalogues"

DTYPES: Mapping[str, pl.DataType] = {
    "string": pl.String(),
    "guid": pl.String(),
    "int": pl.Int64(),
    "float": pl.Float64(),
    "bool": pl.Boolean(),
    "date": pl.Date(),
    "datetime": pl.Datetime("us", "UTC"),
}
"""The Polars type of a snapshot column for each field type: every connector reads into these."""


@dataclass(frozen=True)
class Field:
    """One field of an entity."""

    name: str
    type: FieldType = "string"
    required: bool = False
    read_only: bool = False
    create_only: bool = False
    ref: str | None = None
    max_length: int | None = None
    format: FieldFormat | None = None
    values: tuple[str, ...] | None = None
    description: str = ""


@dataclass(frozen=True)
class Embedded:
    """A child entity created inside its parent's create call (an order's lines)."""

    entity: str
    parent_field: str
    field: str


@dataclass(frozen=True)
class Entity:
    """One kind of record in a system."""

    name: str
    key: str
    fields: Mapping[str, Field]
    read_only: bool = False
    deletable: bool = True
    modified: str | None = None
    embedded: Embedded | None = None
    description: str = ""
    api: Mapping[str, Any] = field(default_factory=dict)

    @property
    def creatable(self) -> bool:
        return not self.read_only

    def required_fields(self) -> list[str]:
        return [f.name for f in self.fields.values() if f.required]

    def field_named(self, name: str) -> Field | None:
        return self.fields.get(name)

    def suggest(self, name: str) -> str:
        """A did-you-mean clause for a field name that is not in this entity."""
        return _did_you_mean(name, list(self.fields))


@dataclass(frozen=True)
class Catalogue:
    """Every entity of one system."""

    system: str
    entities: Mapping[str, Entity]
    description: str = ""
    source: str = ""

    def entity(self, name: str) -> Entity | None:
        """The entity named so, matched without regard to case ("Salesorderlines" is SalesOrderLines)."""
        if name in self.entities:
            return self.entities[name]
        folded = {key.casefold(): value for key, value in self.entities.items()}
        return folded.get(name.casefold())

    def suggest(self, name: str) -> str:
        return _did_you_mean(name, list(self.entities))


def did_you_mean(name: str, options: list[str]) -> str:
    """A did-you-mean clause for ``name`` among ``options`` (matched with and without case), or ""."""
    return _did_you_mean(name, options)


def _did_you_mean(name: str, options: list[str]) -> str:
    close = difflib.get_close_matches(name, options, n=1, cutoff=0.6)
    if not close:
        folded = {o.casefold(): o for o in options}
        close = [folded[c] for c in difflib.get_close_matches(name.casefold(), list(folded), n=1, cutoff=0.6)]
    return f' (did you mean "{close[0]}"?)' if close else ""


_FIELD_KEYS = {
    "type",
    "required",
    "read_only",
    "create_only",
    "ref",
    "max_length",
    "format",
    "values",
    "description",
}
_ENTITY_KEYS = {"key", "read_only", "deletable", "modified", "embedded", "description", "api", "fields"}
_EMBEDDED_KEYS = {"entity", "parent_field", "field"}


def parse_catalogue(data: Mapping[str, Any], where: str) -> Catalogue:
    """Build a catalogue from parsed TOML; every problem names ``where`` and the key path."""
    errors: list[str] = []

    def err(path: str, message: str) -> None:
        errors.append(f"{where}: {path}: {message}")

    for key in data:
        if key not in {"system", "description", "entities"}:
            err(key, 'unknown key; valid keys are "system", "description", "entities"')
    system = data.get("system")
    if not isinstance(system, str) or not system:
        err("system", "a system name is required")
        system = ""
    entities: dict[str, Entity] = {}
    raw_entities = data.get("entities", {})
    if not isinstance(raw_entities, dict) or not raw_entities:
        err("entities", "at least one entity table is required")
        raw_entities = {}
    for ename, raw in raw_entities.items():
        path = f"entities.{ename}"
        if not isinstance(raw, dict):
            err(path, "must be a table")
            continue
        for key in raw:
            if key not in _ENTITY_KEYS:
                err(
                    f"{path}.{key}",
                    f"unknown key{_did_you_mean(key, sorted(_ENTITY_KEYS))}; "
                    f"valid keys are {', '.join(sorted(_ENTITY_KEYS))}",
                )
        fields: dict[str, Field] = {}
        for fname, fraw in raw.get("fields", {}).items():
            fpath = f"{path}.fields.{fname}"
            if not isinstance(fraw, dict):
                err(fpath, 'must be a table such as { type = "string" }')
                continue
            for key in fraw:
                if key not in _FIELD_KEYS:
                    err(
                        f"{fpath}.{key}",
                        f"unknown key{_did_you_mean(key, sorted(_FIELD_KEYS))}; "
                        f"valid keys are {', '.join(sorted(_FIELD_KEYS))}",
                    )
            ftype = fraw.get("type", "string")
            if ftype not in FIELD_TYPES:
                err(f"{fpath}.type", f'"{ftype}" is not a type; valid types are {", ".join(FIELD_TYPES)}')
                ftype = "string"
            fmt = fraw.get("format")
            if fmt is not None and fmt not in FIELD_FORMATS:
                err(
                    f"{fpath}.format",
                    f'"{fmt}" is not a format; valid formats are {", ".join(FIELD_FORMATS)}',
                )
                fmt = None
            values = fraw.get("values")
            fields[fname] = Field(
                name=fname,
                type=cast(FieldType, ftype),
                required=bool(fraw.get("required", False)),
                read_only=bool(fraw.get("read_only", False)),
                create_only=bool(fraw.get("create_only", False)),
                ref=fraw.get("ref"),
                max_length=fraw.get("max_length"),
                format=cast(FieldFormat | None, fmt),
                values=tuple(str(v) for v in values) if values is not None else None,
                description=str(fraw.get("description", "")),
            )
        key_name = raw.get("key")
        if not isinstance(key_name, str) or key_name not in fields:
            err(f"{path}.key", f'"{key_name}" must name one of the entity\'s fields')
            key_name = str(key_name)
        modified = raw.get("modified")
        if modified is not None and modified not in fields:
            err(
                f"{path}.modified",
                f'"{modified}" is not a field of {ename}' + _did_you_mean(modified, list(fields)),
            )
        embedded = None
        if "embedded" in raw:
            eraw = raw["embedded"]
            if not isinstance(eraw, dict) or set(eraw) != _EMBEDDED_KEYS:
                err(f"{path}.embedded", "must be { entity = ..., parent_field = ..., field = ... }")
            else:
                embedded = Embedded(entity=eraw["entity"], parent_field=eraw["parent_field"], field=eraw["field"])
        entities[ename] = Entity(
            name=ename,
            key=key_name,
            fields=fields,
            read_only=bool(raw.get("read_only", False)),
            deletable=bool(raw.get("deletable", not raw.get("read_only", False))),
            modified=modified,
            embedded=embedded,
            description=str(raw.get("description", "")),
            api=dict(raw.get("api", {})),
        )
    for ename, entity in entities.items():
        for fname, f in entity.fields.items():
            if f.ref is not None and f.ref not in entities:
                err(
                    f"entities.{ename}.fields.{fname}.ref",
                    f'"{f.ref}" is not an entity of {system}' + _did_you_mean(f.ref, list(entities)),
                )
        if entity.embedded is not None and entity.embedded.entity not in entities:
            err(
                f"entities.{ename}.embedded.entity",
                f'"{entity.embedded.entity}" is not an entity of {system}',
            )
    if errors:
        raise ConfigError("\n".join(errors))
    return Catalogue(system=system, entities=entities, description=str(data.get("description", "")), source=where)


def load_catalogue_file(path: Path) -> Catalogue:
    """Read and check one catalogue TOML file.

    A custom system's file that also says how the system is reached (a system file) is checked whole, both
    parts, by :mod:`reconcile.systems.systemfile`; its catalogue is returned.
    """
    data = read_toml(path)
    from reconcile.systems.systemfile import is_system_file, parse_system_file

    if is_system_file(data):
        return parse_system_file(data, str(path), folder=path.parent).catalogue
    return parse_catalogue(data, str(path))


def builtin_catalogue(system: str) -> Catalogue:
    """The catalogue shipped with reconcile for a built-in system (exact, poweroffice)."""
    path = CATALOGUE_DIR / f"{system}.toml"
    if not path.exists():
        raise ConfigError(f'no built-in catalogue for system "{system}"')
    return load_catalogue_file(path)
