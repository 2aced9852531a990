"""The endpoint keys of a system file's entity tables: where each entity is read and written over HTTP.

An entity table of a REST system is a catalogue entity table (:class:`~reconcile.config.catalogue.EntitySchema`)
plus the keys of its endpoint (:class:`EndpointSchema`)::

    [entities.Customer]
    key    = "id"
    path   = "/customers"                     # GET lists, POST creates; PATCH, PUT and DELETE at path/{id}
    update = "PUT"                            # PATCH (the default) or PUT, or { method = ..., path = ... }
    bulk   = { create = "/customers/batch", size = 100 }

The schema checks each key alone; :meth:`EndpointSchema.to_endpoint` fills in what is not given from the
entity's path and the system's connection part.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, ClassVar, Self

import pydantic

from reconcile.config.catalogue import EntitySchema
from reconcile.config.schema import Schema, is_whole_number, must, problem
from reconcile.config.styles import PagingTable
from reconcile.model.styles import RecordsPath
from reconcile.model.systemfile import Bulk, Connection, Endpoint, Verb

_PLACEHOLDER = re.compile(r"\{([^}]*)\}")


def _path(*, with_id: bool) -> pydantic.BeforeValidator:
    """A check that a value is a path under the base URL: with ``{id}`` for one record, without for the collection."""

    def check(value: Any) -> Any:
        if not isinstance(value, str) or not value.startswith("/"):
            raise problem(f'must be a path that starts with "/", such as "/customers", not {value!r}')
        names = _PLACEHOLDER.findall(value)
        unknown = [n for n in names if n != "id"]
        if unknown:
            raise problem(f'"{{{unknown[0]}}}" is not a placeholder; the only one is {{id}}, the record\'s id')
        if with_id and "id" not in names:
            raise problem(f'must hold {{id}} where the record\'s id goes, such as "{value.rstrip("/")}/{{id}}"')
        if not with_id and names:
            raise problem("takes no {id}: it names the collection, not one record")
        return value

    return pydantic.BeforeValidator(check)


CollectionPath = Annotated[str, _path(with_id=False)]
"""The path of an entity's records (``/customers``): GET lists them, POST creates one."""
RecordPath = Annotated[str, _path(with_id=True)]
"""The path of one record (``/customers/{id}``)."""


def _method(value: Any, methods: tuple[str, ...]) -> str:
    method = str(value).upper()
    if method not in methods:
        raise problem(f'"{value}" is not valid here; valid methods are {", ".join(methods)}')
    return method


class VerbSchema(Schema):
    """One call of an entity: its HTTP method and its path, each with a default."""

    methods: ClassVar[tuple[str, ...]]
    """The methods this call may use; the first is the default."""

    method: str | None = None
    path: str | None = None

    @pydantic.field_validator("method", mode="before")
    @classmethod
    def known_method(cls, value: Any) -> Any:
        return value if value is None else _method(value, cls.methods)

    @classmethod
    def written(cls, value: Any) -> Any:
        """A method alone (``update = "PUT"``) as the table it stands for, its method checked where it is written."""
        if isinstance(value, str):
            return {"method": _method(value, cls.methods)}
        if not isinstance(value, dict):
            raise problem(f"must be a method ({' or '.join(cls.methods)}) or a table {{ method = ..., path = ... }}")
        return value

    def to_verb(self, default_path: str) -> Verb:
        return Verb(self.method or self.methods[0], self.path or default_path)


class GetVerb(VerbSchema):
    """``get``: one record, at ``path/{id}``."""

    methods = ("GET",)
    path: RecordPath | None = None


class CreateVerb(VerbSchema):
    """``create``: a new record, sent to the path of the collection."""

    methods = ("POST", "PUT")
    path: CollectionPath | None = None


class UpdateVerb(VerbSchema):
    """``update``: changes to one record, at ``path/{id}``."""

    methods = ("PATCH", "PUT", "POST")
    path: RecordPath | None = None


class DeleteVerb(VerbSchema):
    """``delete``: one record gone, at ``path/{id}``."""

    methods = ("DELETE",)
    path: RecordPath | None = None


class BulkSchema(Schema):
    """Endpoints that take an array of records: ``{ create = "/customers/batch", size = 100 }``."""

    table_hint = 'a table such as { create = "/customers/batch", size = 100 }'

    create: CollectionPath | None = None
    update: CollectionPath | None = None
    size: Annotated[
        int,
        must(lambda v: is_whole_number(v) and v > 0, "must be a whole number above 0: the most records one call takes"),
    ] = 100

    @pydantic.model_validator(mode="after")
    def names_an_endpoint(self) -> Self:
        if self.create is None and self.update is None:
            raise problem("names no endpoint; give create, update or both (a path that takes an array of records)")
        return self


class EndpointSchema(EntitySchema):
    """An entity table of a system file: a catalogue entity and, for a REST system, its endpoint."""

    path: CollectionPath | None = None
    records: RecordsPath | None = None
    paging: PagingTable | None = None
    get: Annotated[GetVerb, pydantic.BeforeValidator(GetVerb.written)] | None = None
    create: Annotated[CreateVerb, pydantic.BeforeValidator(CreateVerb.written)] | None = None
    update: Annotated[UpdateVerb, pydantic.BeforeValidator(UpdateVerb.written)] | None = None
    delete: Annotated[DeleteVerb, pydantic.BeforeValidator(DeleteVerb.written)] | None = None
    bulk: BulkSchema | None = None

    @classmethod
    def endpoint_keys(cls) -> list[str]:
        """The keys of an endpoint, beside those of a catalogue entity."""
        return [key for key in cls.valid_keys() if key not in EntitySchema.valid_keys()]

    def to_endpoint(self, connection: Connection) -> Endpoint:
        """The endpoint, what is not given taken from the path and ``connection``; the path must be given."""
        assert self.path is not None
        one = f"{self.path.rstrip('/')}/{{id}}"
        return Endpoint(
            path=self.path,
            records=connection.records if self.records is None else self.records,
            paging=self.paging or connection.paging,
            get=(self.get or GetVerb()).to_verb(one),
            create=(self.create or CreateVerb()).to_verb(self.path),
            update=(self.update or UpdateVerb()).to_verb(one),
            delete=(self.delete or DeleteVerb()).to_verb(one),
            bulk=Bulk(self.bulk.create, self.bulk.update, self.bulk.size) if self.bulk is not None else None,
        )
