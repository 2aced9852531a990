"""Who may call the emulated PowerOffice Go API, and how often: keys, tokens, limits, privileges.

Tokens come from ``/OAuth/Token`` (v2, with the subscription key) and ``/v1/OAuth/Token`` for Basic auth
of ``application key : client key`` and ``grant_type=client_credentials``; they are JWTs whose claims list
the client's module subscriptions (``goInvalidPrivileges`` names those it lacks) and they expire after
``token_ttl`` seconds. Every v2 call needs the subscription key (an APIM 401 without it); calls are counted
per subscription key (v2) or application key (v1) over any one-second span, and answered with 429, an
empty body and ``Retry-After: 1`` above the limit. Tests can force the next answers (:meth:`Access.force`).
"""

from __future__ import annotations

import base64
import json
import secrets
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from reconcile.model.clock import Clock

ALL_PRIVILEGES = ("Customer", "Supplier", "Employee", "Department", "Product", "SalesOrders", "CommonServices")
SUBSCRIPTION_HEADER = "Ocp-Apim-Subscription-Key"
APIM_401 = (
    "Access denied due to missing subscription key. Make sure to include subscription key when making "
    "requests to an API."
)
APIM_401_INVALID = (
    "Access denied due to invalid subscription key. Make sure to provide a valid key for an active subscription."
)


@dataclass(frozen=True)
class EmulatorCredentials:
    """The three keys a client needs: application key and client key (Basic auth), subscription key."""

    application_key: str
    client_key: str
    subscription_key: str


@dataclass
class _Token:
    expires: float
    version: int


class Access:
    """The emulator's gate: issues tokens, checks them and the keys, counts calls, refuses what is over."""

    def __init__(
        self,
        *,
        clock: Clock,
        credentials: EmulatorCredentials,
        rate_per_second: int,
        v1_rate_per_second: int,
        token_ttl: int,
        v1_token_ttl: int,
    ) -> None:
        self.clock = clock
        self.credentials = credentials
        self.rate_per_second = rate_per_second
        self.v1_rate_per_second = v1_rate_per_second
        self.token_ttl = token_ttl
        self.v1_token_ttl = v1_token_ttl
        self.invalid_privileges: set[str] = set()
        """Privileges the client lacks the module subscription for: their endpoints answer 403."""
        self._tokens: dict[str, _Token] = {}
        self._windows: dict[str, deque[float]] = {}
        self._forced: deque[int] = deque()

    # ------------------------------------------------------------------------------------- test helpers

    def force(self, status: int, count: int) -> None:
        """Answer the next ``count`` calls (tokens included) with ``status`` and an empty body."""
        self._forced.extend([status] * count)

    def expire_tokens(self) -> None:
        """Make every token issued so far invalid."""
        self._tokens.clear()

    # ---------------------------------------------------------------------------------------- the gate

    def admit_v2(self, request: Request) -> Response | None:
        """The answer a v2 call gets before it reaches its endpoint, or ``None`` to let it through."""
        refused = self._refuse_subscription(request)
        if refused is not None:
            return refused
        forced = self.take_forced()
        if forced is not None:
            return forced
        if self.over_limit("sub:" + self.credentials.subscription_key, self.rate_per_second):
            return Response(status_code=429, headers={"Retry-After": "1"})
        if not self.bearer_ok(request, 2):
            return Response(status_code=401, headers={"WWW-Authenticate": 'Bearer error="invalid_token"'})
        return None

    def admit_v1(self, request: Request) -> Response | None:
        """The answer a v1 call gets before it reaches its endpoint, or ``None`` to let it through."""
        forced = self.take_forced()
        if forced is not None:
            return forced
        if self.over_limit("app:" + self.credentials.application_key, self.v1_rate_per_second):
            return Response(status_code=429, headers={"Retry-After": "1"})
        if not self.bearer_ok(request, 1):
            return Response(status_code=401, headers={"WWW-Authenticate": 'Bearer error="invalid_token"'})
        return None

    def _refuse_subscription(self, request: Request) -> Response | None:
        """APIM's 401 when the subscription key is missing or wrong (v2 and its token endpoint)."""
        key = request.headers.get(SUBSCRIPTION_HEADER)
        if not key:
            return JSONResponse({"statusCode": 401, "message": APIM_401}, status_code=401)
        if key != self.credentials.subscription_key:
            return JSONResponse({"statusCode": 401, "message": APIM_401_INVALID}, status_code=401)
        return None

    def allows(self, privilege: str) -> bool:
        """Whether the client has the module subscription behind ``privilege``."""
        return privilege not in self.invalid_privileges

    def take_forced(self) -> Response | None:
        if self._forced:
            status = self._forced.popleft()
            return Response(status_code=status, headers={"Retry-After": "1"} if status == 429 else None)
        return None

    def over_limit(self, key: str, limit: int) -> bool:
        """Count a call against ``key``'s budget; true when it is over ``limit`` in the last second."""
        now = self.clock.now()
        window = self._windows.setdefault(key, deque())
        while window and window[0] <= now - 1.0:
            window.popleft()
        if len(window) >= limit:
            return True
        window.append(now)
        return False

    # -------------------------------------------------------------------------------------- tokens

    def token(self, request: Request, body: bytes, *, version: int) -> Response:
        """The token endpoint of API ``version``."""
        if request.method != "POST":
            return Response(status_code=405)
        if version == 2:
            refused = self._refuse_subscription(request)
            if refused is not None:
                return refused
        forced = self.take_forced()
        if forced is not None:
            return forced
        budget = (
            ("sub:" + self.credentials.subscription_key, self.rate_per_second)
            if version == 2
            else ("app:" + self.credentials.application_key, self.v1_rate_per_second)
        )
        if self.over_limit(*budget):
            return Response(status_code=429, headers={"Retry-After": "1"})
        auth = request.headers.get("Authorization", "")
        expected = base64.b64encode(
            f"{self.credentials.application_key}:{self.credentials.client_key}".encode()
        ).decode()
        if not auth.lower().startswith("basic ") or auth[6:].strip() != expected:
            return JSONResponse(
                {"error": "invalid_client", "error_description": "The client credentials are invalid."},
                status_code=400,
            )
        form = dict(pair.split("=", 1) for pair in body.decode("utf-8", "replace").split("&") if "=" in pair)
        if form.get("grant_type") != "client_credentials":
            return JSONResponse(
                {
                    "error": "unsupported_grant_type",
                    "error_description": "Only client_credentials is supported.",
                },
                status_code=400,
            )
        ttl = self.token_ttl if version == 2 else self.v1_token_ttl
        token = self._jwt(ttl)
        self._tokens[token] = _Token(expires=self.clock.now() + ttl, version=version)
        return JSONResponse({"access_token": token, "token_type": "bearer", "expires_in": ttl})

    def _jwt(self, ttl: int) -> str:
        def part(data: Mapping[str, Any]) -> str:
            return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")

        now = int(self.clock.now())
        claims = {
            "goClientId": "7d3c6a7e-0000-4000-8000-000000000001",
            "goClientName": "Sandbox AS",
            "goUserId": "00000000-0000-4000-8000-000000000002",
            "goActiveClientSubscriptions": [p for p in ALL_PRIVILEGES if p not in self.invalid_privileges],
            "goInvalidPrivileges": [f"{p}_Full" for p in sorted(self.invalid_privileges)]
            + sorted(self.invalid_privileges),
            "role": [f"{p}_Full" for p in ALL_PRIVILEGES],
            "iat": now,
            "exp": now + ttl,
            "jti": secrets.token_hex(8),
        }
        return f"{part({'alg': 'HS256', 'typ': 'JWT'})}.{part(claims)}.{secrets.token_urlsafe(16)}"

    def bearer_ok(self, request: Request, version: int) -> bool:
        """Whether the call carries a live token of API ``version``."""
        auth = request.headers.get("Authorization", "")
        if not auth.lower().startswith("bearer "):
            return False
        token = self._tokens.get(auth[7:].strip())
        return token is not None and token.version == version and self.clock.now() < token.expires
