"""The HTTP plumbing every connector shares: auth headers, rate limits, retries, a circuit breaker.

A connector builds one :class:`HttpClient` and sends every call through :meth:`HttpClient.request`, naming
the *endpoint* the call belongs to (``"crm/Accounts"``, ``"customers"``: whatever unit the system counts
errors and limits by). One call goes through these steps, each of them pluggable::

    breaker.check(endpoint)            refuse early when the endpoint has failed too often (CircuitOpen)
    limiter.acquire(endpoint)          wait for the rate limit (or raise RateLimited for a limit of hours)
    auth()                             headers for this attempt (a token provider refreshes when it must;
                                       a refresh through the same limiter means waiting for a slot anew)
    send                               one httpx request
    limiter.after_response(...)        learn the remaining budget from the response headers
    401  -> on_unauthorized() once, then one more attempt; a second 401 is an AuthError
    429, transient 5xx, network error  -> wait (Retry-After, else exponential backoff) and try again

What is retried, and why so little:

- **429**: the system refused the call before doing anything, so it is safe to repeat, even a create.
- **5xx the caller marks transient** (``transient=``): many systems answer a validation error with a 500,
  and repeating those only burns the error budget. By default 502, 503 and 504 are transient; a connector
  marks every 5xx transient for its reads (:func:`~reconcile.systems.http.retry.server_error`), which
  change nothing however often they are sent.
- **An answer that broke off** (``complete=``, for idempotent calls): a 200 whose body is cut short is a
  failure on the way, not the system's answer.
- **Network failures** (timeouts, dropped connections). For a call that is not idempotent (POST, PATCH)
  only failures that prove the request never reached the server (a refused connection, a connect timeout)
  are retried: a create whose answer was lost may have happened, and the caller has to look before it
  creates again. Such a failure raises :class:`NetworkError` with ``maybe_applied=True``.

Retries of timeouts and 5xx stop at the policy's ``attempts`` or once they would outlast its ``max_elapsed``
(counted on the clock from the first attempt), whichever comes first.

Nothing else is retried: a 4xx is the caller's to handle, and the final response is returned as it came,
whatever its status, except for the cases that stop a command, which raise: a 401 that survives a fresh
token (:class:`~reconcile.errors.AuthError`), a 429 that survives every attempt
(:class:`~reconcile.errors.RateLimited`), a network failure that survives every attempt
(:class:`NetworkError`), and an endpoint whose breaker is open (:class:`~reconcile.errors.CircuitOpen`).

No message raised here holds a header, a body or a query string: secrets travel in all three.

Time comes from a :class:`Clock`, so tests run on a :class:`FakeClock` and never sleep for real.
"""

from __future__ import annotations

import functools
import ssl
from collections.abc import Callable, Mapping
from typing import Any

import httpx

from reconcile.errors import AuthError, NetworkError, RateLimited
from reconcile.model.clock import Clock, SystemClock
from reconcile.systems.http.breaker import CircuitBreaker
from reconcile.systems.http.limits import RateLimiter
from reconcile.systems.http.retry import RetryPolicy, default_transient


@functools.cache
def tls_context() -> ssl.SSLContext:
    """The one TLS context every client verifies servers with, as httpx would build it (certifi, or
    ``SSL_CERT_FILE`` / ``SSL_CERT_DIR``).

    Built once a process: building one reads the whole certificate bundle (some 25 ms), and a run opens a
    client per API host and token endpoint, the test suite hundreds.
    """
    return httpx.create_ssl_context()


_IDEMPOTENT = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})


# ---------------------------------------------------------------------------------------------- the client

AuthHeaders = Callable[[], dict[str, str]]


class HttpClient:
    """An ``httpx.Client`` with auth, rate limiting, retries and a circuit breaker around every call.

    ``system`` names the system in every error. ``auth`` returns the headers of one attempt (called before
    each attempt, so a token provider can refresh in between); ``on_unauthorized`` is called once after a
    401 (a token provider drops or refreshes its token) before the single retry. ``transport`` lets tests
    put an ``httpx.MockTransport`` in place of the network.
    """

    def __init__(
        self,
        system: str,
        base_url: str,
        *,
        auth: AuthHeaders | None = None,
        on_unauthorized: Callable[[], None] | None = None,
        limiter: RateLimiter | None = None,
        retry: RetryPolicy | None = None,
        breaker: CircuitBreaker | None = None,
        clock: Clock | None = None,
        timeout: float = 60.0,
        headers: Mapping[str, str] | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.system = system
        self.clock: Clock = clock or SystemClock()
        self.auth = auth
        self.on_unauthorized = on_unauthorized
        self.limiter = limiter or RateLimiter()
        self.retry = retry or RetryPolicy()
        self.breaker = breaker or CircuitBreaker(system, clock=self.clock)
        self.calls = 0
        self._client = httpx.Client(
            base_url=base_url, timeout=timeout, headers=dict(headers or {}), transport=transport, verify=tls_context()
        )

    @property
    def base_url(self) -> str:
        return str(self._client.base_url)

    def request(
        self,
        method: str,
        url: str,
        *,
        endpoint: str,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        content: bytes | str | None = None,
        headers: Mapping[str, str] | None = None,
        transient: Callable[[httpx.Response], bool] | None = None,
        idempotent: bool | None = None,
        complete: Callable[[httpx.Response], bool] | None = None,
    ) -> httpx.Response:
        """Send one call with everything around it; return the final response (see the module docs).

        ``url`` is relative to the base URL, or absolute (a next-page link). ``idempotent`` defaults to
        true for GET, HEAD, OPTIONS, PUT and DELETE. ``complete`` says whether a 2xx answer came whole (a
        page that broke off is not): an idempotent call whose answer did not is sent again, as after a 5xx.
        """
        method = method.upper()
        is_transient = transient or default_transient
        safe = method in _IDEMPOTENT if idempotent is None else idempotent
        where = f"{method} {_path_of(url)}"
        refreshed = False
        attempt = 0
        started = self.clock.now()
        while True:
            attempt += 1
            self.breaker.check(endpoint)
            slot = self.limiter.acquire(endpoint)
            send_headers = dict(headers or {})
            if self.auth is not None:
                send_headers.update(self.auth())
                if self.limiter.granted != slot:
                    # Fetching a token took a slot of this limiter after ours, and may have waited for it: the
                    # moment our slot was counted for has passed, so this call takes one anew.
                    self.limiter.acquire(endpoint)
            try:
                self.calls += 1
                response = self._client.request(
                    method, url, params=params, json=json, content=content, headers=send_headers
                )
            except httpx.TransportError as exc:
                self.breaker.record(endpoint, None)
                never_sent = isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout)
                kind = "timed out" if isinstance(exc, httpx.TimeoutException) else "failed"
                delay = self.retry.delay(attempt)
                if (safe or never_sent) and self._may_retry(attempt, delay, started):
                    self.clock.sleep(delay)
                    continue
                raise NetworkError(
                    self.system,
                    f"{where} {kind} after {attempt} attempt(s): {type(exc).__name__}",
                    maybe_applied=not never_sent,
                ) from exc
            self.limiter.after_response(endpoint, response)
            self.breaker.record(endpoint, response)
            status = response.status_code
            if status == 401 and self.on_unauthorized is not None and not refreshed:
                refreshed = True
                self.on_unauthorized()
                continue
            if status == 401:
                raise AuthError(self.system, f"{where} was refused (401): {_auth_reason(response)}")
            if status == 429:
                if attempt < self.retry.attempts:
                    self.clock.sleep(self.retry.delay(attempt, response, self.clock.now()))
                    continue
                raise RateLimited(self.system, f"{where} was still rate limited after {attempt} attempts")
            if status >= 500 and safe and is_transient(response):
                delay = self.retry.delay(attempt, response, self.clock.now())
                if self._may_retry(attempt, delay, started):
                    self.clock.sleep(delay)
                    continue
            elif status < 300 and safe and complete is not None and not complete(response):
                delay = self.retry.delay(attempt)
                if self._may_retry(attempt, delay, started):
                    self.clock.sleep(delay)
                    continue
            return response

    def _may_retry(self, attempt: int, delay: float, started: float) -> bool:
        """Whether a failed attempt may be followed by another after ``delay`` seconds (see the module docs)."""
        return attempt < self.retry.attempts and self.clock.now() + delay - started <= self.retry.max_elapsed

    def close(self) -> None:
        """Close the connection pool."""
        self._client.close()

    def __enter__(self) -> HttpClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _path_of(url: str) -> str:
    """The path of a URL without its query: the query may carry filters on personal data."""
    return httpx.URL(url).path or url.split("?", 1)[0]


def _auth_reason(response: httpx.Response) -> str:
    """The reason a server gives for a 401, from ``WWW-Authenticate`` (never echoing a credential)."""
    header = str(response.headers.get("WWW-Authenticate", ""))
    marker = "error_description="
    if marker in header:
        return header.split(marker, 1)[1].split(",", 1)[0].strip().strip('"')
    return "the credentials were not accepted"
