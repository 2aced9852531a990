"""What became of writes to a custom REST system: failures, created records, and creates whose answer was lost.

A create whose answer was lost (a timeout after sending, a 5xx, a bulk answer of the wrong length) is
looked for among the records before it is reported as failed, so that the next run does not create it twice.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from reconcile.errors import SystemFailure
from reconcile.model.catalogue import Catalogue, Entity
from reconcile.model.systemfile import Endpoint
from reconcile.model.values import cast_value, flatten_record, key_text
from reconcile.systems.base import WriteOp, WriteResult
from reconcile.systems.rest.reader import RestReader


def failed(op: WriteOp, error: str, *, retryable: bool = False, stopped: bool = False) -> WriteResult:
    """A failed result for ``op``; its embedded children fail with it."""
    children = tuple(
        WriteResult(c.row_id, ok=False, error="not created: its parent was not", retryable=retryable)
        for c in op.children
    )
    return WriteResult(
        op.row_id, ok=False, key=op.key, error=error, retryable=retryable, stopped=stopped, children=children
    )


class Outcomes:
    """Results of creates, from what the system answered or, when the answer was lost, from what it holds."""

    def __init__(self, catalogue: Catalogue, reader: RestReader) -> None:
        self.catalogue = catalogue
        self.reader = reader
        self.name = reader.name

    def created(self, ent: Entity, op: WriteOp, record: Any) -> WriteResult:
        """The result of a create the system answered with ``record`` (the new record, with its children).

        An answer that does not say which record was made is a retryable failure: the record was made, and
        the next run looks for it before it makes it again.
        """
        if not isinstance(record, dict):
            return failed(op, f"{self.name} answered the create without the new record", retryable=True)
        flat = flatten_record(record)
        key = key_text(flat.get(ent.key))
        if key is None:
            return failed(op, f"{self.name} answered the create without the new record's {ent.key}", retryable=True)
        children: tuple[WriteResult, ...] = ()
        if op.children and ent.embedded is not None:
            child = self.catalogue.entities[ent.embedded.entity]
            lines = record.get(ent.embedded.field)
            lines = lines if isinstance(lines, list) else []
            children = tuple(
                WriteResult(c.row_id, ok=True, key=key_text(flatten_record(line).get(child.key)))
                if isinstance(line, dict) and key_text(flatten_record(line).get(child.key))
                else failed(
                    c, f"{self.name} answered the create without this {child.name}'s {child.key}", retryable=True
                )
                for c, line in zip(op.children, [*lines, *([None] * len(op.children))], strict=False)
            )
        return WriteResult(op.row_id, ok=True, key=key, children=children)

    def recover(
        self, ent: Entity, ep: Endpoint, ops: list[WriteOp], bodies: list[dict[str, Any]], sent_at: datetime, why: str
    ) -> list[WriteResult]:
        """After a create whose answer was lost: find each record it may have made, before failing it.

        A record counts as the one sent when it holds every value sent and, where the entity has a modified
        time, was changed after the call went out. Exactly one such record (not claimed by another op) is it.
        """
        try:
            records = [flatten_record(r) for r in self.reader.records(ep)]
        except SystemFailure:
            records = []
        if ent.modified is not None:
            since = sent_at.timestamp() - 5
            records = [r for r in records if _after(r.get(ent.modified), since)]
        claimed: set[str] = set()
        results = []
        for op, body in zip(ops, bodies, strict=True):
            sent = {k: v for k, v in flatten_record(body).items() if v is not None and k in ent.fields}
            found = [
                key
                for r in records
                if (key := key_text(r.get(ent.key))) is not None
                and key not in claimed
                and all(_same(r.get(k), v, ent.fields[k].type) for k, v in sent.items())
            ]
            if len(found) == 1:
                claimed.add(found[0])
                results.append(WriteResult(op.row_id, ok=True, key=found[0]))
            else:
                results.append(failed(op, f"{why}; whether it was created could not be told", retryable=True))
        return results


def _same(have: Any, sent: Any, ftype: Any) -> bool:
    try:
        return bool(cast_value(have, ftype) == cast_value(sent, ftype))
    except ValueError:
        return False


def _after(value: Any, since: float) -> bool:
    try:
        when = cast_value(value, "datetime")
    except ValueError:
        return True
    return when is None or when.timestamp() >= since
