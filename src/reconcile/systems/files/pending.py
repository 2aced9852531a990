"""The pending log of an entity file: writes a files system has answered for but not yet put into the file.

A files system that writes each entity file once per run (:class:`~reconcile.systems.files.connector.FileSystem`
with ``write_once``) keeps its writes in memory until the flush, and in this log beside the file,
``.<file>.pending``: one JSON line per change, appended and synced before ``write`` answers. A run that
stops before the flush loses nothing it reported written: the next read lays the log over the file, and
the next flush writes both and removes the log.

The log's first line names the content of the file it applies to (a SHA-256 of its bytes; none when there
was no file). Just before the flush renames the new file into place, a last line names the new content.
On reading, a log whose file holds that new content was flushed already (the run stopped before removing
the log) and is ignored; a log whose file holds neither was overtaken by another copy of the file (another
program replaced it) and is refused, naming both files. A last line cut short by a crash is a change whose
write never answered, and is left out.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from reconcile.errors import ConfigError


def digest(path: Path) -> str | None:
    """The SHA-256 of a file's bytes; None when there is no file."""
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except FileNotFoundError:
        return None


@dataclass(frozen=True)
class Pending:
    """What a log holds: the content it applies to, the content a flush wrote (if any), and the changes."""

    base: str | None
    flushed: str | None = None
    changes: tuple[Mapping[str, Any], ...] = field(default_factory=tuple)


class PendingLog:
    """The pending log beside one entity file (see the module docs)."""

    def __init__(self, file: Path) -> None:
        self.file = file
        self.path = file.with_name(f".{file.name}.pending")

    def exists(self) -> bool:
        return self.path.exists()

    def start(self, base: str | None) -> None:
        """Begin a log for the file whose content has the digest ``base``."""
        self._append([{"base": base}], mode="w")

    def append(self, changes: Iterable[Mapping[str, Any]]) -> None:
        """Add changes (``{"create": key, "record": ...}``, ``{"update": key, "values": ...}``, ``{"delete": key}``)."""
        self._append(list(changes))

    def mark_flushed(self, new_digest: str) -> None:
        """Say that the file is about to hold the content with digest ``new_digest``, the log's changes in it."""
        self._append([{"flushed": new_digest}])

    def remove(self) -> None:
        self.path.unlink(missing_ok=True)

    def read(self) -> Pending:
        """The log as written; a line cut short (a crash while appending) ends it."""
        base: str | None = None
        flushed: str | None = None
        changes: list[Mapping[str, Any]] = []
        lines = self.path.read_text(encoding="utf-8").split("\n")
        for number, line in enumerate(lines):
            try:
                entry = json.loads(line)
            except ValueError:
                if number == len(lines) - 1:  # no newline after it: cut short, or the end of the text
                    break
                raise ConfigError(f"{self.path}: line {number + 1} is not JSON; the pending log is damaged") from None
            if not isinstance(entry, dict):
                raise ConfigError(f"{self.path}: line {number + 1} is not a JSON object")
            if number == 0:
                if "base" not in entry:
                    raise ConfigError(f"{self.path}: not a pending log (its first line names no file content)")
                base = entry["base"]
            elif "flushed" in entry:
                flushed = entry["flushed"]
            else:
                changes.append(entry)
        return Pending(base, flushed, tuple(changes))

    def applies(self, pending: Pending, current: str | None) -> bool:
        """Whether ``pending`` still has to be laid over the file, whose content has the digest ``current``.

        False when a flush wrote it already; a :class:`ConfigError` when the file is neither what the log
        started from nor what its flush wrote.
        """
        if pending.flushed is not None and pending.flushed == current:
            return False
        if pending.base == current:
            return True
        raise ConfigError(
            f"{self.path} holds {len(pending.changes)} change(s) a run wrote but did not put into {self.file.name}, "
            f"and {self.file} has been replaced since; compare the two, then remove the pending log"
        )

    def _append(self, entries: list[Mapping[str, Any]], *, mode: str = "a") -> None:
        if not entries and mode == "a":
            return
        text = "".join(json.dumps(entry, ensure_ascii=False) + "\n" for entry in entries)
        # Appended and synced before the write that made it answers: the log is what the answer promises.
        with self.path.open(mode, encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
