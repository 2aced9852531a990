"""The flow model: a source system, a target system, and the mappings between their entities."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from reconcile.model.catalogue import Entity

ConflictPolicy = Literal["source", "target", "newest", "manual"]
DeletePolicy = Literal["report", "propagate", "unlink"]
PropertyType = Literal["string", "int", "float", "bool", "date", "datetime"]
Direction = Literal["both", "forward"]
MergeMode = Literal["auto", "review"]

CONFLICT_POLICIES: tuple[str, ...] = ("source", "target", "newest", "manual")
DELETE_POLICIES: tuple[str, ...] = ("report", "propagate", "unlink")
PROPERTY_TYPES: tuple[str, ...] = ("string", "int", "float", "bool", "date", "datetime")
DIRECTIONS: tuple[str, ...] = ("both", "forward")
MERGE_MODES: tuple[str, ...] = ("auto", "review")


@dataclass(frozen=True)
class Guards:
    """Limits checked before any write; a guard that trips stops the run (``--force`` overrides)."""

    max_creates: int | None = None
    max_updates: int | None = None
    max_deletes: int | None = None
    max_update_share: float | None = None
    max_delete_share: float | None = 0.25
    shrink: float = 0.5
    """A snapshot with fewer than ``shrink`` times the records of the last run stops the run."""


@dataclass(frozen=True)
class Defaults:
    conflict: ConflictPolicy = "newest"
    delete: DeletePolicy = "report"
    blank_overwrites: bool = False
    merge_mode: MergeMode = "auto"
    guards: Guards = field(default_factory=Guards)


@dataclass(frozen=True)
class Property:
    """Source field path -> target field, with a type; or a fixed ``value`` set on create.

    Both sides are cast to ``type`` before they are compared; ``string`` (the default) leaves it to the target
    field's type in the catalogue.
    """

    target: str
    source: str | None = None
    value: str | None = None
    type: PropertyType = "string"
    ref: str | None = None
    direction: Direction = "both"
    index: int = 0

    @property
    def is_fixed(self) -> bool:
        return self.value is not None

    @property
    def syncs_back(self) -> bool:
        """Whether a change on the target side may be written back to the source."""
        return self.source is not None and self.direction == "both"


@dataclass(frozen=True)
class Mapping:
    """Source entity -> target entity with merge rules, properties and policies."""

    name: str
    source: str
    target: str
    properties: tuple[Property, ...] = ()
    merge: tuple[tuple[tuple[str, str], ...], ...] = ()
    merge_case_sensitive: bool = False
    """Merge keys compare as written; by default they compare without regard to case."""
    many_to_one: bool = False
    """Several source records may be linked to one target record: the target answers a create with the record
    it already holds when the values are the same (Exact's addresses). Otherwise such an answer is refused."""
    merge_mode: MergeMode = "auto"
    """``auto``: a pair that matches on every key of a merge rule is linked. ``review``: such a pair is proposed
    (an ``Action.LINK`` row) and linked only when a person says they are the same record."""
    conflict: ConflictPolicy = "newest"
    delete: DeletePolicy = "report"
    blank_overwrites: bool = False
    guards: Guards = field(default_factory=Guards)
    index: int = 0

    @property
    def refs(self) -> tuple[str, ...]:
        """Names of the mappings this one's references are translated through (parents run first)."""
        return tuple(dict.fromkeys(p.ref for p in self.properties if p.ref))

    def property_for(self, target: str) -> Property | None:
        return next((p for p in self.properties if p.target == target), None)

    def unmapped_required(self, target: Entity) -> tuple[str, ...]:
        """The fields ``target`` (this mapping's target entity) requires on create that no property fills.

        The key and the embedded lines' field are the system's to fill. While one is left, no record of this
        mapping can be created: a problem of the flow, not of any record.
        """
        if target.read_only:
            return ()
        mapped = {p.target for p in self.properties}
        skipped = {target.key} | ({target.embedded.field} if target.embedded else set())
        return tuple(f for f in target.required_fields() if f not in mapped and f not in skipped)


@dataclass(frozen=True)
class Flow:
    """One dataflow file."""

    name: str
    source: str
    target: str
    mappings: tuple[Mapping, ...]
    defaults: Defaults = field(default_factory=Defaults)
    description: str = ""
    path: str = ""
    warnings: tuple[str, ...] = ()
    """What loading folded or noticed (duplicated mappings), said again by ``flows check``."""

    def mapping(self, name: str) -> Mapping:
        for m in self.mappings:
            if m.name == name:
                return m
        raise KeyError(name)
