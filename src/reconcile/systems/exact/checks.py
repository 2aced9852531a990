"""The checks the Exact Online connector makes before a write: what the catalogue knows Exact would refuse.

Exact blocks an API key that sends more than ten bad requests an hour to one endpoint, so values are checked
against the catalogue (read-only fields, fields that cannot change after creation, required fields, guids,
lengths, allowed values, types) and a problem is reported in words instead of spending a call on it.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from typing import Any

from reconcile.model.catalogue import Entity, Field

GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


def check_values(ent: Entity, values: Mapping[str, Any], *, creating: bool, skip: str | None = None) -> str | None:
    """What the catalogue says is wrong with ``values`` for ``ent``, in words, or None."""
    problems: list[str] = []
    for name, value in values.items():
        fdef = ent.fields.get(name)
        if fdef is None:
            problems.append(f"{name} is not a field of Exact {ent.name}{ent.suggest(name)}")
            continue
        if name == skip:
            continue
        if fdef.read_only:
            problems.append(f"{name} is read-only in Exact {ent.name}")
        elif fdef.create_only and not creating:
            problems.append(f"{name} cannot be changed after an Exact {ent.name} record is created")
        elif value is not None:
            problem = _check_value(fdef, value)
            if problem:
                problems.append(f"{name} {problem}")
        elif fdef.required and not creating:
            problems.append(f"{name} is required and cannot be emptied")
    if creating:
        missing = [
            f.name for f in ent.fields.values() if f.required and f.name != skip and values.get(f.name) in (None, "")
        ]
        if missing:
            problems.insert(0, f"missing required field{'s' if len(missing) > 1 else ''}: {', '.join(missing)}")
    return "; ".join(problems) if problems else None


def _check_value(fdef: Field, value: Any) -> str | None:
    if fdef.type == "guid" and not (isinstance(value, str) and GUID.match(value)):
        return f"must be a guid, not {value!r}"
    if fdef.type in ("string", "guid") and not isinstance(value, str):
        return f"must be text, not {type(value).__name__}"
    if isinstance(value, str) and fdef.required and not value.strip():
        return "is required and cannot be blank"
    if fdef.max_length is not None and isinstance(value, str) and len(value.strip()) > fdef.max_length:
        return f"is longer than {fdef.max_length} characters"
    if fdef.values is not None and str(value) not in fdef.values:
        return f"must be one of {', '.join(fdef.values)}, not {value!r}"
    if fdef.type == "int" and (isinstance(value, bool) or not isinstance(value, int)):
        return f"must be a whole number, not {value!r}"
    if fdef.type == "float" and (isinstance(value, bool) or not isinstance(value, int | float)):
        return f"must be a number, not {value!r}"
    if fdef.type == "bool" and not isinstance(value, bool):
        return f"must be true or false, not {value!r}"
    if fdef.type in ("date", "datetime") and not isinstance(value, dt.date):
        return f"must be a date, not {value!r}"
    return None
