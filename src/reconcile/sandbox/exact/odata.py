"""The OData v2 ``$filter`` language as Exact Online accepts it, for the Exact emulator.

Supported, as the Exact reference documents: ``eq ne gt ge lt le``, ``and or not``, parentheses, the
functions ``substringof``, ``startswith``, ``endswith``, ``trim``, ``tolower``, ``toupper``, and the literals
``'text'`` (quotes doubled), ``guid'…'``, ``datetime'…'``, whole numbers, ``123L`` (Int64), decimals,
``true``/``false`` and ``null``. Operand types are checked as OData does: a guid field compared with a
plain string, or a text field with a number, is a syntax error, not an empty result.

Values are the emulator's stored values: guids lower-case, dates and date-times as milliseconds of the
Amsterdam wall-clock time (the number Exact puts in ``/Date(ms)/``). Text compares without regard to case,
as Exact's database does.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

Record = Mapping[str, Any]
Predicate = Callable[[Record], bool]

_EPOCH = dt.datetime(1970, 1, 1)
_TOKEN = re.compile(
    r"""\s*(?:
        (?P<guid>guid'(?P<guidv>[^']*)')
      | (?P<dtm>datetime'(?P<dtmv>[^']*)')
      | (?P<str>'(?P<strv>(?:[^']|'')*)')
      | (?P<num>-?\d+(?:\.\d+)?(?P<suffix>[LlMmDdFf])?)
      | (?P<name>[A-Za-z_][A-Za-z0-9_/]*)
      | (?P<punct>[(),])
    )""",
    re.VERBOSE,
)
_COMPARE = {"eq", "ne", "gt", "ge", "lt", "le"}
_EDM = {
    "string": "Edm.String",
    "guid": "Edm.Guid",
    "int": "Edm.Int32",
    "float": "Edm.Double",
    "bool": "Edm.Boolean",
    "datetime": "Edm.DateTime",
    "null": "null",
}


class FilterError(ValueError):
    """A ``$filter`` Exact would refuse with a 400."""


def wall_ms_of(text: str) -> int:
    """Milliseconds of an ISO wall-clock date-time (``2024-01-01T00:00:00`` or ``2024-01-01``)."""
    parsed = dt.datetime.fromisoformat(text)
    if parsed.tzinfo is not None:
        raise ValueError("a datetime literal has no offset")
    return (parsed - _EPOCH) // dt.timedelta(milliseconds=1)


@dataclass(frozen=True)
class _Node:
    type: str  # a key of _EDM, or "any"
    value: Callable[[Record], Any]


def compile_filter(text: str, fields: Mapping[str, str], type_name: str) -> Predicate:
    """A predicate for ``$filter=text``; ``fields`` maps each property to its type (catalogue types)."""
    tokens = _tokenize(text)
    parser = _Parser(tokens, fields, type_name)
    node = parser.parse_or()
    if parser.pos != len(tokens):
        raise FilterError("Bad Request - Error in query syntax.")
    if node.type not in ("bool", "any"):
        raise FilterError("The $filter expression must evaluate to a single boolean value.")
    fn = node.value
    return lambda record: fn(record) is True


def _tokenize(text: str) -> list[tuple[str, Any]]:
    tokens: list[tuple[str, Any]] = []
    pos = 0
    text = text.strip()
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if not match or match.end() == pos:
            raise FilterError("Bad Request - Error in query syntax.")
        pos = match.end()
        if match.group("guid") is not None:
            tokens.append(("guid", match.group("guidv").lower()))
        elif match.group("dtm") is not None:
            try:
                tokens.append(("datetime", wall_ms_of(match.group("dtmv"))))
            except ValueError as exc:
                raise FilterError("Bad Request - Error in query syntax.") from exc
        elif match.group("str") is not None:
            tokens.append(("string", match.group("strv").replace("''", "'")))
        elif match.group("num") is not None:
            raw = match.group("num")
            suffix = match.group("suffix")
            if suffix and suffix in "Ll":
                tokens.append(("int", int(raw[:-1])))
            elif suffix or "." in raw:
                tokens.append(("float", float(raw.rstrip("MmDdFf"))))
            else:
                tokens.append(("int", int(raw)))
        elif match.group("name") is not None:
            tokens.append(("name", match.group("name")))
        else:
            tokens.append(("punct", match.group("punct")))
        while pos < len(text) and text[pos].isspace():
            pos += 1
    return tokens


def _fold(value: Any) -> Any:
    return value.casefold() if isinstance(value, str) else value


def _comparable(left: str, right: str) -> bool:
    if "any" in (left, right) or "null" in (left, right) or left == right:
        return True
    return {left, right} <= {"int", "float"}


class _Parser:
    def __init__(self, tokens: list[tuple[str, Any]], fields: Mapping[str, str], type_name: str) -> None:
        self.tokens = tokens
        self.pos = 0
        self.fields = fields
        self.type_name = type_name

    def peek(self) -> tuple[str, Any] | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def take(self) -> tuple[str, Any]:
        token = self.peek()
        if token is None:
            raise FilterError("Bad Request - Error in query syntax.")
        self.pos += 1
        return token

    def expect(self, punct: str) -> None:
        if self.take() != ("punct", punct):
            raise FilterError("Bad Request - Error in query syntax.")

    def keyword(self, *words: str) -> str | None:
        token = self.peek()
        if token is not None and token[0] == "name" and token[1] in words:
            self.pos += 1
            return str(token[1])
        return None

    def parse_or(self) -> _Node:
        node = self.parse_and()
        while self.keyword("or"):
            right = self.parse_and()
            self._boolean(node, right, "or")
            node = _Node("bool", _either(node.value, right.value))
        return node

    def parse_and(self) -> _Node:
        node = self.parse_not()
        while self.keyword("and"):
            right = self.parse_not()
            self._boolean(node, right, "and")
            node = _Node("bool", _both(node.value, right.value))
        return node

    def parse_not(self) -> _Node:
        if self.keyword("not"):
            inner = self.parse_not()
            fn = inner.value
            return _Node("bool", lambda r: fn(r) is not True)
        return self.parse_compare()

    def parse_compare(self) -> _Node:
        left = self.parse_primary()
        op = self.keyword(*_COMPARE)
        if op is None:
            return left
        right = self.parse_primary()
        if not _comparable(left.type, right.type):
            raise FilterError(
                f"Operator '{op}' incompatible with operand types '{_EDM.get(left.type, left.type)}' "
                f"and '{_EDM.get(right.type, right.type)}' at position {self.pos}."
            )
        a, b = left.value, right.value
        return _Node("bool", lambda r: _apply(op, a(r), b(r)))

    def _boolean(self, left: _Node, right: _Node, op: str) -> None:
        for node in (left, right):
            if node.type not in ("bool", "any"):
                raise FilterError(f"Operator '{op}' incompatible with operand type '{_EDM[node.type]}'.")

    def parse_primary(self) -> _Node:
        kind, value = self.take()
        if kind == "punct" and value == "(":
            node = self.parse_or()
            self.expect(")")
            return node
        if kind in ("string", "guid", "datetime", "int", "float"):
            return _Node(kind, _constant(value))
        if kind != "name":
            raise FilterError("Bad Request - Error in query syntax.")
        if value in ("true", "false"):
            return _Node("bool", _constant(value == "true"))
        if value == "null":
            return _Node("null", lambda r: None)
        nxt = self.peek()
        if nxt == ("punct", "("):
            return self.parse_call(str(value))
        if "/" in value:
            raise FilterError("Filtering on navigation properties is not supported.")
        ftype = self.fields.get(value)
        if ftype is None:
            raise FilterError(f"No property '{value}' exists in type '{self.type_name}' at position {self.pos}.")
        node_type = {"date": "datetime"}.get(ftype, ftype)
        return _Node(node_type, _property(str(value)))

    def parse_call(self, name: str) -> _Node:
        self.expect("(")
        args = [self.parse_or()]
        while self.peek() == ("punct", ","):
            self.pos += 1
            args.append(self.parse_or())
        self.expect(")")
        arity = {"substringof": 2, "startswith": 2, "endswith": 2, "trim": 1, "tolower": 1, "toupper": 1}
        if name not in arity:
            raise FilterError(f"Unknown function '{name}' at position {self.pos}.")
        if len(args) != arity[name]:
            raise FilterError(f"No function signature for the function with name '{name}' matches the arguments.")
        for arg in args:
            if arg.type not in ("string", "any", "null"):
                raise FilterError(f"No function signature for the function with name '{name}' matches the arguments.")
        fns = [a.value for a in args]
        if name == "substringof":
            return _Node("bool", lambda r: _text(fns[0](r)).casefold() in _text(fns[1](r)).casefold())
        if name == "startswith":
            return _Node("bool", lambda r: _text(fns[0](r)).casefold().startswith(_text(fns[1](r)).casefold()))
        if name == "endswith":
            return _Node("bool", lambda r: _text(fns[0](r)).casefold().endswith(_text(fns[1](r)).casefold()))
        if name == "trim":
            return _Node("string", lambda r: None if fns[0](r) is None else _text(fns[0](r)).strip())
        if name == "tolower":
            return _Node("string", lambda r: None if fns[0](r) is None else _text(fns[0](r)).lower())
        return _Node("string", lambda r: None if fns[0](r) is None else _text(fns[0](r)).upper())


Getter = Callable[[Record], Any]


def _constant(value: Any) -> Getter:
    return lambda record: value


def _property(name: str) -> Getter:
    return lambda record: record.get(name)


def _either(a: Getter, b: Getter) -> Getter:
    return lambda record: a(record) is True or b(record) is True


def _both(a: Getter, b: Getter) -> Getter:
    return lambda record: a(record) is True and b(record) is True


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def _apply(op: str, left: Any, right: Any) -> bool:
    if left is None or right is None:
        if op == "eq":
            return left is None and right is None
        if op == "ne":
            return (left is None) != (right is None)
        return False
    a, b = _fold(left), _fold(right)
    if op == "eq":
        return bool(a == b)
    if op == "ne":
        return bool(a != b)
    if op == "gt":
        return bool(a > b)
    if op == "ge":
        return bool(a >= b)
    if op == "lt":
        return bool(a < b)
    return bool(a <= b)
