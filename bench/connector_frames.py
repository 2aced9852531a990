"""How long the Exact and PowerOffice Go connectors take to make a snapshot of N records.

Two measures per connector:

- ``frame``: the records of a read, already parsed from JSON, typed into a snapshot (Exact's
  :meth:`~reconcile.systems.exact.reader.ExactReader.frame`, PowerOffice's
  :func:`~reconcile.systems.poweroffice.wire.to_frame`), on records shaped as each emulator answers them;
  Exact once with ``/Date(ms)/`` values only and once with some dates as ISO text (as a proxy may write them);
- ``read``: a full read of the same entity through its emulator over HTTP (paging, JSON, typing), on a fake
  clock, so that the limits cost no waiting.

Sizes come from ``BENCH_CONNECTOR_SIZES`` (default 100000 for ``frame`` and 20000 for ``read``:
``frame=100000,read=20000``). Run with ``python -m bench.connector_frames``; ``BENCH_PROFILE=1`` prints a
cProfile of each ``frame`` step too.
"""

from __future__ import annotations

import cProfile
import io
import os
import pstats
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import polars as pl

from reconcile.model.clock import FakeClock
from reconcile.sandbox.exact.emulator import DEFAULT_DIVISION, SANDBOX_CLIENT_ID, SANDBOX_CLIENT_SECRET, ExactEmulator
from reconcile.sandbox.openers import system_for_emulator
from reconcile.sandbox.poweroffice.emulator import PowerOfficeEmulator
from reconcile.sandbox.server import serve
from reconcile.systems.base import System
from reconcile.systems.catalogues import builtin_catalogue
from reconcile.systems.exact.auth import store_refresh_token
from reconcile.systems.exact.connector import ExactSystem
from reconcile.systems.exact.reader import ExactReader
from reconcile.systems.poweroffice.wire import to_frame


def _sizes() -> dict[str, int]:
    sizes = {"frame": 100_000, "read": 20_000}
    for part in os.environ.get("BENCH_CONNECTOR_SIZES", "").split(","):
        if "=" in part:
            name, value = part.split("=", 1)
            sizes[name.strip()] = int(value)
    return sizes


def exact_contacts(n: int, iso_every: int = 0) -> list[dict[str, Any]]:
    """Contacts as Exact's bulk endpoint answers them; every ``iso_every``-th birth date as ISO text."""
    rows: list[dict[str, Any]] = []
    for i in range(n):
        ms = 1_767_265_200_000 + i * 60_000
        birth: Any = f"/Date({315_532_800_000 + (i % 20000) * 86_400_000})/"
        if iso_every and i % iso_every == 0:
            birth = f"19{80 + i % 20}-0{1 + i % 9}-1{i % 10}"
        rows.append(
            {
                "__metadata": {"uri": f"https://start.exactonline.nl/api/v1/1/crm/Contacts(guid'{i}')", "type": "C"},
                "ID": str(uuid.UUID(int=i)).upper(),
                "Account": str(uuid.UUID(int=i // 3)),
                "Code": f"{i // 3:>18}",
                "FirstName": f"First {i}",
                "MiddleName": None,
                "LastName": f"Last {i}",
                "FullName": f"First {i} Last {i}",
                "Email": f"p{i}@example.com",
                "BusinessEmail": None,
                "Phone": f"+31 6 {i:08}",
                "BusinessPhone": None,
                "Mobile": None,
                "BusinessMobile": None,
                "BirthDate": birth if i % 7 else None,
                "City": "Utrecht",
                "Country": "NL ",
                "Postcode": "3511 AA",
                "IsMainContact": i % 3 == 0,
                "JobTitleDescription": None,
                "Created": f"/Date({ms})/",
                "Modified": f"/Date({ms + 1000})/",
                "Division": 123456,
            }
        )
    return rows


def poweroffice_customers(n: int) -> list[dict[str, Any]]:
    """Customers as PowerOffice Go's v2 list answers them (PascalCase, seven decimals, nested address)."""
    stamp = "2026-01-01T10:00:00.1234567+00:00"
    return [
        {
            "Id": 1000 + i,
            "Number": 10000 + i,
            "Name": f"Customer {i} AS",
            "IsPerson": False,
            "LegalName": None,
            "OrganizationNumber": f"{900000000 + i}",
            "EmailAddress": f"c{i}@example.no",
            "PhoneNumber": None,
            "WebsiteUrl": None,
            "MailAddress": {
                "Id": i + 1,
                "AddressLine1": f"Gate {i}",
                "AddressLine2": None,
                "ZipCode": "0150",
                "City": "Oslo",
                "CountryCode": "NO",
                "LastChangedDateTimeOffset": stamp,
            },
            "CurrencyCode": "NOK",
            "ContactGroupIds": [],
            "ExternalImportReference": None,
            "ExternalNumber": None,
            "IsActive": True,
            "IsArchived": False,
            "IsVatFree": i % 5 == 0,
            "DepartmentId": None,
            "DepartmentCode": None,
            "ContactCreatedDateTimeOffset": stamp,
            "CustomerCreatedDateTimeOffset": stamp,
            "LastChangedDateTimeOffset": f"2026-01-0{1 + i % 9}T10:00:00.{i % 10_000_000:07}Z",
        }
        for i in range(n)
    ]


def _timed(step: Callable[[], pl.DataFrame], profile: bool) -> tuple[float, pl.DataFrame]:
    profiler = cProfile.Profile() if profile else None
    start = time.perf_counter()
    if profiler is not None:
        profiler.enable()
    frame = step()
    if profiler is not None:
        profiler.disable()
    seconds = time.perf_counter() - start
    if profiler is not None:
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(8)
        print(out.getvalue())
    return seconds, frame


def frame_steps(n: int, profile: bool = False) -> dict[str, str]:
    """The ``frame`` step of each connector on N records parsed already."""
    exact = builtin_catalogue("exact").entities["Contacts"]
    poweroffice = builtin_catalogue("poweroffice").entities["Customers"]
    reader = ExactReader(api=None)  # type: ignore[arg-type]  # frame() makes no calls
    cases: dict[str, Callable[[], pl.DataFrame]] = {}
    dated, mixed, customers = exact_contacts(n), exact_contacts(n, iso_every=10), poweroffice_customers(n)
    cases["Exact Contacts, /Date/ only"] = lambda: reader.frame(exact, dated)
    cases["Exact Contacts, a tenth of the dates ISO"] = lambda: reader.frame(exact, mixed)
    cases["PowerOffice Customers"] = lambda: to_frame(poweroffice, customers)
    results: dict[str, str] = {}
    for name, step in cases.items():
        seconds, frame = _timed(step, profile)
        results[f"frame N={n}: {name}"] = f"{seconds:.3f} s ({frame.height} rows, {frame.width} columns)"
    return results


def timed_read(system: System, entity: str, n: int) -> float:
    """Seconds ``system`` takes to read ``entity`` whole (``n`` records), over HTTP; the system is closed after."""
    start = time.perf_counter()
    frame = system.read(entity)
    seconds = time.perf_counter() - start
    system.close()
    assert frame.height == n
    return seconds


def exact_read(n: int, tmp: Path) -> float:
    clock = FakeClock()
    emulator = ExactEmulator(clock=clock, minute_limit=1_000_000, day_limit=10_000_000)
    for i in range(n):
        emulator.insert("Accounts", {"Name": f"Account {i}", "Code": str(i + 1), "City": "Utrecht", "Country": "NL "})
    with serve(emulator.app) as server:
        conn = {"base_url": server.url, "division": DEFAULT_DIVISION, "client_id": SANDBOX_CLIENT_ID}
        conn["token_file"] = tmp / "tokens.json"
        store_refresh_token(conn, emulator.issue_refresh_token())
        system = ExactSystem.from_connection(conn, clock=clock, client_secret=SANDBOX_CLIENT_SECRET)
        return timed_read(system, "Accounts", n)


def poweroffice_read(n: int) -> float:
    clock = FakeClock()
    emulator = PowerOfficeEmulator(clock=clock)
    for i in range(n):
        emulator.add("Customers", {"Id": 1000 + i, "Name": f"Customer {i}", "MailAddress": {"City": "Oslo"}})
    with serve(emulator.app) as server:
        system = system_for_emulator(emulator, server.url, clock=clock)
        return timed_read(system, "Customers", n)


def run() -> dict[str, str]:
    sizes = _sizes()
    results = frame_steps(sizes["frame"], profile=os.environ.get("BENCH_PROFILE") == "1")
    with tempfile.TemporaryDirectory() as tmp:
        results[f"read N={sizes['read']}: Exact Accounts over HTTP"] = f"{exact_read(sizes['read'], Path(tmp)):.3f} s"
    results[f"read N={sizes['read']}: PowerOffice Customers over HTTP"] = f"{poweroffice_read(sizes['read']):.3f} s"
    return results


if __name__ == "__main__":
    for key, value in run().items():
        print(f"{key:60} {value}")
