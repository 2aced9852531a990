"""The API client the Exact connector's parts share: entity URLs, the catalogue lookup, pages followed from one host.

``MockTransport`` plays Exact here: a next-page link to another host is a shape the emulator never gives.
"""

from __future__ import annotations

import httpx
import pytest

from reconcile.errors import ConfigError, RemoteError
from reconcile.model.clock import FakeClock
from reconcile.systems.catalogues import builtin_catalogue
from reconcile.systems.exact.api import ExactApi
from reconcile.systems.http.client import HttpClient

BASE = "http://exact.test"


def api_on(handler: httpx.MockTransport) -> ExactApi:
    http = HttpClient("exact", BASE, clock=FakeClock(), transport=handler)
    return ExactApi(http, base_url=BASE, division=42, catalogue=builtin_catalogue("exact"))


def page(rows: list[dict[str, object]], nxt: str | None = None) -> httpx.Response:
    d: dict[str, object] = {"results": rows}
    if nxt is not None:
        d["__next"] = nxt
    return httpx.Response(200, json={"d": d})


def test_an_entitys_url_writes_its_key_as_the_key_fields_type_says() -> None:
    api = api_on(httpx.MockTransport(lambda request: httpx.Response(500)))
    catalogue = api.catalogue
    key = "5e9ec63d-1e6e-4920-b799-bd636a6055c9"
    assert api.url(catalogue.entities["Accounts"]) == "/api/v1/42/crm/Accounts"
    assert api.url(catalogue.entities["Accounts"], key) == f"/api/v1/42/crm/Accounts(guid'{key}')"
    assert api.url(catalogue.entities["Divisions"], "7") == "/api/v1/42/hrm/Divisions(7)"
    assert api.url(catalogue.entities["Currencies"], "O'K") == "/api/v1/42/general/Currencies('O''K')"


def test_an_unknown_entity_is_a_config_error_that_suggests_a_name() -> None:
    api = api_on(httpx.MockTransport(lambda request: httpx.Response(500)))
    with pytest.raises(ConfigError, match='Exact has no entity "Acounts"') as raised:
        api.entity("Acounts")
    assert "Accounts" in str(raised.value).split("Acounts", 1)[1]


def test_pages_are_followed_on_the_connections_own_host() -> None:
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url))
        if "skiptoken" in str(request.url):
            return page([{"ID": "b"}])
        return page([{"ID": "a"}], nxt=f"{BASE}/api/v1/42/crm/Accounts?$skiptoken=guid'a'")

    rows = api_on(httpx.MockTransport(handler)).get_all("crm/Accounts", {"$select": "ID"}, what="reading Accounts")
    assert rows == [{"ID": "a"}, {"ID": "b"}]
    assert len(seen) == 2 and all(url.startswith(BASE) for url in seen)


def test_a_next_page_link_to_another_host_is_not_followed() -> None:
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url))
        return page([{"ID": "a"}], nxt="http://elsewhere.test/api/v1/42/crm/Accounts?$skiptoken=x")

    api = api_on(httpx.MockTransport(handler))
    with pytest.raises(RemoteError, match="reading Accounts: a next-page link points at another host"):
        api.get_all("crm/Accounts", {"$select": "ID"}, what="reading Accounts")
    assert len(seen) == 1
