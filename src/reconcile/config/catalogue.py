"""Catalogue files: an entity catalogue read from TOML and checked once, every problem named."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, cast

from reconcile.errors import ConfigError
from reconcile.model.catalogue import (
    FIELD_FORMATS,
    FIELD_TYPES,
    Catalogue,
    Embedded,
    Entity,
    Field,
    FieldFormat,
    FieldType,
)
from reconcile.model.names import did_you_mean

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
                    f"unknown key{did_you_mean(key, sorted(_ENTITY_KEYS))}; "
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
                        f"unknown key{did_you_mean(key, sorted(_FIELD_KEYS))}; "
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
                f'"{modified}" is not a field of {ename}' + did_you_mean(modified, list(fields)),
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
                    f'"{f.ref}" is not an entity of {system}' + did_you_mean(f.ref, list(entities)),
                )
        if entity.embedded is not None and entity.embedded.entity not in entities:
            err(
                f"entities.{ename}.embedded.entity",
                f'"{entity.embedded.entity}" is not an entity of {system}',
            )
    if errors:
        raise ConfigError("\n".join(errors))
    return Catalogue(system=system, entities=entities, description=str(data.get("description", "")), source=where)
