"""Read a flow file into the model, refusing anything that does not hold.

Every message names the file, the key path and what would be valid:
``flows/x.toml: mapping[3].conflict: 'newer' is not valid; valid values are source, target, newest, manual``.
The schema (:class:`FlowSchema` and the tables it holds) checks the keys and values of each table; plain code
then checks what the tables say of each other: references, their cycles, names and targets used twice, and
mappings given twice (folded into one with a warning). Checks that need the systems' catalogues live in
:mod:`reconcile.config.check`.

How values compare, as a flow says it:

- ``merge`` is a list of combinations, each a list of ``[source, target]`` pairs. Merge keys compare trimmed,
  NFC-normalised and without regard to case (``OLA@x.no`` is ``ola@x.no``, ``ab1`` is ``AB1``); a mapping
  whose keys differ by case alone says ``merge_case_sensitive = true``. ``merge_mode = "review"`` (on a
  mapping, or in ``[defaults]``) proposes each first link for a person to confirm; ``"auto"``, the default,
  links it.
- A property's ``type`` casts both sides before they are compared (``"80"`` and ``80.0`` are one number when
  ``type = "int"``); ``string``, the default, leaves it to the target field's catalogue type. Text is
  NFC-normalised, emails compare without regard to case, floats at the decimals the target field keeps.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Annotated, Any, Self

import pydantic

from reconcile.config.schema import (
    Schema,
    Text,
    is_path_part,
    is_text,
    is_whole_number,
    must,
    problem,
    validate_table,
)
from reconcile.config.toml import read_toml
from reconcile.errors import FlowError
from reconcile.model.flow import (
    ConflictPolicy,
    Defaults,
    DeletePolicy,
    Direction,
    Flow,
    Guards,
    Mapping,
    MergeMode,
    Property,
    PropertyType,
)
from reconcile.model.names import did_you_mean

_MERGE = 'a list of combinations, each a list of [source, target] pairs: [[["Code", "Code"]]]'


def _is_share(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and 0 <= value <= 1


Count = Annotated[
    int,
    must(
        lambda v: is_whole_number(v) and v >= 0,
        lambda v: f"{v!r} is not valid; use a whole number of records, 0 or more",
    ),
]
Share = Annotated[float, must(_is_share, lambda v: f"{v!r} is not valid; use a share between 0 and 1")]


def _pair(value: Any) -> tuple[str, str]:
    if isinstance(value, list) and len(value) == 2 and all(is_text(v) for v in value):
        return value[0], value[1]
    raise problem(f"{value!r} is not a [source, target] pair of field names")


def _fixed_value(value: Any) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, str | int | float):
        return str(value)
    raise problem("a fixed value must be a string, a number or a boolean")


Pair = Annotated[tuple[str, str], pydantic.BeforeValidator(_pair)]
Combination = Annotated[
    list[Pair],
    must(
        lambda v: isinstance(v, list) and bool(v),
        f"must be a non-empty list of [source, target] pairs; the whole is {_MERGE}",
    ),
]
Merge = Annotated[list[Combination], must(lambda v: isinstance(v, list), f"must be {_MERGE}")]


class GuardsSchema(Schema):
    """Limits checked before any write; a key not given keeps the value of the defaults."""

    max_creates: Count | None = None
    max_updates: Count | None = None
    max_deletes: Count | None = None
    max_update_share: Share | None = None
    max_delete_share: Share | None = None
    shrink: Share | None = None

    def over(self, base: Guards) -> Guards:
        """``base`` with the keys given here."""
        return replace(base, **self.model_dump(exclude_unset=True))


class DefaultsSchema(Schema):
    """The policies every mapping has unless it says otherwise."""

    conflict: ConflictPolicy = "newest"
    delete: DeletePolicy = "report"
    blank_overwrites: bool = False
    merge_mode: MergeMode = "auto"
    guards: GuardsSchema = pydantic.Field(default_factory=GuardsSchema)

    def to_defaults(self) -> Defaults:
        return Defaults(
            conflict=self.conflict,
            delete=self.delete,
            blank_overwrites=self.blank_overwrites,
            merge_mode=self.merge_mode,
            guards=self.guards.over(Guards()),
        )


class PropertySchema(Schema):
    """Source field path -> target field; or a fixed value set on create."""

    table_hint = 'a table such as { source = "Name", target = "Name", type = "string" }'

    source: Annotated[str, must(is_text, 'a field path such as "MailAddress.City" is required')] | None = None
    value: Annotated[str, pydantic.BeforeValidator(_fixed_value)] | None = None
    target: Text = ""
    type: PropertyType = "string"
    ref: Annotated[str, must(is_text, "must name another mapping of this flow")] | None = None
    direction: Direction = "both"

    @pydantic.model_validator(mode="after")
    def source_or_value(self) -> Self:
        if (self.source is None) == (self.value is None):
            raise problem('give exactly one of "source" (a field path) or "value" (a fixed value set on create)')
        return self

    def to_property(self, index: int) -> Property:
        return Property(**self.model_dump(), index=index)


class MappingSchema(Schema):
    """One ``[[mapping]]``: a source entity, a target entity, how their records pair and what is synced."""

    name: Text = ""
    source: Text = ""
    target: Text = ""
    merge: Merge = pydantic.Field(default_factory=list)
    merge_case_sensitive: bool = False
    many_to_one: bool = False
    merge_mode: MergeMode | None = None
    properties: list[PropertySchema] = pydantic.Field(default_factory=list, description="a list of property tables")
    conflict: ConflictPolicy | None = None
    delete: DeletePolicy | None = None
    blank_overwrites: bool | None = None
    guards: GuardsSchema | None = None

    def to_mapping(self, index: int, defaults: Defaults) -> Mapping:
        return Mapping(
            name=self.name,
            source=self.source,
            target=self.target,
            properties=tuple(p.to_property(i) for i, p in enumerate(self.properties)),
            merge=tuple(tuple(combination) for combination in self.merge),
            merge_case_sensitive=self.merge_case_sensitive,
            many_to_one=self.many_to_one,
            merge_mode=self.merge_mode or defaults.merge_mode,
            conflict=self.conflict or defaults.conflict,
            delete=self.delete or defaults.delete,
            blank_overwrites=defaults.blank_overwrites if self.blank_overwrites is None else self.blank_overwrites,
            guards=defaults.guards if self.guards is None else self.guards.over(defaults.guards),
            index=index,
        )


class FlowSchema(Schema):
    """A flow file."""

    name: Annotated[
        str,
        must(
            is_path_part,
            lambda v: (
                "a non-empty string is required"
                if not is_text(v)
                else f"{v!r} cannot name the run folders: use letters, digits, '-', '_' and '.', not starting "
                "with '.' or '-' (at most 100 characters), e.g. \"crm-to-exact\""
            ),
        ),
    ] = ""
    source: Text = ""
    target: Text = ""
    description: str = ""
    defaults: DefaultsSchema = pydantic.Field(default_factory=DefaultsSchema)
    mapping: Annotated[
        list[MappingSchema],
        must(lambda v: isinstance(v, list) and bool(v), "at least one [[mapping]] table is required"),
    ] = pydantic.Field(default_factory=list)


def _find_cycle(mappings: list[Mapping]) -> list[str] | None:
    by_name = {m.name: m for m in mappings}
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(name: str) -> list[str] | None:
        state[name] = 1
        stack.append(name)
        for parent in by_name[name].refs:
            if parent not in by_name:
                continue
            if state.get(parent) == 1:
                return [*stack[stack.index(parent) :], parent]
            if parent not in state and (found := visit(parent)):
                return found
        stack.pop()
        state[name] = 2
        return None

    for m in mappings:
        if m.name not in state and (found := visit(m.name)):
            return found
    return None


def _same_mapping(a: Mapping, b: Mapping) -> bool:
    """Whether two mappings agree on everything but their name and position."""
    return replace(a, name="", index=0) == replace(b, name="", index=0)


def _mappings(schema: FlowSchema, defaults: Defaults, where: str) -> tuple[list[Mapping], list[str], list[str]]:
    """The flow's mappings, with what the schema cannot see: (mappings, problems, warnings)."""
    mappings: list[Mapping] = []
    problems: list[str] = []
    warnings: list[str] = []
    seen: dict[str, int] = {}
    for i, raw in enumerate(schema.mapping):
        path, mapping = f"mapping[{i}]", raw.to_mapping(i, defaults)
        for p in mapping.properties:
            if p.ref is not None and p.value is not None:
                problems.append(f"{where}: {path}.properties[{p.index}].ref: a fixed value cannot be a reference")
        targets = [p.target for p in mapping.properties]
        for t in sorted({t for t in targets if targets.count(t) > 1}):
            problems.append(
                f'{where}: {path}.properties: target field "{t}" is mapped twice; map each target field once'
            )
        twin = next((m for m in mappings if _same_mapping(m, mapping)), None)
        if twin is not None:
            warnings.append(
                f'{where}: {path}: mapping "{mapping.name}" repeats mapping "{twin.name}" '
                f"({mapping.source} -> {mapping.target}) exactly; folded into one"
            )
            continue
        if mapping.name in seen:
            problems.append(
                f'{where}: {path}.name: "{mapping.name}" is already the name of mapping[{seen[mapping.name]}]; '
                "names are unique"
            )
        seen[mapping.name] = i
        mappings.append(mapping)
    names = [m.name for m in mappings]
    shared = {m.name for m in mappings if m.many_to_one}
    for m in mappings:
        for p in m.properties:
            if p.ref is not None and p.ref not in names:
                problems.append(
                    f"{where}: mapping[{m.index}].properties[{p.index}].ref: "
                    f'"{p.ref}" is not a mapping of this flow{did_you_mean(p.ref, names)}; '
                    f"valid mappings are {', '.join(names)}"
                )
            elif p.ref in shared:
                problems.append(
                    f"{where}: mapping[{m.index}].properties[{p.index}].ref: "
                    f'"{p.ref}" says many_to_one = true: a target record it links may stand for several source '
                    "records, so a reference to one cannot be translated back; refer to a one-to-one mapping"
                )
    if not problems and (cycle := _find_cycle(mappings)):
        first = next(m for m in mappings if m.name == cycle[0])
        problems.append(
            f"{where}: mapping[{first.index}]: references form a cycle: "
            + " -> ".join(cycle)
            + "; a mapping's parents must be creatable before it"
        )
    return mappings, problems, warnings


def parse_flow(data: dict[str, Any], where: str) -> Flow:
    """Build a flow from parsed TOML. Raises :class:`FlowError` with every problem found."""
    schema, problems = validate_table(FlowSchema, data, where)
    if schema is None:
        raise FlowError(problems)
    defaults = schema.defaults.to_defaults()
    mappings, problems, warnings = _mappings(schema, defaults, where)
    if problems:
        raise FlowError(problems)
    return Flow(
        name=schema.name,
        source=schema.source,
        target=schema.target,
        mappings=tuple(mappings),
        defaults=defaults,
        description=schema.description,
        path=where,
        warnings=tuple(warnings),
    )


def load_flow(path: Path | str) -> Flow:
    """Read and check the structure of one flow file."""
    path = Path(path)
    return parse_flow(read_toml(path, FlowError), str(path))
