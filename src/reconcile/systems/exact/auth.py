"""Exact Online's OAuth tokens: the token file, the refresh under a lock, and the one-time authorisation.

Exact hands out access tokens of ten minutes and *single-use* refresh tokens: every refresh returns a new
refresh token and kills the old one. Whoever loses the newest refresh token loses the connection, until a
person runs the authorisation again. Hence the rules this module keeps:

- One refresh at a time, across threads (a lock) and processes (a lock file next to the token file). Inside
  the lock the token file is read again: another worker may have refreshed already, and then its token is
  used instead of refreshing a second time.
- The new tokens are written to the token file atomically (a temporary file, fsync, rename) *before* the new
  access token is used. A crash at any point leaves either the old tokens (the old refresh token still
  unused, so still valid) or the new ones, never a torn file.
- A refresh that fails leaves the token file as it was and raises :class:`~reconcile.errors.AuthError`
  that says to run ``reconcile auth exact`` again.
- Access tokens are refreshed 30 seconds before they expire, as Exact advises, not after a 401.

Tokens never appear in messages. The token file is created readable by its owner only.
"""

from __future__ import annotations

import contextlib
import json
import threading
import urllib.parse
from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import httpx
from filelock import FileLock, Timeout

from reconcile.atomic import PRIVATE, write_text_atomically
from reconcile.config.connections import resolve_secret
from reconcile.errors import AuthError, ConfigError
from reconcile.model.clock import Clock, SystemClock
from reconcile.systems.http.client import tls_context

__all__ = [
    "TokenManager",
    "Tokens",
    "authorization_url",
    "exchange_code",
    "read_token_file",
    "store_refresh_token",
    "write_token_file",
]

SYSTEM = "exact"
AUTH_PATH = "/api/oauth2/auth"
TOKEN_PATH = "/api/oauth2/token"
REFRESH_MARGIN = 30.0
"""Refresh this many seconds before the access token expires (Exact: about 30 s, never after 570 s)."""
AGAIN = "run `reconcile auth exact` again to authorise reconcile"


@dataclass(frozen=True)
class Tokens:
    """What the token file holds: the access token, its absolute expiry, and the refresh token."""

    refresh_token: str
    access_token: str | None = None
    expires_at: float = 0.0
    issued_at: float = 0.0
    client_id: str = ""


def read_token_file(path: Path) -> Tokens | None:
    """The tokens in ``path``, or None when there is no token file yet."""
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, json.JSONDecodeError) as exc:
        raise AuthError(SYSTEM, f"the token file {path} cannot be read ({type(exc).__name__}); {AGAIN}") from exc
    if not isinstance(raw, dict) or not isinstance(raw.get("refresh_token"), str):
        raise AuthError(SYSTEM, f"the token file {path} holds no refresh token; {AGAIN}")
    return Tokens(
        refresh_token=raw["refresh_token"],
        access_token=raw.get("access_token"),
        expires_at=float(raw.get("expires_at", 0.0)),
        issued_at=float(raw.get("issued_at", 0.0)),
        client_id=str(raw.get("client_id", "")),
    )


def write_token_file(path: Path, tokens: Tokens) -> None:
    """Replace the token file atomically and durably: a crash leaves the old file or the new one."""
    write_text_atomically(path, json.dumps(asdict(tokens)), mode=PRIVATE)


class TokenManager:
    """Hands out a valid access token for Exact, refreshing it under a cross-process lock when it must.

    Use :meth:`headers` as an :class:`~reconcile.systems.http.client.HttpClient` ``auth`` provider and
    :meth:`invalidate` as its ``on_unauthorized``.
    """

    def __init__(
        self,
        *,
        base_url: str,
        client_id: str,
        client_secret: str,
        token_file: Path,
        clock: Clock | None = None,
        margin: float = REFRESH_MARGIN,
        timeout: float = 30.0,
        transport: httpx.BaseTransport | None = None,
        lock_timeout: float = 120.0,
    ) -> None:
        self.client_id = client_id
        self.token_file = Path(token_file)
        self.clock: Clock = clock or SystemClock()
        self.margin = margin
        self.refreshes = 0
        self._secret = client_secret
        self._tokens: Tokens | None = None
        self._rejected: str | None = None
        self._thread_lock = threading.Lock()
        self._file_lock = FileLock(str(self.token_file) + ".lock", timeout=lock_timeout)
        self._http = httpx.Client(base_url=base_url, timeout=timeout, transport=transport, verify=tls_context())

    def headers(self) -> dict[str, str]:
        """The Authorization header of a valid access token."""
        return {"Authorization": f"Bearer {self.access_token()}"}

    def access_token(self) -> str:
        """A valid access token, refreshed first when it expires within the margin."""
        tokens = self._tokens
        if tokens is not None and self._usable(tokens):
            return str(tokens.access_token)
        with self._thread_lock, self._locked():
            # Another thread or process may have refreshed while this one waited: read again.
            tokens = read_token_file(self.token_file)
            if tokens is None:
                raise AuthError(SYSTEM, f"no token file at {self.token_file}; {AGAIN}")
            if tokens.client_id and tokens.client_id != self.client_id:
                raise AuthError(SYSTEM, f"the token file {self.token_file} belongs to another app; {AGAIN}")
            if not self._usable(tokens):
                tokens = self._refresh(tokens)
            self._tokens = tokens
            return str(tokens.access_token)

    def invalidate(self) -> None:
        """Forget the current access token (Exact refused it): the next call refreshes."""
        if self._tokens is not None:
            self._rejected = self._tokens.access_token
            self._tokens = None

    def close(self) -> None:
        """Close the connection to the token endpoint."""
        self._http.close()

    def _usable(self, tokens: Tokens) -> bool:
        return (
            bool(tokens.access_token)
            and tokens.access_token != self._rejected
            and tokens.expires_at - self.clock.now() > self.margin
        )

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        self.token_file.parent.mkdir(parents=True, exist_ok=True)
        try:
            with self._file_lock:
                yield
        except Timeout as exc:
            raise AuthError(
                SYSTEM, f"another process holds the token lock {self._file_lock.lock_file} for too long"
            ) from exc

    def _refresh(self, tokens: Tokens) -> Tokens:
        form = {
            "grant_type": "refresh_token",
            "refresh_token": tokens.refresh_token,
            "client_id": self.client_id,
            "client_secret": self._secret,
        }
        self.refreshes += 1
        fresh = _token_call(self._http, form, self.clock, self.client_id, what="refreshing the access token")
        # The old refresh token is dead now: the new one goes to disk before anything else happens.
        try:
            write_token_file(self.token_file, fresh)
        except OSError as exc:
            raise AuthError(
                SYSTEM,
                f"the refreshed tokens could not be saved to {self.token_file} ({exc.strerror}); {AGAIN}",
            ) from exc
        self._rejected = None
        return fresh


def _token_call(http: httpx.Client, form: Mapping[str, str], clock: Clock, client_id: str, *, what: str) -> Tokens:
    """POST the token endpoint; persist nothing, return the new tokens or raise AuthError."""
    try:
        response = http.post(TOKEN_PATH, data=dict(form), headers={"Accept": "application/json"})
    except httpx.TransportError as exc:
        # Not retried: a refresh whose answer was lost may have used up the refresh token.
        raise AuthError(
            SYSTEM,
            f"{what} failed: the token endpoint could not be reached ({type(exc).__name__}); "
            f"try again, and if it is refused, {AGAIN}",
        ) from exc
    body = _json(response)
    if response.status_code != 200 or not isinstance(body.get("access_token"), str):
        reason = str(body.get("error_description") or body.get("error") or f"HTTP {response.status_code}")
        raise AuthError(SYSTEM, f"{what} was refused by Exact ({reason}); {AGAIN}")
    refresh = body.get("refresh_token")
    if not isinstance(refresh, str) or not refresh:
        raise AuthError(SYSTEM, f"{what}: Exact returned no refresh token; {AGAIN}")
    now = clock.now()
    try:
        # Exact sends expires_in as a string ("600").
        expires_in = float(body.get("expires_in", 600))
    except (TypeError, ValueError):
        expires_in = 600.0
    return Tokens(
        refresh_token=refresh,
        access_token=str(body["access_token"]),
        expires_at=now + expires_in,
        issued_at=now,
        client_id=client_id,
    )


def _json(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        return {}
    return body if isinstance(body, dict) else {}


# --------------------------------------------------------------------- the `reconcile auth exact` side


def _token_path(conn: Mapping[str, Any]) -> Path:
    path = conn.get("token_file")
    if not path:
        raise ConfigError("exact: token_file is missing from the connection")
    return Path(path)


def _redirect_uri(conn: Mapping[str, Any]) -> str:
    uri = conn.get("redirect_uri")
    if not isinstance(uri, str) or not uri:
        raise ConfigError(
            "exact.redirect_uri: the authorisation flow needs the redirect URI registered for the app; "
            "add redirect_uri to [exact] in the connections file, or use --refresh-token"
        )
    return uri


def authorization_url(conn: Mapping[str, Any], state: str = "") -> str:
    """The URL a person opens to authorise reconcile; Exact then redirects them with a code."""
    query = {
        "client_id": str(conn["client_id"]),
        "redirect_uri": _redirect_uri(conn),
        "response_type": "code",
        "force_login": "0",
    }
    if state:
        query["state"] = state
    return f"{str(conn['base_url']).rstrip('/')}{AUTH_PATH}?{urllib.parse.urlencode(query)}"


def exchange_code(
    conn: Mapping[str, Any],
    code: str,
    *,
    clock: Clock | None = None,
    transport: httpx.BaseTransport | None = None,
) -> None:
    """Trade an authorisation code (valid 3 minutes, once) for tokens and store them in the token file."""
    path = _token_path(conn)
    form = {
        "grant_type": "authorization_code",
        # The code arrives URL-encoded in the redirect (%21 for "!"); the token endpoint wants it decoded.
        "code": urllib.parse.unquote(code.strip()),
        "redirect_uri": _redirect_uri(conn),
        "client_id": str(conn["client_id"]),
        "client_secret": resolve_secret(conn, "client_secret_env", system=SYSTEM),
    }
    with httpx.Client(base_url=str(conn["base_url"]), timeout=30.0, transport=transport, verify=tls_context()) as http:
        tokens = _token_call(http, form, clock or SystemClock(), str(conn["client_id"]), what="exchanging the code")
    with FileLock(str(path) + ".lock", timeout=120):
        write_token_file(path, tokens)


def store_refresh_token(conn: Mapping[str, Any], token: str) -> None:
    """Store a refresh token obtained elsewhere; the first call then refreshes it into an access token."""
    token = token.strip()
    if not token:
        raise ConfigError("exact: the refresh token is empty")
    path = _token_path(conn)
    path.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(path) + ".lock", timeout=120):
        write_token_file(path, Tokens(refresh_token=token, client_id=str(conn["client_id"])))
