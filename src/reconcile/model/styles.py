"""Auth and paging styles: the ``type``-tagged tables of a system file, and what each style does on the wire.

A system file's ``[auth]`` and ``[paging]`` tables (:mod:`reconcile.config.systemfile`) name a style by its
``type`` tag; each style is a frozen dataclass whose fields are its keys, registered in :data:`AUTH_STYLES` or
:data:`PAGING_STYLES` (:mod:`reconcile.config.styles` checks a table against its style). A style also knows
both sides of its wire, so that a new style is one class here and nothing else:

- an auth style says which headers a client sends (:meth:`Auth.headers`) and whether a request's headers
  carry the right credential (:meth:`Auth.accepts`);
- a paging style says which page a client asks for first (:meth:`Paging.first_request`), which next given the
  answer (:meth:`Paging.next_request`), and how a server cuts a page from the records (:meth:`Paging.serve_page`).

The behaviour is written over small neutral values (:class:`PageRequest`, :class:`PageAnswer`,
:class:`ServedPage`, headers and queries as mappings of text), so that the REST connector and the generic
emulator only adapt them to httpx and Starlette.
"""

from __future__ import annotations

import base64
import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal
from urllib.parse import parse_qsl, urlencode, urlsplit

from reconcile.model.values import value_at

KeyKind = Literal["text", "int", "first", "number", "env", "header", "param", "records"]
"""How the value of a style's key is checked (:func:`reconcile.config.styles.check_value`)."""

Row = dict[str, Any]


def _key(default: Any = dataclasses.MISSING, kind: KeyKind = "text", doc: str = "") -> Any:
    """A dataclass field that is also a key of a ``type``-tagged table, with how its value is checked."""
    return field(default=default, metadata={"kind": kind, "doc": doc})


class Style:
    """A table of a ``type``-tagged config: its dataclass fields are its keys."""

    type: ClassVar[str]

    def problems(self) -> list[tuple[str, str]]:
        """(key, message) for what the keys say together that no single key shows."""
        return []


# ---------------------------------------------------------------------------------------------------- auth


class Auth(Style):
    """How every call logs in. ``secrets`` maps each secret's role to the key naming its variable."""

    secrets: ClassVar[dict[str, str]] = {}

    def secret_env(self) -> dict[str, str | None]:
        """Each secret's role (``token``, ``key``, ``username``, ``password``) -> its environment variable."""
        return {role: getattr(self, key) for role, key in self.secrets.items()}

    def headers(self, secrets: Mapping[str, str]) -> dict[str, str]:
        """The headers a client sends on every call, from the secrets by role."""
        raise NotImplementedError

    def accepts(self, headers: Mapping[str, str], secrets: Mapping[str, str]) -> bool:
        """Whether a request's ``headers`` carry the credential these ``secrets`` make (a server's check)."""
        return all(headers.get(name) == value for name, value in self.headers(secrets).items())


@dataclass(frozen=True)
class NoAuth(Auth):
    """No credentials: an open API, or one behind a network boundary."""

    type: ClassVar[str] = "none"

    def headers(self, secrets: Mapping[str, str]) -> dict[str, str]:
        return {}


@dataclass(frozen=True)
class BearerAuth(Auth):
    """``Authorization: Bearer <token>``, the token read from ``token_env``."""

    type: ClassVar[str] = "bearer"
    secrets: ClassVar[dict[str, str]] = {"token": "token_env"}
    token_env: str | None = _key(None, "env", "the environment variable that holds the token")

    def headers(self, secrets: Mapping[str, str]) -> dict[str, str]:
        return {"Authorization": f"Bearer {secrets['token']}"}


@dataclass(frozen=True)
class ApiKeyAuth(Auth):
    """An API key in a header (``header``, default ``X-API-Key``), the key read from ``key_env``."""

    type: ClassVar[str] = "api_key"
    secrets: ClassVar[dict[str, str]] = {"key": "key_env"}
    header: str = _key("X-API-Key", "header")
    key_env: str | None = _key(None, "env", "the environment variable that holds the key")

    def headers(self, secrets: Mapping[str, str]) -> dict[str, str]:
        return {self.header: secrets["key"]}


@dataclass(frozen=True)
class BasicAuth(Auth):
    """HTTP basic auth, the user name and password read from ``username_env`` and ``password_env``."""

    type: ClassVar[str] = "basic"
    secrets: ClassVar[dict[str, str]] = {"username": "username_env", "password": "password_env"}
    username_env: str | None = _key(None, "env")
    password_env: str | None = _key(None, "env")

    def headers(self, secrets: Mapping[str, str]) -> dict[str, str]:
        pair = f"{secrets['username']}:{secrets['password']}".encode()
        return {"Authorization": "Basic " + base64.b64encode(pair).decode("ascii")}


AUTH_STYLES: dict[str, type[Auth]] = {c.type: c for c in (BearerAuth, ApiKeyAuth, BasicAuth, NoAuth)}
"""Auth styles by their ``type`` tag; a new style is a class here."""
SECRET_KEYS = ("token_env", "key_env", "username_env", "password_env")

# -------------------------------------------------------------------------------------------- pages on the wire


@dataclass(frozen=True)
class PageRequest:
    """A page a client asks for: a URL (``None`` for the entity's path) and the query to send with it.

    An empty query sends none at all, so that a next-page link keeps the query it carries.
    """

    url: str | None = None
    query: tuple[tuple[str, str], ...] = ()

    @property
    def params(self) -> dict[str, str]:
        return dict(self.query)

    def asking(self, params: Mapping[str, Any]) -> PageRequest:
        """This request with ``params`` set in its query (as text, as they go on the wire)."""
        return PageRequest(self.url, tuple({**self.params, **{k: str(v) for k, v in params.items()}}.items()))


@dataclass(frozen=True)
class PageAnswer:
    """What a client was answered for one page: its records, headers, JSON body and ``rel="next"`` link."""

    records: Sequence[Row]
    headers: Mapping[str, str]
    body: Any = None
    next_link: str | None = None


@dataclass(frozen=True)
class ServedPage:
    """What a server answers for one page: its records, headers to add, body fields to add at dotted paths."""

    records: list[Row]
    headers: dict[str, str] = field(default_factory=dict)
    body_fields: dict[str, Any] = field(default_factory=dict)


class BadQuery(ValueError):
    """A page request a server refuses (a 400): its message says what is wrong with the query."""


def _number(query: Mapping[str, str], name: str | None, default: int, low: int = 0) -> int:
    raw = query.get(name) if name else None
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise BadQuery(f'query parameter {name} must be a whole number, not "{raw}"') from None
    if value < low:
        raise BadQuery(f"query parameter {name} must be at least {low}")
    return value


def _size(query: Mapping[str, str], name: str | None, default: int, most: int) -> int:
    return min(_number(query, name, default, low=1), most)


# -------------------------------------------------------------------------------------------------- paging


class Paging(Style):
    """How a full list is read page by page, by a client and by a server."""

    repeated: ClassVar[str] = "asked for the same page twice"
    """How a client says the pages came round again (``GET /x <repeated>; the pages do not end``)."""

    def first_request(self) -> PageRequest:
        """The page a client asks for first."""
        return PageRequest()

    def next_request(self, asked: PageRequest, answer: PageAnswer) -> PageRequest | None:
        """The page a client asks for after ``asked`` was answered so; None when that was the last."""
        raise NotImplementedError

    def serve_page(self, rows: list[Row], query: Mapping[str, str], url: str, *, most: int) -> ServedPage:
        """The page of ``rows`` a server answers a request for ``url`` with ``query``, ``most`` records at most.

        :class:`BadQuery` for a query the style cannot read.
        """
        raise NotImplementedError


@dataclass(frozen=True)
class NoPaging(Paging):
    """One call answers every record."""

    type: ClassVar[str] = "none"

    def next_request(self, asked: PageRequest, answer: PageAnswer) -> PageRequest | None:
        return None

    def serve_page(self, rows: list[Row], query: Mapping[str, str], url: str, *, most: int) -> ServedPage:
        return ServedPage(rows)


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

    def first_request(self) -> PageRequest:
        return PageRequest().asking({self.page_param: self.first_page, self.size_param: self.size})

    def next_request(self, asked: PageRequest, answer: PageAnswer) -> PageRequest | None:
        if len(answer.records) < self.size:
            return None
        return asked.asking({self.page_param: int(asked.params[self.page_param]) + 1})

    def serve_page(self, rows: list[Row], query: Mapping[str, str], url: str, *, most: int) -> ServedPage:
        page = _number(query, self.page_param, self.first_page, low=self.first_page)
        size = _size(query, self.size_param, self.size, most)
        start = (page - self.first_page) * size
        return ServedPage(rows[start : start + size])


@dataclass(frozen=True)
class OffsetPaging(Paging):
    """``?offset=0&limit=100``, then offset 100, ... until a page holds fewer than ``limit`` records."""

    type: ClassVar[str] = "offset"
    offset_param: str = _key("offset", "param")
    limit_param: str = _key("limit", "param")
    limit: int = _key(100, "int")

    def first_request(self) -> PageRequest:
        return PageRequest().asking({self.offset_param: 0, self.limit_param: self.limit})

    def next_request(self, asked: PageRequest, answer: PageAnswer) -> PageRequest | None:
        if len(answer.records) < self.limit:
            return None
        return asked.asking({self.offset_param: int(asked.params[self.offset_param]) + len(answer.records)})

    def serve_page(self, rows: list[Row], query: Mapping[str, str], url: str, *, most: int) -> ServedPage:
        offset = _number(query, self.offset_param, 0)
        limit = _size(query, self.limit_param, self.limit, most)
        return ServedPage(rows[offset : offset + limit])


@dataclass(frozen=True)
class CursorPaging(Paging):
    """Each answer names the next page's cursor, in a body field or a header; no cursor, no more pages."""

    type: ClassVar[str] = "cursor"
    repeated: ClassVar[str] = "named the same cursor twice"
    cursor_param: str = _key("cursor", "param")
    cursor_field: str | None = _key(None, "records", 'the cursor\'s place in the body, such as "meta.next_cursor"')
    cursor_header: str | None = _key(None, "header", 'the header that holds the cursor, such as "X-Next-Cursor"')
    size_param: str | None = _key(None, "param")
    size: int = _key(100, "int")

    def problems(self) -> list[tuple[str, str]]:
        if (self.cursor_field is None) == (self.cursor_header is None):
            return [("", "needs exactly one of cursor_field (a place in the body) and cursor_header (a header)")]
        return []

    def first_request(self) -> PageRequest:
        return PageRequest().asking({self.size_param: self.size} if self.size_param else {})

    def next_request(self, asked: PageRequest, answer: PageAnswer) -> PageRequest | None:
        if self.cursor_header:
            cursor = answer.headers.get(self.cursor_header)
        else:
            assert self.cursor_field is not None
            cursor = value_at(answer.body, self.cursor_field)
        if cursor in (None, "") or not answer.records:
            return None
        return asked.asking({self.cursor_param: cursor})

    def serve_page(self, rows: list[Row], query: Mapping[str, str], url: str, *, most: int) -> ServedPage:
        cursor = query.get(self.cursor_param)
        start = _cursor_offset(cursor) if cursor else 0
        size = _size(query, self.size_param, self.size, most)
        page = rows[start : start + size]
        following = _cursor_text(start + size) if start + size < len(rows) else None
        if self.cursor_header:
            return ServedPage(page, headers={self.cursor_header: following} if following else {})
        assert self.cursor_field is not None
        return ServedPage(page, body_fields={self.cursor_field: following})


def _cursor_text(offset: int) -> str:
    return base64.urlsafe_b64encode(f"after:{offset}".encode()).decode("ascii").rstrip("=")


def _cursor_offset(cursor: str) -> int:
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        return int(text.removeprefix("after:"))
    except ValueError:
        raise BadQuery("the cursor is not one this API gave out") from None


@dataclass(frozen=True)
class LinkHeaderPaging(Paging):
    """The next page's URL in the ``Link`` header (RFC 8288, ``rel="next"``); no such link, no more pages."""

    type: ClassVar[str] = "link_header"
    repeated: ClassVar[str] = "linked to the same next page twice"
    size_param: str | None = _key(None, "param")
    size: int = _key(100, "int")

    def first_request(self) -> PageRequest:
        return PageRequest().asking({self.size_param: self.size} if self.size_param else {})

    def next_request(self, asked: PageRequest, answer: PageAnswer) -> PageRequest | None:
        if not answer.records or answer.next_link is None:
            return None
        return PageRequest(answer.next_link)  # the next link carries the whole query

    def serve_page(self, rows: list[Row], query: Mapping[str, str], url: str, *, most: int) -> ServedPage:
        start = _number(query, "after", 0)
        size = _size(query, self.size_param, self.size, most)
        page = rows[start : start + size]
        if start + size >= len(rows):
            return ServedPage(page)
        following = _with_query(url, {"after": start + size, **({self.size_param: size} if self.size_param else {})})
        return ServedPage(page, headers={"Link": f'<{following}>; rel="next"'})


def _with_query(url: str, params: Mapping[str, Any]) -> str:
    """``url`` with ``params`` set in its query, the rest of its query kept in its order."""
    parts = urlsplit(url)
    new = {str(k): str(v) for k, v in params.items()}
    kept = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k not in new]
    return parts._replace(query=urlencode([*kept, *new.items()])).geturl()


PAGING_STYLES: dict[str, type[Paging]] = {
    c.type: c for c in (PageNumberPaging, OffsetPaging, CursorPaging, LinkHeaderPaging, NoPaging)
}
"""Paging styles by their ``type`` tag; a new style is a class here."""
