"""The secrets a custom system logs in with, read from the environment variables its system file names."""

from __future__ import annotations

import os

from reconcile.errors import ConfigError
from reconcile.model.systemfile import SystemFile


def read_secrets(spec: SystemFile) -> dict[str, str]:
    """The secrets of ``spec``'s auth, from the environment variables it names; messages never hold a value."""
    secrets: dict[str, str] = {}
    auth = spec.connection.auth
    for role, env in auth.secret_env().items():
        key = auth.secrets[role]
        if env is None:
            raise ConfigError(
                f'{spec.name}: auth "{auth.type}" needs {key}, the environment variable that holds the {role}; '
                f"name it in the system file's [auth] table or in the connections file's [{spec.name}] table"
            )
        value = os.environ.get(env)
        if not value:
            raise ConfigError(
                f"{spec.name}: the environment variable {env} (named by {key}) is not set; "
                f"set it to the {role} before running"
            )
        secrets[role] = value
    return secrets
