"""Reading a custom REST system: every page of an entity's list, cast to the catalogue's types.

The paging style of the entity's endpoint (:mod:`reconcile.model.styles`) says which page to ask for first
and which next given the answer; the reader only sends the calls, takes the records from where the system
file says they sit, and stops a list whose pages come round again or do not end.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import polars as pl

from reconcile.errors import ConfigError, RemoteError
from reconcile.model.catalogue import Entity
from reconcile.model.records import typed_frame
from reconcile.model.styles import PageAnswer, PageRequest
from reconcile.model.systemfile import Endpoint, SystemFile
from reconcile.systems.http.client import HttpClient
from reconcile.systems.http.retry import server_error, whole_json
from reconcile.systems.rest.wire import answer_body, error_message, listed

MAX_PAGES = 100_000


class RestReader:
    """Reads the entities of ``spec`` through ``http``."""

    def __init__(self, spec: SystemFile, http: HttpClient) -> None:
        self.spec = spec
        self.name = spec.name
        self.http = http

    def entity(self, name: str) -> tuple[Entity, Endpoint]:
        """The catalogue entity named so and its endpoint; :class:`ConfigError` when there is none."""
        ent = self.spec.catalogue.entity(name)
        if ent is None:
            raise ConfigError(f'{self.name}: no entity "{name}"{self.spec.catalogue.suggest(name)}')
        return ent, self.spec.endpoint(ent.name)

    def read(self, entity: str) -> pl.DataFrame:
        """A snapshot of ``entity``: every record its list answers, cast to the catalogue's types."""
        ent, ep = self.entity(entity)
        return typed_frame(ent, list(self.records(ep)), f"{self.name} {ent.name} (GET {ep.path})")

    def records(self, ep: Endpoint) -> Iterator[dict[str, Any]]:
        """Every record of an entity's list, page by page, as the system answers them (nested JSON)."""
        paging = ep.paging
        asking: PageRequest | None = paging.first_request()
        seen: set[PageRequest] = set()
        pages = 0
        while asking is not None:
            answer = self._page(ep, asking)
            pages += 1
            if pages > MAX_PAGES:
                raise RemoteError(self.name, f"GET {ep.path} gave more than {MAX_PAGES} pages; the pages do not end")
            yield from answer.records
            asking = paging.next_request(asking, answer)
            if asking is not None:
                if asking in seen:
                    raise RemoteError("", f"GET {ep.path} {paging.repeated}; the pages do not end")
                seen.add(asking)

    def _page(self, ep: Endpoint, asking: PageRequest) -> PageAnswer:
        # No params at all (not an empty dict) keeps the query of a next-page link.
        response = self.http.request(
            "GET",
            asking.url or ep.path,
            endpoint=ep.path,
            params=asking.params or None,
            transient=server_error,
            complete=whole_json,
        )
        if response.status_code == 204:
            return PageAnswer([], response.headers)
        if response.status_code != 200:
            raise RemoteError(self.name, f"GET {ep.path} failed: {error_message(response)}", response.status_code)
        body = answer_body(self.name, response, ep, "GET")
        next_link = response.links.get("next", {}).get("url")
        return PageAnswer(listed(self.name, body, ep, "GET"), response.headers, body, next_link)
