"""The PowerOffice Go connector against its emulator over real HTTP, on a fake clock.

The seed holds three to five records of every entity flow 1 reads; pages of two make every read take
several pages. Persons and companies share the customer and supplier endpoints; order 1 has two lines
and order 2 one.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from reconcile.config.catalogue import parse_catalogue
from reconcile.errors import AuthError, RemoteError
from reconcile.model.clock import FakeClock
from reconcile.sandbox.openers import system_for_emulator
from reconcile.sandbox.poweroffice.emulator import PowerOfficeEmulator
from reconcile.sandbox.server import serve
from reconcile.systems.base import System, WriteKind, WriteOp
from reconcile.systems.catalogues import builtin_catalogue
from reconcile.systems.poweroffice.connector import PowerOfficeSystem

ORDER_1 = "3fa85f64-5717-4562-b3fc-2c963f66afa6"
ORDER_2 = "0e7b2d3c-1111-4c2d-9e8f-000000000002"


def _address(city: str) -> dict[str, Any]:
    return {"AddressLine1": "Storgata 1", "ZipCode": "0155", "City": city, "CountryCode": "NO"}


SEED: dict[str, list[dict[str, Any]]] = {
    "Customers": [
        {"Id": 101, "Name": "Acme AS", "MailAddress": _address("Oslo"), "WebsiteUrl": "https://acme.no"},
        {"Id": 102, "Name": "Beta AS", "MailAddress": _address("Bergen")},
        {"Id": 103, "Name": "Gamma AS"},
        {
            "Id": 104,
            "IsPerson": True,
            "FirstName": "Ola",
            "LastName": "Nordmann",
            "DateOfBirth": "1980-05-17T00:00:00",
            "MailAddress": _address("Oslo"),
            "LastChangedDateTimeOffset": "2024-05-13T12:34:56.1234567+02:00",
        },
        {"Id": 105, "IsPerson": True, "FirstName": "Kari", "LastName": "Hansen", "DateOfBirth": "1975-01-02"},
        {"Id": 106, "IsPerson": True, "FirstName": "Per", "LastName": "Berg"},
    ],
    "Suppliers": [
        {"Id": 201, "Name": "Leverandør AS"},
        {"Id": 202, "IsPerson": True, "FirstName": "Siri", "LastName": "Lie", "DateOfBirth": "1990-03-04"},
        {"Id": 203, "IsPerson": True, "FirstName": "Jon", "LastName": "Moe"},
        {"Id": 204, "IsPerson": True, "FirstName": "Ane", "LastName": "Dal"},
    ],
    "Employees": [
        {"Id": 301, "FirstName": "Eva", "LastName": "Ek", "DateOfBirth": "1985-06-07", "DepartmentId": 1},
        {"Id": 302, "FirstName": "Tor", "LastName": "Ås"},
        {"Id": 303, "FirstName": "Liv", "LastName": "Ro"},
    ],
    "Departments": [
        {"Id": 1, "Code": "10", "Name": "Salg", "IsActive": True},
        {"Id": 2, "Code": "20", "Name": "Innkjøp", "IsActive": True},
        {"Id": 3, "Code": "30", "Name": "Lager", "IsActive": False},
    ],
    "Products": [
        {"Id": 41, "Code": "A-1", "Name": "Small box", "UnitPrice": 99.0, "UnitCost": 40.0},
        {"Id": 42, "Code": "BA-12", "Name": "Big blue box", "UnitPrice": 199.0, "UnitCost": 80.5},
        {"Id": 43, "Code": "S-1", "Name": "Support", "ProductType": "Service", "UnitPrice": 900.0},
    ],
    "SalesOrders": [
        {
            "Id": ORDER_1,
            "CustomerId": 101,
            "CurrencyCode": "EUR",
            "SalesOrderDate": "2024-05-13T00:00:00",
            "SalesOrderLines": [{"ProductId": 42, "Quantity": 2}, {"ProductId": 41, "Quantity": 1}],
        },
        {
            "Id": ORDER_2,
            "CustomerId": 102,
            "SalesOrderDate": "2024-06-01",
            "SalesOrderLines": [{"ProductId": 43, "Quantity": 3}],
        },
        {"CustomerId": 103, "SalesOrderDate": "2024-06-02"},
    ],
    "ContactPersons": [
        {
            "id": 501,
            "partyId": 101,
            "firstName": "Kari",
            "lastName": "Nordmann",
            "city": "Oslo",
            "address1": "Storgata 1",
            "residenceCountryCode": "NO",
            "dateOfBirth": "1980-05-17",
        },
        {"id": 502, "partyId": 101, "firstName": "Nils", "lastName": "Bakke"},
        {"id": 503, "partyId": 102, "firstName": "Rita", "lastName": "Holm"},
    ],
    "Locations": [
        {"id": 1, "code": "OSL", "name": "Oslo", "isActive": True},
        {"id": 2, "code": "BGO", "name": "Bergen", "isActive": True},
        {"id": 3, "code": "TRD", "name": "Trondheim", "isActive": False},
    ],
    "Quotes": [
        {
            "id": f"9b2f0c3e-0000-4000-8000-00000000000{i}",
            "quoteNo": i,
            "customerCode": 10001,
            "quoteDate": f"2024-04-0{i}T00:00:00",
            "totalAmount": 100.0 * i,
            "lastChanged": "2024-04-01T10:00:00 +00:00",
        }
        for i in range(1, 4)
    ],
}

FLOW_1 = [
    "Customers person",
    "Departments",
    "Employees",
    "Salesorderlines",
    "Salesorders",
    "Contactperson",
    "Currency",
    "Customers",
    "Location",
    "Product",
    "Quote",
    "Suppliers person",
    "Vatcodes",
]


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def emulator(tmp_path: Path, clock: FakeClock) -> PowerOfficeEmulator:
    for name, records in SEED.items():
        (tmp_path / f"{name}.json").write_text(json.dumps(records), encoding="utf-8")
    return PowerOfficeEmulator.from_seed(tmp_path, clock=clock, token_ttl=1200)


@pytest.fixture
def url(emulator: PowerOfficeEmulator) -> Iterator[str]:
    with serve(emulator.app) as server:
        yield server.url


@pytest.fixture
def po(emulator: PowerOfficeEmulator, url: str, clock: FakeClock) -> Iterator[PowerOfficeSystem]:
    system = system_for_emulator(emulator, url, clock=clock, page_size=2)
    yield system
    system.close()


def _calls(emulator: PowerOfficeEmulator, status: int | None = None) -> list[dict[str, Any]]:
    return [r for r in emulator.requests if status is None or r["status"] == status]


# ------------------------------------------------------------------------------------------------ reads


def test_it_is_a_system(po: PowerOfficeSystem) -> None:
    assert isinstance(po, System) and po.name == "poweroffice"


@pytest.mark.parametrize("entity", FLOW_1)
def test_every_entity_of_flow_1_reads_across_pages(
    po: PowerOfficeSystem, emulator: PowerOfficeEmulator, entity: str
) -> None:
    frame = po.read(entity)
    ent = po.entity(entity)
    assert frame.columns == list(dict.fromkeys(f.split(".")[0] for f in ent.fields))
    assert frame[ent.key].dtype == pl.String and frame[ent.key].null_count() == 0
    assert frame.height >= 3
    assert frame[ent.key].n_unique() == frame.height
    pages = [r["query"] for r in emulator.requests if "PageNumber=2" in r["query"] or "%24skip=2" in r["query"]]
    assert pages, f"{entity} was read in one page"


def test_persons_are_told_from_companies(po: PowerOfficeSystem) -> None:
    companies = po.read("Customers")
    persons = po.read("Customers person")
    assert sorted(companies["Id"].to_list()) == ["101", "102", "103"]
    assert sorted(persons["Id"].to_list()) == ["104", "105", "106"]
    assert not companies["IsPerson"].any() and persons["IsPerson"].all()
    assert sorted(po.read("Suppliers person")["Id"].to_list()) == ["202", "203", "204"]
    assert po.read("Suppliers")["Id"].to_list() == ["201"]


def test_values_come_typed_with_dates_timestamps_and_structs(po: PowerOfficeSystem) -> None:
    persons = po.read("Customers person").sort("Id")
    ola = persons.row(0, named=True)
    assert ola["DateOfBirth"] == date(1980, 5, 17)  # sent as 1980-05-17T00:00:00
    stamp = ola["LastChangedDateTimeOffset"]  # 12:34:56.1234567+02:00
    assert stamp.replace(tzinfo=None) == datetime(2024, 5, 13, 10, 34, 56, 123456)
    assert persons.schema["MailAddress"] == pl.Struct(
        {
            "Id": pl.Int64,
            "AddressLine1": pl.String,
            "AddressLine2": pl.String,
            "ZipCode": pl.String,
            "City": pl.String,
            "CountryCode": pl.String,
        }
    )
    assert persons.select(pl.col("MailAddress").struct.field("City")).to_series().to_list()[0] == "Oslo"
    orders = po.read("SalesOrders")
    assert orders.schema["SalesOrderDate"] == pl.Date and orders["CustomerId"].dtype == pl.String


def test_order_lines_are_split_out_with_their_orders_id(po: PowerOfficeSystem) -> None:
    lines = po.read("SalesOrderLines")
    assert lines.height == 3
    per_order = dict(lines.group_by("sesam_SalesOrderId").len().iter_rows())
    assert per_order == {ORDER_1: 2, ORDER_2: 1}
    big = lines.filter(pl.col("ProductId") == "42").row(0, named=True)
    assert (big["sesam_SalesOrderId"], big["ProductUnitCost"], big["Quantity"]) == (ORDER_1, 80.5, 2.0)
    assert big["sesam_LastChangedDateTimeOffset"] is not None


def test_a_token_that_expires_during_a_run_is_renewed_before_it_runs_out(tmp_path: Path, clock: FakeClock) -> None:
    for name, records in SEED.items():
        (tmp_path / f"{name}.json").write_text(json.dumps(records), encoding="utf-8")
    emulator = PowerOfficeEmulator.from_seed(tmp_path, clock=clock, token_ttl=2, rate_per_second=2)
    with serve(emulator.app) as server:
        system = system_for_emulator(emulator, server.url, clock=clock, page_size=2, rate_per_second=2)
        try:
            frames = [system.read(entity) for entity in ("Customers", "SalesOrderLines", "Employees")]
        finally:
            system.close()
    assert [f.height for f in frames] == [3, 3, 3]
    assert system.api.v2_tokens.fetched >= 3  # the run outlived several 2-second tokens
    assert not _calls(emulator, 401) and not _calls(emulator, 429)


def test_a_token_revoked_mid_run_is_replaced_after_one_401(
    po: PowerOfficeSystem, emulator: PowerOfficeEmulator
) -> None:
    po.read("Departments")
    emulator.expire_tokens()
    assert po.read("Departments").height == 3
    assert len(_calls(emulator, 401)) == 1 and po.api.v2_tokens.fetched == 2


def test_429s_are_absorbed_and_the_limiter_keeps_under_ten_a_second(
    po: PowerOfficeSystem, emulator: PowerOfficeEmulator, clock: FakeClock
) -> None:
    expected = po.read("Customers")
    for _ in range(5):
        po.read("Product")
    assert not _calls(emulator, 429)  # 20 calls and more, never more than ten in a second
    emulator.force_429(3)
    assert po.read("Customers").equals(expected)
    assert len(_calls(emulator, 429)) == 3
    assert clock.slept.count(1.0) >= 3  # Retry-After: 1, honoured
    emulator.fail_next(2, 503)
    assert po.read("Customers").equals(expected)


def test_a_second_process_right_after_the_first_sends_no_call_into_a_429(
    emulator: PowerOfficeEmulator, url: str, clock: FakeClock, tmp_path: Path
) -> None:
    limits = tmp_path / "limits"
    first = system_for_emulator(emulator, url, clock=clock, page_size=2, limits_dir=limits)
    while first.calls < 10:
        first.read("Departments")  # ten calls within one second of the fake clock
    second = system_for_emulator(emulator, url, clock=clock, page_size=2, limits_dir=limits)
    try:
        assert second.read("Departments").height == 3
    finally:
        first.close()
        second.close()
    assert not _calls(emulator, 429)
    assert clock.slept and sum(clock.slept) <= 1.0


def test_a_single_500_on_a_read_is_retried_instead_of_ending_the_night(
    po: PowerOfficeSystem, emulator: PowerOfficeEmulator, clock: FakeClock
) -> None:
    expected = po.read("Customers")
    emulator.fail_next(1, 500)
    assert po.read("Customers").equals(expected)
    assert len(_calls(emulator, 500)) == 1 and clock.slept


def test_a_missing_module_subscription_names_the_privilege(
    po: PowerOfficeSystem, emulator: PowerOfficeEmulator
) -> None:
    emulator.invalid_privileges.add("SalesOrders")
    with pytest.raises(AuthError, match=r"SalesOrders.*subscription"):
        po.read("SalesOrders")


def test_a_v1_error_delivered_as_http_200_is_a_proper_error(po: PowerOfficeSystem) -> None:
    raw = builtin_catalogue("poweroffice")
    broken: dict[str, Any] = {"system": "poweroffice", "entities": {}}
    for name, ent in raw.entities.items():
        fields = {f.name: {"type": f.type} for f in ent.fields.values()}
        api = {**ent.api, "order_by": "id"} if name == "Location" else dict(ent.api)  # v1 wants PascalCase
        broken["entities"][name] = {"key": ent.key, "api": api, "fields": fields}
    po.catalogue = parse_catalogue(broken, "test")
    with pytest.raises(RemoteError, match="OData") as caught:
        po.read("Location")
    assert caught.value.status == 200


# ----------------------------------------------------------------------------------------------- writes


def test_two_creates_with_one_external_reference_are_never_linked_to_one_record(
    po: PowerOfficeSystem, emulator: PowerOfficeEmulator
) -> None:
    def customer(row: str, name: str) -> WriteOp:
        return WriteOp(WriteKind.CREATE, row, {"Name": name, "ExternalImportReference": "crm-4711"})

    first, second = po.write("Customers", [customer("a", "Delta AS"), customer("b", "Epsilon AS")])
    assert first.ok and not second.ok and second.key != first.key
    assert second.error is not None and "ExternalImportReference" in second.error
    posts = [r for r in emulator.requests if r["method"] == "POST" and r["path"].endswith("/Customers")]
    assert len(posts) == 1  # the second was refused before any call
    assert po.identity_field("Customers") == "ExternalImportReference"
    assert po.identity_field("Departments") is None


def test_an_update_patches_only_the_fields_the_op_changes(po: PowerOfficeSystem, emulator: PowerOfficeEmulator) -> None:
    before = emulator.record("Customers", 101)
    assert before is not None
    (result,) = po.write(
        "Customers",
        [WriteOp(WriteKind.UPDATE, "u1", {"MailAddress.City": "Bergen", "PhoneNumber": "+47 1"}, key="101")],
    )
    assert result.ok and result.key == "101"
    (patch,) = [r for r in emulator.requests if r["method"] == "PATCH"]
    assert patch["content_type"] == "application/json-patch+json"
    assert json.loads(patch["body"]) == [
        {"op": "add", "path": "/MailAddress/City", "value": "Bergen"},
        {"op": "replace", "path": "/PhoneNumber", "value": "+47 1"},
    ]
    after = emulator.record("Customers", 101)
    assert after is not None
    assert after["MailAddress"]["City"] == "Bergen" and after["PhoneNumber"] == "+47 1"
    unchanged = ("MailAddress", "PhoneNumber", "LastChangedDateTimeOffset")
    assert {k: v for k, v in after.items() if k not in unchanged} == {
        k: v for k, v in before.items() if k not in unchanged
    }
    assert {k: v for k, v in after["MailAddress"].items() if k not in ("City", "LastChangedDateTimeOffset")} == {
        k: v for k, v in before["MailAddress"].items() if k not in ("City", "LastChangedDateTimeOffset")
    }


def test_line_updates_find_their_order(po: PowerOfficeSystem, emulator: PowerOfficeEmulator) -> None:
    line_id = po.read("SalesOrderLines").filter(pl.col("ProductId") == "43")["Id"][0]
    (result,) = po.write("SalesOrderLines", [WriteOp(WriteKind.UPDATE, "l1", {"ProductUnitCost": 12.5}, key=line_id)])
    assert result.ok
    order = emulator.record("SalesOrders", ORDER_2)
    assert order is not None and order["SalesOrderLines"][0]["ProductUnitCost"] == 12.5


def test_creates_carry_an_identity_stamp_and_a_retried_create_finds_its_record(
    po: PowerOfficeSystem, emulator: PowerOfficeEmulator
) -> None:
    op = WriteOp(
        WriteKind.CREATE, "customers:crm-9", {"FirstName": "Liv", "LastName": "Lund", "DateOfBirth": date(1999, 1, 2)}
    )
    (first,) = po.write("Customers person", [op])
    (again,) = po.write("Customers person", [op])  # as after a crash between the call and the journal
    assert first.ok and again.ok and again.key == first.key
    created = [c for c in emulator.records("Customers") if c["LastName"] == "Lund"]
    assert len(created) == 1
    assert created[0]["IsPerson"] is True and created[0]["ExternalImportReference"] == "customers:crm-9"
    assert created[0]["DateOfBirth"] == "1999-01-02"


def test_a_sales_order_is_created_with_its_lines(po: PowerOfficeSystem, emulator: PowerOfficeEmulator) -> None:
    lines = (
        WriteOp(WriteKind.CREATE, "l1", {"ProductId": "42", "Quantity": 1.0}),
        WriteOp(WriteKind.CREATE, "l2", {"ProductId": "41", "Quantity": 4.0}),
    )
    (result,) = po.write(
        "SalesOrders",
        [
            WriteOp(
                WriteKind.CREATE,
                "o1",
                {"CustomerId": "102", "SalesOrderDate": date(2024, 7, 1), "CurrencyCode": "NOK"},
                children=lines,
            )
        ],
    )
    assert result.ok and result.key is not None and [c.ok for c in result.children] == [True, True]
    order = emulator.record("SalesOrders", result.key)
    assert order is not None and [line["Id"] for line in order["SalesOrderLines"]] == [c.key for c in result.children]
    assert order["CustomerId"] == 102


def test_deletes_report_409_as_that_rows_failure(po: PowerOfficeSystem, emulator: PowerOfficeEmulator) -> None:
    results = po.write(
        "Customers", [WriteOp(WriteKind.DELETE, "d1", key="101"), WriteOp(WriteKind.DELETE, "d2", key="103")]
    )
    assert not results[0].ok and "in use" in (results[0].error or "") and not results[0].retryable
    assert results[1].ok is False  # 103 has an order too
    person = po.write("Customers person", [WriteOp(WriteKind.DELETE, "d3", key="106")])
    assert person[0].ok and emulator.record("Customers", 106) is None


def test_refused_before_any_call(po: PowerOfficeSystem, emulator: PowerOfficeEmulator) -> None:
    results = po.write(
        "Customers",
        [
            WriteOp(WriteKind.CREATE, "r1", {"PhoneNumber": "+47"}),
            WriteOp(WriteKind.UPDATE, "r2", {"Id": "5"}, key="101"),
            WriteOp(WriteKind.CREATE, "r3", {"Name": "X", "MailAddress.City": "Oslo"}),
            WriteOp(WriteKind.UPDATE, "r4", {"Name": None}, key="101"),
            WriteOp(WriteKind.CREATE, "r5", {"Name": "X", "Colour": "red"}),
        ],
    )
    reasons = [r.error for r in results]
    assert [r.ok for r in results] == [False] * 5
    assert "needs Name" in (reasons[0] or "") and "read-only" in (reasons[1] or "")
    assert "ZipCode" in (reasons[2] or "") and "cannot be emptied" in (reasons[3] or "")
    assert "no field" in (reasons[4] or "")
    (vat,) = po.write("VatCodes", [WriteOp(WriteKind.CREATE, "v1", {"Code": "99"})])
    assert not vat.ok and "read-only" in (vat.error or "")
    assert emulator.requests == []


def test_one_bad_row_never_stops_the_others(po: PowerOfficeSystem, emulator: PowerOfficeEmulator) -> None:
    results = po.write(
        "Departments",
        [
            WriteOp(WriteKind.CREATE, "a", {"Name": "Drift", "Code": "40"}),
            WriteOp(WriteKind.CREATE, "b", {"Name": "Dup", "Code": "10"}),  # the code is taken: Go says 400
            WriteOp(WriteKind.UPDATE, "c", {"Name": "Salg og marked"}, key="1"),
            WriteOp(WriteKind.UPDATE, "d", {"Name": "Nowhere"}, key="999"),
        ],
    )
    assert [r.ok for r in results] == [True, False, True, False]
    assert "already in use" in (results[1].error or "") and "404" in (results[3].error or "")
    created = emulator.record("Departments", results[0].key)
    assert created is not None and created["IsActive"] is True  # Go's default is false


def test_v1_upserts_update_in_place_and_create(po: PowerOfficeSystem, emulator: PowerOfficeEmulator) -> None:
    results = po.write(
        "Contactperson",
        [
            WriteOp(WriteKind.UPDATE, "c1", {"city": "Bergen", "phoneNumber": "+47 2"}, key="501"),
            WriteOp(
                WriteKind.CREATE,
                "c2",
                {"partyId": "102", "firstName": "Nora", "lastName": "Vik", "dateOfBirth": date(2001, 2, 3)},
            ),
        ],
    )
    assert [r.ok for r in results] == [True, True]
    kari = emulator.record("ContactPersons", 501)
    assert kari is not None
    assert (kari["city"], kari["phoneNumber"], kari["address1"], kari["dateOfBirth"]) == (
        "Bergen",
        "+47 2",
        "Storgata 1",
        "1980-05-17",
    )
    nora = emulator.record("ContactPersons", results[1].key)
    assert nora is not None and nora["partyId"] == 102 and nora["dateOfBirth"] == "2001-02-03"
    (location,) = po.write("Location", [WriteOp(WriteKind.UPDATE, "l1", {"name": "Oslo sentrum"}, key="1")])
    assert location.ok and emulator.record("Locations", 1) == {
        "id": 1,
        "code": "OSL",
        "name": "Oslo sentrum",
        "isActive": True,
    }


def test_v1_errors_as_http_200_fail_their_row(po: PowerOfficeSystem) -> None:
    results = po.write(
        "Contactperson",
        [
            WriteOp(WriteKind.CREATE, "c1", {"partyId": "999", "firstName": "A", "lastName": "B"}),
            WriteOp(
                WriteKind.CREATE, "c2", {"partyId": "101", "firstName": "A", "lastName": "B", "emailAddress": "a@b"}
            ),
            WriteOp(WriteKind.CREATE, "c3", {"partyId": "101", "firstName": "C", "lastName": "D"}),
        ],
    )
    assert [r.ok for r in results] == [False, False, True]
    assert "v1" in (results[0].error or "") and "not found" in (results[0].error or "")
    assert "empty body" in (results[1].error or "")
