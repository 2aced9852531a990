"""Bulk writes to a custom REST system: an array of at most ``size`` records a call, one result per record."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from reconcile.errors import NetworkError
from reconcile.model.catalogue import Entity
from reconcile.model.systemfile import Endpoint
from reconcile.model.values import nest_record
from reconcile.systems.base import WriteKind, WriteOp, WriteResult
from reconcile.systems.http.client import HttpClient
from reconcile.systems.rest.outcomes import Outcomes, failed
from reconcile.systems.rest.wire import answer_body, error_message, error_text, listed


class BulkWriter:
    """Sends chunks of creates or updates to an entity's bulk endpoints through ``http``."""

    def __init__(self, http: HttpClient, outcomes: Outcomes) -> None:
        self.http = http
        self.outcomes = outcomes
        self.name = outcomes.name

    def send(
        self, ent: Entity, ep: Endpoint, path: str, ops: list[WriteOp], bodies: list[dict[str, Any]]
    ) -> list[WriteResult]:
        """One call for a chunk of creates or updates; one result per op, from the answer's array."""
        creating = ops[0].kind is WriteKind.CREATE
        if not creating:
            bodies = [
                {**nest_record({ent.key: _key_value(ent, op.key)}), **b} for op, b in zip(ops, bodies, strict=True)
            ]
        sent_at = datetime.now(UTC)
        method = "POST" if creating else "PATCH"
        try:
            response = self.http.request(method, path, endpoint=path, json=bodies, idempotent=not creating)
        except NetworkError as exc:
            if creating and exc.maybe_applied:
                return self.outcomes.recover(ent, ep, ops, bodies, sent_at, str(exc))
            return [failed(op, str(exc), retryable=True) for op in ops]
        if response.status_code >= 500 and creating:
            return self.outcomes.recover(ent, ep, ops, bodies, sent_at, error_message(response))
        if response.status_code >= 300:
            return [failed(op, error_message(response), retryable=response.status_code >= 500) for op in ops]
        items = listed(self.name, answer_body(self.name, response, ep, method), ep, method)
        if len(items) != len(ops):
            message = f"{self.name} answered {len(items)} results for {len(ops)} records"
            return (
                self.outcomes.recover(ent, ep, ops, bodies, sent_at, message)
                if creating
                else [failed(op, message, retryable=True) for op in ops]
            )
        results = []
        for op, item in zip(ops, items, strict=True):
            if item.get("error"):
                results.append(failed(op, error_text(item["error"])))
            elif creating:
                results.append(self.outcomes.created(ent, op, item))
            else:
                results.append(WriteResult(op.row_id, ok=True, key=op.key))
        return results


def _key_value(ent: Entity, key: str | None) -> Any:
    """A key as the wire holds it: a number for an int key, else text."""
    if key is not None and ent.fields[ent.key].type == "int" and key.lstrip("-").isdigit():
        return int(key)
    return key
