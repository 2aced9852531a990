"""Each auth and paging style knows both sides of its wire: a client of a style reads what a server of it serves.

Pure, no HTTP: a client's requests are answered by the same style's :meth:`serve_page` over ten records,
as the generic emulator answers them, and every style must give back the ten, once each, in order.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import pytest

from reconcile.model.styles import (
    ApiKeyAuth,
    Auth,
    BadQuery,
    BasicAuth,
    BearerAuth,
    CursorPaging,
    LinkHeaderPaging,
    NoAuth,
    NoPaging,
    OffsetPaging,
    PageAnswer,
    PageNumberPaging,
    PageRequest,
    Paging,
)
from reconcile.model.values import put_at

ROWS = [{"id": n} for n in range(1, 11)]
BASE = "http://api.test/customers"
SECRETS = {"token": "t0k", "key": "k3y", "username": "ann", "password": "pw"}


def _read_all(paging: Paging, records: str = "data") -> tuple[list[dict[str, Any]], int]:
    """Every record a client of ``paging`` reads from a server of it, and the number of pages asked for."""
    read: list[dict[str, Any]] = []
    asking: PageRequest | None = paging.first_request()
    pages = 0
    while asking is not None:
        pages += 1
        assert pages < 50, "the pages do not end"
        url = asking.url or BASE
        query = {**dict(parse_qsl(urlsplit(url).query)), **asking.params}
        full = f"{url.split('?')[0]}?{urlencode(query)}" if query else url
        served = paging.serve_page(ROWS, query, full, most=1000)
        body: dict[str, Any] = {}
        put_at(body, records, served.records)
        for where, value in served.body_fields.items():
            put_at(body, where, value)
        link = served.headers.get("Link")
        next_link = link.split(">", 1)[0].lstrip("<") if link else None
        answer = PageAnswer(served.records, served.headers, body, next_link)
        read.extend(answer.records)
        asking = paging.next_request(asking, answer)
    return read, pages


@pytest.mark.parametrize(
    ("paging", "pages"),
    [
        (NoPaging(), 1),
        (PageNumberPaging(size=3), 4),
        (PageNumberPaging(size=5, first_page=0), 3),  # the last page is full: one more, empty, ends it
        (OffsetPaging(limit=4), 3),
        (CursorPaging(cursor_field="meta.next", size_param="limit", size=3), 4),
        (CursorPaging(cursor_header="X-Next", size_param="limit", size=4), 3),
        (LinkHeaderPaging(size_param="per_page", size=3), 4),
        (LinkHeaderPaging(size=10), 1),
    ],
)
def test_a_client_of_each_paging_style_reads_what_a_server_of_it_serves(paging: Paging, pages: int) -> None:
    read, asked = _read_all(paging)
    assert read == ROWS
    assert asked == pages


@pytest.mark.parametrize(
    ("paging", "query", "message"),
    [
        (PageNumberPaging(), {"page": "two"}, 'query parameter page must be a whole number, not "two"'),
        (PageNumberPaging(), {"page": "0"}, "query parameter page must be at least 1"),
        (OffsetPaging(), {"limit": "0"}, "query parameter limit must be at least 1"),
        (CursorPaging(cursor_header="X-Next"), {"cursor": "!!"}, "the cursor is not one this API gave out"),
    ],
)
def test_a_server_refuses_a_query_it_cannot_read(paging: Paging, query: dict[str, str], message: str) -> None:
    with pytest.raises(BadQuery, match=message):
        paging.serve_page(ROWS, query, BASE, most=1000)


def test_a_server_never_serves_more_than_its_most() -> None:
    served = PageNumberPaging().serve_page(ROWS, {"per_page": "50"}, BASE, most=4)
    assert [r["id"] for r in served.records] == [1, 2, 3, 4]


@pytest.mark.parametrize(
    ("auth", "headers"),
    [
        (NoAuth(), {}),
        (BearerAuth(token_env="T"), {"Authorization": "Bearer t0k"}),
        (ApiKeyAuth(header="X-Key", key_env="K"), {"X-Key": "k3y"}),
        (BasicAuth(username_env="U", password_env="P"), {"Authorization": "Basic YW5uOnB3"}),
    ],
)
def test_a_server_of_each_auth_style_accepts_what_a_client_of_it_sends(auth: Auth, headers: dict[str, str]) -> None:
    secrets = {role: SECRETS[role] for role in auth.secrets}
    assert auth.headers(secrets) == headers
    assert auth.accepts(headers, secrets)
    if headers:
        assert not auth.accepts({}, secrets)
        assert not auth.accepts(dict.fromkeys(headers, "wrong"), secrets)
