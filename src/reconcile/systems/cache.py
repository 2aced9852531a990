"""Snapshots kept between runs, so that a connector can refresh one instead of reading it all again.

A connector that can see what changed since a moment (Exact's sync endpoints and deletion log, the order
headers' ``LastChangedDateTimeOffset`` in PowerOffice Go) keeps, per entity, the frame its last read returned
and a *cursor* (a small JSON object saying how far that frame reaches: the highest ``Timestamp`` seen, the
stamp each order's lines were read at). The next read asks only for what changed after the cursor, lays it
over the cached frame and returns the result: the same rows, columns and types a full read would return now.

One :class:`SnapshotCache` holds the snapshots of one connection (a base URL and a division or client) in a
folder of its own under the cache directory, named by a hash of the connection, and each snapshot repeats
the connection it belongs to: two companies never share a snapshot, even in one directory. A snapshot is two
files: ``<entity>.<token>.parquet`` (the frame) and ``<entity>.json`` (the cursor, the connection, the data
file's name, size and SHA-256, and when the snapshot was last read in full). The JSON is replaced last and
atomically: it is the commit, so a run that dies while writing leaves the previous snapshot whole.

Anything wrong with a snapshot (missing, unreadable, half written, another connection's, another schema,
older than the connector's ``max_age`` since its last full read) makes :meth:`SnapshotCache.load` answer
``None`` with a log line, and the connector reads in full: the cache can make a read cheaper, never wrong
and never fail. A snapshot that cannot be saved (a full disk) is logged and skipped for the same reason.

The local sandboxes get a stable identity of their own (:func:`claim_sandbox_identity`), since their
emulators listen on a new port every run; it is given up while the sandbox is open and handed back when its
state is saved, so a run that dies (and leaves the emulator's state as it was before) finds no identity and
starts over with full reads.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from reconcile.atomic import write_bytes_atomically, write_text_atomically
from reconcile.model.clock import Clock

__all__ = [
    "Snapshot",
    "SnapshotCache",
    "claim_sandbox_identity",
    "release_sandbox_identity",
    "secret_digest",
]

log = logging.getLogger("reconcile.cache")

FORMAT = 1
"""The layout of the JSON file; a snapshot written in another layout is not used."""
_IDENTITY_FILE = "cache-identity"


@dataclass(frozen=True)
class Snapshot:
    """A cached frame, how far it reaches (``cursor``), and when it was last read in full."""

    frame: pl.DataFrame
    cursor: Mapping[str, Any] = field(default_factory=dict)
    full_at: float = 0.0


class SnapshotCache:
    """The cached snapshots of one connection of one system, in ``root/<hash of the connection>/``.

    ``max_age`` (seconds) bounds how long ago a snapshot may have been read in full; a refresh keeps the
    time of the full read it started from, so an older snapshot is read in full again however often it
    was refreshed since.
    """

    def __init__(self, root: Path, *, system: str, connection: str, clock: Clock, max_age: float) -> None:
        self.system = system
        self.connection = connection
        self.clock = clock
        self.max_age = max_age
        digest = hashlib.sha256(f"{system}\n{connection}".encode()).hexdigest()[:16]
        self.folder = Path(root) / f"{system}-{digest}"

    def load(self, entity: str, schema: pl.Schema, cursor: Mapping[str, type] | None = None) -> Snapshot | None:
        """The snapshot of ``entity`` whose frame has ``schema``, or ``None`` (and why, in the log).

        ``cursor`` names the entries the connector needs in the cursor, with their JSON types.
        """
        meta_path = self._meta_path(entity)
        if not meta_path.exists():
            return None
        try:
            meta = json.loads(meta_path.read_text(encoding="utf-8"))
            if not isinstance(meta, dict):
                raise ValueError("not a JSON object")
            problem = self._mismatch(meta, entity)
            if problem:
                log.info("%s %s: not using the cached snapshot (%s); reading it in full", self.system, entity, problem)
                return None
            data = self.folder / str(meta["data"])
            blob = data.read_bytes()
            if len(blob) != int(meta["size"]) or hashlib.sha256(blob).hexdigest() != meta["sha256"]:
                raise ValueError(f"{data.name} is not the file the snapshot was written with")
            frame = pl.read_parquet(data)
            stored = meta["cursor"]
            full_at = float(meta["full_at"])
            if not isinstance(stored, dict):
                raise ValueError("the cursor is not a JSON object")
            for name, kind in (cursor or {}).items():
                if not isinstance(stored.get(name), kind):
                    raise ValueError(f"the cursor has no {kind.__name__} {name!r}")
        except (OSError, ValueError, KeyError, TypeError, pl.exceptions.PolarsError) as exc:
            log.warning(
                "%s %s: the cached snapshot in %s cannot be used (%s); reading it in full",
                self.system,
                entity,
                self.folder,
                exc,
            )
            return None
        if frame.schema != schema:
            log.info("%s %s: the cached snapshot has other columns; reading it in full", self.system, entity)
            return None
        age = self.clock.now() - full_at
        if age >= self.max_age or age < -300:
            log.info(
                "%s %s: the cached snapshot was read in full %.1f hours ago (at most %.1f); reading it in full",
                self.system,
                entity,
                age / 3600,
                self.max_age / 3600,
            )
            return None
        return Snapshot(frame, stored, full_at)

    def save(self, entity: str, snapshot: Snapshot) -> None:
        """Keep ``snapshot`` for ``entity``: data file first, then the JSON that names it (the commit)."""
        slug = _slug(entity)
        data = self.folder / f"{slug}.{secrets.token_hex(6)}.parquet"
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            blob = _parquet_bytes(snapshot.frame)
            write_bytes_atomically(data, blob, durable=False)
            meta = {
                "format": FORMAT,
                "system": self.system,
                "connection": self.connection,
                "entity": entity,
                "data": data.name,
                "size": len(blob),
                "sha256": hashlib.sha256(blob).hexdigest(),
                "rows": snapshot.frame.height,
                "full_at": snapshot.full_at,
                "saved_at": self.clock.now(),
                "cursor": dict(snapshot.cursor),
            }
            meta_path = self._meta_path(entity)
            write_text_atomically(meta_path, json.dumps(meta, indent=1), durable=False)
        except (OSError, pl.exceptions.PolarsError) as exc:
            log.warning("%s %s: the snapshot could not be cached (%s)", self.system, entity, exc)
            return
        for old in self.folder.glob(f"{slug}.*.parquet*"):
            if old.name != data.name:
                old.unlink(missing_ok=True)

    def forget(self, entity: str) -> None:
        """Drop the snapshot of ``entity`` (its next read is a full one)."""
        self._meta_path(entity).unlink(missing_ok=True)

    def _meta_path(self, entity: str) -> Path:
        return self.folder / f"{_slug(entity)}.json"

    def _mismatch(self, meta: Mapping[str, Any], entity: str) -> str | None:
        if meta.get("format") != FORMAT:
            return f"written in layout {meta.get('format')!r}, not {FORMAT}"
        if meta.get("system") != self.system or meta.get("connection") != self.connection:
            return "it belongs to another connection"
        if meta.get("entity") != entity:
            return f"it holds {meta.get('entity')!r}"
        return None


def secret_digest(*secrets_: str) -> str:
    """A short one-way digest that tells connections apart by their keys without writing the keys down."""
    return hashlib.sha256("\n".join(secrets_).encode()).hexdigest()[:20]


def claim_sandbox_identity(folder: Path) -> str:
    """The cache identity of the sandbox in ``folder``, taken away until :func:`release_sandbox_identity`.

    A sandbox whose last session did not hand its identity back (it died before saving the emulator's
    state, or the folder is new) gets a new one, so no snapshot read from a state that was never saved is
    used against the state that was.
    """
    path = Path(folder) / _IDENTITY_FILE
    try:
        token = path.read_text(encoding="utf-8").strip()
        path.unlink()
    except OSError:
        token = ""
    if not re.fullmatch(r"[0-9a-f]{32}", token):
        token = secrets.token_hex(16)
    return f"sandbox:{token}"


def release_sandbox_identity(folder: Path, identity: str) -> None:
    """Hand the identity back once the sandbox's state is saved: its snapshots hold for the next session."""
    token = identity.removeprefix("sandbox:")
    path = Path(folder) / _IDENTITY_FILE
    try:
        write_text_atomically(path, token + "\n")
    except OSError as exc:
        log.warning("the sandbox in %s keeps no cache identity (%s)", folder, exc)


def _slug(entity: str) -> str:
    readable = re.sub(r"[^A-Za-z0-9]+", "-", entity).strip("-") or "entity"
    return f"{readable}-{hashlib.sha256(entity.encode()).hexdigest()[:8]}"


def _parquet_bytes(frame: pl.DataFrame) -> bytes:
    buffer = io.BytesIO()
    frame.write_parquet(buffer)
    return buffer.getvalue()
