"""The connections file: where each system lives and how to log in, outside git and outside flows.

A TOML file with one table per system, named by ``--connections FILE`` or the ``RECONCILE_CONNECTIONS``
environment variable. Without one, every system is its local sandbox. Secrets are never written in it: a key
ending in ``_env`` names the environment variable that holds the secret, and :func:`resolve_secret` reads
it when the connector needs it::

    [exact]
    base_url          = "https://start.exactonline.nl"
    division          = 123456
    client_id         = "5a8b...-..."
    client_secret_env = "EXACT_CLIENT_SECRET"
    token_file        = "~/.config/reconcile/exact-tokens.json"
    redirect_uri      = "https://localhost/callback"     # optional

Each system module declares its table's keys with :func:`register`; a table of a system nobody registered
(a custom system defined by data, say) is passed through for its own loader to check. Every problem names the
file, the key path and what is valid. Relative paths are resolved against the file's folder.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from reconcile.config.toml import read_toml
from reconcile.errors import ConfigError

__all__ = [
    "CONNECTIONS_ENV",
    "Key",
    "connections_path",
    "load_connections",
    "register",
    "resolve_secret",
]

CONNECTIONS_ENV = "RECONCILE_CONNECTIONS"
SOURCE_KEY = "_file"
"""Every loaded table carries the file it came from under this key, for messages."""

KeyType = Literal["string", "int", "bool", "url", "path", "env"]
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


@dataclass(frozen=True)
class Key:
    """One key of a system's connection table.

    Types: ``string``, ``int``, ``bool``, ``url`` (http or https), ``path`` (``~`` expanded, relative to the
    connections file) and ``env`` (the name of an environment variable that holds a secret; such keys end
    in ``_env``).
    """

    name: str
    type: KeyType = "string"
    required: bool = True
    description: str = ""


Validator = Callable[[Mapping[str, Any], str, Path], dict[str, Any]]
"""Checks one system's table: (table, where, folder of the file) -> the normalised table, or ConfigError."""

_REGISTRY: dict[str, Validator] = {}


def register(system: str, spec: Sequence[Key] | Validator) -> None:
    """Declare the keys of ``system``'s table: a list of :class:`Key`, or a validator of your own."""
    _REGISTRY[system] = spec if callable(spec) else _spec_validator(list(spec))


def connections_path(path: Path | None) -> Path | None:
    """The connections file to use: the one given, else ``RECONCILE_CONNECTIONS``, else none."""
    if path is not None:
        return path
    env = os.environ.get(CONNECTIONS_ENV)
    return Path(env).expanduser() if env else None


def load_connections(path: Path | None) -> dict[str, dict[str, Any]]:
    """Read and check a connections file; ``{}`` when there is none (every system is its sandbox)."""
    path = connections_path(path)
    if path is None:
        return {}
    data = read_toml(path, what="the connections file")
    errors: list[str] = []
    result: dict[str, dict[str, Any]] = {}
    for system, table in data.items():
        if not isinstance(table, dict):
            errors.append(f"{path}: {system}: must be a table ([{system}]) of connection settings")
            continue
        validator = _REGISTRY.get(system)
        try:
            checked = validator(table, f"{path}: {system}", path.parent) if validator else dict(table)
        except ConfigError as exc:
            errors.append(str(exc))
            continue
        checked[SOURCE_KEY] = str(path)
        result[system] = checked
    if errors:
        raise ConfigError("\n".join(errors))
    return result


def resolve_secret(conn: Mapping[str, Any], key: str, *, system: str) -> str:
    """The secret the ``*_env`` key ``key`` points to; a ConfigError names the variable, never a value."""
    name = conn.get(key)
    where = conn.get(SOURCE_KEY, "the connections file")
    if not isinstance(name, str) or not name:
        raise ConfigError(f"{where}: {system}.{key}: the name of an environment variable is required")
    value = os.environ.get(name)
    if not value:
        raise ConfigError(
            f"{system}: the environment variable {name} (named by {system}.{key} in {where}) is not set; "
            "set it to the secret before running"
        )
    return value


def _spec_validator(keys: list[Key]) -> Validator:
    by_name = {k.name: k for k in keys}

    def validate(table: Mapping[str, Any], where: str, folder: Path) -> dict[str, Any]:
        errors: list[str] = []
        out: dict[str, Any] = {}
        valid = ", ".join(by_name)
        for name, value in table.items():
            key = by_name.get(name)
            if key is None:
                hint = ""
                if name.endswith(("secret", "password", "token", "key")) and f"{name}_env" in by_name:
                    hint = f'; secrets are never written here: name their environment variable in "{name}_env"'
                errors.append(f"{where}.{name}: unknown key; valid keys are {valid}{hint}")
                continue
            problem, converted = _convert(key, value, folder)
            if problem:
                errors.append(f"{where}.{name}: {problem}")
            else:
                out[name] = converted
        for key in keys:
            if key.required and key.name not in table:
                what = f" ({key.description})" if key.description else ""
                errors.append(f"{where}.{key.name}: missing; it is required{what}")
        if errors:
            raise ConfigError("\n".join(errors))
        return out

    return validate


def _convert(key: Key, value: Any, folder: Path) -> tuple[str, Any]:
    """(problem, value): the problem in words, or "" and the normalised value."""
    if key.type == "int":
        if isinstance(value, bool) or not isinstance(value, int):
            return f"must be a whole number, not {value!r}", None
        return "", value
    if key.type == "bool":
        if not isinstance(value, bool):
            return f"must be true or false, not {value!r}", None
        return "", value
    if not isinstance(value, str) or not value.strip():
        return "must be a non-empty string", None
    if key.type == "url":
        if not value.startswith(("http://", "https://")):
            return f'must be an http:// or https:// URL, not "{value}"', None
        return "", value.rstrip("/")
    if key.type == "path":
        path = Path(value).expanduser()
        return "", path if path.is_absolute() else folder / path
    if key.type == "env" and not _ENV_NAME.match(value):
        return f'must be the name of an environment variable (letters, digits, "_"), not "{value}"', None
    return "", value


EXACT_KEYS = (
    Key("base_url", "url", description="the Exact Online host, such as https://start.exactonline.nl"),
    Key("division", "int", description="the division (administration) number every call is pinned to"),
    Key("client_id", description="the app's client id from the Exact App Center"),
    Key("client_secret_env", "env", description="the environment variable that holds the client secret"),
    Key("token_file", "path", description="where the access and refresh tokens are kept"),
    Key("redirect_uri", required=False, description="the redirect URI registered for the app"),
)

register("exact", EXACT_KEYS)
