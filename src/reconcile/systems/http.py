"""The HTTP plumbing every connector shares: auth headers, rate limits, retries, a circuit breaker.

A connector builds one :class:`HttpClient` and sends every call through :meth:`HttpClient.request`, naming
the *endpoint* the call belongs to (``"crm/Accounts"``, ``"customers"``: whatever unit the system counts
errors and limits by). One call goes through these steps, each of them pluggable::

    breaker.check(endpoint)            refuse early when the endpoint has failed too often (CircuitOpen)
    limiter.before_request(endpoint)   wait for the rate limit (or raise RateLimited for a limit of hours)
    auth()                             headers for this attempt (a token provider refreshes when it must)
    send                               one httpx request
    limiter.after_response(...)        learn the remaining budget from the response headers
    401  -> on_unauthorized() once, then one more attempt; a second 401 is an AuthError
    429, transient 5xx, network error  -> wait (Retry-After, else exponential backoff) and try again

What is retried, and why so little:

- **429**: the system refused the call before doing anything, so it is safe to repeat, even a create.
- **5xx the caller marks transient** (``transient=``): many systems answer a validation error with a 500,
  and repeating those only burns the error budget. By default 502, 503 and 504 are transient.
- **Network failures** (timeouts, dropped connections). For a call that is not idempotent (POST, PATCH)
  only failures that prove the request never reached the server (a refused connection, a connect timeout)
  are retried: a create whose answer was lost may have happened, and the caller has to look before it
  creates again. Such a failure raises :class:`NetworkError` with ``maybe_applied=True``.

Nothing else is retried: a 4xx is the caller's to handle, and the final response is returned as it came,
whatever its status, except for the cases that stop a command, which raise: a 401 that survives a fresh
token (:class:`~reconcile.errors.AuthError`), a 429 that survives every attempt
(:class:`~reconcile.errors.RateLimited`), a network failure that survives every attempt
(:class:`NetworkError`), and an endpoint whose breaker is open (:class:`~reconcile.errors.CircuitOpen`).

No message raised here holds a header, a body or a query string: secrets travel in all three.

Time comes from a :class:`Clock`, so tests run on a :class:`FakeClock` and never sleep for real.
"""

from __future__ import annotations

import email.utils
import math
import random
import threading
import time
from collections import defaultdict, deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import httpx

from reconcile.errors import AuthError, CircuitOpen, RateLimited, SystemFailure

__all__ = [
    "CircuitBreaker",
    "Clock",
    "FakeClock",
    "FixedWindowLimiter",
    "HttpClient",
    "NetworkError",
    "RateLimiter",
    "RetryPolicy",
    "SlidingWindowLimiter",
    "SystemClock",
    "default_transient",
]

HOUR = 3600.0
_IDEMPOTENT = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})


class NetworkError(SystemFailure):
    """The system could not be reached, or its answer was lost (a timeout, a dropped connection).

    ``maybe_applied`` is true when the request may have reached the server before the failure: a create
    that failed so may have happened.
    """

    def __init__(self, system: str, message: str, *, maybe_applied: bool = False) -> None:
        self.maybe_applied = maybe_applied
        super().__init__(system, message)


# --------------------------------------------------------------------------------------------------- clocks


class Clock(Protocol):
    """Where the plumbing reads the time and waits: the wall clock, or a fake one in tests."""

    def now(self) -> float:
        """Seconds since the epoch (UTC)."""
        ...

    def sleep(self, seconds: float) -> None:
        """Wait ``seconds``."""
        ...


class SystemClock:
    """The real clock."""

    def now(self) -> float:
        return time.time()

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            time.sleep(seconds)


class FakeClock:
    """A clock tests move by hand; ``sleep`` moves it at once instead of waiting.

    Share one between a connector and an emulator and a rate-limit wait costs no real time. ``slept`` keeps
    every wait asked for, so a test can check that a wait happened.
    """

    def __init__(self, start: float = 1_767_261_600.0) -> None:
        # The default start is 2026-01-01T10:00:00Z: a round minute, so window arithmetic reads well.
        self._now = float(start)
        self._lock = threading.Lock()
        self.slept: list[float] = []

    def now(self) -> float:
        with self._lock:
            return self._now

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self.slept.append(seconds)
            if seconds > 0:
                self._now += seconds

    def advance(self, seconds: float) -> None:
        """Move the clock forward without recording a wait."""
        with self._lock:
            self._now += seconds


# ---------------------------------------------------------------------------------------------- rate limits


class RateLimiter:
    """Keeps calls within a system's rate limits; this base class imposes none.

    ``before_request`` is called before every attempt and waits as long as needed (or raises
    :class:`~reconcile.errors.RateLimited` when the wait would outlast the run); ``after_response`` sees
    every response and may learn the remaining budget from its headers.
    """

    def before_request(self, endpoint: str) -> None:
        """Wait until a call to ``endpoint`` is allowed."""

    def after_response(self, endpoint: str, response: httpx.Response) -> None:
        """Learn from a response (remaining calls, reset time)."""


class FixedWindowLimiter(RateLimiter):
    """At most ``calls`` calls in each fixed window of ``window`` seconds, shared by all endpoints.

    Windows are aligned to the epoch (calendar minutes for ``window=60``), as fixed-window servers count.
    """

    def __init__(self, calls: int, window: float, *, clock: Clock | None = None) -> None:
        if calls < 1 or window <= 0:
            raise ValueError("a fixed window needs calls >= 1 and window > 0")
        self.calls = calls
        self.window = window
        self.clock: Clock = clock or SystemClock()
        self._lock = threading.Lock()
        self._window_start = -math.inf
        self._count = 0

    def before_request(self, endpoint: str) -> None:
        # The lock is held while sleeping so that waiting callers queue up instead of all waking at once.
        with self._lock:
            while True:
                now = self.clock.now()
                start = math.floor(now / self.window) * self.window
                if start != self._window_start:
                    self._window_start = start
                    self._count = 0
                if self._count < self.calls:
                    self._count += 1
                    return
                self.clock.sleep(start + self.window - now)


class SlidingWindowLimiter(RateLimiter):
    """At most ``calls`` calls within any span of ``window`` seconds, shared by all endpoints.

    For systems that count over a rolling span ("10 requests a second"), where a fixed window would let
    ``2 * calls`` through around a window edge. The limiter remembers the start time of its last ``calls``
    calls and waits until the oldest of them is ``window`` seconds old.
    """

    def __init__(self, calls: int, window: float, *, clock: Clock | None = None) -> None:
        if calls < 1 or window <= 0:
            raise ValueError("a sliding window needs calls >= 1 and window > 0")
        self.calls = calls
        self.window = window
        self.clock: Clock = clock or SystemClock()
        self._lock = threading.Lock()
        self._sent: deque[float] = deque()

    def before_request(self, endpoint: str) -> None:
        # Held while sleeping, as in FixedWindowLimiter, so that waiting callers queue up in order.
        with self._lock:
            while True:
                now = self.clock.now()
                while self._sent and self._sent[0] <= now - self.window:
                    self._sent.popleft()
                if len(self._sent) < self.calls:
                    self._sent.append(now)
                    return
                self.clock.sleep(self._sent[0] + self.window - now)


# -------------------------------------------------------------------------------------------------- retries


def default_transient(response: httpx.Response) -> bool:
    """The 5xx answers that say "try again later" on every system: bad gateway, unavailable, timeout."""
    return response.status_code in (502, 503, 504)


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how long to retry: exponential backoff, honouring ``Retry-After``.

    ``attempts`` counts the first try. The n-th retry waits ``base_delay * 2**(n-1)`` seconds (at most
    ``max_delay``), stretched by up to ``jitter`` (a fraction) so that parallel workers spread out, unless the
    response names its own wait in ``Retry-After``.
    """

    attempts: int = 5
    base_delay: float = 0.5
    max_delay: float = 60.0
    jitter: float = 0.0

    def delay(self, retry: int, response: httpx.Response | None = None, now: float | None = None) -> float:
        """Seconds to wait before retry number ``retry`` (1 for the first retry)."""
        if response is not None:
            after = retry_after(response, now)
            if after is not None:
                return min(after, self.max_delay)
        wait: float = min(self.base_delay * 2.0 ** (retry - 1), self.max_delay)
        if self.jitter:
            wait *= 1 + random.uniform(0, self.jitter)
        return wait


def retry_after(response: httpx.Response, now: float | None = None) -> float | None:
    """The wait a ``Retry-After`` header asks for, in seconds (it may be seconds or an HTTP date)."""
    value = response.headers.get("Retry-After")
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


# ---------------------------------------------------------------------------------------------- the breaker


class CircuitBreaker:
    """Stops calls to an endpoint that failed ``max_errors`` times within ``period`` seconds.

    Some systems block an API key that sends too many failing calls (Exact Online: more than ten 4xx an hour
    on one endpoint). The breaker opens well before that, and stays open until the oldest error in the
    period has aged out. A 429 is not an error here: the limiter deals with it.
    """

    def __init__(self, system: str, *, max_errors: int = 5, period: float = HOUR, clock: Clock | None = None) -> None:
        self.system = system
        self.max_errors = max_errors
        self.period = period
        self.clock: Clock = clock or SystemClock()
        self._errors: dict[str, deque[float]] = defaultdict(deque)
        self._lock = threading.Lock()

    def _recent(self, endpoint: str) -> deque[float]:
        errors = self._errors[endpoint]
        horizon = self.clock.now() - self.period
        while errors and errors[0] <= horizon:
            errors.popleft()
        return errors

    def errors(self, endpoint: str) -> int:
        """How many errors ``endpoint`` had within the period."""
        with self._lock:
            return len(self._recent(endpoint))

    def check(self, endpoint: str) -> None:
        """Raise :class:`~reconcile.errors.CircuitOpen` when ``endpoint`` has failed too often."""
        with self._lock:
            errors = self._recent(endpoint)
            if len(errors) >= self.max_errors:
                reopen = errors[0] + self.period - self.clock.now()
                raise CircuitOpen(
                    self.system,
                    f"{len(errors)} failed calls to {endpoint} within {self.period / 60:.0f} minutes; "
                    f"calls to it stop for {reopen / 60:.0f} more minutes so that the API key is not blocked",
                )

    def record(self, endpoint: str, response: httpx.Response | None) -> None:
        """Count a failed call (a 4xx other than 429, a 5xx, or no response at all)."""
        if response is not None and (response.status_code < 400 or response.status_code == 429):
            return
        with self._lock:
            self._errors[endpoint].append(self.clock.now())


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
            base_url=base_url, timeout=timeout, headers=dict(headers or {}), transport=transport
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
    ) -> httpx.Response:
        """Send one call with everything around it; return the final response (see the module docs).

        ``url`` is relative to the base URL, or absolute (a next-page link). ``idempotent`` defaults to
        true for GET, HEAD, OPTIONS, PUT and DELETE.
        """
        method = method.upper()
        is_transient = transient or default_transient
        safe = method in _IDEMPOTENT if idempotent is None else idempotent
        where = f"{method} {_path_of(url)}"
        refreshed = False
        attempt = 0
        while True:
            attempt += 1
            self.breaker.check(endpoint)
            self.limiter.before_request(endpoint)
            send_headers = dict(headers or {})
            if self.auth is not None:
                send_headers.update(self.auth())
            try:
                self.calls += 1
                response = self._client.request(
                    method, url, params=params, json=json, content=content, headers=send_headers
                )
            except httpx.TransportError as exc:
                self.breaker.record(endpoint, None)
                never_sent = isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout)
                kind = "timed out" if isinstance(exc, httpx.TimeoutException) else "failed"
                if (safe or never_sent) and attempt < self.retry.attempts:
                    self.clock.sleep(self.retry.delay(attempt))
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
            if status >= 500 and safe and is_transient(response) and attempt < self.retry.attempts:
                self.clock.sleep(self.retry.delay(attempt, response, self.clock.now()))
                continue
            return response

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
