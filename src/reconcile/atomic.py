"""The one way reconcile replaces a file: a crash leaves the old file or the new one, never half of either.

Tokens, cached snapshots, a file system's entity files, the emulators' state and the connections file the
sandbox writes all go through :func:`write_atomically`: the content is written to a temporary file in the
same folder, flushed to disk, renamed over the target, and the rename itself is synced.

A file that only makes work cheaper and is checked when read (a cached snapshot, which carries its own size
and digest; the spent-calls document, taken as empty when it does not read) is written with
``durable=False``: still atomic against a crash of the process, but not synced, since a power cut that
loses it costs a full read, never a wrong one, and the syncs cost a run more than the file saves.
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from collections.abc import Callable
from pathlib import Path

PRIVATE = 0o600
"""The mode of a new file: state, tokens and snapshots hold personal data, so they are the user's alone."""


def write_atomically(
    path: Path, write: Callable[[Path], object], *, mode: int | None = None, durable: bool = True
) -> None:
    """Replace ``path`` with what ``write`` puts into the temporary file it is given.

    The file keeps the mode it had; a new file gets ``mode`` (:data:`PRIVATE` unless given). An explicit
    ``mode`` also replaces the mode of an existing file. ``durable=False`` skips the syncs (see above).
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    tmp = Path(name)
    try:
        write(tmp)
        if durable:
            with tmp.open("rb+") as handle:
                os.fsync(handle.fileno())
        if mode is None:
            mode = stat.S_IMODE(path.stat().st_mode) if path.exists() else PRIVATE
        tmp.chmod(mode)
        tmp.replace(path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    if durable:
        _sync_folder(path.parent)


def write_text_atomically(path: Path, text: str, *, mode: int | None = None, durable: bool = True) -> None:
    """:func:`write_atomically` for text, in UTF-8."""
    write_atomically(path, lambda tmp: tmp.write_text(text, encoding="utf-8"), mode=mode, durable=durable)


def write_bytes_atomically(path: Path, data: bytes, *, mode: int | None = None, durable: bool = True) -> None:
    """:func:`write_atomically` for bytes."""
    write_atomically(path, lambda tmp: tmp.write_bytes(data), mode=mode, durable=durable)


def _sync_folder(folder: Path) -> None:
    """The rename lives in the folder: sync it too, where the platform allows, or a power cut may undo it."""
    if not hasattr(os, "O_DIRECTORY"):
        return
    with contextlib.suppress(OSError):
        dir_fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
