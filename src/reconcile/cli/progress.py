"""Progress on the console: bars when a person watches a terminal, plain lines when a scheduler logs."""

from __future__ import annotations

import sys
from typing import Any

import typer


class ConsoleReporter:
    """Progress on the console: bars when a person watches a terminal, plain lines when a scheduler logs."""

    def __init__(self) -> None:
        self.tty = sys.stderr.isatty()
        self._bar: Any = None
        self._task: Any = None
        self._done = 0
        self._total = 0

    def loading(self, system: str, entity: str) -> None:
        if self.tty:
            self._start(f"reading {system} {entity}", None)

    def loaded(self, system: str, entity: str, records: int) -> None:
        self._stop()
        if not self.tty:
            typer.echo(f"read {system} {entity}: {records} records", err=True)

    def writing(self, flow: str, total: int) -> None:
        self._done, self._total = 0, total
        if total and self.tty:
            self._start(f"writing {flow}", total)

    def wrote(self, count: int) -> None:
        self._done += count
        if self._bar is not None:
            self._bar.update(self._task, advance=count)
        elif not self.tty:
            typer.echo(f"wrote {self._done} of {self._total}", err=True)

    def finished(self) -> None:
        self._stop()

    def _start(self, what: str, total: int | None) -> None:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn

        self._stop()
        columns = [SpinnerColumn(), TextColumn("{task.description}")]
        if total is not None:
            columns += [BarColumn(), MofNCompleteColumn()]
        self._bar = Progress(*columns, transient=True)
        self._bar.start()
        self._task = self._bar.add_task(what, total=total)

    def _stop(self) -> None:
        if self._bar is not None:
            self._bar.stop()
            self._bar = None
