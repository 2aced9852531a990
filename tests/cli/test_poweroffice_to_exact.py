"""PowerOffice Go -> Exact Online end to end, over HTTP against both emulators, on the bundled sandbox.

Night 1 merges Departments on Code, creates what is new and settles the previous night's edits; an edit is
then made on each side through the systems' own APIs (a JSON Patch to PowerOffice, a PUT to Exact, by the
same connectors the run uses); night 2 carries each edit to the other side; night 3 finds all in sync.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from reconcile.app.nightly import RunSettings, execute
from reconcile.app.sandbox import LocalSandbox
from reconcile.sandbox.openers import open_sandbox
from reconcile.state.store import open_state
from reconcile.systems.base import WriteKind, WriteOp
from reconcile.systems.registry import Systems

FLOW = Path("flows/powerofficego-to-exact.toml")
WRITES = ("create", "update_target", "update_source")


@pytest.fixture(scope="module")
def nights(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    root = tmp_path_factory.mktemp("flow1")
    # No workbook: the nights are what is shown here; flow 1's workbook is tests/report's.
    settings = RunSettings(
        state_dir=root / "state", report_root=root / "reports", sandbox=LocalSandbox(), workbook=False
    )
    first = execute(FLOW, settings)
    with open_state(settings.state_dir) as store:
        links = store.links("powerofficego-to-exact")
    accounts = links.filter(pl.col("mapping") == "customers-accounts")
    changed = set(first.plan.filter(pl.col("action") != "in_sync")["source_id"].to_list())
    quiet = accounts.filter(~pl.col("source_id").is_in(sorted(changed))).sort("source_id")
    (po_customer, _), (_, exact_account) = quiet.select("source_id", "target_id").rows()[:2]
    with Systems(flows_dir=FLOW.parent, state_dir=settings.state_dir, sandbox=open_sandbox) as systems:
        po, exact = systems.open("poweroffice"), systems.open("exact")
        [patched] = po.write(
            "Customers", [WriteOp(WriteKind.UPDATE, "edit-po", {"PhoneNumber": "+47 400 00 001"}, key=po_customer)]
        )
        [put] = exact.write(
            "Accounts",
            [WriteOp(WriteKind.UPDATE, "edit-exact", {"Website": "https://nytt.example.nl"}, key=exact_account)],
        )
        assert patched.ok and put.ok, (patched, put)
        # Two contact persons of one company at one address: Exact keeps one address and answers both with it.
        # A contact's city in Exact is its company's, so they live in the company's city.
        account = accounts.filter(pl.col("source_id") == po_customer)["target_id"].item()
        city = exact.read("Accounts").filter(pl.col("ID") == account)["City"].item()
        shared_address = {"partyId": po_customer, "address1": "Storgata 1", "city": city, "residenceCountryCode": "NO"}
        persons = po.write(
            "Contactperson",
            [
                WriteOp(WriteKind.CREATE, "p1", {**shared_address, "firstName": "Ada", "lastName": "Berg"}),
                WriteOp(WriteKind.CREATE, "p2", {**shared_address, "firstName": "Per", "lastName": "Berg"}),
            ],
        )
        assert all(p.ok for p in persons), persons
    second = execute(FLOW, settings)
    with Systems(flows_dir=FLOW.parent, state_dir=settings.state_dir, sandbox=open_sandbox) as systems:
        exact_accounts = systems.open("exact").read("Accounts")
        po_customers = systems.open("poweroffice").read("Customers")
    third = execute(FLOW, settings)
    with open_state(settings.state_dir) as store:
        links_after = store.links("powerofficego-to-exact")
    return {
        "links_after": links_after,
        "first": first,
        "second": second,
        "third": third,
        "links": links,
        "po_customer": po_customer,
        "exact_account": exact_account,
        "exact_accounts": exact_accounts,
        "po_customers": po_customers,
        "persons": [p.key for p in persons],
    }


def _count(result: object, mapping: str, action: str) -> int:
    plan: pl.DataFrame = result.plan  # type: ignore[attr-defined]
    return plan.filter((pl.col("mapping") == mapping) & (pl.col("action") == action)).height


def test_first_night_merges_departments_on_code_and_creates_the_rest(nights: dict[str, object]) -> None:
    first = nights["first"]
    merged = first.plan.filter(  # type: ignore[attr-defined]
        (pl.col("mapping") == "departments") & (pl.col("action") == "in_sync")
    )
    assert merged.height >= 5
    links: pl.DataFrame = nights["links"]  # type: ignore[assignment]
    assert links.filter(pl.col("mapping") == "departments").height == merged.height
    assert _count(first, "customers-accounts", "create") >= 1
    assert _count(first, "salesorders", "create") >= 1
    failed = first.plan.filter(pl.col("status") == "failed")  # type: ignore[attr-defined]
    assert failed.is_empty(), failed


def test_an_edit_on_either_side_arrives_on_the_other(nights: dict[str, object]) -> None:
    second = nights["second"]
    assert _count(second, "customers-accounts", "update_target") == 1
    assert _count(second, "customers-accounts", "update_source") == 1
    links: pl.DataFrame = nights["links"]  # type: ignore[assignment]
    target_of = dict(links.filter(pl.col("mapping") == "customers-accounts").select("source_id", "target_id").rows())
    source_of = {t: s for s, t in target_of.items()}
    accounts: pl.DataFrame = nights["exact_accounts"]  # type: ignore[assignment]
    customers: pl.DataFrame = nights["po_customers"]  # type: ignore[assignment]
    phone = accounts.filter(pl.col("ID") == target_of[nights["po_customer"]])["Phone"].item()
    website = customers.filter(pl.col("Id") == source_of[nights["exact_account"]])["WebsiteUrl"].item()
    assert phone == "+47 400 00 001"
    assert website == "https://nytt.example.nl"


def test_third_night_is_in_sync_apart_from_review(nights: dict[str, object]) -> None:
    third = nights["third"]
    writes = third.plan.filter(pl.col("action").is_in(WRITES))  # type: ignore[attr-defined]
    assert writes.is_empty(), writes


def test_contact_persons_at_one_address_share_the_address_exact_gives_back(nights: dict[str, object]) -> None:
    second = nights["second"]
    persons: list[str] = nights["persons"]  # type: ignore[assignment]
    created = second.plan.filter(  # type: ignore[attr-defined]
        (pl.col("mapping") == "contactperson-addresses") & pl.col("source_id").is_in(persons)
    )
    assert created["action"].to_list() == ["create", "create"]
    assert created["status"].to_list() == ["applied", "applied"]
    assert created["write_error"].to_list() == [None, None]
    addresses = created["target_id"].to_list()
    links: pl.DataFrame = nights["links_after"]  # type: ignore[assignment]
    shared = links.filter((pl.col("mapping") == "contactperson-addresses") & pl.col("source_id").is_in(persons))
    assert shared.height == 2 and shared["target_id"].n_unique() == 1, (shared, addresses)
