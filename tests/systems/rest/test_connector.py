"""The generic REST system against the generic emulator, over real HTTP on localhost.

One small system file (``spec``) with its paging and auth swapped per test: a ``Customer`` with a
server-assigned int id, a required name, a read-only ``tier`` and a modified time; a ``Project`` with a GUID
id and a required reference to its customer. Every paging style and every auth style reads the same records;
writes show bulk calls counted, refusals before any call, ids from the answers, and retries on a fake clock.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest

from reconcile.config.systemfile import connect, parse_system_file
from reconcile.errors import AuthError, ConfigError
from reconcile.model.clock import FakeClock
from reconcile.model.systemfile import Limits, SystemFile
from reconcile.sandbox.rest.emulator import RestEmulator
from reconcile.sandbox.server import serve
from reconcile.systems.base import WriteKind, WriteOp
from reconcile.systems.http.retry import RetryPolicy
from reconcile.systems.rest.connector import RestSystem

ENTITIES = """
[entities.Customer]
key = "id"
modified = "updated"
path = "/customers"
{customer}
[entities.Customer.fields]
id = {{ type = "int", read_only = true }}
name = {{ type = "string", required = true }}
email = {{ type = "string" }}
city = {{ type = "string" }}
tier = {{ type = "string", read_only = true }}
since = {{ type = "date" }}
updated = {{ type = "datetime", read_only = true }}

[entities.Project]
key = "id"
path = "/projects"
{project}
[entities.Project.fields]
id = {{ type = "guid", read_only = true }}
code = {{ type = "string", required = true }}
customer_id = {{ type = "int", required = true, ref = "Customer" }}
budget = {{ type = "float" }}
"""

PAGING = {
    "page_number": '[paging]\ntype = "page_number"\npage_param = "p"\nsize_param = "n"\nsize = 3\nfirst_page = 0',
    "offset": '[paging]\ntype = "offset"\nlimit = 3',
    "cursor_field": '[paging]\ntype = "cursor"\ncursor_field = "paging.next"\nsize_param = "limit"\nsize = 3',
    "cursor_header": '[paging]\ntype = "cursor"\ncursor_header = "X-Next"\nsize_param = "limit"\nsize = 3',
    "link_header": '[paging]\ntype = "link_header"\nsize_param = "per_page"\nsize = 3',
    "none": "",
}
AUTH = {
    "bearer": '[auth]\ntype = "bearer"\ntoken_env = "T_TOKEN"',
    "api_key": '[auth]\ntype = "api_key"\nheader = "X-Key"\nkey_env = "T_KEY"',
    "basic": '[auth]\ntype = "basic"\nusername_env = "T_USER"\npassword_env = "T_PASSWORD"',
    "none": "",
}


def spec_text(
    paging: str = "page_number", auth: str = "bearer", records: str = "items", head: str = "", **entity: str
) -> str:
    head = f'system = "books"\nrecords = "{records}"\n{AUTH[auth]}\n{PAGING[paging]}\n{head}'
    return head + ENTITIES.format(customer=entity.get("customer", ""), project=entity.get("project", ""))


def make_spec(
    paging: str = "page_number", auth: str = "bearer", records: str = "items", head: str = "", **entity: str
) -> SystemFile:
    return parse_system_file(tomllib.loads(spec_text(paging, auth, records, head, **entity)), "books.toml")


def seed(emulator: RestEmulator, n: int = 8) -> None:
    emulator.put_records(
        "Customer",
        [
            {
                "id": i,
                "name": f"Kunde {i}",
                "email": f"k{i}@example.no",
                "city": "Oslo" if i % 2 else "Bergen",
                "tier": "gold",
                "since": "2024-01-0" + str(i % 9 + 1),
                "updated": "2025-11-01T08:00:00Z",
            }
            for i in range(1, n + 1)
        ],
    )
    emulator.put_records(
        "Project",
        [{"id": f"00000000-0000-4000-8000-00000000000{i}", "code": f"P{i}", "customer_id": i} for i in range(1, 3)],
    )


@contextmanager
def running(spec: SystemFile, n: int = 8, **options: Any) -> Iterator[tuple[RestSystem, RestEmulator]]:
    """The connector on a served emulator holding ``n`` customers and two projects."""
    clock = options.pop("clock", None)
    emulator = RestEmulator(spec, clock=clock, limits=options.pop("limits", None))
    seed(emulator, n)
    with serve(emulator.app) as server:
        system = RestSystem(spec, base_url=server.url, secrets=emulator.secrets, clock=clock, **options)
        try:
            yield system, emulator
        finally:
            system.close()


@pytest.mark.parametrize("paging", list(PAGING))
def test_every_paging_style_reads_every_record_typed_by_the_catalogue(paging: str) -> None:
    spec = make_spec(paging, records="" if paging in ("link_header", "cursor_header", "offset") else "data.items")
    with running(spec) as (system, emulator):
        frame = system.read("Customer")
        lists = sum(n for call, n in emulator.calls.items() if call == "GET /customers")
    assert frame["id"].to_list() == [str(i) for i in range(1, 9)]
    assert frame.schema["since"].__class__.__name__ == "Date"
    assert frame.schema["updated"].__class__.__name__ == "Datetime"
    assert frame["name"][0] == "Kunde 1"
    # 8 records in pages of 3: three pages; a page-counting style stops on the short page
    assert lists == (1 if paging == "none" else 3)


@pytest.mark.parametrize("auth", list(AUTH))
def test_every_auth_style_logs_in_and_a_wrong_secret_is_refused(auth: str) -> None:
    spec = make_spec(auth=auth)
    with running(spec) as (system, emulator):
        assert system.read("Project").height == 2
        if auth == "none":
            return
        emulator.secrets = dict.fromkeys(emulator.secrets, "wrong")
        with pytest.raises(AuthError, match="refused \\(401\\)") as refused:
            system.read("Project")
    assert "sandbox" not in str(refused.value)  # no secret in the message


def test_secrets_come_from_the_environment_named_in_the_file(monkeypatch: pytest.MonkeyPatch) -> None:
    spec = connect(make_spec(auth="basic"), {"base_url": "http://127.0.0.1:9", "_file": "conn.toml"})
    monkeypatch.setenv("T_USER", "anna")
    monkeypatch.delenv("T_PASSWORD", raising=False)
    with pytest.raises(ConfigError, match="T_PASSWORD \\(named by password_env\\) is not set"):
        RestSystem.from_connection(spec)
    monkeypatch.setenv("T_PASSWORD", "s3cret")
    RestSystem.from_connection(spec).close()
    with pytest.raises(ConfigError, match="no base_url"):
        RestSystem.from_connection(make_spec())


def test_bulk_endpoint_creates_in_fewer_calls_than_records() -> None:
    spec = make_spec(customer='bulk = { create = "/customers/batch", update = "/customers/batch", size = 10 }')
    ops = [WriteOp(WriteKind.CREATE, f"r{i}", {"name": f"Ny {i}", "city": "Tromsø"}) for i in range(25)]
    ops.insert(3, WriteOp(WriteKind.CREATE, "bad", {"city": "Bodø"}))  # no name: refused before any call
    with running(spec) as (system, emulator):
        before = system.calls
        results = system.write("Customer", ops)
        calls = system.calls - before
        stored = emulator.records("Customer")
    assert calls == 3 < 25  # 25 records in batches of 10
    assert emulator.calls["POST /customers/batch"] == 3 and emulator.calls["POST /customers"] == 0
    assert [r.row_id for r in results] == [op.row_id for op in ops]
    assert results[3].ok is False and "required on create and missing: name" in (results[3].error or "")
    made = [r for r in results if r.ok]
    assert len(made) == 25 and [r.key for r in made] == [str(i) for i in range(9, 34)]  # ids from the answers
    assert {s["name"] for s in stored} >= {"Ny 0", "Ny 24"}
    assert all(s["updated"] for s in stored if str(s["id"]) in {r.key for r in made})


def test_bulk_update_and_per_item_errors() -> None:
    spec = make_spec(customer='bulk = { update = "/customers/batch", size = 50 }')
    ops = [WriteOp(WriteKind.UPDATE, f"u{i}", {"city": "Narvik"}, key=str(i)) for i in (1, 2, 3)]
    ops.append(WriteOp(WriteKind.UPDATE, "gone", {"city": "Narvik"}, key="404"))
    with running(spec) as (system, emulator):
        results = system.write("Customer", ops)
        assert emulator.calls["PATCH /customers/batch"] == 1
        assert emulator.calls["PATCH /customers/{id}"] == 0
        cities = {r["id"]: r["city"] for r in emulator.records("Customer")}
    assert [r.ok for r in results] == [True, True, True, False]
    assert "no Customer with id 404" in (results[3].error or "")
    assert cities[1] == cities[2] == cities[3] == "Narvik"


def test_refused_before_any_call_what_the_catalogue_says_will_fail() -> None:
    with running(make_spec()) as (system, _):
        before = system.calls
        results = system.write(
            "Customer",
            [
                WriteOp(WriteKind.CREATE, "a", {"name": "X", "tier": "gold"}),
                WriteOp(WriteKind.CREATE, "b", {"name": "X", "nme": "typo"}),
                WriteOp(WriteKind.UPDATE, "c", {"name": None}, key="1"),
                WriteOp(WriteKind.UPDATE, "d", {"since": "not a date"}, key="1"),
                WriteOp(WriteKind.UPDATE, "e", {"city": "Oslo"}),
            ],
        )
        assert system.calls == before
    errors = [r.error for r in results]
    assert not any(r.ok for r in results)
    assert errors == [
        "tier is read-only in books",
        '"nme" is not a field of books Customer (did you mean "name"?)',
        "required and cannot be emptied: name",
        "since = 'not a date' is not a date (YYYY-MM-DD)",
        "an update needs the record's id",
    ]


def test_single_writes_create_update_put_and_delete() -> None:
    spec = make_spec(project='update = "PUT"')
    with running(spec) as (system, emulator):
        created = system.write(
            "Project", [WriteOp(WriteKind.CREATE, "p", {"code": "P9", "customer_id": 3, "budget": 10.5})]
        )
        key = created[0].key
        assert created[0].ok and key is not None and len(key) == 36  # a GUID the emulator assigned
        updated = system.write("Project", [WriteOp(WriteKind.UPDATE, "u", {"budget": 99.0}, key=key)])
        # PUT replaces the whole record: the connector read it first and sent every writable field back
        assert emulator.calls["GET /projects/{id}"] == 1 and emulator.calls["PUT /projects/{id}"] == 1
        assert updated[0].ok
        stored = {r["id"]: r for r in emulator.records("Project")}[key]
        assert stored == {"id": key, "code": "P9", "customer_id": 3, "budget": 99.0}
        deleted = system.write(
            "Project", [WriteOp(WriteKind.DELETE, "d", key=key), WriteOp(WriteKind.DELETE, "again", key=key)]
        )
        assert [r.ok for r in deleted] == [True, True]  # gone already is what a delete wants
        assert key not in {r["id"] for r in emulator.records("Project")}
        frame = system.read("Customer")
        system.write("Customer", [WriteOp(WriteKind.UPDATE, "c", {"city": "Alta"}, key="2")])
        after = system.read("Customer")
    assert after.filter(after["id"] == "2")["updated"][0] > frame.filter(frame["id"] == "2")["updated"][0]


def test_429_and_503_are_retried_with_backoff_on_the_fake_clock() -> None:
    clock = FakeClock()
    with running(make_spec(), clock=clock) as (system, emulator):
        emulator.faults.extend([429, 503, 502])
        frame = system.read("Customer")
        assert frame.height == 8
        # the 429 names its wait (Retry-After: 1); the 5xx back off exponentially (0.5 s * 2, * 4)
        assert clock.slept == [1.0, 1.0, 2.0]
        emulator.faults.append(400)
        with pytest.raises(Exception, match="400"):
            system.read("Customer")  # a 4xx is not retried


def test_declared_rate_limit_waits_on_the_fake_clock_and_never_gets_a_429() -> None:
    clock = FakeClock()
    spec = make_spec(head="[limits]\ncalls = 2\nwindow = 10\n")
    assert spec.connection.limits == Limits(calls=2, window=10.0)
    with running(spec, clock=clock, limits=spec.connection.limits) as (system, emulator):
        system.read("Customer")  # three pages: the third waits out the window
    assert clock.slept == [pytest.approx(10.0)]
    assert emulator.calls["GET /customers"] == 3  # and no 429 among them: the limiter kept to the limit


class LosePostAnswers(httpx.HTTPTransport):
    """The network as it is, except that the answer to every POST is lost after the server acted on it."""

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = super().handle_request(request)
        if request.method != "POST":
            return response
        response.read()
        response.close()
        raise httpx.ReadTimeout("the answer was lost", request=request)


def test_a_create_whose_answer_was_lost_is_found_not_sent_twice() -> None:
    with running(make_spec(), transport=LosePostAnswers()) as (system, emulator):
        results = system.write(
            "Customer", [WriteOp(WriteKind.CREATE, "r", {"name": "Lost Answer AS", "city": "Hamar"})]
        )
        names = [r["name"] for r in emulator.records("Customer")]
    assert emulator.calls["POST /customers"] == 1  # a POST is not repeated when its answer is lost
    assert results[0].ok and results[0].key == "9"  # found among the records instead
    assert names.count("Lost Answer AS") == 1


def test_a_system_that_stops_taking_writes_stops_the_batch() -> None:
    with running(make_spec(), retry=RetryPolicy(attempts=1)) as (system, emulator):
        emulator.secrets = {"token": "rotated"}
        results = system.write(
            "Customer", [WriteOp(WriteKind.UPDATE, f"u{i}", {"city": "Oslo"}, key=str(i)) for i in (1, 2)]
        )
    assert [r.stopped for r in results] == [True, True]
    assert all(r.retryable and not r.ok for r in results)
    assert "not sent" in (results[1].error or "")
