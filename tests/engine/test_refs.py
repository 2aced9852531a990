"""References and order (step 5): ref values go through links; children wait for parents or name them."""

from __future__ import annotations

from reconcile.engine.order import mapping_order
from reconcile.model.plan import Action, Reason
from tests.engine.world import (
    billlines,
    bills_,
    changes,
    clients,
    customers,
    flow,
    invoicelines,
    invoices,
    links,
    marked,
    orders,
    plan,
    row,
    rows_of,
    sales,
    shadows,
)

A, R = Action, Reason


def test_mappings_run_parents_first() -> None:
    assert [m.name for m in mapping_order(flow(bills=True).mappings)] == [
        "customers",
        "orders",
        "areas",
        "bills",
        "billlines",
    ]


def test_a_reference_to_a_linked_parent_holds_its_source_id_and_needs_no_wait() -> None:
    result = plan(
        flow(),
        clients({"id": 1, "name": "Ola"}),
        customers({"ID": "c1", "Name": "Ola"}),
        links(("customers", "1", "c1")),
        sale_rows=sales({"id": 10, "client": 1, "total": 80.0}),
    )
    r = row(result, "orders", "10")
    assert (r["action"], r["parents"]) == (A.CREATE, [])
    assert changes(result, "orders", "10") == {"Customer": (None, "1"), "Amount": (None, "80.0")}


def test_a_reference_through_a_link_made_in_the_same_run() -> None:
    result = plan(
        flow(),
        clients({"id": 1, "name": "Ola", "email": "ola@x.no"}),
        customers({"ID": "c1", "Name": "Ola", "Email": "ola@x.no"}),
        sale_rows=sales({"id": 10, "client": 1, "total": 80.0}),
    )
    assert row(result, "orders", "10")["parents"] == []


def test_a_linked_childs_reference_compares_through_the_links() -> None:
    """Order o10 points at c1, which is client 1: in sync. Moving the sale to client 2 updates the order."""
    link_rows = links(("customers", "1", "c1"), ("customers", "2", "c2"), ("orders", "10", "o10"))
    shadow_rows = shadows(("orders", "10", "Customer", "1"), ("orders", "10", "Amount", "80.0"))
    two_clients = clients({"id": 1, "name": "Ola"}, {"id": 2, "name": "Kari"})
    two_customers = customers({"ID": "c1", "Name": "Ola"}, {"ID": "c2", "Name": "Kari"})
    order = orders({"ID": "o10", "Customer": "c1", "Amount": 80.0})
    same = plan(
        flow(), two_clients, two_customers, link_rows, shadow_rows, sales({"id": 10, "client": 1, "total": 80}), order
    )
    assert rows_of(same, "orders") == [("10", A.IN_SYNC, R.IN_SYNC)]
    moved = plan(
        flow(), two_clients, two_customers, link_rows, shadow_rows, sales({"id": 10, "client": 2, "total": 80}), order
    )
    assert rows_of(moved, "orders") == [("10", A.UPDATE_TARGET, R.SOURCE_CHANGED)]
    assert changes(moved, "orders", "10") == {"Customer": ("1", "2")}


def test_a_reference_to_an_unlinked_target_record_is_never_written_back() -> None:
    """o10 now points at c9, which no client is linked to: the source cannot say that, so it is not told."""
    result = plan(
        flow(),
        clients({"id": 1, "name": "Ola"}),
        customers({"ID": "c1", "Name": "Ola"}, {"ID": "c9", "Name": "Nine"}),
        links(("customers", "1", "c1"), ("orders", "10", "o10")),
        shadows(("orders", "10", "Customer", "1"), ("orders", "10", "Amount", "80.0")),
        sales({"id": 10, "client": 1, "total": 80}),
        orders({"ID": "o10", "Customer": "c9", "Amount": 80.0}),
    )
    assert rows_of(result, "orders") == [("10", A.DIFFERS, R.UNLINKED_REFERENCE)]


def test_a_child_waits_for_a_parent_created_in_the_same_plan() -> None:
    result = plan(
        flow(),
        clients({"id": 2, "name": "Kari"}),
        customers(),
        sale_rows=sales({"id": 11, "client": 2, "total": 5.0}),
    )
    parent = row(result, "customers", "2")
    child = row(result, "orders", "11")
    assert parent["action"] == A.CREATE
    assert (child["action"], child["reason"]) == (A.CREATE, R.NEW_IN_SOURCE)
    assert child["parents"] == [parent["row_id"]] == ["customers|create|2|"]


def test_a_child_whose_parent_is_missing_is_rejected_naming_the_parent() -> None:
    result = plan(flow(), clients(), customers(), sale_rows=sales({"id": 13, "client": 4, "total": 5.0}))
    r = row(result, "orders", "13")
    assert (r["action"], r["reason"]) == (A.REJECT, R.PARENT_MISSING)
    assert r["detail"] == "refers to customers record 4 (Customer), which is not linked and cannot be created"


def test_a_child_whose_parent_is_ambiguous_is_rejected_as_missing() -> None:
    result = plan(
        flow(),
        clients({"id": 1, "name": "Ola", "email": "ola@x.no"}),
        customers({"ID": "c1", "Name": "Ola", "Email": "ola@x.no"}, {"ID": "c2", "Name": "O", "Email": "ola@x.no"}),
        sale_rows=sales({"id": 10, "client": 1, "total": 5.0}),
    )
    assert rows_of(result, "orders") == [("10", A.REJECT, R.PARENT_MISSING)]


def test_a_child_whose_parent_is_rejected_is_rejected_too() -> None:
    result = plan(flow(), clients({"id": 3, "name": None}), customers(), sale_rows=sales({"id": 12, "client": 3}))
    assert rows_of(result, "customers") == [("3", A.REJECT, R.MISSING_REQUIRED)]
    r = row(result, "orders", "12")
    assert (r["action"], r["reason"]) == (A.REJECT, R.PARENT_REJECTED)
    assert "customers record 3" in r["detail"]


def test_an_update_that_moves_a_child_to_a_new_parent_waits_for_it() -> None:
    result = plan(
        flow(),
        clients({"id": 1, "name": "Ola"}, {"id": 2, "name": "Kari"}),
        customers({"ID": "c1", "Name": "Ola"}),
        links(("customers", "1", "c1"), ("orders", "10", "o10")),
        shadows(
            ("customers", "1", "Name", "Ola"), ("orders", "10", "Customer", "1"), ("orders", "10", "Amount", "5.0")
        ),
        sales({"id": 10, "client": 2, "total": 5.0}),
        orders({"ID": "o10", "Customer": "c1", "Amount": 5.0}),
    )
    r = row(result, "orders", "10")
    assert (r["action"], r["parents"]) == (A.UPDATE_TARGET, ["customers|create|2|"])


def test_embedded_lines_wait_for_their_parent() -> None:
    result = plan(
        flow(bills=True),
        clients(),
        customers(),
        extra={
            ("crm", "Bill"): bills_({"id": "b1", "number": "1"}),
            ("crm", "BillLine"): billlines(
                {"id": "l1", "bill": "b1", "text": "x"}, {"id": "l2", "bill": "b1", "text": "y"}
            ),
        },
    )
    assert rows_of(result, "bills") == [("b1", A.CREATE, R.NEW_IN_SOURCE)]
    assert rows_of(result, "billlines") == [("l1", A.CREATE, R.NEW_IN_SOURCE), ("l2", A.CREATE, R.NEW_IN_SOURCE)]
    assert row(result, "billlines", "l1")["parents"] == ["bills|create|b1|"]


def test_a_parent_whose_lines_all_fail_is_rejected_for_no_children() -> None:
    """b2 has no line at all; b4's only line has no text (required); b1 keeps its one good line."""
    result = plan(
        flow(bills=True),
        clients(),
        customers(),
        extra={
            ("crm", "Bill"): bills_(
                {"id": "b1", "number": "1"}, {"id": "b2", "number": "2"}, {"id": "b4", "number": "4"}
            ),
            ("crm", "BillLine"): billlines(
                {"id": "l1", "bill": "b1", "text": "x"},
                {"id": "l2", "bill": "b1", "text": None},
                {"id": "l4", "bill": "b4", "text": None},
            ),
        },
    )
    assert rows_of(result, "bills") == [
        ("b1", A.CREATE, R.NEW_IN_SOURCE),
        ("b2", A.REJECT, R.NO_CHILDREN),
        ("b4", A.REJECT, R.NO_CHILDREN),
    ]
    assert row(result, "bills", "b2")["detail"] == "Invoice must be created with at least one InvoiceLine line"
    assert rows_of(result, "billlines") == [
        ("l1", A.CREATE, R.NEW_IN_SOURCE),
        ("l2", A.REJECT, R.MISSING_REQUIRED),
        ("l4", A.REJECT, R.MISSING_REQUIRED),
    ]


def test_the_lines_of_a_rejected_parent_are_rejected() -> None:
    result = plan(
        flow(bills=True),
        clients(),
        customers(),
        extra={
            ("crm", "Bill"): bills_({"id": "b3", "number": None}),
            ("crm", "BillLine"): billlines({"id": "l3", "bill": "b3", "text": "y"}),
        },
    )
    assert rows_of(result, "bills") == [("b3", A.REJECT, R.MISSING_REQUIRED)]
    assert rows_of(result, "billlines") == [("l3", A.REJECT, R.PARENT_REJECTED)]


def test_a_line_added_to_a_linked_parent_needs_no_wait() -> None:
    result = plan(
        flow(bills=True),
        clients(),
        customers(),
        links(("bills", "b1", "i1")),
        shadows(("bills", "b1", "Number", "1")),
        extra={
            ("crm", "Bill"): bills_({"id": "b1", "number": "1"}),
            ("crm", "BillLine"): billlines({"id": "l9", "bill": "b1", "text": "new"}),
            ("books", "Invoice"): invoices({"ID": "i1", "Number": "1"}),
        },
    )
    assert rows_of(result, "bills") == [("b1", A.IN_SYNC, R.IN_SYNC)]
    assert row(result, "billlines", "l9")["parents"] == []


def test_a_line_moved_to_a_parent_that_cannot_be_created_is_rejected() -> None:
    """Line l1 moves from invoice i1 to bill b2, which is new and has no line to be created with."""
    result = plan(
        flow(bills=True),
        clients(),
        customers(),
        links(("bills", "b1", "i1"), ("billlines", "l1", "il1")),
        shadows(("bills", "b1", "Number", "1"), ("billlines", "l1", "Invoice", "b1"), ("billlines", "l1", "Text", "x")),
        extra={
            ("crm", "Bill"): bills_({"id": "b1", "number": "1"}, {"id": "b2", "number": "2"}),
            ("crm", "BillLine"): billlines({"id": "l1", "bill": "b2", "text": "x"}),
            ("books", "Invoice"): invoices({"ID": "i1", "Number": "1"}),
            ("books", "InvoiceLine"): invoicelines({"ID": "il1", "Invoice": "i1", "Text": "x"}),
        },
    )
    assert rows_of(result, "bills") == [("b1", A.IN_SYNC, R.IN_SYNC), ("b2", A.REJECT, R.NO_CHILDREN)]
    r = row(result, "billlines", "l1")
    assert (r["action"], r["reason"]) == (A.REJECT, R.PARENT_REJECTED)
    assert r["detail"] == "the record it belongs to cannot be created"


def test_a_parent_whose_source_record_is_gone_is_no_parent() -> None:
    """Client 1 is deleted in the crm (its customer c1 is planned as deleted): sale 10 cannot point at it."""
    result = plan(
        flow(delete="propagate"),
        clients(),
        customers({"ID": "c1", "Name": "Ola"}),
        links(("customers", "1", "c1")),
        shadows(("customers", "1", "Name", "Ola")),
        sales({"id": 10, "client": 1, "total": 5.0}),
    )
    assert rows_of(result, "customers") == [("1", A.DELETE, R.SOURCE_DELETED)]
    assert rows_of(result, "orders") == [("10", A.REJECT, R.PARENT_MISSING)]


def test_a_parent_whose_target_record_is_gone_is_no_parent() -> None:
    result = plan(
        flow(),
        clients({"id": 1, "name": "Ola"}),
        customers(),
        links(("customers", "1", "c1")),
        shadows(("customers", "1", "Name", "Ola")),
        sales({"id": 10, "client": 1, "total": 5.0}),
    )
    assert rows_of(result, "customers") == [("1", A.DELETE, R.TARGET_DELETED)]
    assert rows_of(result, "orders") == [("10", A.REJECT, R.PARENT_MISSING)]


def test_a_child_of_a_parent_the_flow_cannot_create_is_structural_too() -> None:
    result = plan(
        flow(),
        clients({"id": 1, "name": "Ola"}),
        customers(),
        sale_rows=sales({"id": 10, "client": 1, "total": 80.0}),
        catalogues=marked("Customer", "Segment", required=True),
    )
    r = row(result, "orders", "10")
    assert (r["action"], r["reason"], r["structural"]) == (A.REJECT, R.PARENT_REJECTED, True)


def test_a_child_of_a_parent_refused_for_its_own_values_is_not_structural() -> None:
    result = plan(
        flow(),
        clients({"id": 1, "name": "Ola", "email": "not-an-email"}),
        customers(),
        sale_rows=sales({"id": 10, "client": 1, "total": 80.0}),
    )
    r = row(result, "orders", "10")
    assert (r["action"], r["reason"], r["structural"]) == (A.REJECT, R.PARENT_REJECTED, False)
