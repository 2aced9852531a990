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

import re
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

HEADER_LENGTH = 40
"""The longest first clause of a description that serves as a column header; a longer one is a note."""
_CLAUSE_END = re.compile(r"[;.:]| \(")
_WORD = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|\d+")


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

    @property
    def header(self) -> str:
        """The field as a column header for a person: the first clause of its description when that is short
        ("Account code" of "Account code; Exact stores it ..."), else its name in words ("Address line 1")."""
        clause = _CLAUSE_END.split(self.description, maxsplit=1)[0].strip()
        if clause and len(clause) <= HEADER_LENGTH:
            return clause[0].upper() + clause[1:]
        return name_words(self.name)


def name_words(name: str) -> str:
    """A field name as words: ``AddressLine1`` is "Address line 1", ``customer_id`` "Customer id",
    ``MailAddress.City`` "Mail address city"; an acronym keeps its capitals (``VATCode`` is "VAT code")."""
    words = [w if len(w) > 1 and w.isupper() else w.lower() for w in _WORD.findall(name)]
    if not words:
        return name
    return " ".join([words[0][0].upper() + words[0][1:], *words[1:]])


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
    label: tuple[str, ...] = ()
    """The fields a person knows a record by, best first ("SalesOrderNo", "SalesOrderDate", ...); a reference
    among them stands for the referenced record's first label field. Empty: the mapping's fields make the label."""

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
    title: str = ""
    """The system as people call it ("Exact Online", "Custom CRM"); the system name when the file gives none."""

    def __post_init__(self) -> None:
        if not self.title:
            object.__setattr__(self, "title", self.system)

    def entity(self, name: str) -> Entity | None:
        """The entity named so, matched without regard to case ("Salesorderlines" is SalesOrderLines)."""
        if name in self.entities:
            return self.entities[name]
        folded = {key.casefold(): value for key, value in self.entities.items()}
        return folded.get(name.casefold())

    def suggest(self, name: str) -> str:
        return did_you_mean(name, list(self.entities))
