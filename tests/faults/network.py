"""Faults on the wire, over HTTP against the emulators: what real systems and networks do to a night.

- ``lost-answer``: the server carries a write out, the client sees a 5xx or a timeout instead of its answer
  (one call, or two in a row). A create has happened: the run, or the next, must find it, not make it again.
- ``rate-limit``: a storm of 429s with ``Retry-After``, on any call, sometimes longer than the retries last.
- ``server-error``: 5xx answers on reads or writes, the server having done nothing.
- ``timeout``: reads or writes that time out before reaching the server.
- ``token-expiry``: a token that expires in the middle of the run (its life passes on the clock, or the
  server ends it early); the run must take a new one and go on.
- ``truncated-page``: one page of a snapshot breaks off in its middle: never a shorter snapshot that leads
  to creates or deletes.
- ``spent-limit``: Exact allows few calls a minute; a run is killed after it spent many of them, and the
  rerun starts at once. The limiters keep what the key spent in the state directory: no call of either run
  meets a 429.

A read (or any call refused with a 429) that fails at most :data:`PASSING` times in a row must be retried
through: the run ends 0. Longer storms may end the run as a system failure (4), or fail writes (1). The n-th
call a fault falls on is drawn from the seed, over about the calls the world's next run makes.
"""

from __future__ import annotations

from random import Random

from tests.faults import inject
from tests.faults.inject import HttpRule
from tests.faults.oracle import Finding
from tests.faults.trial import Inflicted
from tests.faults.worlds.base import KILLED, World
from tests.faults.worlds.http import HttpWorld

CAN_FAIL = frozenset({0, 1, 4})
"""A run whose system failed may end 4 (a system failed) or 1 (writes failed), or recover and end 0."""
PASSING = 3
"""Failures in a row that retries with backoff outlast: a read (or a 429) failing no more often must end 0."""
STATUSES = (500, 502, 503, 504)


def _inflict(world: World, system: str, rule: HttpRule, first: bool, fault: str, allowed: frozenset[int]) -> Inflicted:
    assert isinstance(world, HttpWorld)
    world.http_rules[system] = [rule]
    try:
        outcome = world.run(first_sync=first)
    finally:
        world.http_rules.clear()
    if not rule.fired:
        fault += " (its call never came)"
        allowed = frozenset({0})
    return Inflicted(f"{fault} on {system}", [outcome], allowed)


def _reads(world: World, rng: Random) -> str:
    assert isinstance(world, HttpWorld)
    return rng.choice(sorted(world.servers))


def lost_answer(world: World, rng: Random, first: bool) -> Inflicted:
    target = world.flow().target
    nth, times = rng.randint(1, world.write_calls()), rng.choice([1, 1, 2])
    if rng.random() < 0.5:
        status = rng.choice(STATUSES)
        effect, how = inject.lose(status), f"a {status}"
    else:
        effect, how = inject.time_out(sent=True), "a timeout"
    rule = HttpRule(effect, methods=inject.WRITES, nth=nth, times=times)
    return _inflict(world, target, rule, first, f"{times} write(s) carried out, then {how}, from write {nth}", CAN_FAIL)


def rate_limit(world: World, rng: Random, first: bool) -> Inflicted:
    system = _reads(world, rng)
    nth, times, wait = rng.randint(1, world.read_calls()), rng.randint(2, 9), rng.choice([1, 2, 5])
    rule = HttpRule(inject.refuse(429, retry_after=wait), nth=nth, times=times)
    allowed = frozenset({0}) if times <= PASSING else CAN_FAIL
    return _inflict(world, system, rule, first, f"{times} 429s (Retry-After {wait}) from call {nth}", allowed)


def server_error(world: World, rng: Random, first: bool) -> Inflicted:
    reads = rng.random() < 0.5
    system = _reads(world, rng) if reads else world.flow().target
    status, times = rng.choice(STATUSES), rng.randint(1, 6)
    nth = rng.randint(1, world.read_calls() if reads else world.write_calls())
    methods = inject.READS if reads else inject.WRITES
    rule = HttpRule(inject.refuse(status), methods=methods, nth=nth, times=times)
    what = "read" if reads else "write"
    allowed = frozenset({0}) if reads and times <= PASSING else CAN_FAIL
    return _inflict(world, system, rule, first, f"{times} {status}s from {what} {nth} on, nothing done", allowed)


def timeout(world: World, rng: Random, first: bool) -> Inflicted:
    reads = rng.random() < 0.5
    system = _reads(world, rng) if reads else world.flow().target
    times = rng.randint(1, 6)
    nth = rng.randint(1, world.read_calls() if reads else world.write_calls())
    methods = inject.READS if reads else inject.WRITES
    rule = HttpRule(inject.time_out(sent=False), methods=methods, nth=nth, times=times)
    what = "read" if reads else "write"
    allowed = frozenset({0}) if reads and times <= PASSING else CAN_FAIL
    return _inflict(world, system, rule, first, f"{times} timeouts from {what} {nth} on, nothing done", allowed)


def token_expiry(world: World, rng: Random, first: bool) -> Inflicted:
    assert isinstance(world, HttpWorld)
    system = _reads(world, rng)
    nth = rng.randint(2, world.read_calls())
    if system == "poweroffice" and rng.random() < 0.5:
        action, how = world.emulators[system].expire_tokens, "PowerOffice ended its tokens"
    else:
        life = 1201 if system == "poweroffice" else 601
        action, how = (lambda: world.clock.advance(life)), f"{life} s passed"
    rule = HttpRule(inject.before(action), nth=nth)
    return _inflict(world, system, rule, first, f"{how} before call {nth}: the token expired", frozenset({0}))


def truncated_page(world: World, rng: Random, first: bool) -> Inflicted:
    system = _reads(world, rng)
    nth, keep = rng.randint(1, world.read_calls()), rng.choice([0.1, 0.5, 0.9, 0.99])
    rule = HttpRule(inject.truncate(keep), methods=inject.READS, nth=nth)
    return _inflict(
        world, system, rule, first, f"read {nth} broke off after {keep:.0%} of its bytes", frozenset({0, 4})
    )


def _answered(world: HttpWorld) -> dict[str, list[int]]:
    """The status of every call each emulator answered so far, in order."""
    out: dict[str, list[int]] = {}
    for name, emulator in world.emulators.items():
        out[name] = [r["status"] if isinstance(r, dict) else r.status for r in getattr(emulator, "requests", [])]
    return out


def spent_limit(world: World, rng: Random, first: bool) -> Inflicted:
    """A run killed after it spent much of a tight limit; neither it nor the rerun right after meets a 429."""
    assert isinstance(world, HttpWorld)
    target = world.flow().target
    limit = rng.randint(10, 25)
    # The limit holds from a minute's start on, as a real one would have all along: what the key's last
    # answers said of the minute before is over.
    world.clock.advance(60 - world.clock.now() % 60 + 0.001)
    world.emulators["exact"].limits.minute_limit = limit
    before = {name: len(statuses) for name, statuses in _answered(world).items()}
    nth = rng.randint(1, world.write_calls())
    rule = HttpRule(inject.kill(sent=True), methods=inject.WRITES, nth=nth)
    world.http_rules[target] = [rule]
    try:
        outcome = world.run(first_sync=first)
    finally:
        world.http_rules.clear()
    killed_at = {name: len(statuses) for name, statuses in _answered(world).items()}

    def check() -> list[Finding]:
        found = []
        for name, statuses in _answered(world).items():
            faulty = statuses[before[name] : killed_at[name]].count(429)
            rerun = statuses[killed_at[name] :].count(429)
            if faulty or rerun:
                found.append(
                    Finding("429", f"{name} answered 429 to {faulty} call(s) of the killed run, {rerun} of the rerun")
                )
        return found

    fault = f"Exact allows {limit} calls a minute; killed after write {nth}"
    allowed = frozenset({KILLED}) if rule.fired else frozenset({0})
    return Inflicted(fault, [outcome], allowed, check=check)
