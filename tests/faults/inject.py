"""How a fault gets into a run: at a connector's HTTP transport, or at a system's ``write``.

Two seams, both outside the product code:

- **HTTP.** Every connector takes an ``httpx`` transport; :class:`FaultyTransport` is the real network with
  :class:`HttpRule` s laid over it. A rule meets the n-th call of a method and path part (and ``times - 1``
  after it) and answers it with an effect: refused before the server sees it (:func:`refuse`), carried out
  and then answered with an error (:func:`lose`), a timeout before or after the server acted
  (:func:`time_out`), a page cut short (:func:`truncate`), the process dying (:func:`kill`), or something
  done to the emulator first (:func:`before`, a token that expires).
- **Writes.** :func:`faulty_writes` wraps every system a run opens in a :class:`FaultySystem`, whose
  :class:`WriteRule` s meet the n-th ``write`` call to one system: the process dies before the batch is
  sent, after the system took it (before the run could journal the answer), or after the system took only
  the first records of the batch.
- **Files.** :func:`dying_replace` kills the process before or right after the n-th file of a folder is
  replaced: a files system that settles its writes when it is closed dies in the middle of settling them.

A kill in this process raises :class:`Killed`, a ``BaseException`` that no ``except Exception`` of the run
swallows; from then on the wrapped systems take nothing more, and a folder of files is not even closed, as
a dead process would not. In a child process (:mod:`.child`) :func:`die` ends the process with ``os._exit`` instead.
"""

from __future__ import annotations

import os
import random
import threading
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

import httpx
import polars as pl

from reconcile.systems.base import System, WriteOp, WriteResult
from reconcile.systems.files.connector import FileSystem
from reconcile.systems.registry import Closer, Systems

KILL_STATUS = 9
"""The exit status of a child process that a fault killed."""


class Killed(BaseException):
    """The process died here: nothing after this point reaches a system or the state."""


@dataclass
class Death:
    """How a kill ends the run, and whether one has (reset before each run)."""

    hard: bool = False
    """True in a child process: ``os._exit`` instead of raising :class:`Killed`."""
    dead: bool = False


DEATH = Death()


def die(where: str) -> NoReturn:
    """End the run here, as a killed process would."""
    DEATH.dead = True
    if DEATH.hard:
        os._exit(KILL_STATUS)
    raise Killed(where)


# -- HTTP ------------------------------------------------------------------------------------------------------

Send = Callable[[], httpx.Response]
HttpEffect = Callable[[httpx.Request, Send], httpx.Response]
WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})
READS = frozenset({"GET"})
EVERY = WRITES | READS


@dataclass
class HttpRule:
    """A fault waiting for its calls: the ``nth`` call of ``methods`` whose path holds ``path``, and on.

    Token calls are left alone unless ``path`` names them (``"oauth"``): a rule about writes means the
    API's writes.
    """

    effect: HttpEffect
    methods: frozenset[str] = EVERY
    path: str = ""
    nth: int = 1
    times: int = 1
    seen: int = 0
    fired: int = 0

    def meets(self, request: httpx.Request) -> bool:
        """Whether this call is one the fault answers (every matching call is counted)."""
        where = request.url.path.lower()
        if request.method not in self.methods or self.path.lower() not in where:
            return False
        if "oauth" in where and "oauth" not in self.path.lower():
            return False
        self.seen += 1
        if self.nth <= self.seen < self.nth + self.times:
            self.fired += 1
            return True
        return False


class FaultyTransport(httpx.HTTPTransport):
    """The real network, with ``rules`` laid over it."""

    def __init__(self, rules: Sequence[HttpRule]) -> None:
        super().__init__(verify=False)  # the emulators speak plain HTTP: no certificates to load for each run
        self.rules = list(rules)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        firing = [rule for rule in self.rules if rule.meets(request)]
        if firing:
            return firing[0].effect(request, lambda: self._send(request))
        return self._send(request)

    def _send(self, request: httpx.Request) -> httpx.Response:
        return super().handle_request(request)


def _drained(response: httpx.Response) -> bytes:
    body = response.read()
    response.close()
    return body


def refuse(status: int, *, retry_after: int | None = None) -> HttpEffect:
    """Answer ``status`` before the server sees the call (a gateway's 503, a 429)."""

    def effect(request: httpx.Request, send: Send) -> httpx.Response:
        headers = {"Retry-After": str(retry_after)} if retry_after is not None else {}
        return httpx.Response(status, headers=headers, content=b"", request=request)

    return effect


def lose(status: int) -> HttpEffect:
    """Let the server carry the call out, then answer ``status``: the answer is lost."""

    def effect(request: httpx.Request, send: Send) -> httpx.Response:
        _drained(send())
        page = b"<html><body><h1>Bad Gateway</h1></body></html>"
        return httpx.Response(status, headers={"Content-Type": "text/html"}, content=page, request=request)

    return effect


def time_out(*, sent: bool) -> HttpEffect:
    """A read timeout; with ``sent`` the server carried the call out first."""

    def effect(request: httpx.Request, send: Send) -> httpx.Response:
        if sent:
            _drained(send())
        raise httpx.ReadTimeout("injected: the answer did not come in time", request=request)

    return effect


def truncate(keep: float) -> HttpEffect:
    """The server's answer, cut after ``keep`` of its bytes (a page that broke off)."""

    def effect(request: httpx.Request, send: Send) -> httpx.Response:
        response = send()
        body = _drained(response)
        headers = {k: v for k, v in response.headers.items() if k.lower() not in ("content-length", "content-encoding")}
        cut = body[: max(1, int(len(body) * keep))] if body else body
        return httpx.Response(response.status_code, headers=headers, content=cut, request=request)

    return effect


def kill(*, sent: bool) -> HttpEffect:
    """The process dies before the call goes out, or (``sent``) after the server carried it out."""

    def effect(request: httpx.Request, send: Send) -> httpx.Response:
        if sent:
            _drained(send())
        die(f"{request.method} {request.url.path}")

    return effect


def before(action: Callable[[], Any]) -> HttpEffect:
    """Do ``action`` (to the emulator: end its tokens, say), then send the call as it is."""

    def effect(request: httpx.Request, send: Send) -> httpx.Response:
        action()
        return send()

    return effect


# -- writes ----------------------------------------------------------------------------------------------------

Write = Callable[[Sequence[WriteOp]], list[WriteResult]]
WriteEffect = Callable[[Sequence[WriteOp], Write], list[WriteResult]]


@dataclass
class WriteRule:
    """A fault waiting for the ``nth`` ``write`` call to ``system``."""

    system: str
    effect: WriteEffect
    nth: int = 1
    seen: int = 0
    fired: int = 0

    def meets(self, system: str) -> bool:
        if system != self.system:
            return False
        self.seen += 1
        if self.seen == self.nth:
            self.fired += 1
            return True
        return False


def kill_before_send() -> WriteEffect:
    """The process dies with the batch journaled and not yet sent."""

    def effect(ops: Sequence[WriteOp], write: Write) -> list[WriteResult]:
        die("before a send")

    return effect


def kill_after_send() -> WriteEffect:
    """The system takes the whole batch; the process dies before the run records the answers."""

    def effect(ops: Sequence[WriteOp], write: Write) -> list[WriteResult]:
        write(ops)
        die("after a send, before the journal commit")

    return effect


def kill_midway(keep: int) -> WriteEffect:
    """The system takes the first ``keep`` records of the batch; the process dies on the next."""

    def effect(ops: Sequence[WriteOp], write: Write) -> list[WriteResult]:
        write(ops[: max(0, min(keep, len(ops) - 1))])
        die("in the middle of a batch")

    return effect


class FaultySystem:
    """A system whose writes meet ``rules``; anything else goes to ``inner`` unchanged."""

    def __init__(self, inner: System, rules: Sequence[WriteRule] = ()) -> None:
        self.inner = inner
        self.rules = list(rules)
        self.name = inner.name
        self.catalogue = inner.catalogue

    def read(self, entity: str) -> pl.DataFrame:
        if DEATH.dead:
            die("a read after death")
        return self.inner.read(entity)

    def write(self, entity: str, ops: Sequence[WriteOp]) -> list[WriteResult]:
        if DEATH.dead:
            die("a write after death")
        firing = [rule for rule in self.rules if rule.meets(self.inner.name)]
        if firing:
            return firing[0].effect(ops, lambda some: self.inner.write(entity, some) if some else [])
        return self.inner.write(entity, ops)

    def calls_left(self) -> int | None:
        return self.inner.calls_left()

    def close(self) -> None:
        self.inner.close()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


@contextmanager
def faulty_writes(rules: Sequence[WriteRule]) -> Iterator[None]:
    """Every system connected inside the block is a :class:`FaultySystem` meeting ``rules``.

    The seam is :meth:`Systems._connect`, which hands back a system with its closer: after a kill a folder
    of files is not closed (a dead process flushes nothing), while an HTTP connector's connections are (a
    dead process's sockets close with it).
    """
    original = Systems._connect

    def connect(self: Systems, name: str) -> tuple[System, Closer]:
        system, closer = original(self, name)

        def close() -> None:
            if not (DEATH.dead and isinstance(system, FileSystem)):
                closer()

        return FaultySystem(system, [r for r in rules if r.system == name]), close

    setattr(Systems, "_connect", connect)  # noqa: B010 (a method swapped for the block)
    try:
        yield
    finally:
        setattr(Systems, "_connect", original)  # noqa: B010


@dataclass
class Replaced:
    """Files replaced in a folder so far, and whether the kill among them fell."""

    seen: int = 0
    fired: bool = False


@contextmanager
def dying_replace(folder: Path, nth: int, *, after: bool) -> Iterator[Replaced]:
    """The process dies at the ``nth`` file replaced in ``folder``: before the rename, or right after it.

    Every atomic write ends in ``os.replace``; a files system settles what it took in a run by replacing its
    entity files (and settling its own logs beside them) when it is closed: this is a kill in the middle of
    that, whichever file the system writes first.
    """
    real = os.replace
    where = folder.resolve()
    replaced = Replaced()

    def replace(src: Any, dst: Any, *args: Any, **kwargs: Any) -> None:
        if not DEATH.dead and Path(dst).resolve().is_relative_to(where):
            replaced.seen += 1
            if replaced.seen == nth:
                replaced.fired = True
                if after:
                    real(src, dst, *args, **kwargs)
                die(f"{'after' if after else 'before'} replacing {Path(dst).name}")
        real(src, dst, *args, **kwargs)

    setattr(os, "replace", replace)  # noqa: B010 (the one call every atomic write ends in, swapped for the block)
    try:
        yield replaced
    finally:
        setattr(os, "replace", real)  # noqa: B010


@contextmanager
def seeded_ids(seed: str) -> Iterator[None]:
    """``uuid.uuid4`` drawn from ``seed`` inside the block, in every thread (the emulators' too).

    The emulators and a files system give new records GUIDs; the order records come in, and so which of
    two identical creates pairs with which record, may follow them. Drawn from the trial's seed, a replay
    meets the very same ids.
    """
    real = uuid.uuid4
    draw, lock = random.Random(seed), threading.Lock()

    def uuid4() -> uuid.UUID:
        with lock:
            return uuid.UUID(int=draw.getrandbits(128), version=4)

    setattr(uuid, "uuid4", uuid4)  # noqa: B010 (every GUID the systems make, swapped for the block)
    try:
        yield
    finally:
        setattr(uuid, "uuid4", real)  # noqa: B010
