"""The catalogues shipped with reconcile for its built-in systems, each beside its connector."""

from __future__ import annotations

import functools
from pathlib import Path

from reconcile.config.catalogue import parse_catalogue
from reconcile.config.toml import read_toml
from reconcile.errors import ConfigError
from reconcile.model.catalogue import Catalogue

BUILTIN = ("exact", "poweroffice")


def catalogue_path(system: str) -> Path:
    """Where the built-in ``system``'s catalogue file lives."""
    return Path(__file__).parent / system / "catalogue.toml"


@functools.cache
def builtin_catalogue(system: str) -> Catalogue:
    """The catalogue shipped with reconcile for a built-in system (exact, poweroffice), read once a process."""
    path = catalogue_path(system)
    if system not in BUILTIN or not path.exists():
        raise ConfigError(f'no built-in catalogue for system "{system}"')
    return parse_catalogue(read_toml(path), str(path))
