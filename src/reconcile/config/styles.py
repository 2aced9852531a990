"""Checking a system file's ``type``-tagged tables (auth, paging) against the styles they name.

Each style (:mod:`reconcile.model.styles`) is a dataclass whose fields are its keys, each key marked with
how its value is checked (a :data:`~reconcile.model.styles.KeyKind`). :func:`build_style` checks a table
once, naming the key path and what is valid (with a did-you-mean for a typo); a secret written into the
table is refused without echoing it.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Mapping
from typing import Any

from reconcile.model.names import did_you_mean
from reconcile.model.styles import KeyKind, Style

_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_HEADER = re.compile(r"^[A-Za-z0-9!#$%&'*+.^_`|~-]+$")
_RECORDS = re.compile(r"^[A-Za-z0-9_$@-]+(\.[A-Za-z0-9_$@-]+)*$")


def check_value(kind: KeyKind, value: Any) -> str:
    """What is wrong with ``value`` for a key of ``kind``, or ""."""
    if kind == "int":
        return (
            ""
            if isinstance(value, int) and not isinstance(value, bool) and value > 0
            else "must be a whole number above 0"
        )
    if kind == "first":
        ok = isinstance(value, int) and not isinstance(value, bool) and value in (0, 1)
        return "" if ok else "must be 0 or 1: the number of the first page"
    if kind == "number":
        ok = isinstance(value, int | float) and not isinstance(value, bool) and value > 0
        return "" if ok else "must be a number above 0"
    if not isinstance(value, str) or (not value.strip() and kind != "records"):
        return "must be a non-empty string"
    if kind == "env" and not _ENV_NAME.match(value):
        return f'must be the name of an environment variable (letters, digits, "_"), not "{value}"'
    if kind == "header" and not _HEADER.match(value):
        return f'must be an HTTP header name such as "X-API-Key", not "{value}"'
    if kind == "records" and value and not _RECORDS.match(value):
        return f'must be a dotted path such as "data" or "result.items" ("" for a bare array), not "{value}"'
    if kind == "param" and not _HEADER.match(value):
        return f'must be a query parameter name such as "page", not "{value}"'
    return ""


def build_style(
    registry: Mapping[str, type[Style]],
    what: str,
    raw: Any,
    path: str,
    err: Callable[[str, str], None],
    default: str | None = None,
) -> Style | None:
    """The style a ``type``-tagged table describes, or None after reporting what is wrong with it."""
    styles = ", ".join(registry)
    if not isinstance(raw, dict):
        err(path, f'must be a table such as {{ type = "{next(iter(registry))}", ... }}; valid types are {styles}')
        return None
    tag = raw.get("type", default)
    if tag is None:
        err(f"{path}.type", f"missing; valid {what} types are {styles}")
        return None
    if tag not in registry:
        err(
            f"{path}.type",
            f'{what} type "{tag}" is unknown{did_you_mean(str(tag), list(registry))}; valid types are {styles}',
        )
        return None
    cls = registry[tag]
    keys = {f.name: f for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    kwargs: dict[str, Any] = {}
    ok = True
    for name, value in raw.items():
        if name == "type":
            continue
        spec = keys.get(name)
        if spec is None:
            valid = ", ".join(["type", *keys]) if keys else "type"
            hint = did_you_mean(name, list(keys))
            if f"{name}_env" in keys:
                hint = f'; secrets are never written in a file: name the variable that holds it in "{name}_env"'
            err(f"{path}.{name}", f'unknown key for {what} type "{tag}"{hint}; valid keys are {valid}')
            ok = False
            continue
        problem = check_value(spec.metadata["kind"], value)
        if problem:
            err(f"{path}.{name}", problem)
            ok = False
            continue
        kwargs[name] = value
    for name, spec in keys.items():
        if spec.default is dataclasses.MISSING and name not in raw:
            doc = f" ({spec.metadata['doc']})" if spec.metadata.get("doc") else ""
            err(f"{path}.{name}", f'missing; {what} type "{tag}" requires it{doc}')
            ok = False
    if not ok:
        return None
    built = cls(**kwargs)
    for name, message in built.problems():
        err(f"{path}.{name}" if name else path, message)
        ok = False
    return built if ok else None
