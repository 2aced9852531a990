"""The Exact connector against the Exact emulator over real HTTP, on a fake clock.

Every test starts an emulator with tiny limits (pages of a few rows, a few calls a minute) and a connector
whose token file holds a fresh refresh token, so the first call refreshes it. The fake clock is shared: a
wait for the rate limit moves the emulator's minute on at once.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from reconcile.errors import AuthError
from reconcile.model.catalogue import Catalogue
from reconcile.model.clock import FakeClock
from reconcile.sandbox.exact.emulator import DEFAULT_DIVISION, SANDBOX_CLIENT_ID, SANDBOX_CLIENT_SECRET, ExactEmulator
from reconcile.sandbox.server import BackgroundServer, serve
from reconcile.systems.base import WriteKind, WriteOp
from reconcile.systems.catalogues import builtin_catalogue
from reconcile.systems.exact.auth import TokenManager, read_token_file, store_refresh_token
from reconcile.systems.exact.connector import ExactSystem

SRC = Path(__file__).resolve().parents[3] / "src"


@dataclass
class Env:
    emulator: ExactEmulator
    server: BackgroundServer
    clock: FakeClock
    conn: dict[str, Any]

    def connect(self, **kwargs: Any) -> ExactSystem:
        return ExactSystem.from_connection(self.conn, clock=self.clock, client_secret=SANDBOX_CLIENT_SECRET, **kwargs)

    def api_statuses(self) -> list[int]:
        return [r.status for r in self.emulator.requests if r.path.startswith("/api/v1/")]


@pytest.fixture
def env(tmp_path: Path) -> Iterator[Env]:
    clock = FakeClock()
    emulator = ExactEmulator(clock=clock, minute_limit=60, page_size=5, bulk_page_size=7)
    with serve(emulator.app) as server:
        conn = {
            "base_url": server.url,
            "division": DEFAULT_DIVISION,
            "client_id": SANDBOX_CLIENT_ID,
            "client_secret_env": "EXACT_TEST_SECRET",
            "token_file": tmp_path / "exact-tokens.json",
        }
        store_refresh_token(conn, emulator.issue_refresh_token())
        yield Env(emulator, server, clock, conn)


def seed_accounts(emulator: ExactEmulator, n: int) -> list[str]:
    return [emulator.insert("Accounts", {"Name": f"Account {i:03}", "Code": str(i + 1)}) for i in range(n)]


# ------------------------------------------------------------------------------------------------ reads


def test_a_read_follows_next_across_many_pages_on_the_bulk_endpoint(env: Env) -> None:
    seed_accounts(env.emulator, 30)
    with _closing(env.connect()) as system:
        frame = system.read("Accounts")
    assert frame.height == 30
    assert frame["ID"].n_unique() == 30
    assert sorted(frame["Code"].to_list(), key=int) == [str(i) for i in range(1, 31)]  # padding gone
    bulk_calls = [r for r in env.emulator.requests if "bulk/CRM/Accounts" in r.path]
    assert len(bulk_calls) == 5  # 7 a page: ceil(30 / 7)
    assert all("%24select" in r.query or "$select" in r.query for r in bulk_calls)


def test_an_entity_without_bulk_reads_the_regular_endpoint_by_pages_of_its_size(env: Env) -> None:
    for i in range(12):
        env.emulator.insert("VATCodes", {"Code": f"V{i}", "Description": f"VAT {i}", "Percentage": 0.21})
    with _closing(env.connect()) as system:
        frame = system.read("VATCodes")
    assert frame.height == 12
    assert env.emulator.api_calls("GET", "vat/VATCodes") == 3  # 5 a page


def test_values_come_back_typed_as_the_catalogue_says(env: Env) -> None:
    account = env.emulator.insert("Accounts", {"Name": "Acme", "Code": "42", "Country": "NL "})
    env.emulator.insert(
        "Contacts",
        {"Account": account.upper(), "FirstName": "Ann", "LastName": "Lee", "BirthDate": "1980-07-01"},
    )
    env.emulator.insert("Divisions", {"Code": DEFAULT_DIVISION, "Description": "Main"})
    with _closing(env.connect()) as system:
        contacts = system.read("Contacts")
        divisions = system.read("Divisions")
    row = contacts.row(0, named=True)
    assert row["BirthDate"] == dt.date(1980, 7, 1)  # midnight in Amsterdam, not 22:00 the day before
    assert row["Account"] == account  # guids lower case
    assert row["Code"] == "42"
    assert row["Country"] == "NL"
    assert contacts.schema["Modified"] == pl.Datetime("us", "UTC")
    # The fake clock says 2026-01-01T10:00:00Z; Exact writes the Amsterdam wall clock (11:00) in /Date()/.
    assert row["Modified"] == dt.datetime(2026, 1, 1, 10, 0, tzinfo=dt.UTC)
    assert divisions.schema["Code"] == pl.String  # the key column is text
    assert divisions["Code"].to_list() == [str(DEFAULT_DIVISION)]
    assert set(contacts.columns) == set(system.catalogue.entities["Contacts"].fields)


def test_the_division_is_the_connections_not_the_one_open_in_exact(env: Env) -> None:
    env.emulator.add_division(999999, "Other")
    env.emulator.store.current_division = 999999
    seed_accounts(env.emulator, 2)
    with _closing(env.connect()) as system:
        assert system.read("Accounts").height == 2
    assert all(f"/api/v1/{DEFAULT_DIVISION}/" in r.path for r in env.emulator.requests if "/api/v1/" in r.path)
    assert not any("current/Me" in r.path for r in env.emulator.requests)


def test_an_access_token_that_expires_in_the_middle_of_a_read_is_refreshed_and_the_read_goes_on(
    env: Env,
) -> None:
    # Two calls a minute and 1 row a page: 22 pages take about 11 minutes, longer than a token lives.
    env.emulator.limits.minute_limit = 2
    env.emulator.reads.bulk_page_size = 1
    seed_accounts(env.emulator, 22)
    with _closing(env.connect()) as system:
        frame = system.read("Accounts")
        refreshes = system.tokens.refreshes
    assert frame.height == 22
    assert refreshes == 2  # the first token, then one more when it was about to expire mid-read
    assert 401 not in env.api_statuses()
    assert len(env.emulator.live_refresh_tokens()) == 1
    stored = read_token_file(env.conn["token_file"])
    assert stored is not None and stored.refresh_token == env.emulator.live_refresh_tokens()[0]


def test_a_token_the_server_ends_early_gets_one_refresh_and_one_retry(env: Env) -> None:
    seed_accounts(env.emulator, 3)
    tokens = TokenManager(
        base_url=env.server.url,
        client_id=SANDBOX_CLIENT_ID,
        client_secret=SANDBOX_CLIENT_SECRET,
        token_file=env.conn["token_file"],
        clock=env.clock,
        margin=5,
    )
    system = ExactSystem(base_url=env.server.url, division=DEFAULT_DIVISION, tokens=tokens, clock=env.clock)
    with _closing(system):
        system.read("Accounts")
        env.clock.advance(580)  # past the 570 s Exact wants between refreshes, within our margin of 5 s
        env.emulator.end_access_tokens()
        assert system.read("Accounts").height == 3
        assert tokens.refreshes == 2
    assert env.api_statuses().count(401) == 1


def test_a_minute_limit_is_waited_out_without_a_429(env: Env) -> None:
    env.emulator.limits.minute_limit = 3
    env.emulator.reads.bulk_page_size = 2
    seed_accounts(env.emulator, 20)
    with _closing(env.connect()) as system:
        frame = system.read("Accounts")
        waited = system.limiter.waited
    assert frame.height == 20
    assert 429 not in env.api_statuses()
    assert waited >= 3 * 55  # ten calls at three a minute: three waits for the next minute
    assert any(s > 0 for s in env.clock.slept)


def test_a_daily_limit_is_not_waited_for_but_reported(env: Env) -> None:
    from reconcile.errors import RateLimited

    env.emulator.limits.day_limit = 2
    env.emulator.reads.bulk_page_size = 1
    seed_accounts(env.emulator, 5)
    with _closing(env.connect()) as system, pytest.raises(RateLimited, match="daily limit"):
        system.read("Accounts")
    assert env.api_statuses().count(429) == 0


def test_a_rerun_right_after_a_crash_sends_no_call_into_a_429(env: Env, tmp_path: Path) -> None:
    env.emulator.limits.minute_limit = 3
    seed_accounts(env.emulator, 2)
    limits = tmp_path / "limits"
    first = env.connect(limits_dir=limits)
    for _ in range(3):
        first.read("Accounts")  # the minute's three calls; then the run dies, and its limiter with it
    second = env.connect(limits_dir=limits)
    with _closing(second):
        assert second.read("Accounts").height == 2
        assert second.limiter.waited > 0
    assert 429 not in env.api_statuses()
    first.close()


def test_a_day_used_up_by_another_process_stops_the_next_before_any_call(env: Env, tmp_path: Path) -> None:
    from reconcile.errors import RateLimited

    env.emulator.limits.day_limit = 2
    seed_accounts(env.emulator, 2)
    with _closing(env.connect(limits_dir=tmp_path / "limits")) as first:
        first.read("Accounts")
        first.read("Accounts")
    sent = len(env.api_statuses())
    with _closing(env.connect(limits_dir=tmp_path / "limits")) as second, pytest.raises(RateLimited, match="daily"):
        second.read("Accounts")
    assert len(env.api_statuses()) == sent and 429 not in env.api_statuses()


# ------------------------------------------------------------------------------------------------ auth


def test_a_refresh_that_fails_says_what_to_do_and_leaves_the_token_file_intact(env: Env) -> None:
    token_file: Path = env.conn["token_file"]
    with _closing(env.connect()) as system:
        system.read("Accounts")  # the stored refresh token is used (rotated) here
    # A second worker whose token file still holds a rotated-away refresh token.
    stale = env.emulator.issue_refresh_token()
    store_refresh_token(env.conn, stale)
    with _closing(env.connect()) as system:
        system.read("Accounts")  # rotates `stale`
    store_refresh_token(env.conn, stale)
    before = token_file.read_bytes()
    with _closing(env.connect()) as system, pytest.raises(AuthError) as raised:
        system.read("Accounts")
    message = str(raised.value)
    assert "reconcile auth exact" in message
    assert "Old refresh token used" in message
    assert stale not in message
    assert token_file.read_bytes() == before


def test_an_expired_refresh_token_is_refused_with_exacts_own_reason(env: Env) -> None:
    token = env.emulator.issue_refresh_token()
    env.emulator.expire_refresh_token(token)
    store_refresh_token(env.conn, token)
    with _closing(env.connect()) as system, pytest.raises(AuthError, match="expired"):
        system.read("Accounts")


KILLED_AFTER_REFRESH = textwrap.dedent(
    """
    import os, sys
    from pathlib import Path
    from reconcile.systems.exact import auth as exact_auth
    from reconcile.model.clock import FakeClock

    url, token_file, start = sys.argv[1], Path(sys.argv[2]), float(sys.argv[3])
    persist = exact_auth.write_token_file

    def persist_then_die(path, tokens):
        persist(path, tokens)
        os._exit(17)  # killed right after the rotated token reached the disk

    exact_auth.write_token_file = persist_then_die
    manager = exact_auth.TokenManager(
        base_url=url, client_id=sys.argv[4], client_secret=sys.argv[5], token_file=token_file,
        clock=FakeClock(start),
    )
    manager.access_token()
    sys.exit(0)
    """
)


def test_a_process_killed_right_after_a_refresh_leaves_a_token_file_the_next_one_goes_on_with(env: Env) -> None:
    seed_accounts(env.emulator, 3)
    token_file: Path = env.conn["token_file"]
    first = read_token_file(token_file)
    assert first is not None
    child_env = {**os.environ, "PYTHONPATH": str(SRC)}
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            KILLED_AFTER_REFRESH,
            env.server.url,
            str(token_file),
            str(env.clock.now()),
            SANDBOX_CLIENT_ID,
            SANDBOX_CLIENT_SECRET,
        ],
        env=child_env,
        capture_output=True,
        timeout=60,
    )
    assert done.returncode == 17, done.stderr.decode()
    after = read_token_file(token_file)
    assert after is not None and after.access_token
    assert after.refresh_token != first.refresh_token  # rotated, and on disk
    assert env.emulator.live_refresh_tokens() == [after.refresh_token]
    with _closing(env.connect()) as system:
        assert system.read("Accounts").height == 3  # the dead process's access token
        assert system.tokens.refreshes == 0
        env.clock.advance(600)
        assert system.read("Accounts").height == 3  # and its refresh token
        assert system.tokens.refreshes == 1


# ----------------------------------------------------------------------------------------------- writes


def test_a_500_on_one_write_among_many_fails_only_that_one_as_retryable(env: Env) -> None:
    env.emulator.faults.fail("POST", "Accounts", nth=3, status=500)
    ops = [WriteOp(WriteKind.CREATE, f"row{i}", {"Name": f"New {i}", "City": "Utrecht"}) for i in range(5)]
    with _closing(env.connect()) as system:
        results = system.write("Accounts", ops)
        assert [r.ok for r in results] == [True, True, False, True, True]
        failed = results[2]
        assert failed.retryable and failed.row_id == "row2"
        assert "500" in (failed.error or "")
        assert len(env.emulator.records("Accounts")) == 4
        # The next run sends it again, and only it.
        again = system.write("Accounts", [ops[2]])
    assert again[0].ok
    names = sorted(r["Name"] for r in env.emulator.records("Accounts"))
    assert names == [f"New {i}" for i in range(5)]


def test_a_create_whose_answer_was_lost_is_found_again_not_duplicated(env: Env) -> None:
    env.emulator.faults.fail("POST", "Accounts", status=502, apply=True)
    with _closing(env.connect()) as system:
        (result,) = system.write("Accounts", [WriteOp(WriteKind.CREATE, "r", {"Name": "Lost answer", "Code": "77"})])
    assert result.ok
    stored = env.emulator.records("Accounts")
    assert len(stored) == 1 and result.key == stored[0]["ID"]
    assert env.emulator.api_calls("POST") == 1  # looked, did not send it again


def _with_unique(entity: str, field: str) -> Catalogue:
    """The built-in catalogue with ``entity``'s ``field`` marked unique (as the shipped one may mark it)."""
    catalogue = builtin_catalogue("exact")
    ent = catalogue.entities[entity]
    fields = {**ent.fields, field: dataclasses.replace(ent.fields[field], unique=True)}
    entities = {**catalogue.entities, entity: dataclasses.replace(ent, fields=fields)}
    return dataclasses.replace(catalogue, entities=entities)


def test_a_write_whose_unique_code_a_record_of_this_run_holds_is_refused_before_any_call(env: Env) -> None:
    def item(row: str, code: str) -> WriteOp:
        return WriteOp(WriteKind.CREATE, row, {"Code": code, "Description": f"Item {row}"})

    with _closing(env.connect(catalogue=_with_unique("Items", "Code"))) as system:
        first = system.write("Items", [item("a", "BOX-1"), item("b", "box-1 "), item("c", "BOX-2")])
        later = system.write("Items", [item("d", "Box-2")])
        renamed = system.write("Items", [WriteOp(WriteKind.UPDATE, "e", {"Code": "BOX-1"}, key=first[2].key)])
        same = system.write("Items", [WriteOp(WriteKind.UPDATE, "f", {"Code": "BOX-1"}, key=first[0].key)])
    assert [r.ok for r in first] == [True, False, True] and not later[0].ok and not renamed[0].ok
    assert first[1].error is not None and "created by row a of this run" in first[1].error
    assert not first[1].retryable and same[0].ok
    assert env.emulator.api_calls("POST") == 2 and env.emulator.api_calls("PUT") == 1
    assert 400 not in env.api_statuses()


def test_a_create_answered_without_its_key_is_left_for_the_next_run_to_find_not_failed_for_good(env: Env) -> None:
    env.emulator.faults.fail("POST", "Accounts", status=201, body='{"d": {}}', apply=True)
    with _closing(env.connect()) as system:
        (result,) = system.write("Accounts", [WriteOp(WriteKind.CREATE, "r", {"Name": "Made", "Code": "78"})])
    assert not result.ok and result.retryable  # the applier keeps it pending: the next run looks for it
    assert [r["Name"] for r in env.emulator.records("Accounts")] == ["Made"]


def test_a_create_into_a_read_only_entity_and_one_missing_a_required_field_make_no_call(env: Env) -> None:
    with _closing(env.connect()) as system:
        system.tokens.access_token()
        before = len(env.emulator.requests)
        department = system.write("Departments", [WriteOp(WriteKind.CREATE, "d", {"Code": "SALES"})])
        contact = system.write("Contacts", [WriteOp(WriteKind.CREATE, "c", {"FirstName": "Ann", "LastName": "Lee"})])
        order = system.write(
            "SalesOrders", [WriteOp(WriteKind.CREATE, "o", {"OrderedBy": seed_accounts(env.emulator, 1)[0]})]
        )
        read_only_field = system.write(
            "Contacts", [WriteOp(WriteKind.UPDATE, "u", {"City": "Oslo"}, key="5e9ec63d-1e6e-4920-b799-bd636a6055c9")]
        )
    assert len(env.emulator.requests) == before
    assert not department[0].ok and not department[0].retryable
    assert "read-only" in (department[0].error or "")
    assert contact[0].error == "missing required field: Account"
    assert "SalesOrderLines" in (order[0].error or "")
    assert "City is read-only" in (read_only_field[0].error or "")


def test_an_order_is_created_with_its_lines_and_the_results_carry_the_line_ids(env: Env) -> None:
    account = seed_accounts(env.emulator, 1)[0]
    item = env.emulator.insert("Items", {"Code": "W1", "Description": "Widget", "CostPriceStandard": 2.5})
    lines = tuple(
        WriteOp(WriteKind.CREATE, f"line{i}", {"Item": item, "Quantity": float(i + 1), "UnitPrice": 10.0})
        for i in range(3)
    )
    op = WriteOp(WriteKind.CREATE, "order", {"OrderedBy": account, "OrderDate": dt.date(2026, 1, 2)}, children=lines)
    with _closing(env.connect()) as system:
        (result,) = system.write("SalesOrders", [op])
        stored_lines = system.read("SalesOrderLines")
    assert result.ok and result.key
    assert [c.row_id for c in result.children] == ["line0", "line1", "line2"]
    by_id = {r["ID"]: r for r in stored_lines.to_dicts()}
    assert [by_id[c.key]["Quantity"] for c in result.children if c.key] == [1.0, 2.0, 3.0]
    assert {r["OrderID"] for r in by_id.values()} == {result.key}
    assert env.emulator.api_calls("POST") == 1  # one call for the order and its lines
    assert stored_lines["CostPriceFC"].to_list() == [2.5, 2.5, 2.5]


def test_updates_send_only_the_changed_fields_and_deletes_are_logged(env: Env) -> None:
    account = env.emulator.insert("Accounts", {"Name": "Before", "City": "Delft", "Code": "5"})
    with _closing(env.connect()) as system:
        (update,) = system.write("Accounts", [WriteOp(WriteKind.UPDATE, "u", {"Name": "After"}, key=account)])
        assert update.ok
        stored = env.emulator.record("Accounts", account)
        assert stored is not None and stored["Name"] == "After" and stored["City"] == "Delft"
        (gone,) = system.write("Accounts", [WriteOp(WriteKind.DELETE, "d", key=account)])
    assert gone.ok
    assert env.emulator.record("Accounts", account) is None


def test_a_validation_error_from_exact_carries_its_message_and_is_not_retried(env: Env) -> None:
    unknown = "00000000-0000-0000-0000-000000000001"
    with _closing(env.connect()) as system:
        (result,) = system.write(
            "Contacts", [WriteOp(WriteKind.CREATE, "c", {"Account": unknown, "FirstName": "A", "LastName": "B"})]
        )
    assert not result.ok and not result.retryable
    assert "Invalid reference: Account" in (result.error or "")
    assert env.emulator.api_calls("POST") == 1


def test_the_breaker_stops_an_endpoint_before_exact_would_block_the_key(env: Env) -> None:
    accounts = seed_accounts(env.emulator, 8)
    env.emulator.faults.fail("PUT", "Accounts", status=400, times=100)
    ops = [WriteOp(WriteKind.UPDATE, f"u{i}", {"Name": f"N{i}"}, key=key) for i, key in enumerate(accounts)]
    with _closing(env.connect()) as system:
        results = system.write("Accounts", ops)
    assert not any(r.ok for r in results)
    assert env.emulator.api_calls("PUT") == 5
    assert all(r.retryable for r in results[5:])
    assert "not sent" in (results[-1].error or "")


class _closing:
    """``with`` for a connector: closes it at the end."""

    def __init__(self, system: ExactSystem) -> None:
        self.system = system

    def __enter__(self) -> ExactSystem:
        return self.system

    def __exit__(self, *exc: object) -> None:
        self.system.close()
