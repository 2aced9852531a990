"""How far a run is: the seam between the pipeline and whoever watches it (a terminal, a log, nobody)."""

from __future__ import annotations

from typing import Protocol


class Reporter(Protocol):
    """Where a run says how far it is: a progress bar on a terminal, plain lines in a log."""

    def loading(self, system: str, entity: str) -> None: ...
    def loaded(self, system: str, entity: str, records: int) -> None: ...
    def writing(self, flow: str, total: int) -> None: ...
    def wrote(self, count: int) -> None: ...
    def finished(self) -> None: ...


class QuietReporter:
    """Says nothing: for tests and library use."""

    def loading(self, system: str, entity: str) -> None:
        pass

    def loaded(self, system: str, entity: str, records: int) -> None:
        pass

    def writing(self, flow: str, total: int) -> None:
        pass

    def wrote(self, count: int) -> None:
        pass

    def finished(self) -> None:
        pass
