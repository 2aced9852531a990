"""One collection of the emulated PowerOffice Go API, as data: its record shape and the rules the API applies.

The collections themselves are in :mod:`.contacts`, :mod:`.registers`, :mod:`.orders` (API v2, PascalCase)
and :mod:`.v1` (API v1, camelCase); :mod:`reconcile.sandbox.poweroffice.model` indexes them.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

IdKind = Literal["contact", "int", "guid", "code"]

EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[A-Za-z]{2,}$")
"""An e-mail address as both APIs accept it."""


@dataclass(frozen=True)
class Resource:
    """One v2 (PascalCase) or v1 (camelCase) collection and the rules the API applies to it."""

    name: str
    title: str
    version: int
    template: Mapping[str, Any]
    id_field: str = "Id"
    id_kind: IdKind = "int"
    read_only: frozenset[str] = frozenset()
    post_only: frozenset[str] = frozenset()
    required: tuple[str, ...] = ()
    number_field: str | None = None
    number_start: int = 1
    number_filter: str | None = None
    external_class: str | None = None
    created_field: str | None = None
    created_filter: str | None = None
    changed: bool = True
    writable: bool = True
    post_status: int = 201
    privilege: str = ""
    filters: Mapping[str, str] = field(default_factory=dict)
    """List filters beyond paging and the change/created ones: query key -> field (comma lists)."""

    def fresh(self) -> dict[str, Any]:
        return copy.deepcopy(dict(self.template))


def same_code(a: Any, b: Any) -> bool:
    """Whether two codes are one to Go: its database compares them without regard to case or surrounding spaces."""
    return a is not None and b is not None and str(a).strip().casefold() == str(b).strip().casefold()


def normalise(resource: Resource, record: Mapping[str, Any]) -> dict[str, Any]:
    """A record in the resource's full shape: template defaults for what is missing, keys in their casing."""
    out = resource.fresh()
    known = {k.casefold(): k for k in out}
    for key, value in record.items():
        name = known.get(key.casefold(), key)
        if isinstance(out.get(name), dict) and isinstance(value, Mapping):
            inner = out[name]
            inner_known = {k.casefold(): k for k in inner}
            for ikey, ivalue in value.items():
                inner[inner_known.get(ikey.casefold(), ikey)] = ivalue
        else:
            out[name] = copy.deepcopy(value)
    return out
