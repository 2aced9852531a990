"""Writing to a custom REST system: refusals before any call, bulk where the system file allows, else one by one.

Creates go through the entity's bulk endpoint where the system file names one (:mod:`.bulk`), everything
else one call per record; new ids come from the answers. A create whose answer was lost is looked for among
the records before it is reported as failed (:mod:`.outcomes`). A failure of the system itself (credentials
refused, a limit that outlasts the retries, an open breaker) stops the batch: what was not sent is reported
as such.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from reconcile.errors import NetworkError, RemoteError, SystemFailure
from reconcile.model.catalogue import Entity
from reconcile.model.systemfile import Endpoint, SystemFile
from reconcile.model.values import flatten_record, nest_record, value_at
from reconcile.systems.base import WriteKind, WriteOp, WriteResult
from reconcile.systems.http.client import HttpClient
from reconcile.systems.http.retry import server_error, whole_json
from reconcile.systems.rest.bodies import Bodies, Refused
from reconcile.systems.rest.bulk import BulkWriter
from reconcile.systems.rest.outcomes import Outcomes, failed
from reconcile.systems.rest.reader import RestReader
from reconcile.systems.rest.wire import error_message


class RestWriter:
    """Writes to the entities of ``spec`` through ``http``; ``reader`` finds the records of lost creates."""

    def __init__(self, spec: SystemFile, http: HttpClient, reader: RestReader) -> None:
        self.spec = spec
        self.name = spec.name
        self.http = http
        self.reader = reader
        self.bodies = Bodies(spec.name, spec.catalogue)
        self.outcomes = Outcomes(spec.catalogue, reader)
        self.bulk = BulkWriter(http, self.outcomes)

    def write(self, entity: str, ops: Sequence[WriteOp]) -> list[WriteResult]:
        """One result per op, in order; bulk where the system file has a bulk endpoint, else one call each."""
        ent, ep = self.reader.entity(entity)
        results: list[WriteResult | None] = [None] * len(ops)
        bodies: dict[int, dict[str, Any]] = {}
        for i, op in enumerate(ops):
            try:
                bodies[i] = self.bodies.body(ent, op)
            except Refused as refused:
                results[i] = failed(op, str(refused))
        bulk_creates = [
            i for i in bodies if ops[i].kind is WriteKind.CREATE and not ops[i].children and ep.bulk and ep.bulk.create
        ]
        bulk_updates = [i for i in bodies if ops[i].kind is WriteKind.UPDATE and ep.bulk and ep.bulk.update]
        stopped: str | None = None
        try:
            if ep.bulk is not None:
                for indexes, path in ((bulk_creates, ep.bulk.create), (bulk_updates, ep.bulk.update)):
                    for start in range(0, len(indexes), ep.bulk.size):
                        chunk = indexes[start : start + ep.bulk.size]
                        assert path is not None
                        for i, result in zip(
                            chunk,
                            self.bulk.send(ent, ep, path, [ops[i] for i in chunk], [bodies[i] for i in chunk]),
                            strict=True,
                        ):
                            results[i] = result
            for i in bodies:
                if results[i] is None:
                    results[i] = self._one(ent, ep, ops[i], bodies[i])
        except SystemFailure as exc:
            stopped = f"not sent: {exc}"
        return [
            r if r is not None else failed(op, stopped or "not sent", retryable=True, stopped=True)
            for r, op in zip(results, ops, strict=True)
        ]

    def _one(self, ent: Entity, ep: Endpoint, op: WriteOp, body: dict[str, Any]) -> WriteResult:
        if op.kind is WriteKind.CREATE:
            return self._create(ent, ep, op, body)
        assert op.key is not None
        verb = ep.update if op.kind is WriteKind.UPDATE else ep.delete
        if op.kind is WriteKind.UPDATE and verb.method == "PUT":
            whole = self._whole(ent, ep, op.key, body)
            if whole is None:
                return failed(op, f"no {ent.name} with {ent.key} = {op.key} in {self.name}")
            body = whole
        try:
            response = self.http.request(
                verb.method,
                verb.url(op.key),
                endpoint=verb.path,
                json=body if op.kind is WriteKind.UPDATE else None,
                idempotent=verb.method != "POST",
            )
        except NetworkError as exc:
            return failed(op, str(exc), retryable=True)
        status = response.status_code
        if status < 300 or (
            op.kind is WriteKind.DELETE and status in (404, 410)
        ):  # gone already is what a delete wants
            return WriteResult(op.row_id, ok=True, key=op.key)
        return failed(op, error_message(response), retryable=status >= 500)

    def _whole(self, ent: Entity, ep: Endpoint, key: str, changes: dict[str, Any]) -> dict[str, Any] | None:
        """The record as a PUT replaces it: its writable fields now, with ``changes`` laid over them."""
        response = self.http.request(
            "GET", ep.get.url(key), endpoint=ep.get.path, transient=server_error, complete=whole_json
        )
        if response.status_code == 404:
            return None
        if response.status_code != 200:
            raise RemoteError(self.name, f"GET {ep.get.path} failed: {error_message(response)}", response.status_code)
        try:
            body = response.json()
        except ValueError:
            raise RemoteError(self.name, f"GET {ep.get.path}: the answer is not JSON", response.status_code) from None
        current = value_at(body, ep.records) if ep.records else body
        if not isinstance(current, dict):
            current = body
        flat = {k: v for k, v in flatten_record(current).items() if k in ent.fields and not ent.fields[k].read_only}
        return nest_record({**flat, **flatten_record(changes)})

    def _create(self, ent: Entity, ep: Endpoint, op: WriteOp, body: dict[str, Any]) -> WriteResult:
        sent_at = datetime.now(UTC)
        try:
            response = self.http.request(
                "POST" if ep.create.method == "POST" else "PUT",
                ep.create.url(),
                endpoint=ep.create.path,
                json=body,
                idempotent=False,
            )
        except NetworkError as exc:
            if not exc.maybe_applied:
                return failed(op, str(exc), retryable=True)
            return self.outcomes.recover(ent, ep, [op], [body], sent_at, str(exc))[0]
        if response.status_code >= 500:
            return self.outcomes.recover(ent, ep, [op], [body], sent_at, error_message(response))[0]
        if response.status_code >= 300:
            return failed(op, error_message(response))
        try:
            answer = response.json()
        except ValueError:
            answer = None
        at = value_at(answer, ep.records)
        record = at if ep.records and isinstance(at, dict) else answer
        return self.outcomes.created(ent, op, record)
