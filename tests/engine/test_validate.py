"""Validation (step 7): rows the plan would write that the target would refuse become rejects."""

from __future__ import annotations

import polars as pl

from reconcile.model.plan import Action, Reason
from reconcile.validate import validate_rows
from tests.engine.world import BOOKS, CRM, clients, customers, flow, links, plan, row, rows_of, shadows

A, R = Action, Reason


def test_a_missing_required_field_names_the_field() -> None:
    result = plan(flow(), clients({"id": 1, "email": "ola@x.no"}), customers())
    r = row(result, "customers", "1")
    assert (r["action"], r["reason"]) == (A.REJECT, R.MISSING_REQUIRED)
    assert r["detail"] == "Name is required and has no value"


def test_invalid_values_name_the_field_and_the_value() -> None:
    result = plan(
        flow(),
        clients(
            {"id": 1, "name": "Ola", "email": "ola at x.no"},
            {"id": 2, "name": "Kari Nordmann Olsen Berg Hansen"},
            {"id": 3, "name": "Per", "born": "17.05.1980"},
            {"id": 4, "name": "Liv", "born": "1980-13-01", "country": "Norway"},
        ),
        customers(),
    )
    assert rows_of(result, "customers") == [(str(i), A.REJECT, R.INVALID_VALUE) for i in range(1, 5)]
    assert row(result, "customers", "1")["detail"] == 'Email "ola at x.no" is not an email address'
    assert row(result, "customers", "2")["detail"] == (
        'Name "Kari Nordmann Olsen Berg Hansen" is longer than 20 characters'
    )
    assert row(result, "customers", "3")["detail"] == 'BirthDate "17.05.1980" is not a date (YYYY-MM-DD)'
    detail = row(result, "customers", "4")["detail"]
    assert 'BirthDate "1980-13-01" is not a date (YYYY-MM-DD)' in detail
    assert 'Country "NORWAY" is not a two-letter country code' in detail


def test_missing_and_invalid_together_are_invalid_and_say_both() -> None:
    result = plan(flow(), clients({"id": 1, "email": "nope"}), customers())
    r = row(result, "customers", "1")
    assert (r["action"], r["reason"]) == (A.REJECT, R.INVALID_VALUE)
    assert "Name is required and has no value" in r["detail"]
    assert 'Email "nope" is not an email address' in r["detail"]


def test_valid_rows_are_untouched() -> None:
    result = plan(
        flow(),
        clients({"id": 1, "name": "Ola", "email": "ola@x.no", "born": "1980-05-17", "country": "no"}),
        customers(),
    )
    the_flow = flow()
    rows = result.rows.filter(pl.col("mapping") == "customers")
    again = validate_rows(rows, the_flow.mapping("customers"), CRM.entities["Client"], BOOKS.entities["Customer"])
    assert again.equals(rows)
    assert rows_of(result, "customers") == [("1", A.CREATE, R.NEW_IN_SOURCE)]


def test_an_invalid_update_is_rejected_and_the_valid_one_goes_on() -> None:
    result = plan(
        flow(),
        clients({"id": 1, "name": "Ola", "email": "bad"}, {"id": 2, "name": "Kari", "email": "kari@y.no"}),
        customers({"ID": "c1", "Name": "Ola", "Email": "ola@x.no"}, {"ID": "c2", "Name": "Kari", "Email": "k@x.no"}),
        links(("customers", "1", "c1"), ("customers", "2", "c2")),
        shadows(("customers", "1", "Email", "ola@x.no"), ("customers", "2", "Email", "k@x.no")),
    )
    assert rows_of(result, "customers") == [("1", A.REJECT, R.INVALID_VALUE), ("2", A.UPDATE_TARGET, R.SOURCE_CHANGED)]
    assert row(result, "customers", "1")["detail"] == 'Email "bad" is not an email address'


def test_an_update_that_would_blank_a_required_field_is_rejected() -> None:
    result = plan(
        flow(blank_overwrites=True),
        clients({"id": 1, "name": None, "email": "ola@x.no"}),
        customers({"ID": "c1", "Name": "Ola", "Email": "ola@x.no"}),
        links(("customers", "1", "c1")),
        shadows(("customers", "1", "Name", "Ola"), ("customers", "1", "Email", "ola@x.no")),
    )
    r = row(result, "customers", "1")
    assert (r["action"], r["reason"]) == (A.REJECT, R.MISSING_REQUIRED)
    assert r["detail"] == "Name is required and would be blanked"


def test_references_are_not_held_to_the_target_fields_format() -> None:
    """A reference holds the parent's source id until apply translates it: no guid check on "1"."""
    result = plan(
        flow(),
        clients({"id": 1, "name": "Ola"}),
        customers({"ID": "c1", "Name": "Ola"}),
        links(("customers", "1", "c1")),
        sale_rows=pl.DataFrame({"id": [10], "client": [1], "total": [5.0]}),
    )
    assert rows_of(result, "orders") == [("10", A.CREATE, R.NEW_IN_SOURCE)]
