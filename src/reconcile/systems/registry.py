"""Open the systems a flow names: a real connection where the connections file has one, else the sandbox.

Built-in systems (``exact``, ``poweroffice``) have catalogues shipped with reconcile; a custom system is
described by a system file, ``systems/<name>.toml`` next to the flow files. Without a connection, a system
is its local sandbox: the emulator (or folder) seeded from ``data/sandbox/<name>/`` and kept in the state
directory between runs, so that a second nightly run sees what the first one wrote. The seed data itself is
never changed.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any, cast

from reconcile.errors import ConfigError
from reconcile.systems.base import System
from reconcile.systems.catalogue import Catalogue, builtin_catalogue
from reconcile.systems.connections import load_connections
from reconcile.systems.files import FileFormat, FileSystem
from reconcile.systems.systemfile import SystemFile, load_system_file

BUILTIN = ("exact", "poweroffice")
SANDBOX_ENV = "RECONCILE_SANDBOX"


def sandbox_seed_dir(flows_dir: Path) -> Path:
    """Where the bundled sandbox data lives: ``$RECONCILE_SANDBOX`` or ``data/sandbox`` beside ``flows/``."""
    override = os.environ.get(SANDBOX_ENV)
    return Path(override) if override else flows_dir.resolve().parent / "data" / "sandbox"


def _register_builtin_connections() -> None:
    """Import the built-in connectors, which declare their connection tables' keys."""
    import reconcile.systems.exact
    import reconcile.systems.poweroffice  # noqa: F401


class Systems:
    """The systems of one command, opened on demand and closed together."""

    def __init__(
        self, *, flows_dir: Path, state_dir: Path, connections: Path | None = None, cache: bool = True
    ) -> None:
        self.flows_dir = flows_dir
        self.state_dir = state_dir
        _register_builtin_connections()
        self.connections = load_connections(connections)
        self.seed_dir = sandbox_seed_dir(flows_dir)
        self.cache = cache
        self._catalogues: dict[str, Catalogue] = {}
        self._specs: dict[str, SystemFile] = {}
        self._open: dict[str, System] = {}
        self._closers: list[Callable[[], None]] = []

    # -- catalogues ----------------------------------------------------------------------------------------

    def system_file(self, name: str) -> Path:
        return self.flows_dir / "systems" / f"{name}.toml"

    def catalogue(self, name: str) -> Catalogue:
        if name not in self._catalogues:
            if name in BUILTIN:
                self._catalogues[name] = builtin_catalogue(name)
            else:
                path = self.system_file(name)
                if not path.exists():
                    known = ", ".join([*BUILTIN, *sorted(p.stem for p in (self.flows_dir / "systems").glob("*.toml"))])
                    raise ConfigError(f'no system "{name}": no file {path}; known systems are {known}')
                self._catalogues[name] = self.system_spec(name).catalogue
        return self._catalogues[name]

    def system_spec(self, name: str) -> SystemFile:
        """A custom system's file, read and checked once."""
        if name not in self._specs:
            path = self.system_file(name)
            if not path.exists():
                self.catalogue(name)  # says which systems there are
            self._specs[name] = load_system_file(path)
        return self._specs[name]

    def _cache(self, name: str) -> Path | None:
        """Where a connector keeps its snapshot cache; None reads every snapshot in full."""
        return self.state_dir / "cache" / name if self.cache else None

    def uses_sandbox(self, name: str) -> bool:
        return name not in self.connections

    # -- systems -------------------------------------------------------------------------------------------

    def open(self, name: str) -> System:
        if name not in self._open:
            self._open[name] = self._connect(name)
        return self._open[name]

    def _connect(self, name: str) -> System:
        conn = self.connections.get(name)
        closer: Callable[[], None]
        system: System
        if name == "exact":
            if conn is None:
                from reconcile.sandbox.local import open_exact_sandbox

                system, closer = open_exact_sandbox(self.sandbox_copy("exact"), cache_dir=self._cache(name))
            else:
                from reconcile.systems.exact import ExactSystem

                exact = ExactSystem.from_connection(conn, cache_dir=self._cache(name))
                system, closer = exact, exact.close
        elif name == "poweroffice":
            from reconcile.systems.poweroffice_setup import open_poweroffice

            system, closer = open_poweroffice(
                conn,
                self.sandbox_copy("poweroffice"),
                self.catalogue("poweroffice"),
                cache_dir=self._cache(name),
            )
        else:
            system, closer = self._custom(name, conn)
        self._closers.append(closer)
        return system

    def _custom(self, name: str, conn: dict[str, Any] | None) -> tuple[System, Callable[[], None]]:
        """A system described by its system file: files in a folder, or a REST API (real, or its emulator).

        Without a table in the connections file, the system is its sandbox: the folder of files, or the
        generic emulator serving the system file over the sandbox copy (its state saved when the command
        ends). With one, the table's keys are laid over the system file's connection part.
        """
        spec = self.system_spec(name).connect(conn)
        if spec.kind == "files":
            folder = spec.connection.folder if conn is not None else None
            if conn is not None and folder is None:
                raise ConfigError(
                    f"{conn.get('_file', 'the connections file')}: {name}.folder: missing; a system of "
                    'kind = "files" needs the folder that holds its files, in the system file or here'
                )
            system = FileSystem(
                name, spec.catalogue, folder or self.sandbox_copy(name), cast(FileFormat, spec.connection.format)
            )
            return system, system.close
        if conn is None:
            from reconcile.sandbox.rest import open_rest_sandbox

            sandbox, closer = open_rest_sandbox(spec, self.sandbox_copy(name))
            return sandbox, closer
        from reconcile.systems.rest import RestSystem

        rest = RestSystem.from_connection(spec)
        return rest, rest.close

    def sandbox_copy(self, name: str) -> Path:
        """The working copy of a system's sandbox data in the state directory, made on first use."""
        copy = self.state_dir / "sandbox" / name
        if not copy.exists():
            seed = self.seed_dir / name
            if not seed.is_dir():
                raise ConfigError(
                    f"{name}: no connection in the connections file and no sandbox data at {seed}; "
                    f"add a [{name}] table to the connections file"
                )
            tmp = copy.with_name(copy.name + ".tmp")
            shutil.rmtree(tmp, ignore_errors=True)
            shutil.copytree(seed, tmp)
            tmp.replace(copy)
        return copy

    def close(self) -> None:
        while self._closers:
            self._closers.pop()()
        self._open.clear()

    def __enter__(self) -> Systems:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
