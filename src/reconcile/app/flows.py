"""Flows as a consultant checks them: each file loaded and held against its systems' catalogues."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from reconcile.config.check import Finding, check_flow
from reconcile.config.flow import load_flow
from reconcile.errors import ConfigError
from reconcile.model.catalogue import Catalogue
from reconcile.model.flow import Flow
from reconcile.state.store import default_state_dir
from reconcile.systems.registry import Systems


def flow_files(paths: Iterable[Path]) -> list[Path]:
    """The flow files named, a folder standing for the ``*.toml`` files in it."""
    files: list[Path] = []
    for p in paths:
        files.extend(sorted(p.glob("*.toml")) if p.is_dir() else [p])
    return files


def catalogues_of(flow: Flow, flow_file: Path) -> dict[str, Catalogue]:
    """The catalogues of a flow's two systems, as the flow file's folder describes them."""
    systems = Systems(flows_dir=flow_file.resolve().parent, state_dir=default_state_dir())
    return {name: systems.catalogue(name) for name in (flow.source, flow.target)}


@dataclass(frozen=True)
class FlowCheck:
    """What ``flows check`` found in one file: the flow (when it loaded) and every finding."""

    path: Path
    flow: Flow | None
    findings: list[Finding] = field(default_factory=list)
    problem: str | None = None
    """Why the file could not be checked at all (it does not load, or names a system that does not exist)."""

    @property
    def errors(self) -> int:
        return (1 if self.problem else 0) + sum(1 for f in self.findings if f.level == "error")

    @property
    def warnings(self) -> int:
        return sum(1 for f in self.findings if f.level == "warning")


def check_flow_file(path: Path) -> FlowCheck:
    """Load ``path`` and hold it against its systems' catalogues; problems are values, not exceptions."""
    try:
        flow = load_flow(path)
    except ConfigError as exc:
        return FlowCheck(path, None, problem=str(exc))
    try:
        catalogues = catalogues_of(flow, path)
    except ConfigError as exc:
        return FlowCheck(path, flow, problem=f"{path}: {exc}")
    return FlowCheck(path, flow, check_flow(flow, catalogues))
