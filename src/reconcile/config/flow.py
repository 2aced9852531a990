"""Read a flow file into the model, refusing anything that does not hold.

Every message names the file, the key path and what would be valid:
``flows/x.toml: mapping[3].conflict = "newer"; valid values are source, target, newest, manual``.
Checks that need the systems' catalogues live in :mod:`reconcile.flow.check`.
"""

from __future__ import annotations

import difflib
from dataclasses import replace
from pathlib import Path
from typing import Any

from reconcile.config.toml import read_toml
from reconcile.errors import FlowError
from reconcile.model.flow import (
    CONFLICT_POLICIES,
    DELETE_POLICIES,
    DIRECTIONS,
    PROPERTY_TYPES,
    Defaults,
    Flow,
    Guards,
    Mapping,
    Property,
)

_FLOW_KEYS = ("name", "source", "target", "description", "defaults", "mapping")
_DEFAULT_KEYS = ("conflict", "delete", "blank_overwrites", "guards")
_MAPPING_KEYS = (
    "name",
    "source",
    "target",
    "merge",
    "properties",
    "conflict",
    "delete",
    "blank_overwrites",
    "guards",
)
_PROPERTY_KEYS = ("source", "value", "target", "type", "ref", "direction")
_GUARD_KEYS = ("max_creates", "max_updates", "max_deletes", "max_update_share", "max_delete_share", "shrink")


class _Errors:
    def __init__(self, where: str) -> None:
        self.where = where
        self.messages: list[str] = []

    def add(self, path: str, message: str) -> None:
        self.messages.append(f"{self.where}: {path}: {message}")


def _suggest(name: str, options: tuple[str, ...] | list[str]) -> str:
    close = difflib.get_close_matches(name, list(options), n=1, cutoff=0.6)
    return f' (did you mean "{close[0]}"?)' if close else ""


def _unknown_keys(table: dict[str, Any], valid: tuple[str, ...], path: str, errors: _Errors) -> None:
    for key in table:
        if key not in valid:
            errors.add(f"{path}{key}", f"unknown key{_suggest(key, valid)}; valid keys are {', '.join(valid)}")


def _choice(table: dict[str, Any], key: str, valid: tuple[str, ...], default: str, path: str, errors: _Errors) -> str:
    value = table.get(key, default)
    if value not in valid:
        errors.add(f"{path}{key}", f"{value!r} is not valid; valid values are {', '.join(valid)}")
        return default
    return str(value)


def _bool(table: dict[str, Any], key: str, default: bool, path: str, errors: _Errors) -> bool:
    value = table.get(key, default)
    if not isinstance(value, bool):
        errors.add(f"{path}{key}", f"{value!r} is not valid; use true or false")
        return default
    return value


def _text(table: dict[str, Any], key: str, path: str, errors: _Errors, required: bool = True) -> str:
    value = table.get(key)
    if value is None and not required:
        return ""
    if not isinstance(value, str) or not value.strip():
        errors.add(f"{path}{key}", "a non-empty string is required")
        return ""
    return value


def _guards(raw: Any, base: Guards, path: str, errors: _Errors) -> Guards:
    if raw is None:
        return base
    if not isinstance(raw, dict):
        errors.add(path.rstrip("."), "must be a table")
        return base
    _unknown_keys(raw, _GUARD_KEYS, path, errors)
    values: dict[str, Any] = {}
    for key, value in raw.items():
        if key not in _GUARD_KEYS:
            continue
        if key.startswith("max_") and not key.endswith("share"):
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                errors.add(f"{path}{key}", f"{value!r} is not valid; use a whole number of records, 0 or more")
                continue
        elif not isinstance(value, int | float) or isinstance(value, bool) or not 0 <= value <= 1:
            errors.add(f"{path}{key}", f"{value!r} is not valid; use a share between 0 and 1")
            continue
        values[key] = value
    return replace(base, **values)


def _property(raw: Any, index: int, path: str, errors: _Errors) -> Property | None:
    if not isinstance(raw, dict):
        errors.add(path, 'must be a table such as { source = "Name", target = "Name", type = "string" }')
        return None
    _unknown_keys(raw, _PROPERTY_KEYS, f"{path}.", errors)
    target = _text(raw, "target", f"{path}.", errors)
    source, value = raw.get("source"), raw.get("value")
    if (source is None) == (value is None):
        errors.add(path, 'give exactly one of "source" (a field path) or "value" (a fixed value set on create)')
    if source is not None and (not isinstance(source, str) or not source.strip()):
        errors.add(f"{path}.source", 'a field path such as "MailAddress.City" is required')
    if value is not None and not isinstance(value, str | int | float | bool):
        errors.add(f"{path}.value", "a fixed value must be a string, a number or a boolean")
    ref = raw.get("ref")
    if ref is not None and (not isinstance(ref, str) or not ref):
        errors.add(f"{path}.ref", "must name another mapping of this flow")
        ref = None
    if ref is not None and value is not None:
        errors.add(f"{path}.ref", "a fixed value cannot be a reference")
    ptype = _choice(raw, "type", PROPERTY_TYPES, "string", f"{path}.", errors)
    direction = _choice(raw, "direction", DIRECTIONS, "both", f"{path}.", errors)
    return Property(
        target=target,
        source=source if isinstance(source, str) else None,
        value=None if value is None else (str(value).lower() if isinstance(value, bool) else str(value)),
        type=ptype,  # type: ignore[arg-type]
        ref=ref,
        direction=direction,  # type: ignore[arg-type]
        index=index,
    )


def _merge(raw: Any, path: str, errors: _Errors) -> tuple[tuple[tuple[str, str], ...], ...]:
    shape = 'a list of combinations, each a list of [source, target] pairs: [[["Code", "Code"]]]'
    if not isinstance(raw, list):
        errors.add(path, f"must be {shape}")
        return ()
    combos: list[tuple[tuple[str, str], ...]] = []
    for i, combo in enumerate(raw):
        if not isinstance(combo, list) or not combo:
            errors.add(f"{path}[{i}]", f"must be a non-empty list of [source, target] pairs; the whole is {shape}")
            continue
        pairs: list[tuple[str, str]] = []
        for j, pair in enumerate(combo):
            if not isinstance(pair, list) or len(pair) != 2 or not all(isinstance(p, str) and p.strip() for p in pair):
                errors.add(f"{path}[{i}][{j}]", f"{pair!r} is not a [source, target] pair of field names")
                continue
            pairs.append((pair[0], pair[1]))
        combos.append(tuple(pairs))
    return tuple(combos)


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


def parse_flow(data: dict[str, Any], where: str) -> Flow:
    """Build a flow from parsed TOML. Raises :class:`FlowError` with every problem found."""
    errors = _Errors(where)
    _unknown_keys(data, _FLOW_KEYS, "", errors)
    name = _text(data, "name", "", errors)
    source = _text(data, "source", "", errors)
    target = _text(data, "target", "", errors)
    raw_defaults = data.get("defaults", {})
    if not isinstance(raw_defaults, dict):
        errors.add("defaults", "must be a table")
        raw_defaults = {}
    _unknown_keys(raw_defaults, _DEFAULT_KEYS, "defaults.", errors)
    defaults = Defaults(
        conflict=_choice(raw_defaults, "conflict", CONFLICT_POLICIES, "newest", "defaults.", errors),  # type: ignore[arg-type]
        delete=_choice(raw_defaults, "delete", DELETE_POLICIES, "report", "defaults.", errors),  # type: ignore[arg-type]
        blank_overwrites=_bool(raw_defaults, "blank_overwrites", False, "defaults.", errors),
        guards=_guards(raw_defaults.get("guards"), Guards(), "defaults.guards.", errors),
    )
    raw_mappings = data.get("mapping", [])
    if not isinstance(raw_mappings, list) or not raw_mappings:
        errors.add("mapping", "at least one [[mapping]] table is required")
        raw_mappings = []
    mappings: list[Mapping] = []
    warnings: list[str] = []
    seen: dict[str, int] = {}
    for i, raw in enumerate(raw_mappings):
        path = f"mapping[{i}]"
        if not isinstance(raw, dict):
            errors.add(path, "must be a table")
            continue
        _unknown_keys(raw, _MAPPING_KEYS, f"{path}.", errors)
        mname = _text(raw, "name", f"{path}.", errors)
        raw_props = raw.get("properties", [])
        if not isinstance(raw_props, list):
            errors.add(f"{path}.properties", "must be a list of property tables")
            raw_props = []
        props = [p for j, rp in enumerate(raw_props) if (p := _property(rp, j, f"{path}.properties[{j}]", errors))]
        targets = [p.target for p in props]
        for t in sorted({t for t in targets if targets.count(t) > 1}):
            errors.add(f"{path}.properties", f'target field "{t}" is mapped twice; map each target field once')
        mapping = Mapping(
            name=mname,
            source=_text(raw, "source", f"{path}.", errors),
            target=_text(raw, "target", f"{path}.", errors),
            properties=tuple(props),
            merge=_merge(raw.get("merge", []), f"{path}.merge", errors),
            conflict=_choice(raw, "conflict", CONFLICT_POLICIES, defaults.conflict, f"{path}.", errors),  # type: ignore[arg-type]
            delete=_choice(raw, "delete", DELETE_POLICIES, defaults.delete, f"{path}.", errors),  # type: ignore[arg-type]
            blank_overwrites=_bool(raw, "blank_overwrites", defaults.blank_overwrites, f"{path}.", errors),
            guards=_guards(raw.get("guards"), defaults.guards, f"{path}.guards.", errors),
            index=i,
        )
        twin = next((m for m in mappings if _same_mapping(m, mapping)), None)
        if twin is not None:
            warnings.append(
                f'{where}: {path}: mapping "{mname}" repeats mapping "{twin.name}" '
                f"({mapping.source} -> {mapping.target}) exactly; folded into one"
            )
            continue
        if mname in seen:
            errors.add(f"{path}.name", f'"{mname}" is already the name of mapping[{seen[mname]}]; names are unique')
        seen[mname] = i
        mappings.append(mapping)
    names = [m.name for m in mappings]
    for m in mappings:
        for p in m.properties:
            if p.ref is not None and p.ref not in names:
                errors.add(
                    f"mapping[{m.index}].properties[{p.index}].ref",
                    f'"{p.ref}" is not a mapping of this flow{_suggest(p.ref, names)}; '
                    f"valid mappings are {', '.join(names)}",
                )
    if not errors.messages and (cycle := _find_cycle(mappings)):
        first = next(m for m in mappings if m.name == cycle[0])
        errors.add(
            f"mapping[{first.index}]",
            "references form a cycle: " + " -> ".join(cycle) + "; a mapping's parents must be creatable before it",
        )
    if errors.messages:
        raise FlowError(errors.messages)
    return Flow(
        name=name,
        source=source,
        target=target,
        mappings=tuple(mappings),
        defaults=defaults,
        description=str(data.get("description", "")),
        path=where,
        warnings=tuple(warnings),
    )


def load_flow(path: Path | str) -> Flow:
    """Read and check the structure of one flow file."""
    path = Path(path)
    return parse_flow(read_toml(path, FlowError), str(path))
