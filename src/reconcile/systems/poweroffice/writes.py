"""Writes to PowerOffice Go: creates, JSON Patch updates and deletes on v2, upserts on v1.

v2 POST creates (sales orders with their lines through ``/SalesOrders/Complete``), JSON Patch updates hold
only the fields the op changes, DELETE (409 "in use" is that row's failure); v1 POST upserts, sending the
whole record since v1 replaces it. Creates carry ``ExternalImportReference`` (the op's own, else
:func:`identity_stamp` of its row): when the create's answer is lost, or the record turns out to exist, the
record is found by it instead of being made twice.

Every op gets its own result; an op the catalogue says must fail is refused without a call
(:mod:`reconcile.systems.poweroffice.checks`), and so is one whose unique field (a ``Code``, the
``ExternalImportReference``) holds the value of a record written earlier in the run
(:mod:`reconcile.systems.unique`): Go would refuse it, or answer "already in use", which a create would
take for its own lost answer and link the wrong record.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from typing import Any

from reconcile.errors import NetworkError, RemoteError, SystemFailure
from reconcile.model.catalogue import Entity
from reconcile.systems.base import WriteKind, WriteOp, WriteResult
from reconcile.systems.poweroffice.api import PowerOfficeApi
from reconcile.systems.poweroffice.checks import refuse
from reconcile.systems.poweroffice.reads import PowerOfficeReader
from reconcile.systems.poweroffice.wire import (
    fold,
    json_of,
    nest,
    patch_document,
    problem_text,
    selects,
    wire_value,
)
from reconcile.systems.unique import WrittenValues

JSON_PATCH = "application/json-patch+json"


def identity_stamp(row_id: str) -> str:
    """The ``ExternalImportReference`` a create of plan row ``row_id`` carries (at most 50 characters)."""
    if len(row_id) <= 50 and row_id.isprintable():
        return row_id
    return "reconcile-" + hashlib.sha256(row_id.encode()).hexdigest()[:40]


class PowerOfficeWriter:
    """Writes batches through one :class:`PowerOfficeApi`; the reader knows which order holds each line."""

    def __init__(self, api: PowerOfficeApi, reader: PowerOfficeReader) -> None:
        self.api = api
        self.reader = reader
        self.written = WrittenValues("PowerOffice Go")

    def write(self, ent: Entity, ops: Sequence[WriteOp]) -> list[WriteResult]:
        """One result per op, in order; a refused or failed op never stops the others.

        A failure of the system itself (auth, limits that outlast the retries, the network) stops the batch:
        that op and every op after it get failed, retryable results marked ``stopped``, so that what was
        written is still reported and nothing more is sent.
        """
        results: list[WriteResult] = []
        stopped: str | None = None
        for op in ops:
            if stopped is not None:
                results.append(WriteResult(op.row_id, ok=False, error=stopped, retryable=True, stopped=True))
                continue
            try:
                results.append(self._write_one(ent, op))
            except SystemFailure as exc:
                stopped = f"not sent: {exc}"
                results.append(WriteResult(op.row_id, ok=False, error=str(exc), retryable=True, stopped=True))
        return results

    def _write_one(self, ent: Entity, op: WriteOp) -> WriteResult:
        children = self.api.entity(ent.embedded.entity) if ent.embedded is not None else None
        problem = refuse(ent, op, children)
        unique = _unique_fields(ent)
        if problem is None and op.kind is not WriteKind.DELETE:
            problem = self.written.collision(ent, op.values, unique, key=op.key)
        if problem is not None:
            return WriteResult(op.row_id, ok=False, error=problem)
        if ent.api.get("version") == 1:
            result = self._v1_write(ent, op)
        elif op.kind is WriteKind.CREATE:
            result = self._create(ent, op)
        elif op.kind is WriteKind.UPDATE:
            result = self._update(ent, op)
        else:
            return self._delete(ent, op)
        if result.ok:
            self.written.note(ent, op.values, unique, row=op.row_id, key=result.key)
        return result

    def _payload(self, ent: Entity, values: Mapping[str, Any], *, create: bool) -> dict[str, Any]:
        int_refs = self._int_fields(ent)
        wire = {name: wire_value(value, ent.fields[name], int_refs) for name, value in values.items()}
        if create:
            for name, value in dict(ent.api.get("create_defaults", {})).items():
                wire.setdefault(name, value)
            for name, value in dict(ent.api.get("filter", {})).items():
                wire[name] = value
        return nest(wire)

    def _int_fields(self, ent: Entity) -> frozenset[str]:
        """Fields that hold an int64 id on the wire (text in a snapshot): keys and references to such."""
        names = {ent.key} if ent.api.get("id_type") == "int" else set()
        for field in ent.fields.values():
            target = self.api.catalogue.entity(field.ref) if field.ref else None
            if target is not None and target.api.get("id_type") == "int":
                names.add(field.name)
        return frozenset(names)

    def _create(self, ent: Entity, op: WriteOp) -> WriteResult:
        stamp_field = reference_field(ent)
        values = dict(op.values)
        if stamp_field and not values.get(stamp_field):
            values[stamp_field] = identity_stamp(op.row_id)
        reference = values.get(stamp_field) if stamp_field else None
        if ent.api.get("split"):
            parent_id = str(values.pop("sesam_SalesOrderId"))
            path = str(ent.api["path"]).replace("{parent}", parent_id)
        else:
            path = str(ent.api.get("create_path", ent.api["path"]))
        payload = self._payload(ent, values, create=True)
        if ent.embedded is not None and op.children:
            child = self.api.entity(ent.embedded.entity)
            payload[ent.embedded.field] = [
                self._payload(child, {k: v for k, v in c.values.items() if k != ent.embedded.parent_field}, create=True)
                for c in op.children
            ]
        try:
            response = self.api.v2_call("POST", path, ent, json=payload)
        except NetworkError as exc:
            found = self._found(ent, op, reference) if reference and exc.maybe_applied else None
            if found is not None:
                return found
            return WriteResult(op.row_id, ok=False, error=str(exc), retryable=True)
        if response.status_code in (200, 201):
            return self._created(ent, op, json_of(response))
        text = problem_text(response)
        if reference and response.status_code == 400 and "externalimportreference" in text.casefold():
            found = self._found(ent, op, reference)
            if found is not None:
                return found
        return WriteResult(op.row_id, ok=False, error=text, retryable=response.status_code >= 500)

    def _created(self, ent: Entity, op: WriteOp, body: Any) -> WriteResult:
        record = fold(body) if isinstance(body, Mapping) else {}
        key = record.get(ent.key.casefold())
        if ent.api.get("split"):
            self.reader.note_line(str(key), str(op.values.get("sesam_SalesOrderId")))
        children: tuple[WriteResult, ...] = ()
        if ent.embedded is not None and op.children:
            lines = record.get(ent.embedded.field.casefold()) or []
            children = tuple(
                WriteResult(c.row_id, ok=True, key=str(fold(line).get("id")))
                if i < len(lines)
                else WriteResult(
                    c.row_id, ok=False, error="PowerOffice Go returned fewer lines than were sent", retryable=True
                )
                for i, (c, line) in enumerate(zip(op.children, [*lines, *([{}] * len(op.children))], strict=False))
            )
            for line in lines:
                self.reader.note_line(str(fold(line).get("id")), str(key))
        if key is None:  # made, but which is it: the next run looks for it rather than making it again
            return WriteResult(
                op.row_id, ok=False, error="PowerOffice Go answered the create without an id", retryable=True
            )
        return WriteResult(op.row_id, ok=True, key=str(key), children=children)

    def _found(self, ent: Entity, op: WriteOp, reference: Any) -> WriteResult | None:
        """The result for a create whose record already exists with ``reference``, or ``None``."""
        key = self.find_by_reference(ent, str(reference))
        if key is None:
            return None
        if ent.embedded is None or not op.children:
            return WriteResult(op.row_id, ok=True, key=key)
        response = self.api.v2_call("GET", f"{ent.api['path']}/{key}/Complete", ent)
        complete = json_of(response) if response.status_code == 200 else None
        return self._created(ent, op, complete if isinstance(complete, Mapping) else {"id": key})

    def find_by_reference(self, ent: Entity, reference: str) -> str | None:
        """The id of the record of ``ent`` whose ``ExternalImportReference`` is ``reference``."""
        field = reference_field(ent)
        if field is None:
            return None
        spec = ent.api.get("external_reference", {})
        params = {spec["filter"]: reference} if isinstance(spec, Mapping) and spec.get("filter") else None
        wanted = {k.casefold(): v for k, v in dict(ent.api.get("filter", {})).items()}
        for record in self.api.v2_list(ent, str(ent.api["path"]), params):
            folded = fold(record)
            if folded.get(field.casefold()) == reference and selects(folded, wanted):
                return str(folded.get(ent.key.casefold()))
        return None

    def _record_path(self, ent: Entity, key: str) -> str:
        if ent.api.get("split"):
            order_id = self.reader.order_of(ent, key)
            if order_id is None:
                raise LookupError(f"no sales order holds the line {key}")
            return str(ent.api["path"]).replace("{parent}", order_id) + f"/{key}"
        return f"{ent.api['path']}/{key}"

    def _update(self, ent: Entity, op: WriteOp) -> WriteResult:
        key = str(op.key)
        if not op.values:
            return WriteResult(op.row_id, ok=True, key=key)
        try:
            path = self._record_path(ent, key)
        except LookupError as exc:
            return WriteResult(op.row_id, ok=False, error=str(exc))
        document = patch_document(self._flat_payload(ent, op.values))
        response = self.api.v2_call(
            "PATCH",
            path,
            ent,
            content=json.dumps(document),
            headers={"Content-Type": JSON_PATCH},
            idempotent=True,  # every operation sets a value: sending it twice does no harm
        )
        if response.status_code == 200:
            return WriteResult(op.row_id, ok=True, key=key)
        return WriteResult(
            op.row_id, ok=False, key=key, error=problem_text(response), retryable=response.status_code >= 500
        )

    def _flat_payload(self, ent: Entity, values: Mapping[str, Any]) -> dict[str, Any]:
        int_refs = self._int_fields(ent)
        return {name: wire_value(value, ent.fields[name], int_refs) for name, value in values.items()}

    def _delete(self, ent: Entity, op: WriteOp) -> WriteResult:
        key = str(op.key)
        try:
            path = self._record_path(ent, key)
        except LookupError:
            return WriteResult(op.row_id, ok=True, key=key)  # the order and its line are gone
        response = self.api.v2_call("DELETE", path, ent)
        if response.status_code in (200, 204, 404):  # 404: already gone, as a retried delete finds it
            self.reader.forget_line(key)
            return WriteResult(op.row_id, ok=True, key=key)
        return WriteResult(
            op.row_id, ok=False, key=key, error=problem_text(response), retryable=response.status_code >= 500
        )

    # -------------------------------------------------------------------------------------------- v1

    def _v1_write(self, ent: Entity, op: WriteOp) -> WriteResult:
        api = ent.api
        key = str(op.key) if op.key is not None else None
        try:
            if op.kind is WriteKind.DELETE:
                path = f"{api.get('delete_path', api['path'])}/{key}"
                self.api.v1_body(self.api.v1_call("DELETE", path, ent), ent, "deleting")
                return WriteResult(op.row_id, ok=True, key=key)
            record = self._flat_payload(ent, op.values)
            if op.kind is WriteKind.UPDATE:
                # v1 POST replaces the whole record: start from what is there now.
                current = self.api.v1_body(self.api.v1_call("GET", f"{api['path']}/{key}", ent), ent, "reading")
                data = next((v for k, v in current.items() if k.casefold() == "data"), None)
                if not isinstance(data, Mapping):
                    return WriteResult(op.row_id, ok=False, key=key, error=f"{ent.name} {key} was not found")
                changed = {name.casefold() for name in record}
                record = {**{k: v for k, v in data.items() if k.casefold() not in changed}, **record}
            else:
                for name, value in dict(api.get("create_defaults", {})).items():
                    record.setdefault(name, value)
            path = str(api["upsert_path"]).format(**{k: v for k, v in record.items() if v is not None})
            body = self.api.v1_body(self.api.v1_call("POST", path, ent, json=record), ent, "writing")
        except RemoteError as exc:
            return WriteResult(op.row_id, ok=False, key=key, error=str(exc), retryable=(exc.status or 0) >= 500)
        except NetworkError as exc:  # it may have been made: the next run looks before writing it again
            return WriteResult(op.row_id, ok=False, key=key, error=str(exc), retryable=True)
        except KeyError as exc:
            return WriteResult(op.row_id, ok=False, key=key, error=f"{exc.args[0]} is needed to write {ent.name}")
        data = fold(body).get("data")
        new_key = fold(data).get(ent.key.casefold()) if isinstance(data, Mapping) else None
        if new_key is None:
            return WriteResult(
                op.row_id, ok=False, error="PowerOffice Go (v1) answered without the record", retryable=True
            )
        return WriteResult(op.row_id, ok=True, key=str(new_key))


def _unique_fields(ent: Entity) -> list[str]:
    """The fields of ``ent`` Go keeps unique: the catalogue's, and the ``ExternalImportReference`` creates carry."""
    reference = reference_field(ent)
    return list(dict.fromkeys([*ent.unique_fields(), *([reference] if reference else [])]))


def reference_field(ent: Entity) -> str | None:
    """The field of ``ent`` that holds the ``ExternalImportReference`` a create is found by, if any."""
    spec = ent.api.get("external_reference")
    if isinstance(spec, Mapping) and spec.get("field") in ent.fields:
        return str(spec["field"])
    return None
