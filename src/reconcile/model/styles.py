"""Auth and paging styles: the ``type``-tagged tables of a system file, their registries and their checking.

A system file's ``[auth]`` and ``[paging]`` tables (:mod:`reconcile.systems.systemfile`) name a style by its
``type`` tag; each style is a frozen dataclass whose fields are its keys, registered in :data:`AUTH_STYLES` or
:data:`PAGING_STYLES`. :func:`_build` checks a table against its style once, naming the key path and what is
valid (with a did-you-mean for a typo); a secret written into the table is refused without echoing it.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

from reconcile.model.names import did_you_mean

__all__ = [
    "AUTH_STYLES",
    "PAGING_STYLES",
    "SECRET_KEYS",
    "ApiKeyAuth",
    "Auth",
    "BasicAuth",
    "BearerAuth",
    "CursorPaging",
    "LinkHeaderPaging",
    "NoAuth",
    "NoPaging",
    "OffsetPaging",
    "PageNumberPaging",
    "Paging",
]


_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_HEADER = re.compile(r"^[A-Za-z0-9!#$%&'*+.^_`|~-]+$")
_RECORDS = re.compile(r"^[A-Za-z0-9_$@-]+(\.[A-Za-z0-9_$@-]+)*$")

# -------------------------------------------------------------------------------------------- typed tables

KeyKind = Literal["text", "int", "first", "number", "env", "header", "param", "records"]


def _key(default: Any = dataclasses.MISSING, kind: KeyKind = "text", doc: str = "") -> Any:
    """A dataclass field that is also a key of a ``type``-tagged table, with how its value is checked."""
    return field(default=default, metadata={"kind": kind, "doc": doc})


def _check_value(kind: KeyKind, value: Any) -> str:
    """What is wrong with ``value`` for a key of ``kind``, or ""."""
    if kind == "int":
        return (
            ""
            if isinstance(value, int) and not isinstance(value, bool) and value > 0
            else "must be a whole number above 0"
        )
    if kind == "first":
        ok = isinstance(value, int) and not isinstance(value, bool) and value in (0, 1)
        return "" if ok else "must be 0 or 1: the number of the first page"
    if kind == "number":
        ok = isinstance(value, int | float) and not isinstance(value, bool) and value > 0
        return "" if ok else "must be a number above 0"
    if not isinstance(value, str) or (not value.strip() and kind != "records"):
        return "must be a non-empty string"
    if kind == "env" and not _ENV_NAME.match(value):
        return f'must be the name of an environment variable (letters, digits, "_"), not "{value}"'
    if kind == "header" and not _HEADER.match(value):
        return f'must be an HTTP header name such as "X-API-Key", not "{value}"'
    if kind == "records" and value and not _RECORDS.match(value):
        return f'must be a dotted path such as "data" or "result.items" ("" for a bare array), not "{value}"'
    if kind == "param" and not _HEADER.match(value):
        return f'must be a query parameter name such as "page", not "{value}"'
    return ""


class _Tagged:
    """A table of a ``type``-tagged config: its dataclass fields are its keys."""

    type: ClassVar[str]

    def problems(self) -> list[tuple[str, str]]:
        """(key, message) for what the keys say together that no single key shows."""
        return []


def _build(
    registry: Mapping[str, type[_Tagged]],
    what: str,
    raw: Any,
    path: str,
    err: Callable[[str, str], None],
    default: str | None = None,
) -> _Tagged | None:
    """The config a ``type``-tagged table describes, or None after reporting what is wrong with it."""
    styles = ", ".join(registry)
    if not isinstance(raw, dict):
        err(path, f'must be a table such as {{ type = "{next(iter(registry))}", ... }}; valid types are {styles}')
        return None
    tag = raw.get("type", default)
    if tag is None:
        err(f"{path}.type", f"missing; valid {what} types are {styles}")
        return None
    if tag not in registry:
        err(
            f"{path}.type",
            f'{what} type "{tag}" is unknown{did_you_mean(str(tag), list(registry))}; valid types are {styles}',
        )
        return None
    cls = registry[tag]
    keys = {f.name: f for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    kwargs: dict[str, Any] = {}
    ok = True
    for name, value in raw.items():
        if name == "type":
            continue
        spec = keys.get(name)
        if spec is None:
            valid = ", ".join(["type", *keys]) if keys else "type"
            hint = did_you_mean(name, list(keys))
            if f"{name}_env" in keys:
                hint = f'; secrets are never written in a file: name the variable that holds it in "{name}_env"'
            err(f"{path}.{name}", f'unknown key for {what} type "{tag}"{hint}; valid keys are {valid}')
            ok = False
            continue
        problem = _check_value(spec.metadata["kind"], value)
        if problem:
            err(f"{path}.{name}", problem)
            ok = False
            continue
        kwargs[name] = value
    for name, spec in keys.items():
        if spec.default is dataclasses.MISSING and name not in raw:
            doc = f" ({spec.metadata['doc']})" if spec.metadata.get("doc") else ""
            err(f"{path}.{name}", f'missing; {what} type "{tag}" requires it{doc}')
            ok = False
    if not ok:
        return None
    built = cls(**kwargs)
    for name, message in built.problems():
        err(f"{path}.{name}" if name else path, message)
        ok = False
    return built if ok else None


# ---------------------------------------------------------------------------------------------------- auth


class Auth(_Tagged):
    """How every call logs in. ``secrets`` maps each secret's role to the key naming its variable."""

    secrets: ClassVar[dict[str, str]] = {}

    def secret_env(self) -> dict[str, str | None]:
        """Each secret's role (``token``, ``key``, ``username``, ``password``) -> its environment variable."""
        return {role: getattr(self, key) for role, key in self.secrets.items()}


@dataclass(frozen=True)
class NoAuth(Auth):
    """No credentials: an open API, or one behind a network boundary."""

    type: ClassVar[str] = "none"


@dataclass(frozen=True)
class BearerAuth(Auth):
    """``Authorization: Bearer <token>``, the token read from ``token_env``."""

    type: ClassVar[str] = "bearer"
    secrets: ClassVar[dict[str, str]] = {"token": "token_env"}
    token_env: str | None = _key(None, "env", "the environment variable that holds the token")


@dataclass(frozen=True)
class ApiKeyAuth(Auth):
    """An API key in a header (``header``, default ``X-API-Key``), the key read from ``key_env``."""

    type: ClassVar[str] = "api_key"
    secrets: ClassVar[dict[str, str]] = {"key": "key_env"}
    header: str = _key("X-API-Key", "header")
    key_env: str | None = _key(None, "env", "the environment variable that holds the key")


@dataclass(frozen=True)
class BasicAuth(Auth):
    """HTTP basic auth, the user name and password read from ``username_env`` and ``password_env``."""

    type: ClassVar[str] = "basic"
    secrets: ClassVar[dict[str, str]] = {"username": "username_env", "password": "password_env"}
    username_env: str | None = _key(None, "env")
    password_env: str | None = _key(None, "env")


AUTH_STYLES: dict[str, type[Auth]] = {c.type: c for c in (BearerAuth, ApiKeyAuth, BasicAuth, NoAuth)}
"""Auth styles by their ``type`` tag; a new style is a class here and a header builder in rest.py."""
SECRET_KEYS = ("token_env", "key_env", "username_env", "password_env")

# -------------------------------------------------------------------------------------------------- paging


class Paging(_Tagged):
    """How a full list is read page by page."""


@dataclass(frozen=True)
class NoPaging(Paging):
    """One call answers every record."""

    type: ClassVar[str] = "none"


@dataclass(frozen=True)
class PageNumberPaging(Paging):
    """``?page=1&per_page=100``, then page 2, ... until a page holds fewer than ``size`` records.

    ``size`` must not be above the most the system sends in one page.
    """

    type: ClassVar[str] = "page_number"
    page_param: str = _key("page", "param")
    size_param: str = _key("per_page", "param")
    size: int = _key(100, "int")
    first_page: int = _key(1, "first")


@dataclass(frozen=True)
class OffsetPaging(Paging):
    """``?offset=0&limit=100``, then offset 100, ... until a page holds fewer than ``limit`` records."""

    type: ClassVar[str] = "offset"
    offset_param: str = _key("offset", "param")
    limit_param: str = _key("limit", "param")
    limit: int = _key(100, "int")


@dataclass(frozen=True)
class CursorPaging(Paging):
    """Each answer names the next page's cursor, in a body field or a header; no cursor, no more pages."""

    type: ClassVar[str] = "cursor"
    cursor_param: str = _key("cursor", "param")
    cursor_field: str | None = _key(None, "records", 'the cursor\'s place in the body, such as "meta.next_cursor"')
    cursor_header: str | None = _key(None, "header", 'the header that holds the cursor, such as "X-Next-Cursor"')
    size_param: str | None = _key(None, "param")
    size: int = _key(100, "int")

    def problems(self) -> list[tuple[str, str]]:
        if (self.cursor_field is None) == (self.cursor_header is None):
            return [("", "needs exactly one of cursor_field (a place in the body) and cursor_header (a header)")]
        return []


@dataclass(frozen=True)
class LinkHeaderPaging(Paging):
    """The next page's URL in the ``Link`` header (RFC 8288, ``rel="next"``); no such link, no more pages."""

    type: ClassVar[str] = "link_header"
    size_param: str | None = _key(None, "param")
    size: int = _key(100, "int")


PAGING_STYLES: dict[str, type[Paging]] = {
    c.type: c for c in (PageNumberPaging, OffsetPaging, CursorPaging, LinkHeaderPaging, NoPaging)
}
"""Paging styles by their ``type`` tag; the connector and the emulator each resolve a style by its tag."""
