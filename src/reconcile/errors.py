"""The one exception tree of reconcile.

Data problems are not exceptions: a record that cannot be written is a reject row in the plan. Exceptions
are for what stops a command, and each kind carries the exit code a scheduler can act on::

    ReconcileError                 (exit 2 unless a subclass says otherwise)
    ├── ConfigError                usage or configuration: flows, system files, connections (exit 2)
    │   ├── FlowError              a flow file that does not hold (exit 2)
    │   └── WorkbookTampered       a review workbook whose lines do not match their seal (exit 2)
    ├── StateError                 the state store is unusable or locked (exit 2)
    ├── PlanMismatch               a stored plan no longer matches the systems (exit 2)
    ├── GuardTripped               a guard stopped the run before any write (exit 3)
    ├── SnapshotShrank             a snapshot shrank suspiciously; nothing planned as deleted (exit 3)
    └── SystemFailure              a system failed: network, auth, limits (exit 4)
        ├── AuthError              credentials or tokens refused; says what to do
        ├── RateLimited            a limit that cannot be waited out in this run
        ├── CircuitOpen            too many errors on one endpoint; writing stopped to protect the key
        └── RemoteError            the system answered with an error it explains itself
"""

from __future__ import annotations


class ReconcileError(Exception):
    """Base of every error reconcile raises on purpose."""

    exit_code = 2


class ConfigError(ReconcileError):
    """A usage or configuration problem: a flow, a system file, a connections file."""


class FlowError(ConfigError):
    """A flow file that does not hold; the message names the file, the key path and what is valid."""

    def __init__(self, messages: list[str] | str) -> None:
        self.messages = [messages] if isinstance(messages, str) else list(messages)
        super().__init__("\n".join(self.messages))


class WorkbookTampered(ConfigError):
    """A review workbook refused: lines changed since reconcile wrote them, or decisions not on offer.

    The message names every bad line by its sheet and cells.
    """


class StateError(ReconcileError):
    """The state store cannot be used: locked by another run, or unreadable."""


class PlanMismatch(ReconcileError):
    """An approved workbook or stored plan that no longer matches the state: plan again."""


class GuardTripped(ReconcileError):
    """A guard stopped the run before anything was written."""

    exit_code = 3


class SnapshotShrank(GuardTripped):
    """A snapshot shrank suspiciously (empty, or far below the last run); ``system`` is the flow's target."""

    def __init__(self, system: str, message: str) -> None:
        self.system = system
        super().__init__(message)


class SystemFailure(ReconcileError):
    """A system failed in a way the run cannot go on from: network, auth, limits."""

    exit_code = 4

    def __init__(self, system: str, message: str) -> None:
        self.system = system
        super().__init__(f"{system}: {message}")


class AuthError(SystemFailure):
    """Credentials or tokens were refused."""


class RateLimited(SystemFailure):
    """A limit was reached that cannot be waited out within this run (a daily limit, say)."""


class CircuitOpen(SystemFailure):
    """Too many errors on one endpoint: writing stopped before the system blocks the key."""


class RemoteError(SystemFailure):
    """The system answered with an error; carries its status and its own message."""

    def __init__(self, system: str, message: str, status: int | None = None) -> None:
        self.status = status
        super().__init__(system, message)


class NetworkError(SystemFailure):
    """The system could not be reached, or its answer was lost (a timeout, a dropped connection).

    ``maybe_applied`` is true when the request may have reached the server before the failure: a create
    that failed so may have happened.
    """

    def __init__(self, system: str, message: str, *, maybe_applied: bool = False) -> None:
        self.maybe_applied = maybe_applied
        super().__init__(system, message)
