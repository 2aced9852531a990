"""Open the systems a flow names: a real connection where the connections file has one, else the sandbox.

Built-in systems (``exact``, ``poweroffice``) have catalogues shipped with reconcile; a custom system is
described by a system file, ``systems/<name>.toml`` next to the flow files. Without a connection, a system
is its local sandbox, seeded from ``data/sandbox/<name>/`` and kept in the state directory between runs, so
that a second nightly run sees what the first one wrote; the seed data itself is never changed. A system of
files is the folder its system file names (a connection may name another), and the sandbox copy of its
folder only when neither names one; any other is opened by the :class:`SandboxOpener` the caller gives
(:func:`reconcile.sandbox.openers.open_sandbox`): this package never imports the emulators itself.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Protocol, cast

from reconcile.config.connections import PowerOfficeConnection, load_connections
from reconcile.config.systemfile import connect, load_system_file
from reconcile.errors import ConfigError
from reconcile.model.catalogue import Catalogue
from reconcile.model.systemfile import SystemFile
from reconcile.systems.base import System
from reconcile.systems.catalogues import BUILTIN, builtin_catalogue
from reconcile.systems.files.connector import FileFormat, FileSystem

SANDBOX_ENV = "RECONCILE_SANDBOX"


def sandbox_seed_dir(flows_dir: Path) -> Path:
    """Where the bundled sandbox data lives: ``$RECONCILE_SANDBOX`` or ``data/sandbox`` beside ``flows/``."""
    override = os.environ.get(SANDBOX_ENV)
    return Path(override) if override else flows_dir.resolve().parent / "data" / "sandbox"


Closer = Callable[[], None]


class SandboxOpener(Protocol):
    """Opens the local sandbox of a system that has no connection: its emulator and the connector on it."""

    def __call__(self, name: str, systems: Systems, /) -> tuple[System, Closer]: ...


class Systems:
    """The systems of one command, opened on demand and closed together."""

    def __init__(
        self,
        *,
        flows_dir: Path,
        state_dir: Path,
        connections: Path | None = None,
        cache: bool = True,
        sandbox: SandboxOpener | None = None,
    ) -> None:
        self.flows_dir = flows_dir
        self.state_dir = state_dir
        self._sandbox = sandbox
        self.connections = load_connections(connections)
        self.seed_dir = sandbox_seed_dir(flows_dir)
        self.cache = cache
        self._catalogues: dict[str, Catalogue] = {}
        self._specs: dict[str, SystemFile] = {}
        self._open: dict[str, System] = {}
        self._closers: list[Closer] = []

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

    def cache_dir(self, name: str) -> Path | None:
        """Where a connector keeps its snapshot cache; None reads every snapshot in full."""
        return self.state_dir / "cache" / name if self.cache else None

    @property
    def limits_dir(self) -> Path:
        """Where connectors keep what their API keys have spent of the systems' rate limits, for every process."""
        return self.state_dir / "limits"

    def uses_sandbox(self, name: str) -> bool:
        """Whether ``name`` is its local sandbox: no connection, and (a system of files) no folder of its own."""
        if name in self.connections:
            return False
        if name in BUILTIN or not self.system_file(name).exists():
            return True
        spec = self.system_spec(name)
        return not (spec.kind == "files" and spec.connection.folder is not None)

    # -- systems -------------------------------------------------------------------------------------------

    def open(self, name: str) -> System:
        """The system named so, connected on first use; every one is closed by :meth:`close`."""
        if name not in self._open:
            system, closer = self._connect(name)
            self._open[name] = system
            self._closers.append(closer)
        return self._open[name]

    def _connect(self, name: str) -> tuple[System, Closer]:
        # A connector is imported when a system of its kind is opened: a night of files reads no HTTP client.
        conn = self.connections.get(name)
        if name == "exact" and conn is not None:
            from reconcile.systems.exact.connector import ExactSystem

            exact = ExactSystem.from_connection(conn, cache_dir=self.cache_dir(name), limits_dir=self.limits_dir)
            return exact, exact.close
        if name == "poweroffice" and conn is not None:
            missing = [k for k in PowerOfficeConnection.required_keys() if k not in conn]
            if missing:
                where = conn.get("_file", "the connections file")
                raise ConfigError(f"{where}: poweroffice.{missing[0]}: missing; it is required")
            from reconcile.systems.poweroffice.connector import PowerOfficeSystem

            poweroffice = PowerOfficeSystem.from_connection(
                conn, catalogue=self.catalogue(name), cache_dir=self.cache_dir(name), limits_dir=self.limits_dir
            )
            return poweroffice, poweroffice.close
        if name not in BUILTIN:
            spec = connect(self.system_spec(name), conn)
            if spec.kind == "files":
                return self._files(name, spec, conn)
            if conn is not None:
                from reconcile.systems.rest.connector import RestSystem

                rest = RestSystem.from_connection(spec)
                return rest, rest.close
        if self._sandbox is None:
            raise ConfigError(f"{name}: no [{name}] table in the connections file, and no sandbox to stand in for it")
        return self._sandbox(name, self)

    def _files(self, name: str, spec: SystemFile, conn: Mapping[str, Any] | None) -> tuple[System, Closer]:
        """A system that exchanges files: the folder its system file or connection names, else the sandbox copy.

        Each entity file is written once, when the run is done with it (``write_once``).
        """
        folder = spec.connection.folder
        if conn is not None and folder is None:
            raise ConfigError(
                f"{conn.get('_file', 'the connections file')}: {name}.folder: missing; a system of "
                'kind = "files" needs the folder that holds its files, in the system file or here'
            )
        system = FileSystem(
            name,
            spec.catalogue,
            folder or self.sandbox_copy(name),
            cast(FileFormat, spec.connection.format),
            write_once=True,
            text=spec.connection.text,
            source=spec.source,
        )
        return system, system.close

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
