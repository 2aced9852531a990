"""Guards: a shrunken snapshot stops the run before deletes are planned; per-mapping limits before writes."""

from __future__ import annotations

import polars as pl
import pytest

from reconcile.engine.guards import check_guards, check_shrink
from reconcile.errors import GuardTripped, SnapshotShrank
from reconcile.model.plan import ReviewDecision
from tests.engine.world import CATALOGUES, clients, customers, flow, links, plan, shadows, snapshots

TEN_CLIENTS = clients(*({"id": i, "name": f"C{i}"} for i in range(10)))
TEN_CUSTOMERS = customers(*({"ID": f"c{i}", "Name": f"C{i}"} for i in range(10)))


def test_an_empty_snapshot_with_links_stops_the_run() -> None:
    with pytest.raises(SnapshotShrank) as caught:
        check_shrink(flow(), snapshots(clients(), TEN_CUSTOMERS), {}, links(("customers", "1", "c1")))
    message = str(caught.value)
    assert "crm Client is empty while 1 mapping(s) hold links to it" in message
    assert "--force" in message
    assert isinstance(caught.value, GuardTripped)


def test_an_empty_snapshot_without_links_or_history_is_a_first_run() -> None:
    check_shrink(flow(), snapshots(clients(), customers()), {}, links())


def test_a_snapshot_far_below_the_last_run_stops_the_run() -> None:
    last = {("crm", "Client"): 10, ("books", "Customer"): 10}
    small = clients({"id": 1, "name": "Ola"}, {"id": 2, "name": "Kari"})
    with pytest.raises(SnapshotShrank, match=r"crm Client has 2 records; the last run saw 10 \(below 50%\)"):
        check_shrink(flow(), snapshots(small, TEN_CUSTOMERS), last, links())


def test_a_snapshot_at_the_ratio_passes() -> None:
    last = {("crm", "Client"): 10, ("books", "Customer"): 10}
    check_shrink(flow(), snapshots(TEN_CLIENTS.head(5), TEN_CUSTOMERS), last, links())


def test_force_passes_a_shrunken_snapshot() -> None:
    last = {("crm", "Client"): 10}
    check_shrink(flow(), snapshots(clients(), TEN_CUSTOMERS), last, links(("customers", "1", "c1")), force=True)


def test_each_mapping_guards_its_own_entities_with_its_own_ratio() -> None:
    """A lenient ratio on one mapping does not loosen the guard of another mapping's entities."""
    the_flow = flow(customer_options={"guards": {"shrink": 0.9}})
    last = {("crm", "Client"): 10, ("books", "Customer"): 10}
    with pytest.raises(SnapshotShrank, match=r"crm Client has 8 records; the last run saw 10 \(below 90%\)"):
        check_shrink(the_flow, snapshots(TEN_CLIENTS.head(8), TEN_CUSTOMERS), last, links())
    lenient = flow(customer_options={"guards": {"shrink": 0.1}})
    check_shrink(lenient, snapshots(TEN_CLIENTS.head(2), TEN_CUSTOMERS), last, links())


def guard_messages(guards: dict[str, object], delete: str = "report") -> list[str]:
    """Plan three creates, two updates of ten linked pairs and one delete, against the given limits."""
    the_flow = flow(delete=delete, merge=False, customer_options={"guards": guards})
    link_rows = links(*(("customers", str(i), f"c{i}") for i in range(10)), ("customers", "99", "c99"))
    source = pl.concat([TEN_CLIENTS, clients(*({"id": 20 + i, "name": f"New{i}"} for i in range(3)))])
    target = pl.concat([TEN_CUSTOMERS, customers({"ID": "c99", "Name": "Gone"})]).with_columns(
        pl.when(pl.col("ID").is_in(["c1", "c2"])).then(pl.lit("Changed")).otherwise(pl.col("Name")).alias("Name")
    )
    shadow_rows = shadows(*(("customers", str(i), "Name", f"C{i}") for i in range(10)))
    result = plan(the_flow, source, target, link_rows, shadow_rows)
    return check_guards(the_flow, result.rows, snapshots(source, target), CATALOGUES)


def test_no_limit_no_message() -> None:
    assert guard_messages({"max_delete_share": 1.0}) == []


def test_count_limits_name_the_mapping_the_count_and_the_limit() -> None:
    assert guard_messages({"max_creates": 2, "max_updates": 1, "max_deletes": 0}, delete="propagate") == [
        "mapping customers: 3 creates planned, more than the limit of 2",
        "mapping customers: 2 updates planned, more than the limit of 1",
        "mapping customers: 1 deletes planned, more than the limit of 0",
    ]


def test_deletes_that_are_only_reported_never_trip_a_guard() -> None:
    assert guard_messages({"max_deletes": 0}, delete="report") == []


def test_share_limits_name_the_share_of_the_target() -> None:
    assert guard_messages({"max_update_share": 0.1}) == [
        "mapping customers: 2 updates planned, 18% of the 11 target records (the limit is 10%)"
    ]


def test_a_plan_beyond_the_days_api_budget_trips_the_budget_guard() -> None:
    from reconcile.engine.guards import check_budget

    the_flow = flow()
    result = plan(
        the_flow, clients(*({"id": i, "name": f"K{i}", "email": f"k{i}@x.no"} for i in range(1, 6))), customers()
    )
    assert check_budget(the_flow, result.rows, {"books": 10, "crm": None}) == []
    [message] = check_budget(the_flow, result.rows, {"books": 3, "crm": None})
    assert message.startswith("books: the plan needs at least 5 calls and the API allows 3 more today")


def test_a_shrunk_snapshot_reads_as_one_message() -> None:
    error = SnapshotShrank("crm", "a snapshot shrank suspiciously:\n  crm Client is empty")
    assert str(error) == "a snapshot shrank suspiciously:\n  crm Client is empty"
    assert error.system == "crm" and error.exit_code == 3


def test_a_first_sync_that_could_make_the_targets_records_again_trips_its_guard() -> None:
    """No link of the flow yet, and customers (no merge rule) would create beside the ten the target holds."""
    from reconcile.engine.guards import check_first_sync

    the_flow = flow(merge=False)
    result = plan(the_flow, TEN_CLIENTS, TEN_CUSTOMERS)
    found = snapshots(TEN_CLIENTS, TEN_CUSTOMERS)
    assert check_first_sync(the_flow, result.rows, found, CATALOGUES, links()) == [
        "mapping customers: first sync of flow crm-to-books, and books Customer already holds 10 records; with no "
        "merge rule to find them by, 10 creates could make them again"
    ]
    # Once the flow holds a link it is not its first sync; a mapping with a merge rule finds what it can.
    assert check_first_sync(the_flow, result.rows, found, CATALOGUES, links(("customers", "0", "c0"))) == []
    merging = flow()
    assert check_first_sync(merging, plan(merging, TEN_CLIENTS, TEN_CUSTOMERS).rows, found, CATALOGUES, links()) == []


def test_creates_a_reviewer_refused_count_for_no_limit() -> None:
    """Issue 10: a remembered reject is never written, so it cannot trip a guard."""
    the_flow = flow(merge=False, customer_options={"guards": {"max_creates": 1}})
    source = clients({"id": 1, "name": "Ola"}, {"id": 2, "name": "Kari"})
    first = plan(the_flow, source, customers())
    assert check_guards(the_flow, first.rows, snapshots(source, customers()), CATALOGUES) == [
        "mapping customers: 2 creates planned, more than the limit of 1"
    ]
    memory = first.rows.filter(pl.col("source_id") == "2").select(
        "mapping",
        "row_id",
        "source_id",
        "target_id",
        pl.lit(ReviewDecision.REJECT.value).alias("decision"),
        "fingerprint",
    )
    again = plan(the_flow, source, customers(), decided=memory)
    assert check_guards(the_flow, again.rows, snapshots(source, customers()), CATALOGUES) == []
