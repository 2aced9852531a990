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

The ``[exact]`` and ``[poweroffice]`` tables are checked by their schemas (:data:`CONNECTION_SCHEMAS`); the
table of any other system (a custom system defined by data, say) is passed through for its system file to
check. Every problem names the file, the key path and what is valid. Relative paths are resolved against the
file's folder.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any

import pydantic

from reconcile.config.schema import Schema, is_text, is_whole_number, must, problem, validate_table
from reconcile.config.toml import read_toml
from reconcile.errors import ConfigError
from reconcile.model.styles import EnvName

CONNECTIONS_ENV = "RECONCILE_CONNECTIONS"
SOURCE_KEY = "_file"
"""Every loaded table carries the file it came from under this key, for messages."""

_NOT_EMPTY = "must be a non-empty string"


def _url(value: Any) -> str:
    if not is_text(value):
        raise problem(_NOT_EMPTY)
    if not value.startswith(("http://", "https://")):
        raise problem(f'must be an http:// or https:// URL, not "{value}"')
    return str(value).rstrip("/")


def _local_path(value: Any, info: pydantic.ValidationInfo) -> Path:
    """``~`` expanded; a relative path is taken from the folder of the connections file."""
    if not is_text(value):
        raise problem(_NOT_EMPTY)
    path = Path(value).expanduser()
    return path if path.is_absolute() else Path((info.context or {}).get("folder", ".")) / path


Url = Annotated[str, pydantic.BeforeValidator(_url)]
"""An http:// or https:// URL, without a trailing slash."""
LocalPath = Annotated[Path, pydantic.BeforeValidator(_local_path)]
WholeNumber = Annotated[int, must(is_whole_number, lambda v: f"must be a whole number, not {v!r}")]
Rate = Annotated[
    int, must(lambda v: is_whole_number(v) and v > 0, lambda v: f"must be a whole number of calls above 0, not {v!r}")
]
NonEmpty = Annotated[str, must(is_text, _NOT_EMPTY)]


class ConnectionSchema(Schema):
    """One system's table of a connections file."""

    @classmethod
    def required_keys(cls) -> list[str]:
        """The keys a table must hold."""
        return [name for name, info in cls.model_fields.items() if info.is_required()]


class ExactConnection(ConnectionSchema):
    """The ``[exact]`` table: an Exact Online division and the app that reaches it."""

    base_url: Url = pydantic.Field(description="the Exact Online host, such as https://start.exactonline.nl")
    division: WholeNumber = pydantic.Field(description="the division (administration) number every call is pinned to")
    client_id: NonEmpty = pydantic.Field(description="the app's client id from the Exact App Center")
    client_secret_env: EnvName = pydantic.Field(description="the environment variable that holds the client secret")
    token_file: LocalPath = pydantic.Field(description="where the access and refresh tokens are kept")
    redirect_uri: NonEmpty | None = pydantic.Field(None, description="the redirect URI registered for the app")


class PowerOfficeConnection(ConnectionSchema):
    """The ``[poweroffice]`` table: the two API hosts and the variables that hold the keys."""

    base_url: Url = pydantic.Field(description="the API v2 host: https://goapi.poweroffice.net (demo: .../Demo)")
    v1_base_url: Url = pydantic.Field(description="the API v1 host: https://api.poweroffice.net")
    application_key_env: EnvName = pydantic.Field(description="the variable holding the integration's application key")
    client_key_env: EnvName = pydantic.Field(description="the variable holding the client key of the Go client")
    subscription_key_env: EnvName = pydantic.Field(description="the variable holding the API v2 subscription key")
    rate_per_second: Rate | None = pydantic.Field(
        None, description="calls a second on API v2, if not Go's 10 (a test environment may allow other rates)"
    )
    v1_rate_per_second: Rate | None = pydantic.Field(None, description="calls a second on API v1, if not 50")


CONNECTION_SCHEMAS: Mapping[str, type[ConnectionSchema]] = {
    "exact": ExactConnection,
    "poweroffice": PowerOfficeConnection,
}
"""The schema of each built-in system's table; a custom system's table is its system file's to check."""


def connections_path(path: Path | None) -> Path | None:
    """The connections file to use: the one given, else ``RECONCILE_CONNECTIONS``, else none."""
    if path is not None:
        return path
    env = os.environ.get(CONNECTIONS_ENV)
    return Path(env).expanduser() if env else None


def load_connections(path: Path | None) -> dict[str, dict[str, Any]]:
    """Read and check a connections file; ``{}`` when there is none (every system is its sandbox).

    Each table comes back as a plain dict holding the keys given (paths resolved), plus the file under
    :data:`SOURCE_KEY`.
    """
    path = connections_path(path)
    if path is None:
        return {}
    data = read_toml(path, what="the connections file")
    problems: list[str] = []
    result: dict[str, dict[str, Any]] = {}
    for system, table in data.items():
        if not isinstance(table, dict):
            problems.append(f"{path}: {system}: must be a table ([{system}]) of connection settings")
            continue
        schema = CONNECTION_SCHEMAS.get(system)
        if schema is not None:
            checked, found = validate_table(schema, table, str(path), at=(system,), context={"folder": path.parent})
            problems += found
            if checked is None:
                continue
            table = checked.model_dump(exclude_unset=True)
        result[system] = {**table, SOURCE_KEY: str(path)}
    if problems:
        raise ConfigError("\n".join(problems))
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
