"""A person's consent for a system that needs one (Exact Online): the address to open, and the tokens kept."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from reconcile.config.connections import load_connections
from reconcile.errors import ConfigError
from reconcile.systems.exact.auth import authorization_url, exchange_code, store_refresh_token


class ExactConsent:
    """Authorising reconcile with the Exact Online of a connections file's ``[exact]`` table."""

    def __init__(self, connections: Path | None) -> None:
        conn = load_connections(connections).get("exact")
        if conn is None:
            raise ConfigError("no [exact] table in the connections file (--connections or RECONCILE_CONNECTIONS)")
        self.conn: dict[str, Any] = conn

    @property
    def token_file(self) -> Path:
        """Where the tokens are kept: the connection's ``token_file``."""
        return Path(self.conn["token_file"])

    def address(self) -> str:
        """The address a person opens to log in and allow access."""
        return authorization_url(self.conn)

    def exchange(self, code: str) -> None:
        """Trade the code Exact redirected with for tokens, and keep them."""
        exchange_code(self.conn, code)

    def keep(self, refresh_token: str) -> None:
        """Keep a refresh token obtained elsewhere."""
        store_refresh_token(self.conn, refresh_token)
