"""The state of the Exact Online emulator: records by division, ids, timestamps, the deletion log, load and dump.

The state is one plain JSON document (records, tokens, sequences, the deletion log), so :meth:`ExactStore.dump`
and :meth:`ExactStore.load` keep it between runs. Records are stored as Exact keeps them: guids lower-case,
dates and date-times as milliseconds of the Amsterdam wall-clock time (the number in ``/Date(ms)/``), every
change stamped with the next ``Timestamp`` of the environment. Deleting a record of an entity with a
``sync/Deleted`` type code logs it there. The other parts of the emulator keep their own sections of the
document (the OAuth part its apps and tokens) and take :attr:`ExactStore.lock` around what they change.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import threading
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from reconcile.atomic import write_text_atomically
from reconcile.model.catalogue import Catalogue, Entity
from reconcile.model.clock import Clock
from reconcile.sandbox.exact.odata import wall_ms_of

CET = ZoneInfo("Europe/Amsterdam")
_EPOCH = dt.datetime(1970, 1, 1)
GLOBAL_ENTITIES = ("Currencies", "Divisions")
_USER_ID = str(uuid.UUID(int=0x51A4DB0C5E5E4E4E9A1B2C3D4E5F6071))


class ExactStore:
    """The records of one emulated Exact Online environment, and the direct access tests and seeds use.

    ``lock`` guards :attr:`state`; every part of the emulator holds it while it reads or changes the state.
    """

    def __init__(self, catalogue: Catalogue, clock: Clock, division: int) -> None:
        self.catalogue = catalogue
        self.clock = clock
        self.division = division
        self.current_division = division
        self.lock = threading.RLock()
        self.state: dict[str, Any] = {}
        self.reset()

    def reset(self) -> None:
        """Empty every table; forget every app and token."""
        with self.lock:
            self.state = {
                "division": self.division,
                "timestamp": 1000,
                "tables": {str(self.division): {name: {} for name in self.catalogue.entities}},
                "deleted": [],
                "clients": {},
                "codes": {},
                "refresh_tokens": {},
                "access_tokens": {},
                "user_id": _USER_ID,
            }

    def dump(self, path: Path) -> None:
        """Write the whole state to one JSON file."""
        with self.lock:
            text = json.dumps(self.state)
        write_text_atomically(Path(path), text)

    def load(self, path: Path) -> None:
        """Replace the state with one written by :meth:`dump`."""
        state = json.loads(Path(path).read_text(encoding="utf-8"))
        with self.lock:
            self.state = state
            self.division = int(state["division"])
            self.current_division = self.division

    def add_division(self, code: int, description: str = "") -> None:
        """Give the user access to another (empty) division."""
        with self.lock:
            self.state["tables"].setdefault(str(code), {name: {} for name in self.catalogue.entities})
        self.insert("Divisions", {"Code": code, "Description": description or f"Division {code}"})

    def records(self, entity: str, division: int | None = None) -> list[dict[str, Any]]:
        """Every record of ``entity`` as stored (dates as ISO strings)."""
        ent = self.entity(entity)
        with self.lock:
            rows = list(self.table(ent.name, division).values())
            return [self._export(ent, row) for row in rows]

    def record(self, entity: str, key: Any, division: int | None = None) -> dict[str, Any] | None:
        """One record by key, or None."""
        ent = self.entity(entity)
        with self.lock:
            row = self.table(ent.name, division).get(_norm_key(ent, key))
            return None if row is None else self._export(ent, row)

    def insert(self, entity: str, values: Mapping[str, Any], division: int | None = None) -> str:
        """Store a record directly, without validation (a seed, a change made in Exact's own screens)."""
        ent = self.entity(entity)
        with self.lock:
            row = {name: self._internal(ent, name, value) for name, value in values.items() if name in ent.fields}
            key = row.get(ent.key)
            if key is None:
                key = str(uuid.uuid4()) if ent.fields[ent.key].type == "guid" else None
                row[ent.key] = key
            now = self.wall_now()
            for stamp in ("Created", "Modified"):
                if stamp in ent.fields:
                    row.setdefault(stamp, now)
            if "Division" in ent.fields:
                row["Division"] = division or self.division
            if ent.name == "Accounts" and row.get("Code") is not None:
                row["Code"] = pad_code(str(row["Code"]))
            row["Timestamp"] = self.tick()
            self.table(ent.name, division)[str(key)] = row
            return str(key)

    def modify(self, entity: str, key: Any, values: Mapping[str, Any], division: int | None = None) -> None:
        """Change a record directly (as a person in Exact would), bumping Modified and Timestamp."""
        ent = self.entity(entity)
        with self.lock:
            row = self.table(ent.name, division)[_norm_key(ent, key)]
            for name, value in values.items():
                row[name] = self._internal(ent, name, value)
            self.touch(ent, row)

    def remove(self, entity: str, key: Any, division: int | None = None) -> None:
        """Delete a record directly, logging it for ``sync/Deleted``."""
        ent = self.entity(entity)
        with self.lock:
            self.delete(ent, _norm_key(ent, key), division or self.division)

    # ------------------------------------------------------------------- what the request handlers use

    def has_division(self, division: int) -> bool:
        """Whether the user has access to ``division``."""
        return str(division) in self.state["tables"]

    @property
    def user_id(self) -> str:
        """The id of the one user of the environment."""
        return str(self.state["user_id"])

    def deletions(self, division: int, since: int) -> list[dict[str, Any]]:
        """The deletion log of ``division`` after the ``Timestamp`` ``since``, in the order it was written."""
        return [r for r in self.state["deleted"] if r["Division"] == division and r["Timestamp"] > since]

    def delete(self, entity: Entity, key: str, division: int) -> None:
        """Delete a record (an order's lines with it), log it for ``sync/Deleted``, and fix its parents' totals."""
        table = self.table(entity.name, division)
        table.pop(key, None)
        self._log_deleted(entity, key, division)
        if entity.embedded is not None:
            child = self.entity(entity.embedded.entity)
            lines = self.table(child.name, division)
            for line_key in [k for k, r in lines.items() if r.get(entity.embedded.parent_field) == key]:
                lines.pop(line_key)
                self._log_deleted(child, line_key, division)
        parent_of = [e for e in self.catalogue.entities.values() if e.embedded and e.embedded.entity == entity.name]
        for parent in parent_of:
            assert parent.embedded is not None
            for row in self.table(parent.name, division).values():
                self.recompute_amounts(parent, row, division)

    def _log_deleted(self, entity: Entity, key: str, division: int) -> None:
        code = entity.api.get("deleted")
        if code is None:
            return
        self.state["deleted"].append(
            {
                "Timestamp": self.tick(),
                "ID": str(uuid.uuid4()),
                "EntityKey": key,
                "EntityType": int(code),
                "DeletedBy": self.state["user_id"],
                "DeletedDate": self.wall_now(),
                "Division": division,
            }
        )

    def recompute_amounts(self, entity: Entity, row: dict[str, Any], division: int) -> None:
        """Set an order's or quotation's amounts to the sum of its lines'."""
        if entity.embedded is None:
            return
        lines = self.table(entity.embedded.entity, division).values()
        total = sum(
            float(r.get("AmountFC") or 0.0) for r in lines if r.get(entity.embedded.parent_field) == row[entity.key]
        )
        row["AmountFC"] = row["AmountDC"] = round(total, 2)

    def derived(self, entity: Entity, row: dict[str, Any], division: int) -> dict[str, Any]:
        """A row with the fields Exact computes on read (a contact's code and city come from its account)."""
        if entity.name != "Contacts":
            return row
        derived = dict(row)
        account = self.table("Accounts", division).get(str(row.get("Account")))
        if account is not None:
            for name in ("City", "Country", "Postcode", "Code"):
                derived[name] = account.get(name)
            derived["IsMainContact"] = account.get("MainContact") == row.get("ID")
        parts = [row.get("FirstName"), row.get("MiddleName"), row.get("LastName")]
        derived["FullName"] = " ".join(str(p) for p in parts if p)
        return derived

    def entity(self, name: str) -> Entity:
        """The catalogue's entity ``name``; a KeyError when there is none."""
        entity = self.catalogue.entity(name)
        if entity is None:
            raise KeyError(f"no Exact entity {name}")
        return entity

    def table(self, entity: str, division: int | None = None) -> dict[str, dict[str, Any]]:
        """The stored records of ``entity`` by key (global entities are shared by every division)."""
        if entity in GLOBAL_ENTITIES:
            division = None
        tables = self.state["tables"].setdefault(
            str(division or self.division), {name: {} for name in self.catalogue.entities}
        )
        table: dict[str, dict[str, Any]] = tables.setdefault(entity, {})
        return table

    def tick(self) -> int:
        """The next ``Timestamp`` of the environment."""
        self.state["timestamp"] += 1
        return int(self.state["timestamp"])

    def wall_now(self) -> int:
        """Now, as milliseconds of the Amsterdam wall-clock time (as dates are stored)."""
        now = dt.datetime.fromtimestamp(self.clock.now(), dt.UTC).astimezone(CET).replace(tzinfo=None)
        return (now - _EPOCH) // dt.timedelta(milliseconds=1)

    def touch(self, entity: Entity, row: dict[str, Any]) -> None:
        """Stamp a changed record: ``Modified`` and the next ``Timestamp``."""
        if "Modified" in entity.fields:
            row["Modified"] = self.wall_now()
        row["Timestamp"] = self.tick()

    def _internal(self, entity: Entity, name: str, value: Any) -> Any:
        fdef = entity.fields.get(name)
        if fdef is None or value is None:
            return value
        if fdef.type in ("date", "datetime"):
            return value if isinstance(value, int) else wall_ms_from_input(str(value))
        if fdef.type == "guid":
            return str(value).lower()
        return value

    def _export(self, entity: Entity, row: Mapping[str, Any]) -> dict[str, Any]:
        out = {}
        for name, value in row.items():
            fdef = entity.fields.get(name)
            if fdef is not None and fdef.type in ("date", "datetime") and isinstance(value, int):
                wall = _EPOCH + dt.timedelta(milliseconds=value)
                out[name] = wall.date().isoformat() if fdef.type == "date" else wall.isoformat()
            else:
                out[name] = value
        return out


def pad_code(code: str) -> str:
    """A code as Exact stores it: right-aligned in 18 characters."""
    return code.strip().rjust(18)


def _norm_key(entity: Entity, key: Any) -> str:
    return str(key).lower() if entity.fields[entity.key].type == "guid" else str(key)


def wall_ms_from_input(text: str) -> int:
    """A date or date-time from a body or a seed: ``/Date(ms)/``, or ISO (an offset converts to CET)."""
    match = re.fullmatch(r"/Date\((-?\d+)(?:[+-]\d{4})?\)/", text)
    if match:
        return int(match.group(1))
    parsed = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(CET).replace(tzinfo=None)
    return wall_ms_of(parsed.isoformat())
