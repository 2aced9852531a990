"""The unique values of the records a connector has written in a run, so that no write collides with one.

Some fields a system keeps unique (the catalogue's ``unique``: an Exact item's or VAT code's ``Code``, a
PowerOffice product's ``Code``, its ``ExternalImportReference``). The plan refuses a create whose value an
existing record or another create of the plan already has, but a connector still meets values the plan could
not see: two rows whose values differ only in case, or spaces, or that became equal through a mapping's
cast. Sent, the second would be refused by the system (and Exact counts the refusal against the API key) or,
where a connector treats "already in use" as its own earlier create, linked to the wrong record. So a
connector notes the unique values of every record it creates or changes and refuses, before any call, a write
of a value one of them holds. Values compare as the systems compare them: trimmed, NFC-normalised, without
regard to case.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Mapping
from typing import Any

from reconcile.model.catalogue import Entity


def fold(value: Any) -> str | None:
    """A value as a unique field compares it; None for a blank value, which is never a collision."""
    if value is None:
        return None
    text = unicodedata.normalize("NFC", str(value).strip()).casefold()
    return text or None


class WrittenValues:
    """The unique values of the records written in this run, per entity and field, with the record each is in."""

    def __init__(self, system: str) -> None:
        self.system = system
        self._held: dict[tuple[str, str, str], tuple[str, str | None]] = {}
        """(entity, field, folded value) -> (plan row, record key) of the record that holds it."""

    def collision(
        self, ent: Entity, values: Mapping[str, Any], fields: Iterable[str], *, key: str | None = None
    ) -> str | None:
        """Why writing ``values`` (to the record ``key``, or a new one) would collide, in words; or None."""
        for name in fields:
            folded = fold(values.get(name))
            if folded is None:
                continue
            held = self._held.get((ent.name, name, folded))
            if held is not None and (key is None or held[1] != key):
                row, record = held
                which = f"{ent.name} {record}" if record else f"the {ent.name} record"
                return (
                    f"{name} = {values[name]!r} is already {which}'s, created by row {row} of this run; "
                    f"{self.system} keeps {name} unique"
                )
        return None

    def note(self, ent: Entity, values: Mapping[str, Any], fields: Iterable[str], *, row: str, key: str | None) -> None:
        """Remember the unique values of the record ``key`` just written (by plan row ``row``)."""
        for name in fields:
            if name not in values:
                continue
            if key is not None:
                stale = [k for k, v in self._held.items() if k[:2] == (ent.name, name) and v[1] == key]
                for k in stale:
                    del self._held[k]
            folded = fold(values.get(name))
            if folded is not None:
                self._held[(ent.name, name, folded)] = (row, key)
