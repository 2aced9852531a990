"""The writer of the Exact Online connector: one call per record, lines embedded, lost creates recovered.

Exact has no working ``$batch``, so each operation is one call; orders and quotations carry their lines
embedded in the header's POST, and the new lines' ids are read back when the answer leaves them out. An
operation the catalogue knows would fail is refused without a call (:mod:`reconcile.systems.exact.checks`),
and so is one whose unique field (a ``Code``) holds the value of a record written earlier in the run
(:mod:`reconcile.systems.unique`): Exact would refuse it and count the refusal against the API key.
A create whose answer was lost is not sent again blindly: the record is looked for by its natural key among
those created since, and adopted when there is exactly one.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from reconcile.errors import NetworkError, SystemFailure
from reconcile.model.catalogue import Entity
from reconcile.model.clock import Clock
from reconcile.systems.base import WriteKind, WriteOp, WriteResult
from reconcile.systems.exact.api import ExactApi
from reconcile.systems.exact.checks import GUID, check_values
from reconcile.systems.exact.wire import (
    date_literal,
    error_message,
    format_datetime,
    guid_literal,
    is_transient,
    string_literal,
    unwrap,
)
from reconcile.systems.unique import WrittenValues

_LINES_PER_READ = 50
_NATURAL_KEYS = ("Code", "YourRef", "Email", "Name", "Description", "LastName", "FirstName")


class ExactWriter:
    """Creates, updates and deletes, each with its own result."""

    def __init__(self, api: ExactApi, clock: Clock) -> None:
        self.api = api
        self.clock = clock
        self.written = WrittenValues("Exact")

    def write(self, entity: str, ops: Sequence[WriteOp]) -> list[WriteResult]:
        """Apply a batch: one call per op (an order with its lines is one op), each with its own result.

        A failure that stops every further call (the token refused, the day's calls used up, the endpoint's
        breaker open) fails the remaining ops as retryable, without sending them, instead of raising: the
        results of the ops already applied are kept.
        """
        ent = self.api.entity(entity)
        results: list[WriteResult] = []
        stopped: str | None = None
        unique = ent.unique_fields()
        for op in ops:
            refusal = self._refusal(ent, op)
            if refusal is None and op.kind is not WriteKind.DELETE:
                refusal = self.written.collision(ent, op.values, unique, key=op.key)
            if refusal is not None:
                results.append(_failed(op, refusal))
                continue
            if stopped is not None:
                results.append(_failed(op, stopped, retryable=True, stopped=True))
                continue
            try:
                if op.kind is WriteKind.CREATE:
                    results.append(self._create(ent, op))
                elif op.kind is WriteKind.UPDATE:
                    results.append(self._update(ent, op))
                else:
                    results.append(self._delete(ent, op))
            except NetworkError as exc:
                results.append(_failed(op, str(exc), retryable=True))
            except SystemFailure as exc:
                stopped = f"not sent: {exc}"
                results.append(_failed(op, str(exc), retryable=True, stopped=True))
            if results[-1].ok and op.kind is not WriteKind.DELETE:
                self.written.note(ent, op.values, unique, row=op.row_id, key=results[-1].key)
        if stopped is None:
            self._read_back_lines(ent, ops, results)
        return results

    def _refusal(self, ent: Entity, op: WriteOp) -> str | None:
        """Why the catalogue knows ``op`` would fail, or None."""
        if ent.read_only:
            return f"Exact {ent.name} are read-only through the API: they cannot be {op.kind}d"
        if op.key and ent.fields[ent.key].type == "guid" and not GUID.match(op.key):
            return f"{op.key!r} is not an Exact {ent.name} id (a guid)"
        if op.kind is WriteKind.DELETE:
            if not op.key:
                return "a delete needs the record's key"
            return None if ent.deletable else f"Exact {ent.name} cannot be deleted through the API"
        if op.kind is WriteKind.UPDATE:
            if not op.key:
                return "an update needs the record's key"
            if op.children:
                return f"lines are only sent with a new {ent.name} record; update them as records of their own"
            return check_values(ent, op.values, creating=False)
        problem = check_values(ent, op.values, creating=True)
        if problem:
            return problem
        if op.children and ent.embedded is None:
            return f"Exact {ent.name} has no embedded lines"
        if ent.embedded is not None:
            if ent.api.get("lines_required") and not op.children:
                return f"missing required {ent.embedded.field}: Exact creates {ent.name} with their lines only"
            child = self.api.entity(ent.embedded.entity)
            for number, line in enumerate(op.children, start=1):
                if line.kind is not WriteKind.CREATE:
                    return f"line {number}: embedded lines can only be created"
                problem = check_values(child, line.values, creating=True, skip=ent.embedded.parent_field)
                if problem:
                    return f"line {number}: {problem}"
        return None

    def _create(self, ent: Entity, op: WriteOp) -> WriteResult:
        body = _body(ent, op.values)
        if ent.embedded is not None and op.children:
            child = self.api.entity(ent.embedded.entity)
            body[ent.embedded.field] = [_body(child, line.values) for line in op.children]
        endpoint = str(ent.api["service"])
        sent_at = self.clock.now()
        try:
            response = self.api.http.request(
                "POST",
                self.api.url(ent),
                endpoint=endpoint,
                json=body,
                headers={"Prefer": "return=representation"},
                transient=is_transient,
            )
        except NetworkError as exc:
            if not exc.maybe_applied:
                raise
            return self._recover(ent, op, sent_at, str(exc))
        if response.status_code == 201:
            try:
                rows, _ = unwrap(response.json())
            except ValueError:  # made, but the answer broke off: look for it as for a lost answer
                return self._recover(ent, op, sent_at, "Exact's answer to the create broke off")
            created = rows[0] if rows else {}
            key = _key_text(created.get(ent.key))
            if key is None:
                # It was made: the next run finds it (by its values) instead of making it again.
                return _failed(op, "Exact answered 201 without the new record's key", retryable=True)
            return WriteResult(op.row_id, True, key=key, children=self._inline_lines(ent, op, created))
        if is_transient(response):
            return self._recover(ent, op, sent_at, error_message(response))
        return _failed(op, error_message(response))

    def _inline_lines(self, ent: Entity, op: WriteOp, created: Mapping[str, Any]) -> tuple[WriteResult, ...]:
        """The new lines' ids when the POST answer holds them inline; () when they must be read back."""
        if ent.embedded is None or not op.children:
            return ()
        inline = created.get(ent.embedded.field)
        if isinstance(inline, dict) and isinstance(inline.get("results"), list):
            return self._match_lines(ent, op, list(inline["results"]))
        if isinstance(inline, list):
            return self._match_lines(ent, op, list(inline))
        return ()

    def _match_lines(self, ent: Entity, op: WriteOp, lines: list[dict[str, Any]]) -> tuple[WriteResult, ...]:
        assert ent.embedded is not None
        child = self.api.entity(ent.embedded.entity)
        lines = sorted(lines, key=lambda r: int(r.get("LineNumber") or 0))
        results = []
        for index, line in enumerate(op.children):
            line_key = _key_text(lines[index].get(child.key)) if index < len(lines) else None
            if line_key is None:
                problem = f"the {ent.name} record was created, but line {index + 1} was not found in it"
                results.append(_failed(line, problem, retryable=True))
            else:
                results.append(WriteResult(line.row_id, True, key=line_key))
        return tuple(results)

    def _read_back_lines(self, ent: Entity, ops: Sequence[WriteOp], results: list[WriteResult]) -> None:
        """Fill in the line ids of new records whose POST answer left them out, many records a call."""
        if ent.embedded is None:
            return
        pending = [
            i
            for i, (op, result) in enumerate(zip(ops, results, strict=True))
            if op.kind is WriteKind.CREATE and op.children and result.ok and result.key and not result.children
        ]
        child = self.api.entity(ent.embedded.entity)
        parent_field = ent.embedded.parent_field
        # Exact refuses URLs over 6000 characters: a guid clause costs about 60.
        for start in range(0, len(pending), _LINES_PER_READ):
            chunk = pending[start : start + _LINES_PER_READ]
            keys = [str(results[i].key) for i in chunk]
            try:
                rows = self.api.get_all(
                    str(child.api["service"]),
                    {
                        "$select": f"{child.key},{parent_field},LineNumber",
                        "$filter": " or ".join(f"{parent_field} eq {guid_literal(k)}" for k in keys),
                    },
                    what=f"reading back the lines of new {ent.name} records",
                )
            except SystemFailure as exc:
                for i in chunk:
                    problem = f"the {ent.name} record was created but its lines' ids could not be read: {exc}"
                    children = tuple(_failed(line, problem, retryable=True) for line in ops[i].children)
                    results[i] = replace(results[i], children=children)
                continue
            by_parent: dict[str, list[dict[str, Any]]] = {}
            for row in rows:
                by_parent.setdefault(str(_key_text(row.get(parent_field))), []).append(row)
            for i in chunk:
                lines = by_parent.get(str(results[i].key), [])
                results[i] = replace(results[i], children=self._match_lines(ent, ops[i], lines))

    def _recover(self, ent: Entity, op: WriteOp, sent_at: float, problem: str) -> WriteResult:
        """After a create whose outcome is unknown: look for it before anyone sends it again."""
        clauses = []
        for name in _NATURAL_KEYS:
            value = op.values.get(name)
            if isinstance(value, str) and value.strip() and name in ent.fields:
                if name == "Code" and ent.api.get("padded"):
                    clauses.append(f"trim(Code) eq {string_literal(value.strip())}")
                else:
                    clauses.append(f"{name} eq {string_literal(value)}")
        for name, fdef in ent.fields.items():
            value = op.values.get(name)
            if fdef.type == "guid" and fdef.required and isinstance(value, str):
                clauses.append(f"{name} eq {guid_literal(value)}")
        if not clauses or "Created" not in ent.fields:
            return _failed(op, f"{problem}; the create may not have happened: retry it", retryable=True)
        # Exact's clock and ours may differ a little: look a minute back from when the create was sent.
        since = dt.datetime.fromtimestamp(sent_at - 60, dt.UTC)
        clauses.append(f"Created ge {date_literal(since)}")
        try:
            found = self.api.get_all(
                str(ent.api["service"]),
                {"$select": ent.key, "$filter": " and ".join(clauses)},
                what=f"looking for a {ent.name} record whose create was interrupted",
            )
        except SystemFailure as exc:
            return _failed(op, f"{problem}; checking whether it was created failed too ({exc})", retryable=True)
        if not found:
            return _failed(op, f"{problem}; it was not created: retry it", retryable=True)
        if len(found) > 1:
            # One of them may be it: the next run pairs what it left pending with the records, one to one.
            return _failed(op, f"{problem}; {len(found)} records now match it", retryable=True)
        key = _key_text(found[0].get(ent.key))
        assert key is not None
        return WriteResult(op.row_id, True, key=key)

    def _update(self, ent: Entity, op: WriteOp) -> WriteResult:
        assert op.key is not None
        if not op.values:
            return WriteResult(op.row_id, True, key=op.key)
        response = self.api.http.request(
            "PUT",
            self.api.url(ent, op.key),
            endpoint=str(ent.api["service"]),
            json=_body(ent, op.values),
            transient=is_transient,
        )
        if response.status_code in (200, 204):
            return WriteResult(op.row_id, True, key=op.key)
        return _failed(op, error_message(response), retryable=is_transient(response))

    def _delete(self, ent: Entity, op: WriteOp) -> WriteResult:
        assert op.key is not None
        response = self.api.http.request(
            "DELETE", self.api.url(ent, op.key), endpoint=str(ent.api["service"]), transient=is_transient
        )
        # A 404 means it is gone already: a delete repeated after a lost answer has done its job.
        if response.status_code in (200, 204, 404):
            return WriteResult(op.row_id, True, key=op.key)
        return _failed(op, error_message(response), retryable=is_transient(response))


def _failed(op: WriteOp, error: str, *, retryable: bool = False, stopped: bool = False) -> WriteResult:
    children = tuple(_failed(c, "not sent: its parent failed", retryable=retryable) for c in op.children)
    return WriteResult(
        op.row_id, False, key=op.key, error=error, retryable=retryable, children=children, stopped=stopped
    )


def _key_text(value: Any) -> str | None:
    if value is None or value == "":
        return None
    return str(value).lower() if isinstance(value, str) and GUID.match(value) else str(value)


def _body(ent: Entity, values: Mapping[str, Any]) -> dict[str, Any]:
    """A JSON body for Exact: dates as Amsterdam wall-clock ISO text, everything else as it is."""
    body: dict[str, Any] = {}
    for name, value in values.items():
        fdef = ent.fields[name]
        if isinstance(value, dt.date) and fdef.type in ("date", "datetime"):
            body[name] = format_datetime(value)
        elif fdef.type == "float" and isinstance(value, int):
            body[name] = float(value)
        else:
            body[name] = value
    return body
