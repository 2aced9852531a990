"""The PowerOffice Go emulator's store on its own: the shared contact sequence, stamps that always move on,
order lines completed and priced as Go does, and a state that survives a round trip."""

from __future__ import annotations

import pytest

from reconcile.model.clock import FakeClock
from reconcile.sandbox.poweroffice.model import RESOURCES
from reconcile.sandbox.poweroffice.problem import ApiProblem
from reconcile.sandbox.poweroffice.store import PowerOfficeStore
from reconcile.sandbox.poweroffice.ticks import TICKS_PER_SECOND, parse_ticks


def test_contacts_share_one_sequence_and_numbers_have_their_own() -> None:
    store = PowerOfficeStore(FakeClock())
    customer = store.add("Customers", {"Name": "Acme AS"})
    supplier = store.add("Suppliers", {"Name": "Beta AS"})
    employee = store.add("Employees", {"FirstName": "Ola", "LastName": "Nordmann"})
    assert (customer, supplier, employee) == ("1000001", "1000002", "1000003")
    assert store.records["Customers"][customer]["Number"] == 10000
    assert store.records["Suppliers"][supplier]["Number"] == 20000
    store.add("Customers", {"Id": 1000010, "Number": 10500, "Name": "Seeded AS"})
    assert store.next_id(RESOURCES["Customers"]) == 1000011  # past the seeded id
    assert store.next_number(RESOURCES["Customers"]) == 10501


def test_a_currency_needs_a_code() -> None:
    with pytest.raises(ApiProblem, match="A code is required"):
        PowerOfficeStore(FakeClock()).next_id(RESOURCES["Currencies"])


def test_stamps_move_on_even_when_the_clock_does_not() -> None:
    clock = FakeClock()
    store = PowerOfficeStore(clock)
    first, second = store.now_ticks(), store.now_ticks()
    assert first == int(clock.now() * TICKS_PER_SECOND) and second == first + 1
    record_id = store.add("Customers", {"Name": "Acme AS", "MailAddress": {"City": "Oslo"}})
    before = store.records["Customers"][record_id]["LastChangedDateTimeOffset"]
    changed = store.modify("Customers", record_id, {"MailAddress.City": "Bergen"})
    assert parse_ticks(changed["LastChangedDateTimeOffset"]) > parse_ticks(before)
    assert changed["MailAddress"]["City"] == "Bergen" and changed["MailAddress"]["Id"] is not None


def test_order_lines_take_the_products_defaults_and_are_priced() -> None:
    store = PowerOfficeStore(FakeClock())
    store.add("VatCodes", {"Id": 3, "Code": "3", "Rate": 0.25})
    store.add("Customers", {"Id": 101, "Number": 10001, "Name": "Acme AS"})
    store.add("Products", {"Id": 42, "Code": "BA-12", "Name": "Big blue box", "UnitPrice": 200.0})
    lines = [{"ProductId": 42, "Quantity": 2, "Allowance": 10}]
    order_id = store.add("SalesOrders", {"CustomerId": 101, "SalesOrderLines": lines})
    order = store.records["SalesOrders"][order_id]
    [line] = order["SalesOrderLines"]
    assert (line["Description"], line["ProductCode"], line["SalesOrderId"]) == ("Big blue box", "BA-12", order_id)
    assert (line["NetAmount"], line["VatAmount"], line["TotalAmount"]) == (360.0, 90.0, 450.0)
    assert (order["CustomerNo"], order["LineCount"], order["TotalAmount"]) == (10001, 1, 450.0)


def test_the_state_survives_a_round_trip() -> None:
    store = PowerOfficeStore(FakeClock())
    store.add("Customers", {"Name": "Acme AS"})
    again = PowerOfficeStore(FakeClock())
    again.restore(store.state(), "state.json")
    assert again.records == store.records and again.sequences == store.sequences
    assert again.last_ticks == store.last_ticks
    with pytest.raises(ValueError, match=r"state\.json: not a PowerOffice emulator state file"):
        again.restore({"format": "something else"}, "state.json")
