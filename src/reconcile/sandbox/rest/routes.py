"""The routes of the generic emulator: each entity's declared paths and verbs, bulk endpoints first."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from reconcile.model.systemfile import SystemFile


class Action(StrEnum):
    """What a route does to an entity's records."""

    LIST = "list"
    GET = "get"
    CREATE = "create"
    UPDATE = "update"
    DELETE = "delete"
    BULK_CREATE = "bulk_create"
    BULK_UPDATE = "bulk_update"


@dataclass(frozen=True)
class Route:
    """One method on one path template (``{id}`` stands for a record's id) of one entity."""

    method: str
    template: str
    entity: str
    action: Action

    def match(self, path: str) -> str | None:
        """The ``{id}`` of ``path`` ("" when the template has none), or None when it does not match."""
        head, sep, tail = self.template.partition("{id}")
        if not sep:
            return "" if path == head else None
        if path.startswith(head) and path.endswith(tail) and len(path) > len(head) + len(tail):
            key = path[len(head) : len(path) - len(tail)]
            return key if "/" not in key else None
        return None


def build_routes(spec: SystemFile) -> list[Route]:
    """The routes of ``spec``'s entities, those without an ``{id}`` first so that they match first."""
    fixed: list[Route] = []
    by_id: list[Route] = []
    for name, ep in spec.endpoints.items():
        if ep.bulk is not None and ep.bulk.create:
            fixed.insert(0, Route("POST", ep.bulk.create, name, Action.BULK_CREATE))
        if ep.bulk is not None and ep.bulk.update:
            fixed.insert(0, Route("PATCH", ep.bulk.update, name, Action.BULK_UPDATE))
        fixed.append(Route("GET", ep.path, name, Action.LIST))
        (by_id if "{id}" in ep.create.path else fixed).append(
            Route(ep.create.method, ep.create.path, name, Action.CREATE)
        )
        by_id.append(Route("GET", ep.get.path, name, Action.GET))
        by_id.append(Route(ep.update.method, ep.update.path, name, Action.UPDATE))
        by_id.append(Route(ep.delete.method, ep.delete.path, name, Action.DELETE))
    return fixed + by_id
