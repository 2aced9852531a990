"""The API client of the Exact Online connector: one division's endpoints, the catalogue, pages followed.

The reader, the sync part and the writer share one :class:`ExactApi`. It knows the division the connection
pins, finds an entity in the catalogue, builds an entity's URL, and reads every page of a query along
``__next``, one page at a time (Exact gives duplicates or gaps when pages are fetched in parallel). A
next-page link is only followed to the connection's own host, as it gets the token.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx

from reconcile.errors import ConfigError, RemoteError
from reconcile.model.catalogue import Catalogue, Entity
from reconcile.systems.exact.wire import error_message, guid_literal, is_transient, string_literal, unwrap
from reconcile.systems.http.client import HttpClient
from reconcile.systems.http.retry import whole_json

SYSTEM = "exact"


class ExactApi:
    """One division of Exact Online over an :class:`~reconcile.systems.http.client.HttpClient`."""

    def __init__(self, http: HttpClient, *, base_url: str, division: int, catalogue: Catalogue) -> None:
        self.http = http
        self.division = division
        self.catalogue = catalogue
        self._origin = httpx.URL(base_url)

    def entity(self, name: str) -> Entity:
        """The catalogue's entity ``name``; a ConfigError that suggests a name when there is none."""
        ent = self.catalogue.entity(name)
        if ent is None:
            raise ConfigError(f'Exact has no entity "{name}"' + self.catalogue.suggest(name))
        return ent

    def url(self, ent: Entity, key: str | None = None) -> str:
        """The URL of ``ent``'s endpoint in the division, or of one record when ``key`` is given."""
        url = f"/api/v1/{self.division}/{ent.api['service']}"
        if key is None:
            return url
        kind = ent.fields[ent.key].type
        if kind == "guid":
            return f"{url}({guid_literal(key)})"
        if kind == "int":
            return f"{url}({int(key)})"
        return f"{url}({string_literal(key)})"

    def get_all(self, path: str, params: Mapping[str, str], *, what: str) -> list[dict[str, Any]]:
        """Every row of a GET on ``path`` (relative to the division) with ``params``, all pages followed.

        ``what`` says in an error what was being read.
        """
        url: str | None = f"/api/v1/{self.division}/{path}"
        query: Mapping[str, str] | None = params
        rows: list[dict[str, Any]] = []
        while url is not None:
            response = self.http.request(
                "GET", url, endpoint=path, params=query, transient=is_transient, complete=whole_json
            )
            if response.status_code != 200:
                raise RemoteError(SYSTEM, f"{what}: {error_message(response)}", response.status_code)
            try:
                page, nxt = unwrap(response.json())
            except ValueError as exc:
                raise RemoteError(SYSTEM, f"{what}: the answer was not OData JSON", response.status_code) from exc
            rows.extend(page)
            url, query = (self._same_origin(nxt, what), None) if nxt else (None, None)
        return rows

    def _same_origin(self, link: str, what: str) -> str:
        """A next-page link, refused unless it points at the connection's own host (it gets our token)."""
        url = self._origin.join(link)
        if (url.scheme, url.host, url.port) != (self._origin.scheme, self._origin.host, self._origin.port):
            raise RemoteError(SYSTEM, f"{what}: a next-page link points at another host; not followed")
        return str(url)
