"""The PowerOffice Go emulator over real HTTP: the documented behaviour, including the unpleasant parts."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from reconcile.model.clock import FakeClock
from reconcile.sandbox.poweroffice.emulator import PowerOfficeEmulator
from reconcile.sandbox.server import serve

SEED: dict[str, list[dict[str, Any]]] = {
    "Customers": [
        {"Id": 101, "Number": 10001, "Name": "Acme AS", "MailAddress": {"City": "Oslo", "ZipCode": "0155"}},
        {"Id": 102, "Number": 10002, "Name": "Beta AS"},
        {"Id": 103, "Number": 12000, "IsPerson": True, "FirstName": "Ola", "LastName": "Nordmann"},
    ],
    "Suppliers": [{"Id": 102, "Number": 20001, "Name": "Beta AS"}],
    "Departments": [{"Id": 1, "Code": "10", "Name": "Salg", "IsActive": True}],
    "Products": [{"Id": 42, "Code": "BA-12", "Name": "Big blue box", "UnitPrice": 199.0, "UnitCost": 80.0}],
    "SalesOrders": [
        {
            "Id": "3fa85f64-5717-4562-b3fc-2c963f66afa6",
            "CustomerId": 101,
            "SalesOrderDate": "2024-05-13",
            "SalesOrderLines": [{"ProductId": 42, "Quantity": 2}],
        }
    ],
    "ContactPersons": [{"id": 500, "partyId": 101, "firstName": "Kari", "lastName": "Nordmann", "city": "Oslo"}],
    "Locations": [{"id": 5, "code": "OSL", "name": "Oslo", "isActive": True}],
}


class Client:
    """A raw HTTP client for the emulator holding both tokens."""

    def __init__(self, emulator: PowerOfficeEmulator, url: str) -> None:
        self.emu = emulator
        self.http = httpx.Client(base_url=url)
        keys = emulator.credentials
        self.basic = (keys.application_key, keys.client_key)
        self.sub = {"Ocp-Apim-Subscription-Key": keys.subscription_key}
        self.v2_token = self.token("/OAuth/Token", self.sub)
        self.v1_token = self.token("/v1/OAuth/Token", {})

    def token(self, path: str, headers: dict[str, str]) -> str:
        response = self.http.post(path, data={"grant_type": "client_credentials"}, auth=self.basic, headers=headers)
        assert response.status_code == 200, response.text
        token: str = response.json()["access_token"]
        return token

    def v2(self, method: str, path: str, **options: Any) -> httpx.Response:
        headers = {**self.sub, "Authorization": f"Bearer {self.v2_token}", **options.pop("headers", {})}
        self.emu.clock.sleep(0.2)  # stay under the limit unless a test means not to
        return self.http.request(method, "/v2" + path, headers=headers, **options)

    def v1(self, method: str, path: str, **options: Any) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self.v1_token}"}
        return self.http.request(method, "/v1" + path, headers=headers, **options)

    def patch(
        self, path: str, ops: list[dict[str, Any]], content_type: str = "application/json-patch+json"
    ) -> httpx.Response:
        return self.v2("PATCH", path, content=json.dumps(ops), headers={"Content-Type": content_type})


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def emulator(tmp_path: Path, clock: FakeClock) -> PowerOfficeEmulator:
    for name, records in SEED.items():
        (tmp_path / f"{name}.json").write_text(json.dumps(records), encoding="utf-8")
    return PowerOfficeEmulator.from_seed(tmp_path, clock=clock, max_page_size=50)


@pytest.fixture
def client(emulator: PowerOfficeEmulator) -> Iterator[Client]:
    with serve(emulator.app) as server:
        client = Client(emulator, server.url)
        try:
            yield client
        finally:
            client.http.close()


# ----------------------------------------------------------------------------------------------- tokens


def test_token_needs_basic_auth_grant_type_and_subscription_key(client: Client) -> None:
    http = client.http
    grant = {"grant_type": "client_credentials"}
    missing_key = http.post("/OAuth/Token", data=grant, auth=client.basic)
    assert missing_key.status_code == 401
    assert "missing subscription key" in missing_key.json()["message"]
    wrong = http.post("/OAuth/Token", data=grant, auth=("nope", "nope"), headers=client.sub)
    assert (wrong.status_code, wrong.json()["error"]) == (400, "invalid_client")
    grant_type = http.post("/OAuth/Token", data={"grant_type": "password"}, auth=client.basic, headers=client.sub)
    assert (grant_type.status_code, grant_type.json()["error"]) == (400, "unsupported_grant_type")
    ok = http.post("/Demo/OAuth/Token", data=grant, auth=client.basic, headers=client.sub)
    assert ok.json()["expires_in"] == 1200 and ok.json()["token_type"] == "bearer"


def test_tokens_expire_and_v2_needs_the_subscription_key(client: Client, clock: FakeClock) -> None:
    assert client.v2("GET", "/Customers").status_code == 200
    no_key = client.http.get("/v2/Customers", headers={"Authorization": f"Bearer {client.v2_token}"})
    assert no_key.status_code == 401
    assert client.v1("GET", "/Location").status_code == 200
    clock.advance(1201)
    expired = client.v2("GET", "/Customers")
    assert expired.status_code == 401 and expired.content == b""
    assert client.v1("GET", "/Location").status_code == 401


def test_a_missing_module_subscription_is_a_403(client: Client) -> None:
    client.emu.invalid_privileges.add("SalesOrders")
    assert client.v2("GET", "/SalesOrders").status_code == 403
    assert client.v2("GET", "/Customers").status_code == 200


# ------------------------------------------------------------------------------------------------ lists


def test_lists_are_bare_arrays_paged_with_x_pagination_and_204_at_the_end(client: Client) -> None:
    first = client.v2("GET", "/customers", params={"PageNumber": 1, "PageSize": 2})
    assert [c["Id"] for c in first.json()] == [101, 102]
    meta = json.loads(first.headers["X-Pagination"])
    assert (meta["totalCount"], meta["totalPages"], meta["currentPage"]) == (3, 2, 1)
    assert "PageNumber=2" in meta["nextPageLink"]
    second = client.v2("GET", "/Customers", params={"PageNumber": 2, "PageSize": 2})
    assert [c["Id"] for c in second.json()] == [103]
    assert json.loads(second.headers["X-Pagination"])["nextPageLink"] is None
    past = client.v2("GET", "/Customers", params={"PageNumber": 3, "PageSize": 2})
    assert past.status_code == 204 and past.content == b""
    too_big = client.v2("GET", "/Customers", params={"PageSize": 51})
    assert too_big.status_code == 400 and too_big.json()["status"] == 400


def test_change_filter_is_strictly_greater_and_number_ranges_filter(client: Client) -> None:
    acme = client.v2("GET", "/Customers/101").json()
    stamp = acme["LastChangedDateTimeOffset"]
    assert len(stamp.split(".")[1].split("+")[0]) == 7
    client.emu.modify("Customers", 102, {"Name": "Beta Holding AS"})
    changed = client.v2("GET", "/Customers", params={"lastChangedDateTimeOffsetGreaterThan": stamp}).json()
    assert 101 not in [c["Id"] for c in changed] and 102 in [c["Id"] for c in changed]
    ranged = client.v2("GET", "/Customers", params={"customerNos": "10000-10001, 12000-"}).json()
    assert [c["Id"] for c in ranged] == [101, 103]
    by_code = client.v2("GET", "/Departments", params={"codes": "10, 99"}).json()
    assert [d["Code"] for d in by_code] == ["10"]


def test_a_sales_order_list_holds_headers_and_complete_holds_lines(client: Client) -> None:
    (order,) = client.v2("GET", "/SalesOrders").json()
    assert "SalesOrderLines" not in order and order["LineCount"] == 1
    complete = client.v2("GET", f"/SalesOrders/{order['Id']}/Complete").json()
    (line,) = complete["SalesOrderLines"]
    assert line["SalesOrderId"] == order["Id"]
    assert (line["ProductUnitCost"], line["NetAmount"], line["TotalAmount"]) == (80.0, 398.0, 497.5)


# ----------------------------------------------------------------------------------------------- writes


def test_post_creates_with_201_or_200_and_contacts_share_one_id_space(client: Client) -> None:
    customer = client.v2("POST", "/Customers", json={"Name": "Gamma AS"})
    employee = client.v2("POST", "/Employees", json={"FirstName": "Per", "LastName": "Hansen"})
    product = client.v2("POST", "/Products", json={"Name": "Small box"})
    assert (customer.status_code, employee.status_code, product.status_code) == (201, 201, 200)
    assert employee.json()["Id"] == customer.json()["Id"] + 1
    assert customer.json()["Number"] == 12001


def test_post_refuses_missing_required_unknown_fields_and_duplicate_references(client: Client) -> None:
    person = client.v2("POST", "/Customers", json={"IsPerson": True, "FirstName": "Ola"})
    assert person.status_code == 400 and "LastName" in person.json()["detail"]
    assert person.headers["content-type"].startswith("application/problem+json")
    unknown = client.v2("POST", "/Customers", json={"Name": "X", "Colour": "red"})
    assert unknown.status_code == 400 and "Colour" in unknown.json()["detail"]
    address = client.v2("POST", "/Customers", json={"Name": "X", "MailAddress": {"City": "Oslo"}})
    assert address.status_code == 400 and "ZipCode" in address.json()["detail"]
    assert client.v2("POST", "/Customers", json={"Name": "X", "ExternalImportReference": "r-1"}).status_code == 201
    again = client.v2("POST", "/Suppliers", json={"Name": "Y", "ExternalImportReference": "r-1"})
    assert again.status_code == 400 and "already in use" in again.json()["detail"]
    no_order_post = client.v2("POST", "/SalesOrders", json={"CustomerId": 101})
    assert no_order_post.status_code == 405
    bad_product = client.v2(
        "POST", "/SalesOrders/Complete", json={"CustomerId": 101, "SalesOrderLines": [{"ProductId": 9, "Quantity": 1}]}
    )
    assert bad_product.status_code == 404


def test_codes_go_keeps_unique_are_compared_without_regard_to_case(client: Client) -> None:
    product = client.v2("POST", "/Products", json={"Name": "Another box", "Code": " ba-12"})
    assert product.status_code == 400 and "already in use" in product.json()["detail"]
    department = client.v2("POST", "/Departments", json={"Name": "Salg 2", "Code": "10 "})
    assert department.status_code == 400 and "already in use" in department.json()["detail"]
    location = client.v1("POST", "/Location", json={"name": "Oslo 2", "code": "osl"})
    assert location.json()["success"] is False


def test_json_patch_is_case_insensitive_and_refuses_read_only_paths(client: Client) -> None:
    before = client.v2("GET", "/Customers/101").json()
    patched = client.patch("/Customers/101", [{"op": "replace", "path": "/mailaddress/city", "value": "Bergen"}])
    assert patched.status_code == 200
    after = patched.json()
    assert after["MailAddress"]["City"] == "Bergen"
    assert after["LastChangedDateTimeOffset"] > before["LastChangedDateTimeOffset"]
    assert {k: v for k, v in after.items() if k not in ("MailAddress", "LastChangedDateTimeOffset")} == {
        k: v for k, v in before.items() if k not in ("MailAddress", "LastChangedDateTimeOffset")
    }
    read_only = client.patch("/Customers/101", [{"op": "replace", "path": "/Id", "value": 1}])
    assert read_only.status_code == 400 and "path segment 'id' was not found" in read_only.json()["detail"]
    plain_json = client.patch("/Customers/101", [{"op": "replace", "path": "/Name", "value": "X"}], "application/json")
    assert plain_json.status_code == 415
    missing = client.patch("/Customers/999", [{"op": "replace", "path": "/Name", "value": "X"}])
    assert missing.status_code == 404 and missing.json()["title"] == "Object(s) not found"


def test_delete_answers_409_when_in_use(client: Client) -> None:
    in_use = client.v2("DELETE", "/Customers/101")
    assert in_use.status_code == 409 and "in use" in in_use.json()["detail"]
    other_role = client.v2("DELETE", "/Customers/102")
    assert other_role.status_code == 409
    assert client.v2("DELETE", "/Products/42").status_code == 409
    assert client.v2("DELETE", "/Customers/103").status_code == 200
    assert client.v2("GET", "/Customers/103").status_code == 404


# ------------------------------------------------------------------------------------------ rate limit


def test_eleven_calls_in_one_second_meet_a_429_with_retry_after(client: Client, clock: FakeClock) -> None:
    headers = {**client.sub, "Authorization": f"Bearer {client.v2_token}"}
    clock.advance(5)
    statuses = [client.http.get("/v2/VatCodes", headers=headers).status_code for _ in range(11)]
    assert statuses == [200] * 10 + [429]
    limited = client.http.get("/v2/VatCodes", headers=headers)
    assert limited.headers["Retry-After"] == "1" and limited.content == b""
    clock.advance(1)
    assert client.http.get("/v2/VatCodes", headers=headers).status_code == 200
    client.emu.force_429(1)
    clock.advance(1)
    assert client.http.get("/v2/VatCodes", headers=headers).status_code == 429


# ------------------------------------------------------------------------------------------------- v1


def test_v1_envelope_odata_and_errors_as_http_200(client: Client) -> None:
    listed = client.v1("GET", "/PartyContactPerson", params={"$filter": "(City eq 'oslo')"}).json()
    assert listed["success"] and listed["count"] == 1 and listed["data"][0]["firstName"] == "Kari"
    since = client.v1(
        "GET", "/PartyContactPerson", params={"$filter": "LastChanged ge DateTimeOffset'2020-01-01T00:00:00'"}
    )
    assert since.json()["count"] == 1
    bad = client.v1("GET", "/PartyContactPerson", params={"$filter": "LastChanged ge DateTime'2020-01-01T00:00:00'"})
    assert bad.status_code == 200 and bad.json()["success"] is False
    assert bad.json()["validation"]["exception"] == "OData"
    camel = client.v1("GET", "/PartyContactPerson", params={"$filter": "city eq 'Oslo'"})
    assert camel.json()["success"] is False
    skip = client.v1("GET", "/Location", params={"$skip": "1"})
    assert skip.json()["success"] is False and "$top" in skip.json()["validation"]["summary"]
    paged = client.v1("GET", "/Currency", params={"$orderby": "Code", "$top": "2", "$skip": "2"}).json()
    assert paged["count"] == 6 and [c["code"] for c in paged["data"]] == ["GBP", "NOK"]


def test_v1_post_is_an_upsert_that_replaces_the_record(client: Client) -> None:
    created = client.v1("POST", "/Customer/101/ContactPerson", json={"firstName": "Per", "lastName": "Berg"}).json()
    assert created["success"] and created["data"]["partyCustomerCode"] == 10001
    updated = client.v1(
        "POST", "/Customer/101/ContactPerson", json={"id": 500, "firstName": "Kari", "lastName": "Dahl"}
    )
    assert updated.json()["data"]["lastName"] == "Dahl"
    assert updated.json()["data"]["city"] is None  # not sent, so replaced
    missing = client.v1("POST", "/Customer/101/ContactPerson", json={"firstName": "Kari"})
    assert missing.status_code == 200 and missing.json()["success"] is False
    bad_email = client.v1(
        "POST", "/Customer/101/ContactPerson", json={"firstName": "A", "lastName": "B", "emailAddress": "a@b"}
    )
    assert bad_email.status_code == 200 and bad_email.content == b""


# ------------------------------------------------------------------------------------------------ state


def test_dump_and_load_keep_records_and_sequences(client: Client, tmp_path: Path) -> None:
    client.v2("POST", "/Customers", json={"Name": "Gamma AS"})
    state = tmp_path / "state.json"
    client.emu.dump(state)
    again = PowerOfficeEmulator(clock=client.emu.clock)
    again.load(state)
    assert again.records("Customers") == client.emu.records("Customers")
    assert again.records("SalesOrders")[0]["SalesOrderLines"][0]["ProductId"] == 42
    assert again.store.next_number(again_resource("Customers")) == 12002


def again_resource(name: str) -> Any:
    from reconcile.sandbox.poweroffice.model import RESOURCES

    return RESOURCES[name]
