"""PowerOffice Go tokens: OAuth 2.0 client credentials, renewed before they expire.

The token endpoint takes Basic auth of ``application key : client key`` and the form
``grant_type=client_credentials``; on v2 it also wants the subscription key. Tokens last 20 minutes in v2
(``expires_in`` says so and is honoured); one is renewed a little before it runs out, as PowerOffice
recommends, so that a long run never meets a 401 in the middle. A 401 anyway (a token revoked early) drops
the token and the plumbing retries once with a fresh one.
"""

from __future__ import annotations

import base64
import threading
from collections.abc import Mapping

import httpx

from reconcile.errors import AuthError
from reconcile.model.clock import Clock
from reconcile.systems.http.client import HttpClient
from reconcile.systems.poweroffice.wire import fold

SUBSCRIPTION_HEADER = "Ocp-Apim-Subscription-Key"


class TokenSource:
    """Hands out a valid bearer token for one API version, fetching a new one when needed."""

    def __init__(
        self,
        client: HttpClient,
        *,
        application_key: str,
        client_key: str,
        subscription_key: str | None,
        clock: Clock,
        label: str,
        margin: float = 60.0,
    ) -> None:
        self.client = client
        self.clock = clock
        self.label = label
        self.margin = margin
        basic = base64.b64encode(f"{application_key}:{client_key}".encode()).decode()
        self._headers = {"Authorization": f"Basic {basic}", "Accept": "application/json"}
        if subscription_key is not None:
            self._headers[SUBSCRIPTION_HEADER] = subscription_key
        self._token: str | None = None
        self._renew_at = 0.0
        self._lock = threading.Lock()
        self.fetched = 0

    @property
    def token(self) -> str | None:
        return self._token

    def headers(self) -> dict[str, str]:
        """``Authorization: Bearer ...`` with a token that will outlive the call."""
        with self._lock:
            if self._token is None or self.clock.now() >= self._renew_at:
                self._fetch()
            assert self._token is not None
            return {"Authorization": f"Bearer {self._token}"}

    def invalidate(self) -> None:
        """Forget the token (after a 401): the next call fetches a new one."""
        with self._lock:
            self._token = None

    def _fetch(self) -> None:
        try:
            response = self.client.request(
                "POST",
                "/OAuth/Token",
                endpoint=f"{self.label} token",
                content="grant_type=client_credentials",
                headers={**self._headers, "Content-Type": "application/x-www-form-urlencoded"},
                idempotent=True,
            )
        except AuthError as exc:
            what = "the subscription key" if SUBSCRIPTION_HEADER in self._headers else "the keys"
            raise AuthError(
                "poweroffice",
                f"the {self.label} token endpoint refused {what} (401); check that the application key, "
                "client key and subscription key all come from the same environment (demo or production)",
            ) from exc
        body = _json(response)
        if response.status_code != 200 or not isinstance(body, Mapping):
            error = fold(body).get("error") if isinstance(body, Mapping) else None
            reason = f" ({error})" if error else ""
            raise AuthError(
                "poweroffice",
                f"the {self.label} token endpoint refused the application key and client key "
                f"({response.status_code}{reason}); check that the client has activated the integration "
                "and that the keys come from the same environment",
            )
        folded = fold(body)
        token = folded.get("access_token") or folded.get("accesstoken")
        if not isinstance(token, str) or not token:
            raise AuthError("poweroffice", f"the {self.label} token endpoint answered without an access token")
        try:
            lifetime = float(folded.get("expires_in") or folded.get("expiresin") or 1200)
        except (TypeError, ValueError):
            lifetime = 1200.0
        self._token = token
        self._renew_at = self.clock.now() + lifetime - min(self.margin, lifetime / 5)
        self.fetched += 1


def _json(response: httpx.Response) -> object:
    try:
        return response.json()
    except ValueError:
        return None
