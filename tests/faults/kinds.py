"""Every kind of fault the suite brings into a run, with the worlds it falls on.

The order is the table's: kills, the network, then the ground a run stands on. A kind's worlds are drawn
from its seed; the files world is the cheapest and the most inspectable, the HTTP worlds are the real
connectors against the project's emulators.
"""

from __future__ import annotations

from tests.faults.crashes import kill_at, kill_in_flush, kill_process
from tests.faults.network import (
    lost_answer,
    rate_limit,
    server_error,
    spent_limit,
    timeout,
    token_expiry,
    truncated_page,
)
from tests.faults.states import lost_state, missing_data, two_flows
from tests.faults.trial import Kind
from tests.faults.worlds.exact import ExactWorld
from tests.faults.worlds.files import FilesWorld, TwoShopsWorld
from tests.faults.worlds.poweroffice import PowerOfficeWorld
from tests.faults.worlds.rest import RestWorld, TwoShopsRestWorld

EVERY = (FilesWorld, RestWorld, ExactWorld, PowerOfficeWorld)
HTTP = (RestWorld, ExactWorld, PowerOfficeWorld)
BUILTIN = (ExactWorld, PowerOfficeWorld)

KINDS: dict[str, Kind] = {
    kind.name: kind
    for kind in (
        Kind("kill-before-send", "killed with a batch journaled, before it is sent", EVERY, kill_at("before")),
        Kind(
            "kill-after-send",
            "killed after the system took a batch, before the journal commit",
            EVERY,
            kill_at("after"),
        ),
        Kind("kill-mid-batch", "killed after the system took part of a batch", EVERY, kill_at("midway")),
        Kind("kill-process", "a real kill (os._exit) of the run's process at a write", (FilesWorld,), kill_process),
        Kind("kill-in-flush", "killed while a files system replaces its files", (FilesWorld,), kill_in_flush),
        Kind("lost-answer", "a write carried out, its answer lost to a 5xx or a timeout", HTTP, lost_answer),
        Kind("rate-limit", "a storm of 429s with Retry-After", HTTP, rate_limit),
        Kind("server-error", "5xx on reads or writes", HTTP, server_error),
        Kind("timeout", "reads or writes timing out", HTTP, timeout),
        Kind("token-expiry", "a token that expires mid-run", BUILTIN, token_expiry),
        Kind("truncated-page", "a snapshot page that breaks off", HTTP, truncated_page),
        Kind("spent-limit", "a kill after spending a tight rate limit, and a rerun at once", BUILTIN, spent_limit),
        Kind(
            "lost-state",
            "the state deleted, emptied, or looked for elsewhere after a clean night",
            (FilesWorld, RestWorld),
            lost_state,
            night_before=1.0,
            stops=True,
        ),
        Kind(
            "missing-data", "an entity file or folder missing, in other case, or cut short", (FilesWorld,), missing_data
        ),
        Kind(
            "two-flows",
            "two flows at once on one target, in two processes",
            (TwoShopsWorld, TwoShopsRestWorld),
            two_flows,
        ),
    )
}
