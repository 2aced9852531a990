"""The OAuth side of the Exact Online emulator: apps, authorisation codes, access tokens, rotating refresh tokens.

As Exact does: authorisation codes valid 3 minutes and once; access tokens of ``token_ttl`` seconds with
``expires_in`` as a string; single-use refresh tokens, each refresh returning the next one of the chain and
valid 30 days unused; a refresh less than 570 seconds after the last one refused; Exact's OAuth error bodies.
The apps and tokens live in the store's state document, so they are dumped and loaded with the records.
"""

from __future__ import annotations

import datetime as dt
import secrets
import urllib.parse
from collections.abc import Mapping
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, RedirectResponse, Response

from reconcile.sandbox.exact.protocol import Reply
from reconcile.sandbox.exact.store import ExactStore

CODE_TTL = 180.0
REFRESH_TTL = 30 * 86400.0
MIN_REFRESH_INTERVAL = 570.0


def _oauth_error(status: int, error: str, description: str | None = None) -> Reply:
    body = {"error": error}
    if description is not None:
        body["error_description"] = description
    return Reply(JSONResponse(body, status_code=status))


class ExactOAuth:
    """The apps and tokens of the emulated environment: the token grants and the bearer check."""

    def __init__(
        self, store: ExactStore, *, token_ttl: int, min_refresh_interval: float = MIN_REFRESH_INTERVAL
    ) -> None:
        self.store = store
        self.token_ttl = token_ttl
        self.min_refresh_interval = min_refresh_interval

    @property
    def _state(self) -> dict[str, Any]:
        # The store replaces its state document on load: look it up on every use.
        return self.store.state

    def add_client(self, client_id: str, secret: str, redirect_uri: str) -> None:
        """Register an app (client id, secret, redirect URI) as the Exact App Center would."""
        with self.store.lock:
            self._state["clients"][client_id] = {"secret": secret, "redirect_uri": redirect_uri}

    def issue_code(self, client_id: str) -> str:
        """An authorisation code, as if a person had consented."""
        code = "code!" + secrets.token_urlsafe(16)
        with self.store.lock:
            redirect = self._state["clients"][client_id]["redirect_uri"]
            self._state["codes"][code] = {
                "client_id": client_id,
                "redirect_uri": redirect,
                "expires": self.store.clock.now() + CODE_TTL,
            }
        return code

    def issue_refresh_token(self, client_id: str) -> str:
        """A fresh refresh token for ``client_id`` (the start of a token chain)."""
        with self.store.lock:
            return self._new_refresh(client_id, chain=secrets.token_hex(4), last_issue=None)

    def expire_refresh_token(self, token: str) -> None:
        """Make a refresh token unused for longer than 30 days."""
        with self.store.lock:
            self._state["refresh_tokens"][token]["expires"] = self.store.clock.now() - 1

    def end_access_tokens(self) -> None:
        """End every access token now, as Exact may before the time it announced."""
        with self.store.lock:
            for info in self._state["access_tokens"].values():
                info["expires"] = min(info["expires"], self.store.clock.now())

    def live_refresh_tokens(self) -> list[str]:
        """The refresh tokens that would still be accepted."""
        with self.store.lock:
            now = self.store.clock.now()
            return [
                t for t, info in self._state["refresh_tokens"].items() if not info["used"] and info["expires"] > now
            ]

    def authorize(self, query: Mapping[str, str]) -> Response:
        """The answer to ``GET /api/oauth2/auth``: a redirect with a code, as if a person had consented."""
        client = self._state["clients"].get(query.get("client_id", ""))
        redirect = query.get("redirect_uri", "")
        if client is None or redirect != client["redirect_uri"] or query.get("response_type") != "code":
            return PlainTextResponse("Bad Request", status_code=400)
        code = self.issue_code(query["client_id"])
        answer = {"code": code}
        if query.get("state"):
            answer["state"] = query["state"]
        return RedirectResponse(f"{redirect}?{urllib.parse.urlencode(answer)}", status_code=302)

    def grant(self, form: Mapping[str, str]) -> Response:
        """The answer to ``POST /api/oauth2/token`` with ``form``; raises :class:`Reply` with an OAuth error."""
        client_id = form.get("client_id", "")
        client = self._state["clients"].get(client_id)
        if client is None or form.get("client_secret") != client["secret"]:
            raise _oauth_error(400, "invalid_client")
        now = self.store.clock.now()
        grant = form.get("grant_type")
        if grant == "authorization_code":
            info = self._state["codes"].pop(form.get("code", ""), None)
            if info is None or info["client_id"] != client_id or info["expires"] <= now:
                raise _oauth_error(400, "invalid_request")
            if form.get("redirect_uri") != info["redirect_uri"]:
                raise _oauth_error(400, "invalid_request")
            chain = secrets.token_hex(4)
        elif grant == "refresh_token":
            token = form.get("refresh_token", "")
            info = self._state["refresh_tokens"].get(token)
            if info is None or info["client_id"] != client_id:
                raise _oauth_error(400, "invalid_grant", "Token is not allowed, because of invalid or empty chainId")
            if info["used"]:
                raise _oauth_error(401, "unauthorized_client", "Old refresh token used.")
            if info["expires"] <= now:
                raise _oauth_error(
                    400,
                    "invalid_request",
                    f"The refresh token expired at {_us_time(info['expires'])} and it is now {_us_time(now)}.",
                )
            last = info["last_issue"]
            if last is not None and now - last < self.min_refresh_interval:
                raise _oauth_error(401, "invalid_request", "Access token not expired")
            info["used"] = True
            chain = info["chain"]
        else:
            raise _oauth_error(400, "unsupported_grant_type")
        access = f"stampEMU001.{secrets.token_urlsafe(24)}"
        self._state["access_tokens"][access] = {"client_id": client_id, "expires": now + self.token_ttl}
        refresh = self._new_refresh(client_id, chain=chain, last_issue=now)
        return JSONResponse(
            {
                "access_token": access,
                "token_type": "bearer",
                "expires_in": str(self.token_ttl),
                "refresh_token": refresh,
            }
        )

    def _new_refresh(self, client_id: str, *, chain: str, last_issue: float | None) -> str:
        token = f"stampEMU001.{chain}!{secrets.token_urlsafe(24)}"
        self._state["refresh_tokens"][token] = {
            "client_id": client_id,
            "chain": chain,
            "used": False,
            "expires": self.store.clock.now() + REFRESH_TTL,
            "last_issue": last_issue,
        }
        return token

    def authenticate(self, request: Request) -> str:
        """The app whose access token ``request`` carries; raises :class:`Reply` with a 401 when there is none."""
        header = request.headers.get("Authorization", "")
        token = header[7:] if header.startswith("Bearer ") else ""
        info = self._state["access_tokens"].get(token)
        if info is None or info["expires"] <= self.store.clock.now():
            description = "access token expired" if info is not None else "invalid access token"
            raise Reply(
                Response(
                    status_code=401,
                    headers={"WWW-Authenticate": f'Bearer error="invalid_token", error_description="{description}"'},
                )
            )
        return str(info["client_id"])


def _us_time(epoch: float) -> str:
    when = dt.datetime.fromtimestamp(epoch, dt.UTC)
    return f"{when.month}/{when.day}/{when.year} {when.strftime('%I:%M:%S %p').lstrip('0')}"
