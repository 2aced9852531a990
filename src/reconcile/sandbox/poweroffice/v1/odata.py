"""OData as API v1 takes it: ``$filter``, ``$orderby``, ``$top`` and ``$skip`` over a list of records.

``$filter`` joins comparisons with and / or / not, in parentheses; names are PascalCase (the JSON keys are
camelCase) and date-times are ``DateTimeOffset'2024-01-01T00:00:00'`` literals, without an offset.
``$skip`` needs ``$top`` and ``$orderby``. Errors are :class:`V1Error` of the kind ``OData``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from reconcile.sandbox.poweroffice.ticks import parse_ticks
from reconcile.sandbox.poweroffice.v1.envelope import V1Error

Predicate = Callable[[dict[str, Any]], bool]


def query(records: list[dict[str, Any]], params: Mapping[str, str], max_top: int) -> tuple[list[dict[str, Any]], int]:
    """The page of ``records`` the query options ``params`` (lower-case keys) ask for, and how many matched."""
    if params.get("$filter", "").strip():
        predicate = parse_filter(params["$filter"])
        records = [r for r in records if predicate(r)]
    total = len(records)
    if "$skip" in params and ("$top" not in params or "$orderby" not in params):
        raise V1Error("$skip can only be used together with $top and $orderby", "OData")
    if params.get("$orderby", "").strip():
        for clause in reversed(params["$orderby"].split(",")):
            parts = clause.split()
            key = _field(parts[0])
            descending = len(parts) > 1 and parts[1].lower() == "desc"
            records.sort(key=lambda r, k=key: _sort_key(r, k), reverse=descending)  # type: ignore[misc]
    skip = _count(params.get("$skip", "0"), "$skip")
    top = min(_count(params.get("$top", str(max_top)), "$top"), max_top)
    return records[skip : skip + top], total


_TOKEN = re.compile(
    r"\s*(?:(?P<lit>[A-Za-z]+'(?:[^']|'')*')|(?P<str>'(?:[^']|'')*')|(?P<num>-?\d+(?:\.\d+)?)"
    r"|(?P<name>[A-Za-z_][A-Za-z0-9_]*)|(?P<paren>[()]))"
)
_OPS = {"eq", "ne", "gt", "ge", "lt", "le"}


def parse_filter(text: str) -> Predicate:
    """An OData ``$filter`` (comparisons joined by and / or / not, in parentheses) as a predicate."""
    tokens: list[tuple[str, str]] = []
    pos = 0
    text = text.strip()
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if not match or match.end() == pos:
            raise V1Error(f"Syntax error at position {pos} in $filter", "OData")
        kind = match.lastgroup or ""
        tokens.append((kind, match.group(kind)))
        pos = match.end()
        while pos < len(text) and text[pos].isspace():
            pos += 1
    index = 0

    def peek() -> tuple[str, str] | None:
        return tokens[index] if index < len(tokens) else None

    def take() -> tuple[str, str]:
        nonlocal index
        if index >= len(tokens):
            raise V1Error("Unexpected end of $filter", "OData")
        index += 1
        return tokens[index - 1]

    def expr() -> Predicate:
        left = term()
        while (tok := peek()) and tok == ("name", tok[1]) and tok[1].lower() == "or":
            take()
            right = term()
            left = (lambda a, b: lambda r: a(r) or b(r))(left, right)
        return left

    def term() -> Predicate:
        left = factor()
        while (tok := peek()) and tok[0] == "name" and tok[1].lower() == "and":
            take()
            right = factor()
            left = (lambda a, b: lambda r: a(r) and b(r))(left, right)
        return left

    def factor() -> Predicate:
        kind, value = take()
        if kind == "paren" and value == "(":
            inner = expr()
            if take() != ("paren", ")"):
                raise V1Error("Expected ')' in $filter", "OData")
            return inner
        if kind == "name" and value.lower() == "not":
            inner = factor()
            return lambda r: not inner(r)
        if kind != "name":
            raise V1Error(f"Expected a property name in $filter, found {value}", "OData")
        key = _field(value)
        op_kind, op = take()
        if op_kind != "name" or op.lower() not in _OPS:
            raise V1Error(f"Unknown operator '{op}' in $filter", "OData")
        literal = _literal(*take())
        return _compare(key, op.lower(), literal)

    predicate = expr()
    if index != len(tokens):
        raise V1Error("Syntax error in $filter", "OData")
    return predicate


def _field(name: str) -> str:
    """The JSON (camelCase) key of an OData (PascalCase) property name."""
    if not name[:1].isupper():
        raise V1Error(f"Could not find a property named '{name}' (OData names are PascalCase)", "OData")
    return name[0].lower() + name[1:]


def _literal(kind: str, value: str) -> Any:
    if kind == "str":
        return value[1:-1].replace("''", "'")
    if kind == "num":
        return float(value) if "." in value else int(value)
    if kind == "lit":
        prefix, quoted = value.split("'", 1)
        inner = quoted[:-1].replace("''", "'")
        if prefix.lower() == "datetimeoffset":
            if re.search(r"(Z|[+-]\d{2}:?\d{2})$", inner):
                raise V1Error(f"The DateTimeOffset literal '{inner}' is not valid", "OData")
            try:
                return ("ticks", parse_ticks(inner))
            except ValueError:
                raise V1Error(f"The DateTimeOffset literal '{inner}' is not valid", "OData") from None
        if prefix.lower() == "guid":
            return inner.lower()
        raise V1Error(f"The literal {prefix}'...' is not supported here; use DateTimeOffset'...'", "OData")
    if kind == "name" and value.lower() in ("true", "false"):
        return value.lower() == "true"
    if kind == "name" and value.lower() == "null":
        return None
    raise V1Error(f"Expected a value in $filter, found {value}", "OData")


def _compare(key: str, op: str, literal: Any) -> Predicate:
    def predicate(record: dict[str, Any]) -> bool:
        if key not in record:
            raise V1Error(f"Could not find a property named '{key[0].upper()}{key[1:]}'", "OData")
        value = record[key]
        target = literal
        if isinstance(literal, tuple):
            if value is None:
                return op == "ne"
            value, target = parse_ticks(str(value)), literal[1]
        elif isinstance(value, str) and isinstance(target, str):
            value, target = value.casefold(), target.casefold()
        if op == "eq":
            return bool(value == target)
        if op == "ne":
            return bool(value != target)
        if value is None or target is None:
            return False
        try:
            return bool({"gt": value > target, "ge": value >= target, "lt": value < target, "le": value <= target}[op])
        except TypeError:
            return False

    return predicate


def _sort_key(record: dict[str, Any], key: str) -> tuple[int, Any]:
    value = record.get(key)
    return (0, "") if value is None else (1, value if isinstance(value, int | float) else str(value))


def _count(raw: str, name: str) -> int:
    try:
        value = int(raw)
    except ValueError:
        raise V1Error(f"{name} must be a whole number", "OData") from None
    if value < 0:
        raise V1Error(f"{name} must not be negative", "OData")
    return value
