"""Projection: each source row in the target's shape, canonical on both sides (DESIGN "The run", step 2)."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

import polars as pl

from reconcile.engine.normalize import comparable
from reconcile.engine.project import LABEL, MODIFIED, project_source, project_target
from tests.engine.world import BOOKS, CRM, clients, customers, flow, links, orders, sales

CLIENT, CUSTOMER = CRM.entities["Client"], BOOKS.entities["Customer"]
SALE, ORDER = CRM.entities["Sale"], BOOKS.entities["Order"]


def test_source_rows_in_the_targets_shape() -> None:
    mapping = flow().mapping("customers")
    frame = project_source(
        clients(
            {
                "id": 1,
                "name": " Ola Nordmann ",
                "email": "ola@example.no",
                "born": "1980-05-17T00:00:00",
                "country": "no",
                "changed": "2024-03-01T10:00:00+01:00",
                "code": "",
            }
        ),
        mapping,
        CLIENT,
        CUSTOMER,
    )
    assert frame.row(0, named=True) == {
        "__id": "1",
        MODIFIED: dt.datetime(2024, 3, 1, 9, 0),
        LABEL: "Ola Nordmann ola@example.no",
        "p:Name": " Ola Nordmann ",  # plain text as it was written: the spaces around it are data
        "p:Email": "ola@example.no",
        "p:BirthDate": "1980-05-17",
        "p:Country": "NO",  # a dotted path into the address struct, upper-cased as a country code
        "p:Code": None,  # a blank is null
        "m:0:0": "ola@example.no",
    }


def test_target_rows_compare_equal_to_the_source_rows_they_mean() -> None:
    mapping = flow().mapping("customers")
    source = project_source(
        clients({"id": 1, "name": "Ola", "born": "1980-05-17T00:00:00", "country": "no"}), mapping, CLIENT, CUSTOMER
    )
    target = project_target(
        customers({"ID": "c1", "Name": "Ola ", "BirthDate": dt.date(1980, 5, 17), "Country": "NO"}),
        mapping,
        CUSTOMER,
        {},
    )
    columns = [comparable(pl.col(c)) for c in ("p:Name", "p:BirthDate", "p:Country", "p:Email")]
    assert source.select(columns).row(0) == target.select(columns).row(0) == ("Ola", "1980-05-17", "NO", None)
    assert target["p:Name"].to_list() == ["Ola "]  # compared without the space, kept as the target wrote it
    assert target["__id"].to_list() == ["c1"]


def test_numbers_as_text_and_as_floats_compare_equal() -> None:
    mapping = flow().mapping("orders")
    source = project_source(sales({"id": 1, "client": 7, "total": 80.0}), mapping, SALE, ORDER)
    target = project_target(pl.DataFrame({"ID": ["o1"], "Customer": ["c7"], "Amount": ["80"]}), mapping, ORDER, {})
    assert source["p:Amount"].to_list() == target["p:Amount"].to_list() == ["80.0"]


def test_one_source_field_may_feed_several_target_fields() -> None:
    mapping = flow(extra=({"source": "name", "target": "Segment"},)).mapping("customers")
    frame = project_source(clients({"id": 1, "name": "Ola"}), mapping, CLIENT, CUSTOMER)
    assert frame.select("p:Name", "p:Segment").row(0) == ("Ola", "Ola")


def test_a_path_that_does_not_exist_reads_as_null() -> None:
    mapping = flow(extra=({"source": "address.street", "target": "Segment"},)).mapping("customers")
    frame = project_source(clients({"id": 1, "name": "Ola"}), mapping, CLIENT, CUSTOMER)
    assert frame["p:Segment"].to_list() == [None]


def test_records_without_an_id_are_left_out() -> None:
    mapping = flow().mapping("customers")
    frame = project_source(
        clients({"id": None, "name": "Nobody"}, {"id": 2, "name": "Kari"}), mapping, CLIENT, CUSTOMER
    )
    assert frame["__id"].to_list() == ["2"]


def test_references_hold_the_source_id_on_both_sides() -> None:
    """The target's customer id is translated back through the customers links; an unlinked one can't match."""
    mapping = flow().mapping("orders")
    source = project_source(sales({"id": 10, "client": 1, "total": 5.0}), mapping, SALE, ORDER)
    target = project_target(
        orders({"ID": "o1", "Customer": "c1"}, {"ID": "o2", "Customer": "c9"}, {"ID": "o3"}),
        mapping,
        ORDER,
        {"customers": links(("customers", "1", "c1")).select("source_id", "target_id")},
    )
    assert source["p:Customer"].to_list() == ["1"]
    assert target["p:Customer"].to_list() == ["1", "target:c9", None]


def test_modified_times_in_any_iso_shape_are_utc() -> None:
    mapping = flow().mapping("customers")
    frame = project_target(
        customers(
            {"ID": "c1", "Modified": "2024-03-01T10:00:00"},
            {"ID": "c2", "Modified": "2024-03-01T10:00:00Z"},
            {"ID": "c3", "Modified": "2024-03-01 11:00:00+01:00"},
            {"ID": "c4", "Modified": "yesterday"},
        ),
        mapping,
        CUSTOMER,
        {},
    )
    ten = dt.datetime(2024, 3, 1, 10, 0)
    assert frame[MODIFIED].to_list() == [ten, ten, ten, None]


def test_a_label_prefers_the_fields_a_person_knows_a_record_by() -> None:
    from reconcile.engine.project import LABEL

    the_flow = flow()
    mapping = the_flow.mapping("customers")
    reordered = type(mapping)(
        name=mapping.name,
        source=mapping.source,
        target=mapping.target,
        properties=tuple(sorted(mapping.properties, key=lambda p: p.target != "Country")),
    )
    frame = project_source(
        clients({"id": 1, "name": "Kari", "email": "kari@x.no", "country": "NO"}), reordered, CLIENT, CUSTOMER
    )
    assert frame[LABEL].to_list() == ["Kari kari@x.no"]  # not the country, though it comes first


def test_text_is_nfc_normalised_but_a_key_stays_as_the_system_wrote_it() -> None:
    """Issue 9, item 5: values compare NFC-normalised; a key is how a write finds the record, so it is kept."""
    mapping = flow().mapping("customers")
    target = customers({"ID": "A\u030a-1", "Name": "A\u030ase"})
    frame = project_target(target, mapping, CUSTOMER, {})
    assert frame.select("__id", "p:Name").row(0) == ("A\u030a-1", "\u00c5se")


def test_an_entity_without_label_fields_keeps_the_mappings_label() -> None:
    """Only an entity that lists its ``label`` fields is named by them; the rest keep the mapping's name fields."""
    mapping = flow().mapping("customers")
    records = clients({"id": 1, "name": "Kari", "email": "kari@x.no", "code": "K1"})
    assert CLIENT.label == ()
    assert project_source(records, mapping, CLIENT, CUSTOMER)[LABEL].to_list() == ["Kari kari@x.no"]
    labelled = replace(CLIENT, label=("code", "name"))
    assert project_source(records, mapping, labelled, CUSTOMER)[LABEL].to_list() == ["K1, Kari"]


def test_a_record_whose_label_fields_are_all_blank_is_named_by_the_mappings_fields() -> None:
    """Only the records a labelled entity leaves unnamed fall back on the mapping's name fields; the rest keep
    their label, in their order."""
    mapping = flow().mapping("customers")
    records = clients(
        {"id": 1, "name": "Kari", "email": "kari@x.no", "code": "K1"},
        {"id": 2, "name": "Ola", "email": "ola@x.no", "code": " "},
        {"id": 3, "name": None, "email": None, "code": None},
        {"id": 4, "name": "Per", "email": None, "code": "P4"},
    )
    labelled = replace(CLIENT, label=("code",))
    frame = project_source(records, mapping, labelled, CUSTOMER, raw=True)
    assert frame[LABEL].to_list() == ["K1", "Ola ola@x.no", None, "P4"]
