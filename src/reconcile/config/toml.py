"""Reading the TOML files reconcile is configured by: flows, catalogues, system files, connections."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from reconcile.errors import ConfigError


def read_toml(path: Path, error: type[ConfigError] = ConfigError, what: str = "") -> dict[str, Any]:
    """The parsed file, or ``error`` naming the file and what is wrong (``what`` names the kind of file)."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise error(f"{path}: {what + ' ' if what else ''}cannot be read: {exc.strerror}") from exc
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise error(f"{path}: not valid TOML: {exc}") from exc
