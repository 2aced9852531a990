"""Entity files as frames: read in their own types, written back in the layout and the values Python writes.

The JSON writer builds the text by expressions; Python's encoder (``json.dumps(..., indent=2)`` of the nested
records, nulls left out) is the oracle it must match character for character.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from reconcile.model.records import records_frame
from reconcile.model.values import nest_record
from reconcile.systems.files.formats import dump, load
from reconcile.systems.files.jsontext import json_text


def _python(records: list[dict[str, Any]]) -> str:
    frame = records_frame(records)
    rows = [
        nest_record({n: v for n, v in zip(frame.columns, row, strict=True) if v is not None})
        for row in frame.iter_rows()
    ]
    return json.dumps(rows, ensure_ascii=False, indent=2) + "\n"


RECORDS: list[list[dict[str, Any]]] = [
    [],
    [{}],
    [{"Id": 1, "Name": "Ola", "MailAddress": {"City": "Tromsø", "Floor": 3}, "Tags": ["vip", {"a": [1, 2]}]}],
    [
        {"Id": 1, "Text": 'a "quoted"\\ line\nnext\x01', "F": 0.1, "G": 1e-7, "H": -0.0, "B": True},
        {"Id": 2, "Text": None, "F": 1e16, "G": 12345.678, "H": float("nan"), "B": False, "Empty": {}},
        {"Id": 3, "Deep": {"A": {"B": None}}, "Mixed": 1},
        {"Id": "4", "Deep": {"A": {"B": 2}, "C": "x"}, "Mixed": "one", "Über": "ü"},
    ],
    [{"A": "x", "A.B": 1}],  # a name that is a value and an object: record by record
]


@pytest.mark.parametrize("records", RECORDS)
def test_json_text_is_what_pythons_encoder_writes(records: list[dict[str, Any]]) -> None:
    assert json_text(records_frame(records)) == _python(records)


def test_a_json_file_reads_back_as_it_was_written(tmp_path: Path) -> None:
    records = RECORDS[3]
    path = tmp_path / "Things.json"
    dump(records_frame(records), "json", path)
    again = load(path, "json")
    assert again.schema["Mixed"] == pl.Object
    assert again["Mixed"].to_list() == [None, None, 1, "one"]
    assert json.loads(path.read_text(encoding="utf-8"))[3] == {
        "Id": "4",
        "Deep": {"A": {"B": 2}, "C": "x"},
        "Mixed": "one",
        "Über": "ü",
    }


def test_a_csv_file_with_a_byte_order_mark_reads(tmp_path: Path) -> None:
    path = tmp_path / "Things.csv"
    path.write_bytes("\ufeffId,Name\n1,Ola\n".encode())
    frame = load(path, "csv")
    assert frame.columns == ["Id", "Name"]
    assert frame.rows() == [("1", "Ola")]
