"""A files system's writes in bulk: many changes laid over a held frame at once keep every value, every type.

The catalogue is test_connector's (Customers with an int key, typed fields and a nested MailAddress). Each
test checks what the file holds afterwards against what the changes say it must, record by record.
"""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from reconcile.errors import ConfigError
from reconcile.systems.base import WriteKind, WriteOp
from reconcile.systems.files.connector import FileFormat, FileSystem
from tests.systems.files.test_connector import CATALOGUE, FORMATS, NOW


def _system(folder: Path, file_format: FileFormat, **options: Any) -> FileSystem:
    return FileSystem("shop", CATALOGUE, folder, file_format, now=lambda: NOW, **options)


def _seed(folder: Path, file_format: FileFormat, n: int) -> dict[str, dict[str, Any]]:
    """A file of ``n`` customers; the records as a snapshot holds them, by key."""
    frame = pl.DataFrame(
        {
            "Id": list(range(1, n + 1)),
            "Name": [f"Customer {i}" for i in range(1, n + 1)],
            "BirthDate": [date(1950 + i % 50, 1 + i % 12, 1 + i % 28) for i in range(n)],
            "Balance": [i * 1.25 for i in range(n)],
            "Active": [i % 3 == 0 for i in range(n)],
            "MailAddress.City": [["Oslo", "Bergen", None][i % 3] for i in range(n)],
            "Modified": [datetime(2024, 1, 1, i % 24, tzinfo=UTC) for i in range(n)],
        }
    )
    path = folder / f"Customers.{file_format}"
    if file_format == "parquet":
        frame.write_parquet(path)
    elif file_format == "csv":
        frame.with_columns(
            pl.col("Active").replace_strict({True: "true", False: "false"}),
            pl.col("Modified").dt.to_string("%Y-%m-%dT%H:%M:%SZ"),
        ).write_csv(path)
    else:
        records = [
            {
                k: v.isoformat().replace("+00:00", "Z") if isinstance(v, date) else v
                for k, v in r.items()
                if v is not None
            }
            for r in frame.to_dicts()
        ]
        for r in records:
            if "MailAddress.City" in r:
                r["MailAddress"] = {"City": r.pop("MailAddress.City")}
        path.write_text(json.dumps(records), encoding="utf-8")
    expected = {}
    for r in frame.to_dicts():
        city = r.pop("MailAddress.City")
        expected[str(r["Id"])] = {**r, "Id": str(r["Id"]), "MailAddress": {"City": city, "CountryCode": None}}
    return expected


@pytest.mark.parametrize("file_format", FORMATS)
def test_a_large_run_of_changes_in_bulk_keeps_every_value(tmp_path: Path, file_format: FileFormat) -> None:
    expected = _seed(tmp_path, file_format, 3000)
    blank = {"Ref": None, "Created": None, "Number": None, "BirthDate": None, "Balance": None, "Active": None}
    ops: list[WriteOp] = []
    for i in range(1, 3001, 3):  # a third of the records updated
        values = {"Name": f"Changed {i}", "Balance": i / 8, "MailAddress.CountryCode": "NO"}
        ops.append(WriteOp(WriteKind.UPDATE, f"u{i}", key=str(i), values=values))
        expected[str(i)].update(Name=f"Changed {i}", Balance=i / 8, Modified=NOW)
        expected[str(i)]["MailAddress"] = {**expected[str(i)]["MailAddress"], "CountryCode": "NO"}
    for i in range(50):  # creates, one of them updated after
        ops.append(
            WriteOp(WriteKind.CREATE, f"c{i}", values={"Name": f"New {i}", "BirthDate": date(2000, 1, 1 + i % 28)})
        )
        expected[str(3001 + i)] = {
            **blank,
            "Id": str(3001 + i),
            "Name": f"New {i}",
            "BirthDate": date(2000, 1, 1 + i % 28),
            "MailAddress": {"City": None, "CountryCode": None},
            "Modified": NOW,
        }
    ops.append(WriteOp(WriteKind.UPDATE, "u-new", key="3010", values={"Active": True}))
    expected["3010"]["Active"] = True
    for i in range(7, 3001, 97):  # deletes, updated ones among them
        ops.append(WriteOp(WriteKind.DELETE, f"d{i}", key=str(i)))
        del expected[str(i)]
    ops.append(WriteOp(WriteKind.CREATE, "again", values={"Id": 7, "Name": "Seven again"}))  # a deleted key, anew
    expected["7"] = {**blank, "Id": "7", "Name": "Seven again", "MailAddress": {"City": None, "CountryCode": None}}
    expected["7"]["Modified"] = NOW

    fs = _system(tmp_path, file_format, write_once=True)
    results = [r for start in range(0, len(ops), 400) for r in fs.write("Customers", ops[start : start + 400])]
    assert all(r.ok for r in results), [r.error for r in results if not r.ok][:3]
    held = {r["Id"]: r for r in fs.read("Customers").to_dicts()}  # the run reads its own writes
    fs.flush()
    stored = {r["Id"]: r for r in _system(tmp_path, file_format).read("Customers").to_dicts()}
    assert held == stored
    assert stored.keys() == expected.keys()
    for key, record in expected.items():
        assert {k: stored[key][k] for k in record} == record, key


def test_unknown_parquet_columns_keep_their_types_and_values(tmp_path: Path) -> None:
    path = tmp_path / "Customers.parquet"
    pl.DataFrame(
        {
            "Id": pl.Series([1, 2, 3], dtype=pl.Int32),
            "Name": ["A", "B", "C"],
            "Points": pl.Series([120, None, 7], dtype=pl.Int16),
            "Tags": [["vip"], [], None],
            "Meta": [{"Level": "gold", "Since": date(2019, 1, 1)}, None, {"Level": "tin", "Since": None}],
            "Ratio": pl.Series([0.5, 1.5, None], dtype=pl.Float32),
        }
    ).write_parquet(path)
    fs = _system(tmp_path, "parquet")
    results = fs.write(
        "Customers",
        [
            WriteOp(WriteKind.UPDATE, "u", key="3", values={"Name": "See"}),
            WriteOp(WriteKind.DELETE, "d", key="2"),
            WriteOp(WriteKind.CREATE, "c", values={"Name": "D"}),
        ],
    )
    assert all(r.ok for r in results)
    stored = pl.read_parquet(path)
    assert stored.schema["Points"] == pl.Int16 and stored["Points"].to_list() == [120, 7, None]
    assert stored.schema["Tags"] == pl.List(pl.String) and stored["Tags"].to_list() == [["vip"], None, None]
    assert stored.schema["Meta.Since"] == pl.Date and stored["Meta.Level"].to_list() == ["gold", "tin", None]
    assert stored.schema["Ratio"] == pl.Float32 and stored["Ratio"].to_list() == [0.5, None, None]
    assert stored.schema["Id"] == pl.Int64 and stored["Id"].to_list() == [1, 3, 4]  # a catalogue field: its type
    assert stored["Name"].to_list() == ["A", "See", "D"]


def test_a_json_column_that_mixes_kinds_is_written_back_as_it_was(tmp_path: Path) -> None:
    path = tmp_path / "Customers.json"
    records = [
        {"Id": 1, "Name": "A", "Code": 1, "Balance": "12", "Extra": {"Deep": [1, {"x": None}]}},
        {"Id": 2, "Name": "B", "Code": "A1", "Balance": 13, "Extra": {}},
        {"Id": 3, "Name": "C", "Code": 1.5, "Balance": None},
    ]
    path.write_text(json.dumps(records), encoding="utf-8")
    fs = _system(tmp_path, "json")
    assert fs.read("Customers")["Balance"].to_list() == [12.0, 13.0, None]
    (result,) = fs.write("Customers", [WriteOp(WriteKind.UPDATE, "u", key="3", values={"Balance": 2, "Active": "ja"})])
    assert result.ok
    stored = json.loads(path.read_text(encoding="utf-8"))
    assert stored[:2] == records[:2]
    assert stored[2] == {
        "Id": 3,
        "Name": "C",
        "Code": 1.5,
        "Active": True,
        "Balance": 2.0,
        "Modified": "2024-06-01T12:00:00Z",
    }


def test_a_csv_file_with_a_byte_order_mark_reads_and_writes(tmp_path: Path) -> None:
    path = tmp_path / "Customers.csv"
    path.write_bytes("\ufeffId,Name,Active\n1,Siri,ja\n".encode())
    fs = _system(tmp_path, "csv")
    (row,) = fs.read("Customers").to_dicts()
    assert (row["Id"], row["Name"], row["Active"]) == ("1", "Siri", True)
    fs.write("Customers", [WriteOp(WriteKind.UPDATE, "u", key="1", values={"Name": "Siri H"})])
    assert path.read_bytes().startswith(b"\xef\xbb\xbfId,")  # the mark is kept
    lines = path.read_text(encoding="utf-8-sig").splitlines()
    assert lines[0].startswith("Id,Name,Active,") and lines[1].startswith("1,Siri H,ja,")


def test_a_value_that_does_not_cast_far_down_a_file_names_its_record(tmp_path: Path) -> None:
    n = 80_000
    dates = ["1990-05-17"] * n
    dates[69_999] = "17.05.1990"
    pl.DataFrame({"Id": [str(i) for i in range(1, n + 1)], "Name": ["A"] * n, "BirthDate": dates}).write_csv(
        tmp_path / "Customers.csv"
    )
    with pytest.raises(ConfigError) as caught:
        _system(tmp_path, "csv").read("Customers")
    path = tmp_path / "Customers.csv"
    assert str(caught.value) == f'{path}: record 70000: BirthDate = "17.05.1990" is not a date (YYYY-MM-DD)'


_DIES = """
import os, sys
from datetime import date
from pathlib import Path
from reconcile.systems.base import WriteKind, WriteOp
from reconcile.systems.files.connector import FileSystem
from tests.systems.files.test_connector import CATALOGUE
fs = FileSystem("shop", CATALOGUE, Path(sys.argv[1]), sys.argv[2], write_once=True)
fs.write("Customers", [
    WriteOp(WriteKind.CREATE, "c", values={"Name": "New", "BirthDate": date(2001, 2, 3), "Active": True}),
    WriteOp(WriteKind.UPDATE, "u", key="2", values={"Balance": 7.5, "MailAddress.City": "Hamar"}),
    WriteOp(WriteKind.DELETE, "d", key="3"),
])
os._exit(0)
"""


@pytest.mark.parametrize("file_format", ["csv", "parquet"])
def test_a_dead_runs_pending_log_is_laid_over_a_csv_or_parquet_file(tmp_path: Path, file_format: FileFormat) -> None:
    expected = _seed(tmp_path, file_format, 5)
    before = (tmp_path / f"Customers.{file_format}").read_bytes()
    subprocess.run([sys.executable, "-c", _DIES, str(tmp_path), file_format], check=True, cwd=Path(__file__).parents[3])
    assert (tmp_path / f"Customers.{file_format}").read_bytes() == before
    fs = _system(tmp_path, file_format, write_once=True)
    rows = {r["Id"]: r for r in fs.read("Customers").to_dicts()}
    fs.close()
    assert sorted(rows) == ["1", "2", "4", "5", "6"]
    assert (rows["6"]["Name"], rows["6"]["BirthDate"], rows["6"]["Active"]) == ("New", date(2001, 2, 3), True)
    assert (rows["2"]["Balance"], rows["2"]["MailAddress"]["City"]) == (7.5, "Hamar")
    assert rows["1"] == {**expected["1"], "Ref": None, "Created": None, "Number": None}
    after = {r["Id"]: r for r in _system(tmp_path, file_format).read("Customers").to_dicts()}
    assert after == rows


@pytest.mark.parametrize("file_format", FORMATS)
def test_a_new_record_never_takes_the_key_of_one_deleted_in_the_run(tmp_path: Path, file_format: FileFormat) -> None:
    _seed(tmp_path, file_format, 5)
    fs = _system(tmp_path, file_format, write_once=True)
    assert fs.write("Customers", [WriteOp(WriteKind.DELETE, "d", key="5")])[0].ok
    assert fs.read("Customers").height == 4  # the delete laid over the frame
    (created,) = fs.write("Customers", [WriteOp(WriteKind.CREATE, "c", values={"Name": "New"})])
    fs.close()
    assert created.key == "6"
    assert sorted(_system(tmp_path, file_format).read("Customers")["Id"].to_list()) == ["1", "2", "3", "4", "6"]


@pytest.mark.parametrize("file_format", FORMATS)
def test_the_live_keys_are_made_when_a_write_asks_and_follow_every_change(
    tmp_path: Path, file_format: FileFormat
) -> None:
    from reconcile.systems.files.table import load_table

    _seed(tmp_path, file_format, 5)
    entity = CATALOGUE.entity("Customers")
    assert entity is not None
    table = load_table(tmp_path / f"Customers.{file_format}", file_format, entity)
    assert table.snapshot().height == 5 and table._live is None  # a read never makes the set
    table.remove("2")
    table.add("9", {"Id": 9, "Name": "New"})
    assert table.live == {"1", "3", "4", "5", "9"} and not table.has("2") and table.has("9")
    table.settle()
    assert table.live == {"1", "3", "4", "5", "9"} and table.keys.to_list() == ["1", "3", "4", "5", "9"]
    late = load_table(tmp_path / f"Customers.{file_format}", file_format, entity)
    late.deleted, late.created = {"1"}, {"7": {"Id": 7}}  # changes recorded before the set is made
    assert late.live == {"2", "3", "4", "5", "7"}
