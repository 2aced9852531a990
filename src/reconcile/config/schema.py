"""What every configuration schema shares: the base table, the small checks, and the one renderer of problems.

A file is checked in two steps. Its schema (pydantic models derived from :class:`Schema`) checks the shape:
no unknown keys, the right type for every value, a value among the valid ones. Then plain code checks what
the schema cannot see (a reference to a mapping that does not exist, a key that names no field). Both say
each problem the same way, one line each::

    flows/x.toml: mapping[3].conflict: 'newer' is not valid; valid values are source, target, newest, manual

:func:`render_errors` turns pydantic's errors into such lines. It walks the schema along each error's
location to say what is valid there: the keys a table has (with a did-you-mean), the values a ``Literal``
allows, the tags of a union tagged by ``type``. A field's ``description`` says what belongs there (``missing;
it is required (the division number ...)``), its ``title`` names its kind of value (``"text" is not a type``),
and a table's :attr:`Schema.table_hint` shows its shape. A check with words of its own raises
:func:`problem` (or, in the model, where config is not known, a ``ValueError``), whose message is shown as it
is. A table need not be a :class:`Schema`: a model that words its own unknown keys (``unknown_key``, as the
auth and paging styles of :mod:`reconcile.model.styles` do) is read the same way.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import NoneType, UnionType
from typing import Annotated, Any, ClassVar, Literal, TypeVar, Union, get_args, get_origin

from pydantic import BaseModel, BeforeValidator, ConfigDict, ValidationError
from pydantic.fields import FieldInfo
from pydantic_core import PydanticCustomError

from reconcile.model.names import did_you_mean

Loc = tuple[str | int, ...]
S = TypeVar("S", bound="Schema")

PROBLEM = "config"
"""The error type of every check with words of its own; the renderer shows its message as it is."""


class Schema(BaseModel):
    """One table of a configuration file: no unknown keys, no coercion (TOML has types), defaults checked too."""

    model_config = ConfigDict(extra="forbid", strict=True, validate_default=True)

    table_hint: ClassVar[str] = "a table"
    """What a value that is not a table is told this one must be (``a table such as { type = "string" }``)."""

    @classmethod
    def valid_keys(cls) -> list[str]:
        """The keys this table may hold, in the order the schema declares them."""
        return [info.alias or name for name, info in cls.model_fields.items()]

    @classmethod
    def unknown_key(cls, key: str) -> str:
        """What a key this table does not have is told: what it may have meant, and what is valid."""
        keys = cls.valid_keys()
        secret = f"{key}_env"
        hint = f'; secrets are never written here: name their environment variable in "{secret}"'
        return f"unknown key{did_you_mean(key, keys)}; valid keys are {', '.join(keys)}{hint if secret in keys else ''}"


def problem(message: str, *, at: Loc = ()) -> PydanticCustomError:
    """An error whose ``message`` the renderer shows as it is; raise it from a validator.

    ``at`` is a key inside the value checked that the message speaks of (``("type",)`` for a table whose
    ``type`` is wrong), for a check that must see the whole table to judge one key.
    """
    return PydanticCustomError(PROBLEM, message, {"at": at} if at else None)


def must(test: Callable[[Any], bool], message: str | Callable[[Any], str]) -> BeforeValidator:
    """A check run before the type's own: a value for which ``test`` fails is refused with ``message``.

    ``message`` may be a function of the value. The check runs first, so a value of the wrong type is told
    the same words as a value out of range.
    """

    def check(value: Any) -> Any:
        if not test(value):
            raise problem(message(value) if callable(message) else message)
        return value

    return BeforeValidator(check)


def is_text(value: Any) -> bool:
    """Whether ``value`` is a string with something in it."""
    return isinstance(value, str) and bool(value.strip())


def is_path_part(value: Any) -> bool:
    """Whether ``value`` can name a folder as it is, anywhere: letters, digits, ``-``, ``_`` and ``.``, not
    starting with a dot or a dash (no ``..``, no slash, no hidden or option-like name), at most 100 characters."""
    return (
        isinstance(value, str)
        and 0 < len(value) <= 100
        and value[0] not in ".-"
        and all(c.isalnum() or c in "-_." for c in value)
    )


def is_whole_number(value: Any) -> bool:
    """Whether ``value`` is an integer (TOML's ``true`` is not 1)."""
    return isinstance(value, int) and not isinstance(value, bool)


Text = Annotated[str, must(is_text, "a non-empty string is required")]


def validate_table(
    schema: type[S], data: Any, where: str, *, at: Loc = (), context: Mapping[str, Any] | None = None
) -> tuple[S | None, list[str]]:
    """``data`` checked against ``schema``: the table, or ``None`` and every problem as a line naming ``where``.

    ``at`` is where the table sits in the file (``("exact",)`` for the ``[exact]`` table of a connections
    file); ``context`` reaches the validators (a folder relative paths are resolved against, say).
    """
    try:
        return schema.model_validate(data, context=context), []
    except ValidationError as exc:
        return None, render_errors(exc, schema, where, at=at)


def render_errors(error: ValidationError, schema: type[Schema], where: str, *, at: Loc = ()) -> list[str]:
    """Every problem in ``error`` as ``where: key.path: message``, one line each, in the order found."""
    lines = []
    for details in error.errors():
        spot = _locate(schema, details["loc"])
        path, message = _say(details, spot)
        lines.append(f"{where}: {key_path((*at, *path))}: {message}")
    return list(dict.fromkeys(lines))


def key_path(loc: Loc) -> str:
    """A location as a person writes it: ``("mapping", 3, "merge", 0, 1)`` is ``mapping[3].merge[0][1]``."""
    path = ""
    for step in loc:
        path += f"[{step}]" if isinstance(step, int) else f".{step}" if path else step
    return path


@dataclass(frozen=True)
class _Spot:
    """Where an error is, as the schema sees it."""

    path: Loc
    """The location without the tags pydantic adds for a tagged union."""
    table: Any
    """The table (a :class:`Schema`, or a model that words its own keys) that holds the last key."""
    field: FieldInfo | None
    """The last key's field, when the table declares it."""
    expected: Any
    """The type the schema expects there."""


def _locate(schema: type[Schema], loc: tuple[int | str, ...]) -> _Spot:
    path: list[str | int] = []
    expected: Any = schema
    table: Any = None
    field: FieldInfo | None = None
    for step in loc:
        expected = _bare(expected)
        if _is_schema(expected):
            table = expected
            field = next((f for n, f in expected.model_fields.items() if (f.alias or n) == step), None)
            expected = field.annotation if field is not None else Any
        elif _is_union(expected) and (variant := _variant(expected, step)) is not None:
            expected = variant
            continue  # pydantic names the tag in the location; the file does not
        elif get_origin(expected) in (list, tuple, dict):
            expected, field = get_args(expected)[-1 if get_origin(expected) is dict else 0], None
        else:
            expected, field = Any, None
        path.append(step)
    return _Spot(tuple(path), table, field, _bare(expected))


def _bare(expected: Any) -> Any:
    """The type under ``Annotated`` and ``Optional``."""
    while True:
        if get_origin(expected) is Annotated:
            expected = get_args(expected)[0]
        elif _is_union(expected) and NoneType in get_args(expected):
            rest = [a for a in get_args(expected) if a is not NoneType]
            expected = rest[0] if len(rest) == 1 else Union[tuple(rest)]  # noqa: UP007
        else:
            return expected


def _is_union(expected: Any) -> bool:
    return get_origin(expected) in (Union, UnionType)


def _is_schema(expected: Any) -> bool:
    """Whether ``expected`` is a table: a model that words its own unknown keys, as every :class:`Schema` does."""
    return isinstance(expected, type) and issubclass(expected, BaseModel) and hasattr(expected, "unknown_key")


def _variant(union: Any, tag: str | int) -> Any:
    """The member of a tagged union whose tag is ``tag``: the value of a key every member has."""
    members = [m for m in get_args(union) if _is_schema(m)]
    shared = set.intersection(*(set(m.model_fields) for m in members)) if members else set()
    return next((m for m in members if any(tag in _tags(m, key) for key in shared)), None)


def _tags(member: Any, discriminator: str) -> list[str]:
    """The tags a member of a union may carry under ``discriminator``."""
    fields = member.model_fields if _is_schema(member) else {}
    return _choices(fields[discriminator].annotation) if discriminator in fields else []


def _choices(expected: Any) -> list[str]:
    expected = _bare(expected)
    return [str(a) for a in get_args(expected)] if get_origin(expected) is Literal else []


_SCALARS = {
    "int_type": "a whole number",
    "float_type": "a number",
    "string_type": "a string",
    "bool_type": "true or false",
}
_TABLES = ("model_type", "model_attributes_type", "dict_type")


def _say(details: Any, spot: _Spot) -> tuple[Loc, str]:
    """(location, message) for one pydantic error."""
    kind, value, path = details["type"], details.get("input"), spot.path
    described = spot.field.description if spot.field is not None else None
    if kind == PROBLEM:
        return (*path, *(details.get("ctx") or {}).get("at", ())), str(details["msg"])
    if kind == "value_error":
        return path, str(details["ctx"]["error"])
    if kind == "extra_forbidden" and spot.table is not None:
        return path, spot.table.unknown_key(str(path[-1]))
    if kind == "missing":
        return path, "missing; it is required" + (f" ({described})" if described else "")
    if kind == "literal_error":
        return path, _not_a_choice(value, _choices(spot.expected), spot.field.title if spot.field else None)
    if kind in ("union_tag_invalid", "union_tag_not_found"):
        discriminator = str(details["ctx"]["discriminator"]).strip("'")
        tags = [t for v in get_args(spot.expected) for t in _tags(v, discriminator)]
        if kind == "union_tag_not_found":
            return (*path, discriminator), f"missing; it is required (one of {', '.join(tags)})"
        return (*path, discriminator), _not_a_choice(details["ctx"]["tag"], tags, discriminator)
    if kind in _TABLES:
        hint = getattr(spot.expected, "table_hint", "") if _is_schema(spot.expected) else ""
        return path, f"must be {described or hint or 'a table'}"
    if kind == "list_type":
        return path, f"must be {described or 'a list'}"
    if kind in _SCALARS:
        return path, f"{value!r} is not valid; use {_SCALARS[kind]}"
    return path, f"{value!r} is not valid: {str(details['msg']).lower()}"


def _not_a_choice(value: Any, choices: list[str], noun: str | None) -> str:
    """``'newer' is not valid; valid values are ...``, or with a noun ``"text" is not a type; valid types are ...``."""
    hint = did_you_mean(value, choices) if isinstance(value, str) else ""
    if noun:
        shown = json.dumps(value, ensure_ascii=False, default=str)
        return f"{shown} is not a {noun}{hint}; valid {noun}s are {', '.join(choices)}"
    return f"{value!r} is not valid; valid values are {', '.join(choices)}{hint}"
