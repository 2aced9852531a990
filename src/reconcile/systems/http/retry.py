"""What is retried and how long to wait: exponential backoff that honours ``Retry-After``."""

from __future__ import annotations

import email.utils
import json
import random
import time
from dataclasses import dataclass

import httpx


def default_transient(response: httpx.Response) -> bool:
    """The 5xx answers that say "try again later" on every system: bad gateway, unavailable, timeout."""
    return response.status_code in (502, 503, 504)


def whole_json(response: httpx.Response) -> bool:
    """Whether a JSON answer came whole: an empty body, or one that parses (a page cut short does not)."""
    if not response.content.strip():
        return True
    try:
        json.loads(response.content)
    except ValueError:
        return False
    return True


def server_error(response: httpx.Response) -> bool:
    """Every 5xx: what a read counts as transient, since repeating a read changes nothing.

    A write cannot be so bold: many systems answer a validation error with a 500, and repeating it only
    spends the error budget (or, for a create, may make the record twice).
    """
    return response.status_code >= 500


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how long to retry: exponential backoff, honouring ``Retry-After``.

    ``attempts`` counts the first try. The n-th retry waits ``base_delay * 2**(n-1)`` seconds (at most
    ``max_delay``), stretched by up to ``jitter`` (a fraction) so that parallel workers spread out, unless the
    response names its own wait in ``Retry-After``. ``max_elapsed`` bounds the time one call may spend on
    failed attempts (timeouts and 5xx, the waits between them included): a retry that would end later is
    not made, so that a system that is down costs the run minutes, not hours.
    """

    attempts: int = 5
    base_delay: float = 0.5
    max_delay: float = 60.0
    jitter: float = 0.0
    max_elapsed: float = 300.0

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
