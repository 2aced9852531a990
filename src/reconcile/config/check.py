"""Hold a flow against the entity catalogues of its two systems.

The loader (:mod:`reconcile.config.flow`) checks a flow's own structure; this module checks what only the
catalogues know: that the systems, entities and fields exist, that references point where the catalogue says,
and what a mapping can and cannot do (read-only entities and fields, required fields nothing fills, mappings
no field joins). Problems are values: errors stop ``flows check`` (exit 2), warnings are printed and the flow
still runs. Every finding names the file, the key path and, where it can, what would be valid::

    flows/x.toml: mapping[3].merge[0][0][1] = "Cod": no such field in exact Departments (did you mean "Code"?)
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Literal

from reconcile.errors import FlowError
from reconcile.model.catalogue import Catalogue, Entity, Field
from reconcile.model.flow import Flow, Property
from reconcile.model.flow import Mapping as FlowMapping
from reconcile.model.names import did_you_mean

Level = Literal["error", "warning"]

_LISTED = 12
"""How many valid names a message lists before it says how many more there are."""


@dataclass(frozen=True)
class Finding:
    """One thing ``flows check`` has to say about a flow: where, how bad, and what.

    ``path`` is the key path inside the flow file (``mapping[2].properties[4].source``); ``value`` is the
    value found there, when the message is about it; ``file`` is the flow file.
    """

    level: Level
    path: str
    message: str
    file: str = ""
    value: str | None = None

    def __str__(self) -> str:
        where = self.path if self.value is None else f"{self.path} = {json.dumps(self.value, ensure_ascii=False)}"
        return f"{self.file}: {where}: {self.message}" if self.file else f"{where}: {self.message}"


def raise_on_errors(findings: Iterable[Finding]) -> None:
    """Raise :class:`FlowError` carrying every error among ``findings``; warnings alone pass."""
    errors = [str(f) for f in findings if f.level == "error"]
    if errors:
        raise FlowError(errors)


def check_flow(flow: Flow, catalogues: Mapping[str, Catalogue]) -> list[Finding]:
    """Every error and warning the catalogues show in ``flow``: errors first, each group in file order.

    ``catalogues`` maps a system name to its catalogue; the flow's ``source`` and ``target`` must be among
    them.
    """
    checker = _Checker(flow, catalogues)
    checker.run()
    return [f for f in checker.findings if f.level == "error"] + [f for f in checker.findings if f.level == "warning"]


def _valid(kind: str, names: Iterable[str]) -> str:
    names = sorted(names, key=str.casefold)
    shown = ", ".join(names[:_LISTED])
    more = f", … ({len(names)} in all)" if len(names) > _LISTED else ""
    return f"; valid {kind} are {shown}{more}" if names else f"; there are no {kind}"


def _fixed_value_problem(value: str, field: Field) -> str | None:
    """Why a fixed ``value`` can never be written to ``field``, or ``None`` when it can."""
    if field.values is not None and value not in field.values:
        return f"is not a value {field.name} accepts; valid values are {', '.join(field.values)}"
    try:
        if field.type == "int":
            int(value)
        elif field.type == "float":
            float(value)
        elif field.type == "bool" and value.casefold() not in ("true", "false"):
            raise ValueError(value)
        elif field.type == "date":
            date.fromisoformat(value)
    except ValueError:
        expected = {"int": "a whole number", "float": "a number", "bool": "true or false", "date": "a date"}
        return f"{field.name} holds {expected.get(field.type, field.type)}"
    return None


class _Checker:
    def __init__(self, flow: Flow, catalogues: Mapping[str, Catalogue]) -> None:
        self.flow = flow
        self.catalogues = catalogues
        self.findings: list[Finding] = []

    def add(self, level: Level, path: str, message: str, value: str | None = None) -> None:
        self.findings.append(Finding(level, path, message, file=self.flow.path, value=value))

    # -- systems and entities ------------------------------------------------------------------------------

    def system(self, key: Literal["source", "target"]) -> Catalogue | None:
        name = getattr(self.flow, key)
        catalogue = self.catalogues.get(name)
        if catalogue is None:
            self.add(
                "error",
                key,
                f"unknown system{did_you_mean(name, self.catalogues)}" + _valid("systems", self.catalogues),
                value=name,
            )
        return catalogue

    def entity(self, catalogue: Catalogue | None, name: str, path: str) -> Entity | None:
        if catalogue is None:
            return None
        entity = catalogue.entity(name)
        if entity is None:
            hint = catalogue.suggest(name) or _valid("entities", catalogue.entities)
            self.add("error", path, f"no such entity in {catalogue.system}{hint}", value=name)
        return entity

    def field(self, catalogue: Catalogue, entity: Entity, name: str, path: str) -> Field | None:
        found = entity.field_named(name)
        if found is not None:
            return found
        where = f"{catalogue.system} {entity.name}"
        inner = [f for f in entity.fields if f.startswith(f"{name}.")]
        if inner:
            message = f"is an object in {where}, not a field; name one of its fields: {', '.join(inner)}"
        else:
            message = f"no such field in {where}" + (entity.suggest(name) or _valid("fields", entity.fields))
        self.add("error", path, message, value=name)
        return None

    # -- the flow --------------------------------------------------------------------------------------------

    def run(self) -> None:
        source = self.system("source")
        target = self.system("target")
        for mapping in self.flow.mappings:
            self.mapping(mapping, source, target)
        for warning in self.flow.warnings:
            prefix = f"{self.flow.path}: "
            rest = warning[len(prefix) :] if warning.startswith(prefix) else warning
            path, sep, message = rest.partition(": ")
            if sep:
                self.add("warning", path, message)
            else:
                self.add("warning", "", rest)

    def mapping(self, m: FlowMapping, source: Catalogue | None, target: Catalogue | None) -> None:
        path = f"mapping[{m.index}]"
        s_entity = self.entity(source, m.source, f"{path}.source")
        t_entity = self.entity(target, m.target, f"{path}.target")
        for prop in m.properties:
            self.property(m, prop, f"{path}.properties[{prop.index}]", source, s_entity, target, t_entity)
        for i, combination in enumerate(m.merge):
            for j, (s_name, t_name) in enumerate(combination):
                if source is not None and s_entity is not None:
                    self.field(source, s_entity, s_name, f"{path}.merge[{i}][{j}][0]")
                if target is not None and t_entity is not None:
                    self.field(target, t_entity, t_name, f"{path}.merge[{i}][{j}][1]")
        if source is not None and target is not None and s_entity is not None and t_entity is not None:
            self.what_it_can_do(m, path, source, s_entity, target, t_entity)

    def property(
        self,
        m: FlowMapping,
        prop: Property,
        path: str,
        source: Catalogue | None,
        s_entity: Entity | None,
        target: Catalogue | None,
        t_entity: Entity | None,
    ) -> None:
        s_field = t_field = None
        if prop.source is not None and source is not None and s_entity is not None:
            s_field = self.field(source, s_entity, prop.source, f"{path}.source")
        if target is not None and t_entity is not None:
            t_field = self.field(target, t_entity, prop.target, f"{path}.target")
        if target is None or t_entity is None or t_field is None:
            return
        if prop.value is not None:
            problem = _fixed_value_problem(prop.value, t_field)
            if problem:
                self.add("error", f"{path}.value", problem, value=prop.value)
        if t_field.read_only and not t_entity.read_only:
            if prop.value is not None:
                message = f"is read-only in {target.system}: a fixed value can never be written"
            elif prop.direction == "forward":
                message = f"is read-only in {target.system} and the property is forward only: it syncs nothing"
            else:
                message = f"is read-only in {target.system}: synced from the target only"
            self.add("warning", f"{path}.target", message, value=prop.target)
        if source is None or s_entity is None or s_field is None:
            return
        if prop.syncs_back and s_field.read_only and not s_entity.read_only:
            self.add(
                "warning",
                f"{path}.source",
                f"is read-only in {source.system}: changes made in {target.system} are not written back "
                '(say direction = "forward" to make that explicit)',
                value=prop.source,
            )
        self.reference(m, prop, path, source, s_field, target, t_field)

    def reference(
        self,
        m: FlowMapping,
        prop: Property,
        path: str,
        source: Catalogue,
        s_field: Field,
        target: Catalogue,
        t_field: Field,
    ) -> None:
        if prop.ref is not None:
            parent = next((p for p in self.flow.mappings if p.name == prop.ref), None)
            if parent is None:
                return  # the loader reports a ref to an unknown mapping
            for side, catalogue, fld, entity_name in (
                ("target", target, t_field, parent.target),
                ("source", source, s_field, parent.source),
            ):
                if fld.ref is None:
                    continue
                expected, got = catalogue.entity(fld.ref), catalogue.entity(entity_name)
                if expected is not None and got is not None and expected.name != got.name:
                    self.add(
                        "warning",
                        f"{path}.ref",
                        f'mapping "{parent.name}" has {side} {catalogue.system} {got.name}, but {fld.name} '
                        f"holds the id of {catalogue.system} {expected.name}: the translated id will not fit",
                        value=prop.ref,
                    )
            return
        if s_field.ref is None or t_field.ref is None:
            return
        t_parent = target.entity(t_field.ref)
        if t_parent is None or t_parent.fields[t_parent.key].type not in ("guid", "int"):
            return  # a natural key (a currency code) means the same on both sides
        s_parent = source.entity(s_field.ref)
        candidates = [
            p.name
            for p in self.flow.mappings
            if p.name != m.name
            and (pt := target.entity(p.target)) is not None
            and pt.name == t_parent.name
            and (s_parent is None or ((ps := source.entity(p.source)) is not None and ps.name == s_parent.name))
        ]
        hint = f'; add ref = "{candidates[0]}"' if candidates else "; add a ref to the mapping that links them"
        self.add(
            "warning",
            f"{path}.source",
            f"holds an id of {source.system} {s_field.ref} and {target.system} {t_field.name} an id of "
            f"{t_parent.name}, but the property has no ref: the id would be copied untranslated{hint}",
            value=prop.source,
        )

    def unique_fields(self, m: FlowMapping, path: str, target: Catalogue, t_entity: Entity) -> None:
        """A create whose unique value the target holds is rejected: say so where no merge rule can link it."""
        merged = {t for combination in m.merge for _, t in combination}
        for prop in m.properties:
            field = t_entity.field_named(prop.target)
            if field is None or not field.unique or field.read_only:
                continue
            where = f"{path}.properties[{prop.index}].target"
            if prop.value is not None:
                self.add(
                    "warning",
                    where,
                    f"is unique in {target.system} {t_entity.name}: a fixed value lets one create through and "
                    "rejects every other",
                    value=prop.target,
                )
            elif prop.target not in merged:
                self.add(
                    "warning",
                    where,
                    f"is unique in {target.system} {t_entity.name} and no merge rule compares it: a create whose "
                    f"{prop.target} a record there already holds is rejected, never linked "
                    f'(add merge = [[["{prop.source}", "{prop.target}"]]] to link it)',
                    value=prop.target,
                )

    def what_it_can_do(
        self,
        m: FlowMapping,
        path: str,
        source: Catalogue,
        s_entity: Entity,
        target: Catalogue,
        t_entity: Entity,
    ) -> None:
        name = f'"{m.name}"'
        t_where = f"{target.system} {t_entity.name}"
        if t_entity.read_only and not m.merge:
            self.add(
                "warning",
                path,
                f"{name} can link nothing: {t_where} is read-only and the mapping has no merge rule; "
                "its creates will be rejected",
            )
            return
        if t_entity.read_only:
            self.add("warning", path, f"{name} links only: {t_where} is read-only, so its creates are rejected")
            if not m.properties:
                self.add("warning", path, f"{name} has no properties: it links records but syncs no values")
        elif not m.properties and not m.merge:
            self.add(
                "warning",
                path,
                f"{name} pairs {source.system} {s_entity.name} with {t_where}, but no field joins them: with "
                "no merge rule it links no existing record and with no properties it syncs no values; "
                "it can only create empty records",
            )
        elif not m.properties:
            self.add(
                "warning",
                path,
                f"{name} has no properties: it can link and create records but syncs no values",
            )
        if not t_entity.read_only:
            # One problem per mapping, however many fields it lacks: the plan shows it as one line too.
            unmapped = m.unmapped_required(t_entity)
            if unmapped:
                fields = [f"{t_entity.name}.{f}" for f in unmapped]
                named = ", ".join(fields[:-1]) + " and " + fields[-1] if len(fields) > 1 else fields[0]
                said = (
                    "are required on create and nothing maps them"
                    if len(fields) > 1
                    else ("is required on create and nothing maps it")
                )
                self.add(
                    "warning",
                    path,
                    f"{named} {said}: creates will be rejected; {name} can create no record until the flow "
                    f"maps {'them' if len(fields) > 1 else 'it'}",
                )
            self.unique_fields(m, path, target, t_entity)
        if s_entity.read_only and any(p.syncs_back for p in m.properties):
            self.add(
                "warning",
                path,
                f"{name}: {source.system} {s_entity.name} is read-only, so changes made in {target.system} "
                "are never written back",
            )
