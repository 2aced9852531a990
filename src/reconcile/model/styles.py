"""Auth and paging styles: the ``type``-tagged tables of a system file, and what each style does on the wire.

A system file's ``[auth]`` and ``[paging]`` tables (:mod:`reconcile.config.systemfile`) name a style by its
``type`` tag; each style is a frozen pydantic model whose fields are its keys, typed by the values they take
(:data:`EnvName`, :data:`Count`, ...), and a member of :data:`AnyAuth` or :data:`AnyPaging` (read by
:mod:`reconcile.config.styles`). A style also knows both sides of its wire, so a new style is one class here:

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
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Annotated, Any, ClassVar, Literal, Self
from urllib.parse import parse_qsl, urlencode, urlsplit

from pydantic import BaseModel, BeforeValidator, ConfigDict, model_validator

from reconcile.model.names import did_you_mean
from reconcile.model.values import value_at

Row = dict[str, Any]

# ------------------------------------------------------------------------------ the values a key may take


def _text(pattern: str, such: str, blank: bool = False) -> BeforeValidator:
    """Text matching ``pattern`` (or empty, if ``blank``), checked before the type so any wrong value is told."""

    def check(value: Any) -> Any:
        if not isinstance(value, str) or not (value.strip() or blank):
            raise ValueError("must be a non-empty string")
        if value and not re.fullmatch(pattern, value):
            raise ValueError(f'must be {such}, not "{value}"')
        return value

    return BeforeValidator(check)


def _whole(allowed: Callable[[int], bool], message: str) -> BeforeValidator:
    def check(value: Any) -> Any:
        if not isinstance(value, int) or isinstance(value, bool) or not allowed(value):
            raise ValueError(message)
        return value

    return BeforeValidator(check)


_TOKEN = r"[A-Za-z0-9!#$%&'*+.^_`|~-]+"  # what HTTP allows in a header name, and we in a query parameter's
_DOTS = r"[A-Za-z0-9_$@-]+(\.[A-Za-z0-9_$@-]+)*"

EnvName = Annotated[str, _text(r"[A-Za-z_][A-Za-z0-9_]*", 'the name of an environment variable (letters, digits, "_")')]
"""The name of the environment variable that holds a secret: secrets are never written in a file."""
HeaderName = Annotated[str, _text(_TOKEN, 'an HTTP header name such as "X-API-Key"')]
ParamName = Annotated[str, _text(_TOKEN, 'a query parameter name such as "page"')]
RecordsPath = Annotated[str, _text(_DOTS, 'a dotted path such as "data" or "result.items" ("" for a bare array)', True)]
Count = Annotated[int, _whole(lambda n: n > 0, "must be a whole number above 0")]
FirstPage = Annotated[int, _whole(lambda n: n in (0, 1), "must be 0 or 1: the number of the first page")]


class Style(BaseModel):
    """A ``type``-tagged table: its fields are its keys; a key it does not have is refused naming its type."""

    model_config = ConfigDict(frozen=True, extra="forbid", strict=True)

    what: ClassVar[str]  # what the table is, as a message names it: auth, paging
    type: str

    @classmethod
    def unknown_key(cls, key: str) -> str:
        """What a key this style does not have is told (:mod:`reconcile.config.schema` shows it)."""
        keys = list(cls.model_fields)
        hint = did_you_mean(key, keys[1:])
        if f"{key}_env" in keys:
            hint = f'; secrets are never written in a file: name the variable that holds it in "{key}_env"'
        tag = cls.model_fields["type"].default
        return f'unknown key for {cls.what} type "{tag}"{hint}; valid keys are {", ".join(keys)}'


# ---------------------------------------------------------------------------------------------------- auth


class Auth(Style):
    """How every call logs in. ``secrets`` maps each secret's role to the key naming its variable."""

    what: ClassVar[str] = "auth"
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


class NoAuth(Auth):
    """No credentials: an open API, or one behind a network boundary."""

    type: Literal["none"] = "none"

    def headers(self, secrets: Mapping[str, str]) -> dict[str, str]:
        return {}


class BearerAuth(Auth):
    """``Authorization: Bearer <token>``, the token read from ``token_env``."""

    type: Literal["bearer"] = "bearer"
    secrets: ClassVar[dict[str, str]] = {"token": "token_env"}
    token_env: EnvName | None = None

    def headers(self, secrets: Mapping[str, str]) -> dict[str, str]:
        return {"Authorization": f"Bearer {secrets['token']}"}


class ApiKeyAuth(Auth):
    """An API key in a header (``header``, default ``X-API-Key``), the key read from ``key_env``."""

    type: Literal["api_key"] = "api_key"
    secrets: ClassVar[dict[str, str]] = {"key": "key_env"}
    header: HeaderName = "X-API-Key"
    key_env: EnvName | None = None

    def headers(self, secrets: Mapping[str, str]) -> dict[str, str]:
        return {self.header: secrets["key"]}


class BasicAuth(Auth):
    """HTTP basic auth, the user name and password read from ``username_env`` and ``password_env``."""

    type: Literal["basic"] = "basic"
    secrets: ClassVar[dict[str, str]] = {"username": "username_env", "password": "password_env"}
    username_env: EnvName | None = None
    password_env: EnvName | None = None

    def headers(self, secrets: Mapping[str, str]) -> dict[str, str]:
        pair = f"{secrets['username']}:{secrets['password']}".encode()
        return {"Authorization": "Basic " + base64.b64encode(pair).decode("ascii")}


AnyAuth = BearerAuth | ApiKeyAuth | BasicAuth | NoAuth
"""Every auth style, told apart by its ``type``: a new style is a class here and a member here."""
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

    what: ClassVar[str] = "paging"
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


class NoPaging(Paging):
    """One call answers every record."""

    type: Literal["none"] = "none"

    def next_request(self, asked: PageRequest, answer: PageAnswer) -> PageRequest | None:
        return None

    def serve_page(self, rows: list[Row], query: Mapping[str, str], url: str, *, most: int) -> ServedPage:
        return ServedPage(rows)


class PageNumberPaging(Paging):
    """``?page=1&per_page=100``, then page 2, ... until a page holds fewer than ``size`` records.

    ``size`` must not be above the most the system sends in one page.
    """

    type: Literal["page_number"] = "page_number"
    page_param: ParamName = "page"
    size_param: ParamName = "per_page"
    size: Count = 100
    first_page: FirstPage = 1

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


class OffsetPaging(Paging):
    """``?offset=0&limit=100``, then offset 100, ... until a page holds fewer than ``limit`` records."""

    type: Literal["offset"] = "offset"
    offset_param: ParamName = "offset"
    limit_param: ParamName = "limit"
    limit: Count = 100

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


class CursorPaging(Paging):
    """Each answer names the next page's cursor, in a body field (``cursor_field``) or a header; none, no more pages."""

    type: Literal["cursor"] = "cursor"
    repeated: ClassVar[str] = "named the same cursor twice"
    cursor_param: ParamName = "cursor"
    cursor_field: RecordsPath | None = None
    cursor_header: HeaderName | None = None
    size_param: ParamName | None = None
    size: Count = 100

    @model_validator(mode="after")
    def one_place(self) -> Self:
        if (self.cursor_field is None) == (self.cursor_header is None):
            raise ValueError("needs exactly one of cursor_field (a place in the body) and cursor_header (a header)")
        return self

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


class LinkHeaderPaging(Paging):
    """The next page's URL in the ``Link`` header (RFC 8288, ``rel="next"``); no such link, no more pages."""

    type: Literal["link_header"] = "link_header"
    repeated: ClassVar[str] = "linked to the same next page twice"
    size_param: ParamName | None = None
    size: Count = 100

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


AnyPaging = PageNumberPaging | OffsetPaging | CursorPaging | LinkHeaderPaging | NoPaging
"""Every paging style, told apart by its ``type``: a new style is a class here and a member here."""
