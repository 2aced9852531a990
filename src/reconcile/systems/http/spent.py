"""What an API key has spent of its rate limits, kept in the state directory for every process that uses it.

A server counts calls per API key, whichever process sends them. A limiter that remembers only its own
process's calls lets a run started right after another (a rerun after a crash, a second flow at the same
time) send calls the server refuses with a 429, and some servers count those against the key. So a limiter
may keep its view of the key in a :class:`SpentCalls`: one small JSON document per key (per Exact division,
per PowerOffice subscription) in ``<state>/limits/``, read and changed under a file lock and replaced
atomically, so that processes sharing the key see each other's calls.

The document only makes calls cheaper to keep within the limits; it can never stop a run: a document that
cannot be read is taken as empty, and one that cannot be written (a full disk, a lock held too long) is
skipped, each with a line in the log.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from filelock import FileLock, Timeout

from reconcile.atomic import write_text_atomically

log = logging.getLogger("reconcile.limits")

T = TypeVar("T")

LOCK_TIMEOUT = 30.0
"""Seconds to wait for another process's turn with the document before going on without it."""


class SpentCalls:
    """The document of one API key in ``folder`` (named by ``key``: a system and a digest of the key)."""

    def __init__(self, folder: Path, key: str) -> None:
        name = re.sub(r"[^A-Za-z0-9_.-]+", "-", key).strip("-") or "key"
        self.path = Path(folder) / f"{name}.json"
        self._lock = FileLock(str(self.path) + ".lock", timeout=LOCK_TIMEOUT)

    def read(self) -> dict[str, Any]:
        """The document as it was last written; empty when there is none (or it does not read)."""
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as exc:
            log.warning("%s: not used (%s); the limits start from what the next answers say", self.path, exc)
            return {}
        return data if isinstance(data, dict) else {}

    def change(self, update: Callable[[dict[str, Any]], T]) -> T:
        """Run ``update`` on the document under the lock, and write the document back when it changed."""
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._lock.acquire()
        except (OSError, Timeout) as exc:
            log.warning("%s: not used (%s); this process counts its own calls only", self.path, exc)
            return update({})
        try:
            doc = self.read()
            before = json.dumps(doc, sort_keys=True)
            result = update(doc)
            after = json.dumps(doc, sort_keys=True)
            if after != before:
                try:
                    write_text_atomically(self.path, after, durable=False)
                except OSError as exc:
                    log.warning("%s: not kept (%s)", self.path, exc)
            return result
        finally:
            self._lock.release()
