"""JSON Patch (RFC 6902) as PowerOffice Go's v2 applies it: paths without regard to case, read-only paths refused.

Errors are worded as ASP.NET Core's JsonPatch words them; string values are converted to the number or
boolean a field holds, as the .NET binder does.
"""

from __future__ import annotations

import copy
from typing import Any

from reconcile.sandbox.poweroffice.problem import ApiProblem
from reconcile.sandbox.poweroffice.resources.resource import Resource


def _unescape(segment: str) -> str:
    return segment.replace("~1", "/").replace("~0", "~")


def _coerce(current: Any, value: Any, where: str) -> Any:
    """Go accepts strings for numbers and booleans (the .NET binder converts them)."""
    if isinstance(value, str) and current is not None and not isinstance(current, str):
        try:
            if isinstance(current, bool):
                if value.lower() not in ("true", "false"):
                    raise ValueError(value)
                return value.lower() == "true"
            if isinstance(current, int):
                return int(value)
            if isinstance(current, float):
                return float(value)
        except ValueError:
            raise ApiProblem(400, "Validation error(s)", f"The value '{value}' is invalid for '{where}'.") from None
    return value


def apply_patch(resource: Resource, record: dict[str, Any], ops: Any) -> dict[str, Any]:
    """Apply RFC 6902 operations to a copy of ``record``; paths are matched without regard to case.

    A path that is not in the resource's patch shape (unknown, or read-only) is a 400 naming the segment,
    as ASP.NET Core's JsonPatch words it.
    """
    title = f"{resource.title} validation error(s)"
    if not isinstance(ops, list):
        raise ApiProblem(400, title, "The JSON patch document must be an array of operations.")
    doc = copy.deepcopy(record)

    def resolve(path: Any) -> tuple[Any, str | int, str]:
        if not isinstance(path, str) or not path.startswith("/"):
            raise ApiProblem(400, title, f"The path '{path}' is not a valid JSON Pointer.")
        segments = [_unescape(s) for s in path[1:].split("/")]
        parent: Any = doc
        dotted: list[str] = []
        for i, segment in enumerate(segments):
            last = i == len(segments) - 1
            if isinstance(parent, dict):
                names = {k.casefold(): k for k in parent}
                name = names.get(segment.casefold())
                if name is None or ".".join([*dotted, name]) in resource.read_only or name == resource.id_field:
                    raise ApiProblem(
                        400,
                        title,
                        f"{resource.title}PatchDto: The target location specified by path segment "
                        f"'{segment.lower()}' was not found.",
                    )
                dotted.append(name)
                if last:
                    return parent, name, ".".join(dotted)
                if parent[name] is None and isinstance(resource.template.get(name), dict):
                    parent[name] = copy.deepcopy(resource.template[name])
                parent = parent[name]
            elif isinstance(parent, list):
                if last and segment == "-":
                    return parent, len(parent), ".".join(dotted)
                if not segment.isdigit() or int(segment) >= len(parent) + (1 if last else 0):
                    raise ApiProblem(
                        400,
                        title,
                        f"The index value provided by path segment '{segment}' is out of bounds of the array size.",
                    )
                if last:
                    return parent, int(segment), ".".join(dotted)
                parent = parent[int(segment)]
            else:
                raise ApiProblem(
                    400,
                    title,
                    f"The target location specified by path segment '{segment.lower()}' was not found.",
                )
        raise ApiProblem(400, title, "The path '/' cannot be patched.")

    def get(path: Any) -> Any:
        parent, key, _ = resolve(path)
        if isinstance(parent, list):
            return copy.deepcopy(parent[key]) if isinstance(key, int) and key < len(parent) else None
        return copy.deepcopy(parent[key])

    def put(path: Any, value: Any, op: str) -> None:
        parent, key, where = resolve(path)
        if isinstance(parent, list):
            assert isinstance(key, int)
            if op == "add":
                parent.insert(key, value)
            elif key < len(parent):
                parent[key] = value
            else:
                raise ApiProblem(400, title, f"The index value '{key}' is out of bounds of the array size.")
        else:
            assert isinstance(key, str)
            parent[key] = _coerce(parent[key], value, where)

    def remove(path: Any) -> None:
        parent, key, _ = resolve(path)
        if isinstance(parent, list):
            assert isinstance(key, int)
            if key >= len(parent):
                raise ApiProblem(400, title, f"The index value '{key}' is out of bounds of the array size.")
            del parent[key]
        else:
            assert isinstance(key, str)
            default = resource.template.get(key)
            parent[key] = copy.deepcopy(default) if not isinstance(default, dict) else None

    for op in ops:
        if not isinstance(op, dict) or "op" not in op or "path" not in op:
            raise ApiProblem(400, title, "Every operation needs 'op' and 'path'.")
        kind = str(op["op"]).lower()
        if kind in ("add", "replace"):
            if "value" not in op:
                raise ApiProblem(400, title, f"The '{kind}' operation at '{op['path']}' needs a value.")
            put(op["path"], op["value"], kind)
        elif kind == "remove":
            remove(op["path"])
        elif kind == "test":
            if get(op["path"]) != op.get("value"):
                raise ApiProblem(400, title, f"The current value at '{op['path']}' is not equal to the test value.")
        elif kind in ("move", "copy"):
            value = get(op.get("from"))
            if kind == "move":
                remove(op.get("from"))
            put(op["path"], value, "add")
        else:
            raise ApiProblem(400, title, f"Invalid JsonPatch operation '{op['op']}'.")
    return doc
