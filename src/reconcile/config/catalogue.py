"""Catalogue files: an entity catalogue read from TOML and checked once, every problem named.

The schema (:class:`CatalogueSchema`, :class:`EntitySchema`, :class:`FieldSchema`, :class:`EmbeddedSchema`)
checks each table's keys and values; :func:`catalogue_problems` then checks what the tables say of each
other (a key, a modified field, a label field, a reference that names nothing). A system file's entity tables are these
entity tables with the keys of an endpoint added.

A catalogue's ``title`` is the system as people call it ("Exact Online"); a field's ``description`` starts with
the field as a person would head its column ("Account code; Exact stores it padded"), see
:attr:`reconcile.model.catalogue.Field.header`; an entity's ``label`` lists the fields a person knows a record by,
best first (``label = ["SalesOrderNo", "SalesOrderDate", "TotalAmount", "CurrencyCode"]``), see
:mod:`reconcile.engine.labels`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any

import pydantic

from reconcile.config.schema import Schema, is_whole_number, must, validate_table
from reconcile.errors import ConfigError
from reconcile.model.catalogue import Catalogue, Embedded, Entity, Field, FieldFormat, FieldType
from reconcile.model.names import did_you_mean

Decimals = Annotated[
    int,
    must(
        lambda v: is_whole_number(v) and 0 <= v <= 15,
        lambda v: f"{v!r} is not valid; use a whole number of decimals from 0 to 15",
    ),
]


class FieldSchema(Schema):
    """One field of an entity: ``{ type = "int", required = true, ref = "Accounts" }``."""

    table_hint = 'a table such as { type = "string" }'

    type: FieldType = pydantic.Field("string", title="type")
    required: bool = False
    read_only: bool = False
    create_only: bool = False
    ref: str | None = pydantic.Field(None, description="the name of the entity whose key the field holds")
    max_length: int | None = None
    format: FieldFormat | None = pydantic.Field(None, title="format")
    values: list[str] | None = pydantic.Field(None, description="a list of the values the field accepts")
    description: str = ""
    unique: bool = False
    decimals: Decimals | None = None

    def to_field(self, name: str) -> Field:
        values = tuple(self.values) if self.values is not None else None
        return Field(name=name, **self.model_dump(exclude={"values"}), values=values)


class EmbeddedSchema(Schema):
    """A child entity created inside its parent's create call."""

    table_hint = "a table such as { entity = ..., parent_field = ..., field = ... }"

    entity: str = pydantic.Field(description="the child entity")
    parent_field: str = pydantic.Field(description="the child's field that holds the parent's key")
    field: str = pydantic.Field(description="the parent's field the children are written in")


class EntitySchema(Schema):
    """One kind of record: its key, its fields, and what may be done with it."""

    key: str = pydantic.Field(description="the name of the field that identifies a record")
    read_only: bool = False
    deletable: bool | None = None
    modified: str | None = None
    embedded: EmbeddedSchema | None = None
    description: str = ""
    api: dict[str, Any] = pydantic.Field(default_factory=dict)
    label: list[str] = pydantic.Field(
        default_factory=list, description="a list of the fields a person knows a record by, best first"
    )
    fields: dict[str, FieldSchema] = pydantic.Field(default_factory=dict)

    def to_entity(self, name: str) -> Entity:
        return Entity(
            name=name,
            key=self.key,
            fields={fname: f.to_field(fname) for fname, f in self.fields.items()},
            read_only=self.read_only,
            deletable=not self.read_only if self.deletable is None else self.deletable,
            modified=self.modified,
            embedded=Embedded(**self.embedded.model_dump()) if self.embedded is not None else None,
            description=self.description,
            api=self.api,
            label=tuple(self.label),
        )


class CatalogueSchema(Schema):
    """A catalogue file: the system it describes and its entities."""

    system: Annotated[str, must(lambda v: isinstance(v, str) and bool(v), "a system name is required")] = ""
    description: str = ""
    entities: Annotated[
        dict[str, EntitySchema],
        must(lambda v: isinstance(v, dict) and bool(v), "at least one entity table is required"),
    ] = pydantic.Field(default_factory=dict)
    title: str = pydantic.Field("", description='the system as people call it, such as "Exact Online"')

    def to_catalogue(self, entities: Mapping[str, Entity], where: str) -> Catalogue:
        """The catalogue of ``entities`` (built from this file's entity tables) read from ``where``."""
        return Catalogue(
            system=self.system, entities=entities, description=self.description, source=where, title=self.title
        )


def catalogue_problems(system: str, entities: Mapping[str, EntitySchema], where: str) -> list[str]:
    """What the tables say of each other that does not hold, each problem a line naming ``where``."""
    problems: list[str] = []
    for ename, entity in entities.items():
        at, fields = f"{where}: entities.{ename}", list(entity.fields)
        if entity.key not in fields:
            hint = did_you_mean(entity.key, fields)
            problems.append(f'{at}.key: "{entity.key}" must name one of the entity\'s fields{hint}')
        if entity.modified is not None and entity.modified not in fields:
            hint = did_you_mean(entity.modified, fields)
            problems.append(f'{at}.modified: "{entity.modified}" is not a field of {ename}{hint}')
        for i, name in enumerate(entity.label):
            if name not in fields:
                problems.append(f'{at}.label[{i}]: "{name}" is not a field of {ename}{did_you_mean(name, fields)}')
        for fname, f in entity.fields.items():
            if f.decimals is not None and f.type != "float":
                problems.append(
                    f'{at}.fields.{fname}.decimals: only a float field keeps decimals; "{fname}" is {f.type}'
                )
        refs = [(f"fields.{fname}.ref", f.ref) for fname, f in entity.fields.items() if f.ref is not None]
        if entity.embedded is not None:
            refs.append(("embedded.entity", entity.embedded.entity))
        for path, ref in refs:
            if ref not in entities:
                problems.append(f'{at}.{path}: "{ref}" is not an entity of {system}{did_you_mean(ref, entities)}')
    return problems


def parse_catalogue(data: Mapping[str, Any], where: str) -> Catalogue:
    """Build a catalogue from parsed TOML; every problem names ``where`` and the key path."""
    schema, problems = validate_table(CatalogueSchema, data, where)
    if schema is not None:
        problems = catalogue_problems(schema.system, schema.entities, where)
    if schema is None or problems:
        raise ConfigError("\n".join(problems))
    entities = {name: entity.to_entity(name) for name, entity in schema.entities.items()}
    return schema.to_catalogue(entities, where)
