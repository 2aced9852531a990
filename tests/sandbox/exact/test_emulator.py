"""The Exact emulator speaks Exact's API: its routes, envelopes, paging, filters, OAuth, limits and errors.

Plain httpx against the served app, so each assertion reads as what a client would see on the wire.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from reconcile.model.clock import FakeClock
from reconcile.sandbox.exact.emulator import DEFAULT_DIVISION, SANDBOX_CLIENT_ID, SANDBOX_CLIENT_SECRET, ExactEmulator
from reconcile.sandbox.server import serve

DIV = f"/api/v1/{DEFAULT_DIVISION}"


class Api:
    """A bare client with a valid token."""

    def __init__(self, emulator: ExactEmulator, url: str) -> None:
        self.emulator = emulator
        self.http = httpx.Client(base_url=url, headers={"Accept": "application/json"})
        self.token = self.grant(refresh_token=emulator.issue_refresh_token()).json()["access_token"]

    def grant(self, **form: str) -> httpx.Response:
        form.setdefault("grant_type", "refresh_token")
        form.setdefault("client_id", SANDBOX_CLIENT_ID)
        form.setdefault("client_secret", SANDBOX_CLIENT_SECRET)
        return self.http.post("/api/oauth2/token", data=form)

    def call(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self.token}"}
        return self.http.request(method, path, headers=headers, **kwargs)

    def get(self, path: str, **params: str) -> httpx.Response:
        return self.call("GET", path, params=params)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def api(clock: FakeClock) -> Iterator[Api]:
    emulator = ExactEmulator(clock=clock, page_size=3, bulk_page_size=4)
    with serve(emulator.app) as server:
        client = Api(emulator, server.url)
        yield client
        client.http.close()


def message(response: httpx.Response) -> str:
    return str(response.json()["error"]["message"]["value"])


# -------------------------------------------------------------------------------------------- oauth


def test_token_answers_are_exacts_and_refresh_tokens_are_single_use(api: Api, clock: FakeClock) -> None:
    first = api.emulator.issue_refresh_token()
    answer = api.grant(refresh_token=first)
    assert answer.status_code == 200
    body = answer.json()
    assert body["expires_in"] == "600" and body["token_type"] == "bearer"
    again = api.grant(refresh_token=first)
    assert again.status_code == 401
    assert again.json() == {"error": "unauthorized_client", "error_description": "Old refresh token used."}
    early = api.grant(refresh_token=body["refresh_token"])
    assert early.status_code == 401  # less than 570 s after the last token
    clock.advance(571)
    assert api.grant(refresh_token=body["refresh_token"]).status_code == 200


def test_an_expired_refresh_token_and_a_reused_code_are_refused(api: Api) -> None:
    token = api.emulator.issue_refresh_token()
    api.emulator.expire_refresh_token(token)
    expired = api.grant(refresh_token=token)
    assert expired.status_code == 400
    assert expired.json()["error"] == "invalid_request"
    assert expired.json()["error_description"].startswith("The refresh token expired at ")
    code = api.emulator.issue_code()
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": "http://localhost/callback"}
    assert api.grant(**form).status_code == 200
    assert api.grant(**form).json() == {"error": "invalid_request"}


def test_the_api_refuses_a_missing_or_expired_token_with_www_authenticate(api: Api, clock: FakeClock) -> None:
    anonymous = api.http.get(f"{DIV}/crm/Accounts", params={"$select": "ID"})
    assert anonymous.status_code == 401
    clock.advance(601)
    expired = api.get(f"{DIV}/crm/Accounts", **{"$select": "ID"})
    assert expired.status_code == 401
    assert "access token expired" in expired.headers["WWW-Authenticate"]


def test_me_answers_a_results_array_with_the_current_division(api: Api) -> None:
    response = api.get("/api/v1/current/Me", **{"$select": "CurrentDivision"})
    rows = response.json()["d"]["results"]
    assert rows[0]["CurrentDivision"] == DEFAULT_DIVISION
    assert "X-RateLimit-Minutely-Remaining" not in response.headers  # no division: not counted


# ------------------------------------------------------------------------------------------- reading


def test_collections_page_by_skiptoken_with_next_links_that_repeat_the_query(api: Api) -> None:
    for i in range(8):
        api.emulator.insert("Accounts", {"Name": f"A{i}", "City": "Delft" if i % 2 else "Gouda"})
    first = api.get(f"{DIV}/crm/Accounts", **{"$select": "ID,Name", "$filter": "City eq 'Delft'"}).json()["d"]
    assert len(first["results"]) == 3
    assert "$skiptoken=guid'" in first["__next"] or "%24skiptoken=guid" in first["__next"]
    assert "Delft" in first["__next"]
    row = first["results"][0]
    assert set(row) == {"__metadata", "ID", "Name"}
    assert row["__metadata"]["uri"].endswith(f"/crm/Accounts(guid'{row['ID']}')")
    assert row["__metadata"]["type"] == "Exact.Web.Api.Models.Account"
    second = api.call("GET", first["__next"]).json()["d"]
    assert len(second["results"]) == 1 and "__next" not in second
    names = [r["Name"] for r in first["results"] + second["results"]]
    assert sorted(names) == ["A1", "A3", "A5", "A7"]


def test_bulk_pages_are_larger_need_select_and_refuse_writes(api: Api) -> None:
    for i in range(6):
        api.emulator.insert("Accounts", {"Name": f"A{i}"})
    assert api.get(f"{DIV}/bulk/CRM/Accounts").status_code == 400
    page = api.get(f"{DIV}/bulk/CRM/Accounts", **{"$select": "ID"}).json()["d"]
    assert len(page["results"]) == 4 and "__next" in page
    assert api.call("POST", f"{DIV}/bulk/CRM/Accounts", json={"Name": "x"}).status_code == 405


def test_regular_lists_want_a_select_or_top_1_and_refuse_skip(api: Api) -> None:
    bare = api.get(f"{DIV}/crm/Accounts")
    assert bare.status_code == 400
    assert message(bare) == "Please add a $select or a $top=1 statement to the query string."
    assert api.get(f"{DIV}/crm/Accounts", **{"$top": "1"}).status_code == 200
    assert api.get(f"{DIV}/crm/Accounts", **{"$select": "ID", "$skip": "3"}).status_code == 400


def test_top_and_inlinecount(api: Api) -> None:
    for i in range(5):
        api.emulator.insert("Accounts", {"Name": f"A{i}"})
    d = api.get(f"{DIV}/crm/Accounts", **{"$select": "ID", "$top": "2", "$inlinecount": "allpages"}).json()["d"]
    assert len(d["results"]) == 2 and "__next" not in d
    assert d["__count"] == "5"


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("trim(Code) eq '25'", ["Acme"]),
        ("Code eq '                25'", ["Acme"]),
        ("Code eq '25'", []),
        ("substringof('gmbh', Name) eq true", ["Beta GmbH"]),
        ("startswith(Name, 'Ac') and Blocked eq false", ["Acme"]),
        ("Name eq 'Beta GmbH' or Name eq 'Acme'", ["Acme", "Beta GmbH"]),
        ("Modified gt datetime'2026-01-01T11:00:00'", ["Beta GmbH"]),
        ("Division eq 123456 and not (Name eq 'Acme')", ["Beta GmbH", "O'Brien"]),
        ("Name eq 'O''Brien'", ["O'Brien"]),
    ],
)
def test_filters(api: Api, clock: FakeClock, expression: str, expected: list[str]) -> None:
    api.emulator.insert("Accounts", {"Name": "Acme", "Code": "25", "Blocked": False})
    api.emulator.insert("Accounts", {"Name": "O'Brien", "Code": "26"})
    clock.advance(500)
    api.emulator.insert("Accounts", {"Name": "Beta GmbH", "Code": "27"})
    response = api.get(f"{DIV}/crm/Accounts", **{"$select": "Name", "$filter": expression})
    assert response.status_code == 200, response.text
    assert sorted(r["Name"] for r in response.json()["d"]["results"]) == expected


@pytest.mark.parametrize(
    "expression",
    ["ID eq '5e9ec63d-1e6e-4920-b799-bd636a6055c9'", "Name eq 5", "Nope eq 'x'", "Name eq", "MainContact/Name eq 'x'"],
)
def test_filters_exact_refuses(api: Api, expression: str) -> None:
    response = api.get(f"{DIV}/crm/Accounts", **{"$select": "ID", "$filter": expression})
    assert response.status_code == 400
    assert "error" in response.json()


def test_guid_and_int64_literals(api: Api) -> None:
    key = api.emulator.insert("Accounts", {"Name": "Acme"})
    by_guid = api.get(f"{DIV}/crm/Accounts", **{"$select": "Name", "$filter": f"ID eq guid'{key.upper()}'"})
    assert [r["Name"] for r in by_guid.json()["d"]["results"]] == ["Acme"]
    synced = api.get(f"{DIV}/sync/CRM/Accounts", **{"$select": "ID,Timestamp", "$filter": "Timestamp gt 1L"})
    assert [r["ID"] for r in synced.json()["d"]["results"]] == [key]


def test_get_by_key_is_an_object_and_a_missing_key_a_404(api: Api) -> None:
    key = api.emulator.insert("Accounts", {"Name": "Acme", "Code": "8", "Country": "NL"})
    one = api.get(f"{DIV}/crm/Accounts(guid'{key}')").json()["d"]
    assert one["Code"] == "                 8"
    assert one["Created"].startswith("/Date(")
    missing = api.get(f"{DIV}/crm/Accounts(guid'00000000-0000-0000-0000-000000000000')")
    assert missing.status_code == 404 and "error" in missing.json()
    assert api.get(f"{DIV}/crm/Accounts/$count").text == "1"


def test_dates_are_amsterdam_wall_clock_milliseconds(api: Api) -> None:
    account = api.emulator.insert("Accounts", {"Name": "Acme"})
    api.emulator.insert("Contacts", {"Account": account, "FirstName": "A", "LastName": "B", "BirthDate": "1980-07-01"})
    row = api.get(f"{DIV}/crm/Contacts", **{"$select": "BirthDate,Created"}).json()["d"]["results"][0]
    midnight = dt.datetime(1980, 7, 1, tzinfo=dt.UTC).timestamp() * 1000
    assert row["BirthDate"] == f"/Date({int(midnight)})/"
    # The fake clock starts at 10:00 UTC on 1 January: 11:00 in Amsterdam.
    eleven = dt.datetime(2026, 1, 1, 11, 0, tzinfo=dt.UTC).timestamp() * 1000
    assert row["Created"] == f"/Date({int(eleven)})/"


# ------------------------------------------------------------------------------------------- writing


def test_post_returns_201_with_the_entity_and_assigns_a_padded_code(api: Api) -> None:
    api.emulator.insert("Accounts", {"Name": "Old", "Code": "41"})
    created = api.call("POST", f"{DIV}/crm/Accounts", json={"Name": "New", "Country": "NO"})
    assert created.status_code == 201
    d = created.json()["d"]
    assert d["Code"] == " " * 16 + "42"
    assert d["__metadata"]["uri"].endswith(f"(guid'{d['ID']}')")
    assert d["Created"] == d["Modified"]


@pytest.mark.parametrize(
    ("service", "body"),
    [
        ("logistics/Items", {"Code": "A-1", "Description": "Box"}),
        ("vat/VATCodes", {"Code": "V1", "Description": "High"}),
        ("crm/Accounts", {"Code": "77", "Name": "Acme"}),
    ],
)
def test_a_code_exact_keeps_unique_is_refused_when_taken_whatever_its_case(
    api: Api, service: str, body: dict[str, str]
) -> None:
    first = api.call("POST", f"{DIV}/{service}", json=body)
    assert first.status_code == 201
    again = api.call("POST", f"{DIV}/{service}", json={**body, "Code": f" {body['Code'].lower()} "})
    assert again.status_code == 400
    assert message(again) == f"Code {body['Code'].lower()} already exists."
    other = api.call("POST", f"{DIV}/{service}", json={**body, "Code": "OTHER"})
    key = other.json()["d"]["ID"]
    renamed = api.call("PUT", f"{DIV}/{service}(guid'{key}')", json={"Code": body["Code"]})
    assert renamed.status_code == 400 and "already exists" in message(renamed)
    assert api.call("PUT", f"{DIV}/{service}(guid'{key}')", json={"Code": "OTHER"}).status_code == 204


def test_post_refuses_missing_fields_unknown_refs_and_read_only_entities(api: Api) -> None:
    missing = api.call("POST", f"{DIV}/crm/Contacts", json={"Email": "a@b.c"})
    assert missing.status_code == 400
    assert message(missing) == "Mandatory: Account\r\nMandatory: FirstName\r\nMandatory: LastName"
    assert missing.json()["error"]["code"] == ""
    bad_ref = api.call(
        "POST",
        f"{DIV}/crm/Contacts",
        json={"Account": "00000000-0000-0000-0000-000000000009", "FirstName": "A", "LastName": "B"},
    )
    assert bad_ref.status_code == 500 and message(bad_ref) == "Invalid reference: Account"
    for entity in ("hrm/Departments", "payroll/Employees", "logistics/Units", "general/Currencies", "hrm/Divisions"):
        refused = api.call("POST", f"{DIV}/{entity}", json={"Code": "X"})
        assert refused.status_code == 405, entity
        assert "error" in refused.json()
    unknown = api.call("POST", f"{DIV}/crm/Accounts", json={"Name": "A", "Colour": "red"})
    assert unknown.status_code == 400 and "Colour" in message(unknown)


def test_orders_are_created_with_embedded_lines_stored_as_their_own_entity(api: Api) -> None:
    account = api.emulator.insert("Accounts", {"Name": "Acme"})
    item = api.emulator.insert("Items", {"Code": "W", "Description": "Widget"})
    not_array = api.call(
        "POST", f"{DIV}/salesorder/SalesOrders", json={"OrderedBy": account, "SalesOrderLines": {"Item": item}}
    )
    assert not_array.status_code == 400 and message(not_array).startswith("Error processing request stream")
    no_lines = api.call("POST", f"{DIV}/salesorder/SalesOrders", json={"OrderedBy": account})
    assert no_lines.status_code == 400
    created = api.call(
        "POST",
        f"{DIV}/salesorder/SalesOrders",
        json={"OrderedBy": account, "SalesOrderLines": [{"Item": item, "Quantity": 2, "UnitPrice": 5.0}]},
    )
    assert created.status_code == 201
    order = created.json()["d"]
    assert "__deferred" in order["SalesOrderLines"]
    assert order["OrderNumber"] == 1 and order["AmountFC"] == 10.0
    lines = api.emulator.records("SalesOrderLines")
    assert [(line["OrderID"], line["LineNumber"]) for line in lines] == [(order["OrderID"], 1)]
    expanded = api.get(f"{DIV}/salesorder/SalesOrders(guid'{order['OrderID']}')", **{"$expand": "SalesOrderLines"})
    assert expanded.status_code == 200


def test_put_and_delete_answer_204_and_deletions_reach_sync_deleted(api: Api) -> None:
    key = api.emulator.insert("Accounts", {"Name": "Acme", "City": "Delft"})
    put = api.call("PUT", f"{DIV}/crm/Accounts(guid'{key}')", json={"City": "Gouda"})
    assert put.status_code == 204 and put.content == b""
    stored = api.emulator.record("Accounts", key)
    assert stored is not None and stored["City"] == "Gouda" and stored["Name"] == "Acme"
    gone = api.call("DELETE", f"{DIV}/crm/Accounts(guid'{key}')")
    assert gone.status_code == 204
    deleted = api.get(f"{DIV}/sync/Deleted", **{"$select": "EntityKey,EntityType", "$filter": "Timestamp gt 1"})
    assert deleted.json()["d"]["results"][0] | {"__metadata": None} == {
        "__metadata": None,
        "EntityKey": key,
        "EntityType": 2,
    }
    sync_filter = api.get(f"{DIV}/sync/CRM/Accounts", **{"$select": "ID", "$filter": "Name eq 'x'"})
    assert sync_filter.status_code == 400


def test_addresses_post_returns_the_existing_address(api: Api) -> None:
    account = api.emulator.insert("Accounts", {"Name": "Acme"})
    body = {"Account": account, "Type": 1, "AddressLine1": "Main 1", "City": "Delft"}
    first = api.call("POST", f"{DIV}/crm/Addresses", json=body).json()["d"]["ID"]
    second = api.call("POST", f"{DIV}/crm/Addresses", json=body).json()["d"]["ID"]
    assert first == second


# -------------------------------------------------------------------------------------------- limits


def test_rate_limit_headers_and_a_429_with_only_the_minute_headers(clock: FakeClock) -> None:
    emulator = ExactEmulator(clock=clock, minute_limit=2, day_limit=100)
    with serve(emulator.app) as server:
        api = Api(emulator, server.url)
        first = api.get(f"{DIV}/crm/Accounts", **{"$top": "1"})
        headers = first.headers
        assert headers["X-RateLimit-Minutely-Limit"] == "2"
        assert headers["X-RateLimit-Minutely-Remaining"] == "1"
        assert headers["X-RateLimit-Minutely-Reset"] == str(int(clock.now() // 60 + 1) * 60_000)
        assert headers["X-RateLimit-Limit"] == "100" and headers["X-RateLimit-Remaining"] == "99"
        assert int(headers["X-RateLimit-Reset"]) % 86_400_000 == 0
        api.get(f"{DIV}/crm/Accounts", **{"$top": "1"})
        refused = api.get(f"{DIV}/crm/Accounts", **{"$top": "1"})
        assert refused.status_code == 429 and refused.content == b""
        assert refused.headers["X-RateLimit-Minutely-Remaining"] == "0"
        assert "X-RateLimit-Remaining" not in refused.headers
        clock.advance(60)
        assert api.get(f"{DIV}/crm/Accounts", **{"$top": "1"}).status_code == 200
        api.http.close()


def test_injected_failures_hit_the_nth_matching_call(api: Api) -> None:
    api.emulator.faults.fail("POST", "Accounts", nth=2, status=503)
    statuses = [api.call("POST", f"{DIV}/crm/Accounts", json={"Name": f"A{i}"}).status_code for i in range(3)]
    assert statuses == [201, 503, 201]
    assert len(api.emulator.records("Accounts")) == 2


# ------------------------------------------------------------------------------------------- state


def test_state_survives_a_dump_and_load(api: Api, tmp_path: Path, clock: FakeClock) -> None:
    api.emulator.insert("Accounts", {"Name": "Acme"})
    api.call("POST", f"{DIV}/crm/Accounts", json={"Name": "Second"})
    path = tmp_path / "exact-state.json"
    api.emulator.dump(path)
    json.loads(path.read_text())  # plain JSON
    other = ExactEmulator(clock=clock)
    other.load(path)
    assert sorted(r["Name"] for r in other.records("Accounts")) == ["Acme", "Second"]


def test_from_seed_reads_one_json_file_per_entity(tmp_path: Path) -> None:
    account = "6f0c2b55-1b0e-4e7c-9a55-0d3f0c1a2b3c"
    (tmp_path / "Accounts.json").write_text(json.dumps([{"ID": account, "Name": "Acme", "Code": "1"}]))
    (tmp_path / "Contacts.json").write_text(
        json.dumps([{"Account": account, "FirstName": "A", "LastName": "B", "BirthDate": "1990-02-03"}])
    )
    emulator = ExactEmulator.from_seed(tmp_path, clock=FakeClock())
    assert emulator.record("Accounts", account) is not None
    (contact,) = emulator.records("Contacts")
    assert contact["BirthDate"] == "1990-02-03"
