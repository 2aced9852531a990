"""Entity catalogues: what a system holds, as data.

A catalogue says, for each entity of a system, its key, its fields (with type, required-on-create, read-only,
the entity a field references, whether the system keeps its values unique, how many decimals it keeps of a
number), whether the entity can be written at all, and which child entity is created embedded in it.
Catalogues are TOML files; the engine, the validator and the flow checker read them, the connectors and
emulators honour them.

Nested objects are fields with dotted names (``MailAddress.City``): a snapshot holds them as Polars structs,
and the projection follows the path.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, get_args

import polars as pl

from reconcile.model.names import did_you_mean

FieldType = Literal["string", "int", "float", "bool", "date", "datetime", "guid"]
FIELD_TYPES: tuple[str, ...] = get_args(FieldType)
FieldFormat = Literal["email", "country", "currency", "url", "phone"]
FIELD_FORMATS: tuple[str, ...] = get_args(FieldFormat)

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
    unique: bool = False
    """The system refuses a second record with the same value (compared without regard to case)."""
    decimals: int | None = None
    """The decimals the system keeps of a float: values are compared (and written) rounded to them."""


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

    def unique_fields(self) -> list[str]:
        return [f.name for f in self.fields.values() if f.unique]

    def required_fields(self) -> list[str]:
        return [f.name for f in self.fields.values() if f.required]

    def field_named(self, name: str) -> Field | None:
        return self.fields.get(name)

    def suggest(self, name: str) -> str:
        """A did-you-mean clause for a field name that is not in this entity."""
        return did_you_mean(name, list(self.fields))


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
        return did_you_mean(name, list(self.entities))
