"""A custom system as data: its catalogue, where it lives, and how each entity is read and written.

:mod:`reconcile.config.systemfile` builds one from a system file (``flows/systems/<name>.toml``) and lays a
deployment's connections-file table over it; the REST connector and the generic emulator both follow it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal
from urllib.parse import quote

from reconcile.errors import ConfigError
from reconcile.model.catalogue import Catalogue
from reconcile.model.styles import Auth, NoAuth, NoPaging, Paging

Kind = Literal["rest", "files"]
KINDS: tuple[str, ...] = ("rest", "files")
FILE_FORMATS: tuple[str, ...] = ("json", "csv", "parquet")


# ------------------------------------------------------------------------------------------- the endpoints


@dataclass(frozen=True)
class Verb:
    """One write call: its HTTP method and its path (``{id}`` stands for the record's id)."""

    method: str
    path: str

    def url(self, key: str | None = None) -> str:
        return self.path if key is None else self.path.replace("{id}", _quote(key))


def _quote(key: str) -> str:
    return quote(key, safe="")


@dataclass(frozen=True)
class Bulk:
    """An endpoint that takes an array of records; ``size`` records a call at most."""

    create: str | None = None
    update: str | None = None
    size: int = 100


@dataclass(frozen=True)
class Endpoint:
    """How one entity is read and written over HTTP."""

    path: str
    records: str
    paging: Paging
    get: Verb
    create: Verb
    update: Verb
    delete: Verb
    bulk: Bulk | None = None


@dataclass(frozen=True)
class Limits:
    """At most ``calls`` calls in any ``window`` seconds; ``max_errors`` failed calls an hour per endpoint."""

    calls: int | None = None
    window: float = 1.0
    max_errors: int = 20


@dataclass(frozen=True)
class TextSettings:
    """How a files system's CSV and JSON files are read and made as text.

    ``separator`` splits a CSV line's fields (one ASCII character); ``encoding`` is the files' encoding (a
    Python codec name, checked by the config); ``bom`` says whether a new file starts with a byte-order mark
    (None: as the encoding's codec writes one, which only ``utf-8-sig``, ``utf-16`` and ``utf-32`` do). A
    file that starts with a byte-order mark is read in the encoding the mark says, and a file written back
    keeps its mark (or its lack of one), its line endings, its separator and its encoding.
    """

    separator: str = ","
    encoding: str = "utf-8"
    bom: bool | None = None


@dataclass(frozen=True)
class Connection:
    """Where a system lives and how to log in: the system file's connection part, a deployment's on top."""

    kind: Kind = "rest"
    base_url: str | None = None
    auth: Auth = field(default_factory=NoAuth)
    paging: Paging = field(default_factory=NoPaging)
    records: str = ""
    timeout: float = 60.0
    limits: Limits = field(default_factory=Limits)
    folder: Path | None = None
    format: str = "json"
    text: TextSettings = field(default_factory=TextSettings)


@dataclass(frozen=True)
class SystemFile:
    """A custom system: its catalogue, its connection, and its entities' endpoints (REST systems)."""

    catalogue: Catalogue
    connection: Connection
    endpoints: Mapping[str, Endpoint]
    source: str = ""

    @property
    def name(self) -> str:
        return self.catalogue.system

    @property
    def kind(self) -> Kind:
        return self.connection.kind

    def endpoint(self, entity: str) -> Endpoint:
        ent = self.catalogue.entity(entity)
        if ent is None or ent.name not in self.endpoints:
            raise ConfigError(f'{self.name}: no entity "{entity}"{self.catalogue.suggest(entity)}')
        return self.endpoints[ent.name]
