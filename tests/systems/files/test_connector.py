"""The file system: a folder with one JSON, CSV or Parquet file per entity, read and written by catalogue.

The catalogue below is small on purpose: Customers (int key assigned on create, a required Name, typed
fields, a nested MailAddress, a read-only Created, a create-only Number, a maintained Modified), Orders (guid
key) with their OrderLines (string key) created embedded, and Departments (a read-only entity).
"""

from __future__ import annotations

import csv
import json
import os
import re
import tomllib
import uuid
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from reconcile.config.catalogue import parse_catalogue
from reconcile.errors import ConfigError, SystemFailure
from reconcile.systems.base import System, WriteKind, WriteOp
from reconcile.systems.files import connector as files
from reconcile.systems.files.connector import FileFormat, FileSystem

CATALOGUE = parse_catalogue(
    tomllib.loads(
        """
system = "shop"
[entities.Customers]
key = "Id"
modified = "Modified"
fields.Id = { type = "int", read_only = true }
fields.Name = { required = true }
fields.BirthDate = { type = "date" }
fields.Balance = { type = "float" }
fields.Active = { type = "bool" }
fields.Ref = { type = "guid" }
fields."MailAddress.City" = {}
fields."MailAddress.CountryCode" = {}
fields.Created = { type = "datetime", read_only = true }
fields.Modified = { type = "datetime", read_only = true }
fields.Number = { type = "int", create_only = true }

[entities.Orders]
key = "Id"
embedded = { entity = "OrderLines", parent_field = "OrderId", field = "Lines" }
fields.Id = { type = "guid", read_only = true }
fields.CustomerId = { type = "int", required = true, ref = "Customers" }

[entities.OrderLines]
key = "Id"
fields.Id = { read_only = true }
fields.OrderId = { type = "guid", required = true, create_only = true, ref = "Orders" }
fields.Quantity = { type = "float", required = true }

[entities.Departments]
key = "Code"
read_only = true
fields.Code = {}
"""
    ),
    "shop.toml",
)

NOW = datetime(2024, 6, 1, 12, 0, tzinfo=UTC)
FORMATS: list[FileFormat] = ["json", "csv", "parquet"]

CUSTOMER_SCHEMA = {
    "Id": pl.String(),
    "Name": pl.String(),
    "BirthDate": pl.Date(),
    "Balance": pl.Float64(),
    "Active": pl.Boolean(),
    "Ref": pl.String(),
    "MailAddress": pl.Struct({"City": pl.String(), "CountryCode": pl.String()}),
    "Created": pl.Datetime("us", "UTC"),
    "Modified": pl.Datetime("us", "UTC"),
    "Number": pl.Int64(),
}


def system(folder: Path, file_format: FileFormat = "json") -> FileSystem:
    return FileSystem("shop", CATALOGUE, folder, file_format, now=lambda: NOW)


def create(row: str, **values: Any) -> WriteOp:
    return WriteOp(WriteKind.CREATE, row, values=values)


def test_it_is_a_system(tmp_path: Path) -> None:
    assert isinstance(system(tmp_path), System)


@pytest.mark.parametrize("file_format", FORMATS)
def test_an_empty_file_reads_as_an_empty_frame_with_the_catalogue_schema(
    tmp_path: Path, file_format: FileFormat
) -> None:
    (tmp_path / f"Customers.{file_format}").write_bytes(b"")
    frame = system(tmp_path, file_format).read("customers")
    assert frame.height == 0
    assert dict(frame.schema) == CUSTOMER_SCHEMA


@pytest.mark.parametrize("file_format", FORMATS)
def test_a_missing_entity_file_is_an_error_naming_it_not_an_empty_snapshot(
    tmp_path: Path, file_format: FileFormat
) -> None:
    with pytest.raises(ConfigError, match=rf"no Customers\.{file_format} in {re.escape(str(tmp_path))}") as raised:
        system(tmp_path, file_format).read("customers")
    assert raised.value.exit_code == 2


def test_a_missing_folder_is_an_error_naming_it(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=rf"the folder {re.escape(str(tmp_path / 'gone'))} does not exist"):
        system(tmp_path / "gone").read("Customers")
    with pytest.raises(ConfigError, match="does not exist"):
        system(tmp_path / "gone").write("Customers", [create("r", Name="A")])
    assert not (tmp_path / "gone").exists()


def test_a_file_whose_name_differs_in_case_is_named_in_the_error(tmp_path: Path) -> None:
    (tmp_path / "customers.json").write_text("[]", encoding="utf-8")
    with pytest.raises(
        ConfigError, match=rf"no Customers\.json in {re.escape(str(tmp_path))}; there is customers\.json"
    ):
        system(tmp_path).read("Customers")
    with pytest.raises(ConfigError, match=r"there is customers\.json"):
        system(tmp_path).write("Customers", [create("r", Name="A")])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["customers.json"]


@pytest.mark.parametrize("file_format", FORMATS)
def test_round_trip(tmp_path: Path, file_format: FileFormat) -> None:
    fs = system(tmp_path, file_format)
    results = fs.write(
        "Customers",
        [
            create(
                "r1",
                Name="Kari Nordmann",
                BirthDate=date(1980, 2, 29),
                Balance=1250.5,
                Active=True,
                **{"MailAddress.City": "Bergen", "MailAddress.CountryCode": "NO"},
            ),
            create("r2", Name="Jan de Vries", Active=False, **{"MailAddress.City": "Utrecht"}),
        ],
    )
    assert [(r.row_id, r.ok, r.key) for r in results] == [("r1", True, "1"), ("r2", True, "2")]
    assert fs.path("Customers") == tmp_path / f"Customers.{file_format}"

    frame = fs.read("Customers")
    assert dict(frame.schema) == CUSTOMER_SCHEMA
    assert frame.sort("Id").to_dicts() == [
        {
            "Id": "1",
            "Name": "Kari Nordmann",
            "BirthDate": date(1980, 2, 29),
            "Balance": 1250.5,
            "Active": True,
            "Ref": None,
            "MailAddress": {"City": "Bergen", "CountryCode": "NO"},
            "Created": None,
            "Modified": NOW,
            "Number": None,
        },
        {
            "Id": "2",
            "Name": "Jan de Vries",
            "BirthDate": None,
            "Balance": None,
            "Active": False,
            "Ref": None,
            "MailAddress": {"City": "Utrecht", "CountryCode": None},
            "Created": None,
            "Modified": NOW,
            "Number": None,
        },
    ]

    results = fs.write(
        "Customers",
        [
            WriteOp(WriteKind.UPDATE, "u1", key="2", values={"MailAddress.CountryCode": "NL", "Balance": 10}),
            WriteOp(WriteKind.DELETE, "d1", key="1"),
        ],
    )
    assert all(r.ok for r in results)
    (row,) = fs.read("Customers").to_dicts()
    assert row["Id"] == "2"
    assert row["Name"] == "Jan de Vries"
    assert row["MailAddress"] == {"City": "Utrecht", "CountryCode": "NL"}
    assert row["Balance"] == 10.0


def test_json_keeps_nested_objects_and_iso_dates(tmp_path: Path) -> None:
    fs = system(tmp_path)
    fs.write("Customers", [create("r1", Name="Ola", BirthDate=date(1990, 5, 17), **{"MailAddress.City": "Oslo"})])
    (record,) = json.loads((tmp_path / "Customers.json").read_text(encoding="utf-8"))
    assert record == {
        "Id": 1,
        "Name": "Ola",
        "BirthDate": "1990-05-17",
        "MailAddress": {"City": "Oslo"},
        "Modified": "2024-06-01T12:00:00Z",
    }


def test_values_in_the_file_are_cast_to_the_catalogue_types(tmp_path: Path) -> None:
    record = {
        "Id": "7",
        "Name": 42,
        "BirthDate": "1975-12-24",
        "Balance": "99.95",
        "Active": "yes",
        "Ref": "b3c1e0de-0000-4000-8000-000000000001",
        "MailAddress": None,
        "Created": "2024-05-01T09:30:00+02:00",
        "Modified": "2024-05-02T10:00:00",
        "Number": 12.0,
    }
    (tmp_path / "Customers.json").write_text(json.dumps([record]), encoding="utf-8")
    (row,) = system(tmp_path).read("Customers").to_dicts()
    assert row == {
        "Id": "7",
        "Name": "42",
        "BirthDate": date(1975, 12, 24),
        "Balance": 99.95,
        "Active": True,
        "Ref": "b3c1e0de-0000-4000-8000-000000000001",
        "MailAddress": {"City": None, "CountryCode": None},
        "Created": datetime(2024, 5, 1, 7, 30, tzinfo=UTC),
        "Modified": datetime(2024, 5, 2, 10, 0, tzinfo=UTC),
        "Number": 12,
    }


@pytest.mark.parametrize(
    ("field", "value", "expected"),
    [
        ("BirthDate", "31.02.1990", 'BirthDate = "31.02.1990" is not a date (YYYY-MM-DD)'),
        ("Balance", "a lot", 'Balance = "a lot" is not a number'),
        ("Active", "maybe", 'Active = "maybe" is not true or false'),
        ("Number", "12b", 'Number = "12b" is not a whole number'),
        (
            "Created",
            "yesterday",
            'Created = "yesterday" is not a date and time (ISO 8601, such as 2024-05-01T09:30:00Z)',
        ),
        ("Name", {"first": "Ola"}, 'Name = {"first": "Ola"} is not text'),
    ],
)
def test_a_value_that_cannot_be_cast_names_file_record_and_field(
    tmp_path: Path, field: str, value: Any, expected: str
) -> None:
    records = [{"Id": 6, "Name": "Fine"}, {"Id": 7, "Name": "Ola", field: value}]
    (tmp_path / "Customers.json").write_text(json.dumps(records), encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        system(tmp_path).read("Customers")
    assert str(caught.value) == f"{tmp_path / 'Customers.json'}: record 7: {expected}"


def test_records_without_a_key_or_with_the_same_key_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "Customers.json"
    path.write_text(json.dumps([{"Id": 1, "Name": "A"}, {"Name": "B"}]), encoding="utf-8")
    with pytest.raises(ConfigError, match="record 2 has no Id"):
        system(tmp_path).read("Customers")
    path.write_text(json.dumps([{"Id": 1, "Name": "A"}, {"Id": "1", "Name": "B"}]), encoding="utf-8")
    with pytest.raises(ConfigError, match="Id = '1' is the key of more than one record"):
        system(tmp_path).read("Customers")


def test_a_file_that_is_not_an_array_of_records_is_a_config_error(tmp_path: Path) -> None:
    (tmp_path / "Customers.json").write_text('{"Id": 1}', encoding="utf-8")
    with pytest.raises(ConfigError, match="must hold a JSON array of objects"):
        system(tmp_path).read("Customers")
    (tmp_path / "Customers.json").write_text("[{", encoding="utf-8")
    with pytest.raises(ConfigError, match="not valid JSON"):
        system(tmp_path).read("Customers")


def test_an_unknown_entity_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match='no entity "Custmers" \\(did you mean "Customers"\\?\\)'):
        system(tmp_path).read("Custmers")


def test_csv_dotted_columns_fold_into_structs(tmp_path: Path) -> None:
    (tmp_path / "Customers.csv").write_text(
        "Id,Name,MailAddress.City,MailAddress.CountryCode,Active,Loyalty\n3,Siri,Tromsø,NO,false,gold\n",
        encoding="utf-8",
    )
    (row,) = system(tmp_path, "csv").read("Customers").to_dicts()
    assert row["Id"] == "3"
    assert row["MailAddress"] == {"City": "Tromsø", "CountryCode": "NO"}
    assert row["Active"] is False


def test_parquet_reads_flat_dotted_columns_and_struct_columns(tmp_path: Path) -> None:
    pl.DataFrame({"Id": [1], "Name": ["Siri"], "MailAddress": [{"City": "Tromsø", "CountryCode": "NO"}]}).write_parquet(
        tmp_path / "Customers.parquet"
    )
    (row,) = system(tmp_path, "parquet").read("Customers").to_dicts()
    assert row["MailAddress"] == {"City": "Tromsø", "CountryCode": "NO"}


def test_unknown_fields_are_kept_in_json(tmp_path: Path) -> None:
    path = tmp_path / "Customers.json"
    original = [
        {
            "Id": 5,
            "Name": "Ola",
            "Loyalty": {"level": "gold", "since": "2019-01-01"},
            "Tags": ["vip", "nordic"],
            "MailAddress": {"City": "Oslo", "Floor": 3},
        }
    ]
    path.write_text(json.dumps(original), encoding="utf-8")
    fs = system(tmp_path)
    assert "Loyalty" not in fs.read("Customers").columns
    result = fs.write("Customers", [WriteOp(WriteKind.UPDATE, "u", key="5", values={"MailAddress.City": "Bergen"})])
    assert result[0].ok
    (record,) = json.loads(path.read_text(encoding="utf-8"))
    assert record["Loyalty"] == {"level": "gold", "since": "2019-01-01"}
    assert record["Tags"] == ["vip", "nordic"]
    assert record["MailAddress"] == {"City": "Bergen", "Floor": 3}


def test_a_nested_value_replaces_a_null_object(tmp_path: Path) -> None:
    path = tmp_path / "Customers.json"
    path.write_text(json.dumps([{"Id": 5, "Name": "Ola", "MailAddress": None}]), encoding="utf-8")
    system(tmp_path).write("Customers", [WriteOp(WriteKind.UPDATE, "u", key="5", values={"MailAddress.City": "Bodø"})])
    (record,) = json.loads(path.read_text(encoding="utf-8"))
    assert record["MailAddress"] == {"City": "Bodø"}


def test_unknown_columns_are_kept_in_csv(tmp_path: Path) -> None:
    path = tmp_path / "Customers.csv"
    path.write_text("Id,Name,Loyalty\n1,Siri,gold\n2,Per,\n", encoding="utf-8")
    fs = system(tmp_path, "csv")
    fs.write(
        "Customers",
        [WriteOp(WriteKind.UPDATE, "u", key="1", values={"Name": "Siri Hansen"}), create("c", Name="Eva")],
    )
    rows = list(csv.DictReader(path.read_text(encoding="utf-8").splitlines()))
    assert [(r["Id"], r["Name"], r["Loyalty"]) for r in rows] == [
        ("1", "Siri Hansen", "gold"),
        ("2", "Per", ""),
        ("3", "Eva", ""),
    ]
    assert rows[0]["Modified"] == "2024-06-01T12:00:00Z"


def test_unknown_columns_keep_their_type_in_parquet(tmp_path: Path) -> None:
    path = tmp_path / "Customers.parquet"
    pl.DataFrame({"Id": [1], "Name": ["Siri"], "Points": pl.Series([120], dtype=pl.Int32)}).write_parquet(path)
    system(tmp_path, "parquet").write("Customers", [create("c", Name="Eva")])
    stored = pl.read_parquet(path)
    assert stored.schema["Points"] == pl.Int32
    assert stored["Points"].to_list() == [120, None]
    assert stored["Id"].to_list() == [1, 2]


def test_keys_next_integer_explicit_guid_and_hex(tmp_path: Path) -> None:
    (tmp_path / "Customers.json").write_text(json.dumps([{"Id": 7, "Name": "A"}]), encoding="utf-8")
    fs = system(tmp_path)
    results = fs.write(
        "Customers",
        [
            create("a", Name="B"),
            create("b", Id=20, Name="C"),
            create("c", Name="D"),
            create("d", Id=7, Name="E"),
        ],
    )
    assert [r.key for r in results[:3]] == ["8", "20", "21"]
    assert not results[3].ok
    assert results[3].error == "shop Customers Id = 7 already exists"

    order = fs.write("Orders", [create("o", CustomerId=8)])[0]
    assert order.key is not None
    assert str(uuid.UUID(order.key)) == order.key
    line = fs.write("OrderLines", [create("l", OrderId=order.key, Quantity=2)])[0]
    assert line.key is not None
    assert uuid.UUID(hex=line.key).hex == line.key


@pytest.mark.parametrize(
    ("entity", "op", "expected"),
    [
        ("Customers", create("r", Balance=3.5), "required on create and missing: Name"),
        ("Customers", create("r", Name="  "), "required on create and missing: Name"),
        ("Customers", create("r", Name="A", Created=NOW), "Created is read-only in shop"),
        (
            "Customers",
            create("r", Name="A", Nmae="B"),
            '"Nmae" is not a field of shop Customers (did you mean',
        ),
        ("Customers", create("r", Name="A", Balance="lots"), "Balance = 'lots' is not a number"),
        (
            "Customers",
            WriteOp(WriteKind.UPDATE, "r", key="1", values={"Number": 4}),
            "Number can only be set when the",
        ),
        (
            "Customers",
            WriteOp(WriteKind.UPDATE, "r", key="1", values={"Name": None}),
            "required and cannot be emptied",
        ),
        ("Customers", WriteOp(WriteKind.UPDATE, "r", key="1", values={"Id": "2"}), "Id is read-only in shop"),
        ("Customers", WriteOp(WriteKind.UPDATE, "r", key="99", values={"Name": "X"}), "no Customers with Id = 99 in"),
        ("Customers", WriteOp(WriteKind.DELETE, "r", key="99"), "no Customers with Id = 99 in Customers.json"),
        ("Customers", WriteOp(WriteKind.UPDATE, "r", values={"Name": "X"}), "an update needs the record's Id"),
        ("Departments", create("r", Code="D1"), "shop Departments is read-only: records cannot be created"),
        ("Departments", WriteOp(WriteKind.UPDATE, "r", key="D1"), "shop Departments is read-only: records cannot be"),
        ("Departments", WriteOp(WriteKind.DELETE, "r", key="D1"), "shop Departments records cannot be deleted"),
        (
            "Customers",
            WriteOp(WriteKind.CREATE, "r", values={"Name": "A"}, children=(create("c", Quantity=1),)),
            "shop Customers takes no embedded records",
        ),
    ],
)
def test_what_the_catalogue_says_will_fail_is_refused_before_writing(
    tmp_path: Path, entity: str, op: WriteOp, expected: str
) -> None:
    path = tmp_path / "Customers.json"
    path.write_text(json.dumps([{"Id": 1, "Name": "A", "Number": 3}]), encoding="utf-8")
    before = path.read_bytes()
    (result,) = system(tmp_path).write(entity, [op])
    assert not result.ok
    assert result.error is not None
    assert expected in result.error
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["Customers.json"]


def test_one_refused_op_does_not_stop_the_others(tmp_path: Path) -> None:
    fs = system(tmp_path)
    results = fs.write("Customers", [create("a", Name="A"), create("b"), create("c", Name="C")])
    assert [r.ok for r in results] == [True, False, True]
    assert fs.read("Customers")["Name"].to_list() == ["A", "C"]


def test_an_update_sets_modified_and_only_the_given_fields(tmp_path: Path) -> None:
    (tmp_path / "Customers.json").write_text(
        json.dumps([{"Id": 1, "Name": "A", "Balance": 5, "Modified": "2020-01-01T00:00:00Z"}]),
        encoding="utf-8",
    )
    fs = system(tmp_path)
    fs.write("Customers", [WriteOp(WriteKind.UPDATE, "u", key="1", values={"Active": True})])
    (row,) = fs.read("Customers").to_dicts()
    assert (row["Name"], row["Balance"], row["Active"], row["Modified"]) == ("A", 5.0, True, NOW)


def test_embedded_children_are_created_with_their_parent(tmp_path: Path) -> None:
    fs = system(tmp_path)
    lines = (create("l1", Quantity=2), create("l2", Quantity=0.5, Id="line-2"))
    (result,) = fs.write("Orders", [WriteOp(WriteKind.CREATE, "o1", values={"CustomerId": 1}, children=lines)])
    assert result.ok
    assert result.key is not None
    assert [(c.row_id, c.ok) for c in result.children] == [("l1", True), ("l2", True)]
    assert result.children[1].key == "line-2"
    stored = fs.read("OrderLines").sort("Quantity")
    assert stored["OrderId"].to_list() == [result.key, result.key]
    assert stored["Id"].to_list() == ["line-2", result.children[0].key]


def test_a_refused_child_refuses_its_parent_and_writes_nothing(tmp_path: Path) -> None:
    fs = system(tmp_path)
    lines = (create("l1", Quantity=2), create("l2"))
    (result,) = fs.write("Orders", [WriteOp(WriteKind.CREATE, "o1", values={"CustomerId": 1}, children=lines)])
    assert not result.ok
    assert result.error == "OrderLines 2: required on create and missing: Quantity"
    assert [c.ok for c in result.children] == [False, False]
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("file_format", FORMATS)
def test_a_failure_mid_write_leaves_the_old_file_intact(
    tmp_path: Path, file_format: FileFormat, monkeypatch: pytest.MonkeyPatch
) -> None:
    fs = system(tmp_path, file_format)
    fs.write("Customers", [create("a", Name="Kari"), create("b", Name="Jan")])
    path = fs.path("Customers")
    before = path.read_bytes()

    def crash(table: object, entity: object, file_format: object, target: Path) -> None:
        with target.open("wb") as fh:
            fh.write(before[: len(before) // 2])
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(files, "_dump", crash)
    with pytest.raises(SystemFailure, match="No space left on device"):
        fs.write("Customers", [create("c", Name="Eva"), WriteOp(WriteKind.DELETE, "d", key="1")])
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == [path.name]
    monkeypatch.undo()
    assert fs.read("Customers")["Name"].to_list() == ["Kari", "Jan"]


def test_a_failed_rename_leaves_the_old_file_intact(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fs = system(tmp_path)
    fs.write("Customers", [create("a", Name="Kari")])
    before = (tmp_path / "Customers.json").read_bytes()

    def refuse(*args: object) -> None:
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(os, "replace", refuse)
    with pytest.raises(SystemFailure, match="cannot write"):
        fs.write("Customers", [create("b", Name="Jan")])
    assert (tmp_path / "Customers.json").read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["Customers.json"]
