"""The generic emulator, seen from the wire: what a plain HTTP client gets from any system file it serves."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from reconcile.config.systemfile import load_system_file
from reconcile.model.clock import FakeClock
from reconcile.sandbox.openers import open_rest_sandbox
from reconcile.sandbox.rest.emulator import RestEmulator
from reconcile.sandbox.server import serve
from tests.systems.rest.test_connector import make_spec, seed

ROOT = Path(__file__).resolve().parents[3]
TOKEN = {"Authorization": "Bearer sandbox-books-token"}


@pytest.fixture
def api() -> Iterator[tuple[httpx.Client, RestEmulator, FakeClock]]:
    clock = FakeClock()
    emulator = RestEmulator(
        make_spec("cursor_header", customer='bulk = { create = "/customers/batch", size = 2 }'), clock=clock
    )
    seed(emulator, 5)
    with serve(emulator.app) as server, httpx.Client(base_url=server.url, headers=TOKEN) as client:
        yield client, emulator, clock


def test_auth_is_checked_and_refused_with_a_reason(api: tuple[httpx.Client, RestEmulator, FakeClock]) -> None:
    client, _, _ = api
    refused = client.get("/customers", headers={"Authorization": "Bearer nope"})
    assert refused.status_code == 401
    assert 'error="invalid_token"' in refused.headers["WWW-Authenticate"]
    assert client.get("/customers").status_code == 200


def test_paging_by_cursor_header(api: tuple[httpx.Client, RestEmulator, FakeClock]) -> None:
    client, _, _ = api
    first = client.get("/customers", params={"limit": 2})
    assert [r["id"] for r in first.json()["items"]] == [1, 2]
    second = client.get("/customers", params={"limit": 2, "cursor": first.headers["X-Next"]})
    assert [r["id"] for r in second.json()["items"]] == [3, 4]
    last = client.get("/customers", params={"limit": 2, "cursor": second.headers["X-Next"]})
    assert [r["id"] for r in last.json()["items"]] == [5] and "X-Next" not in last.headers
    assert client.get("/customers", params={"cursor": "bogus!"}).status_code == 400


def test_creates_get_server_ids_and_modified_times_and_refuse_what_the_catalogue_forbids(
    api: tuple[httpx.Client, RestEmulator, FakeClock],
) -> None:
    client, _emulator, clock = api
    made = client.post("/customers", json={"name": "Ny", "since": "2025-02-03"})
    assert made.status_code == 201
    record = made.json()["items"]
    assert record["id"] == 6 and record["updated"] == "2026-01-01T10:00:00Z"  # the emulator's clock
    clock.advance(60)
    changed = client.patch("/customers/6", json={"city": "Alta"}).json()["items"]
    assert changed["updated"] == "2026-01-01T10:01:00Z" and changed["name"] == "Ny"
    project = client.post("/projects", json={"code": "P7", "customer_id": 6}).json()["items"]
    assert len(project["id"]) == 36  # a GUID key gets a GUID
    problems = {
        ("POST", "/customers", json.dumps({"city": "Oslo"})): (422, "missing required field(s): name"),
        ("POST", "/customers", json.dumps({"name": "X", "tier": "gold"})): (400, "tier is read-only"),
        ("POST", "/customers", json.dumps({"name": "X", "nam": "Y"})): (400, '"nam" is not a field of Customer'),
        ("POST", "/customers", json.dumps({"name": "X", "since": "soon"})): (422, 'since: "soon" is not a date'),
        ("PATCH", "/customers/6", json.dumps({"name": ""})): (422, "required and cannot be emptied: name"),
        ("PATCH", "/customers/99", json.dumps({"name": "Z"})): (404, "no Customer with id 99"),
        ("PUT", "/customers/6", "{}"): (405, "PUT is not allowed here"),
        ("GET", "/nothing", ""): (404, "no such resource: /nothing"),
    }
    for (method, path, body), (status, message) in problems.items():
        answer = client.request(method, path, content=body, headers={"Content-Type": "application/json"})
        assert (answer.status_code, answer.json()["error"]["message"][: len(message)]) == (status, message), path


def test_bulk_answers_one_entry_per_record_and_keeps_its_size(
    api: tuple[httpx.Client, RestEmulator, FakeClock],
) -> None:
    client, _emulator, _ = api
    answer = client.post("/customers/batch", json=[{"name": "A"}, {"city": "no name"}])
    items = answer.json()["items"]
    assert answer.status_code == 200 and items[0]["id"] == 6
    assert items[1] == {"error": {"status": 422, "message": "missing required field(s): name"}}
    assert client.post("/customers/batch", json=[{"name": "A"}] * 3).status_code == 413


def test_state_is_the_seed_layout_loaded_and_dumped_atomically(tmp_path: Path) -> None:
    spec = load_system_file(ROOT / "flows" / "systems" / "pms.toml")
    folder = tmp_path / "pms"
    folder.mkdir()
    for name in ("Customer.json", "Project.json"):
        (folder / name).write_text((ROOT / "data" / "sandbox" / "pms" / name).read_text())
    system, close = open_rest_sandbox(spec, folder)
    try:
        assert system.read("Customer").height == 974  # five pages of 200 by the Link header
    finally:
        close()
    assert (folder / "Project.json").read_text() == (ROOT / "data" / "sandbox" / "pms" / "Project.json").read_text()
    emulator = RestEmulator.from_folder(spec, folder)
    emulator.put_records("Project", emulator.records("Project")[:3])
    emulator.dump(folder)
    again = RestEmulator.from_folder(spec, folder)
    assert len(again.records("Project")) == 3 and len(again.records("Customer")) == 974
    assert not list(folder.glob(".*.tmp"))
