"""PowerOffice Go's records typed in bulk: the same snapshot as typing them one value at a time.

The oracle is :func:`_one_by_one`, the way snapshots were made before they were typed by expressions: each
record's keys folded, each field looked up by its dotted name and typed by :func:`convert` (null where it
cannot be). :func:`~reconcile.systems.poweroffice.wire.to_frame` must give the same frame for any page.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from datetime import UTC, date, datetime
from typing import Any

import polars as pl
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from reconcile.model.catalogue import DTYPES, Entity, Field, FieldType
from reconcile.systems.catalogues import builtin_catalogue
from reconcile.systems.poweroffice.wire import convert, fold, to_frame

FAST = settings(
    max_examples=int(os.environ.get("RECONCILE_EXAMPLES", "60")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
KINDS: tuple[FieldType, ...] = ("string", "guid", "int", "float", "bool", "date", "datetime")
ENTITY = Entity(
    "Things",
    "Id",
    {"Id": Field("Id")}
    | {f"F{k}": Field(f"F{k}", k) for k in KINDS}
    | {f"Address.N{k}": Field(f"Address.N{k}", k) for k in KINDS},
)


def _lookup(folded: Mapping[str, Any], dotted: str) -> Any:
    current: Any = folded
    for part in dotted.split("."):
        if not isinstance(current, Mapping):
            return None
        current = current.get(part.casefold())
    return current


def _convert(value: Any, field: Field) -> Any:
    try:
        converted = convert(value, field)
    except (ValueError, TypeError):
        return None
    if field.type == "int" and converted is not None and not -(2**63) <= converted < 2**63:
        return None  # a whole number past 64 bits (which once stopped the read)
    return converted


def _one_by_one(entity: Entity, records: list[dict[str, Any]]) -> pl.DataFrame:
    """The snapshot typed value by value (the semantics the expressions keep)."""
    folded = [fold(r) for r in records]
    columns: dict[str, pl.Series] = {}
    for field in entity.fields.values():
        values = [_convert(_lookup(r, field.name), field) for r in folded]
        if field.name == entity.key:
            columns[field.name] = pl.Series(field.name, [None if v is None else str(v) for v in values], pl.String)
        elif "." not in field.name:
            columns[field.name] = pl.Series(field.name, values, dtype=DTYPES[field.type])
    inner = [f for f in entity.fields.values() if "." in f.name]
    rows = [{f.name.split(".")[1]: _convert(_lookup(r, f.name), f) for f in inner} for r in folded]
    columns["Address"] = pl.Series(
        "Address", rows, dtype=pl.Struct({f.name.split(".")[1]: DTYPES[f.type] for f in inner})
    )
    return pl.DataFrame([columns[name] for name in ["Id", *(f"F{k}" for k in KINDS), "Address"]])


STAMPS = st.one_of(
    st.datetimes(min_value=datetime(1900, 1, 1), max_value=datetime(2100, 1, 1)).flatmap(
        lambda m: st.sampled_from(
            [
                m.isoformat(),
                m.strftime("%Y-%m-%dT%H:%M:%S.%f") + "7Z",  # Go's seven decimals
                m.strftime("%Y-%m-%dT%H:%M:%S.%f") + "1+02:00",
                m.strftime("%Y-%m-%dT%H:%M:%S") + " +00:00",  # v1: an offset after a space
                m.strftime("%Y-%m-%d"),
                m.strftime("%Y-%m-%d %H:%M"),
            ]
        )
    ),
    st.sampled_from(["", "  ", "2024-02-30", "soon", "2024-05-13T24:00:00"]),
)
ANY = st.one_of(st.none(), st.booleans(), st.integers(-(2**70), 2**70), st.floats(), st.text(max_size=4))
VALUES: dict[FieldType, st.SearchStrategy[Any]] = {
    "string": st.one_of(st.none(), st.text(max_size=5), st.sampled_from([3.0, 3.5, 7, True, [], {}])),
    "guid": st.one_of(st.none(), st.uuids().map(lambda u: str(u).upper()), st.sampled_from(["", " ", 12])),
    "int": st.one_of(st.none(), st.integers(-(2**62), 2**62), st.sampled_from(["12", " 7 ", "", "x", 12.0, 12.5])),
    "float": st.one_of(st.none(), st.floats(allow_nan=False), st.sampled_from(["2.5", "", "nan", True, 3])),
    "bool": st.one_of(st.none(), st.booleans(), st.sampled_from(["true", "Ja", "nei", "x", "", 0, 1, 2])),
    "date": STAMPS,
    "datetime": STAMPS,
}


def _cased(name: str, style: int) -> str:
    return [name, name.lower(), name[0].lower() + name[1:], name.upper()][style]


@st.composite
def pages(draw: st.DrawFn) -> list[dict[str, Any]]:
    """Records of :data:`ENTITY` in any casing; each field of one kind of value, or of any."""
    n = draw(st.integers(0, 6))
    mixed_casing = draw(st.booleans())
    style = draw(st.integers(0, 3))
    records: list[dict[str, Any]] = []
    chosen = {k: (draw(VALUES[k]), draw(st.booleans())) for k in KINDS}
    for i in range(n):
        case = draw(st.integers(0, 3)) if mixed_casing else style
        record: dict[str, Any] = {_cased("Id", case): draw(st.sampled_from([i, str(i), f"K{i}"]))}
        address: dict[str, Any] = {}
        for kind in KINDS:
            one, mixed = chosen[kind]
            record[_cased(f"F{kind}", case)] = draw(st.one_of(VALUES[kind], ANY)) if mixed else one
            address[_cased(f"N{kind}", case)] = draw(VALUES[kind]) if mixed else one
        record[_cased("Address", case)] = draw(st.sampled_from([address, address, None, {}]))
        records.append(record)
    return records


@FAST
@given(pages())
def test_a_page_is_typed_as_each_value_was(records: list[dict[str, Any]]) -> None:
    assert_frame_equal(to_frame(ENTITY, records), _one_by_one(ENTITY, records))


def test_go_stamps_blanks_and_odd_values_in_one_page() -> None:
    customers = builtin_catalogue("poweroffice").entities["Customers person"]
    records: list[dict[str, Any]] = [
        {"Id": 1, "DateOfBirth": "1980-05-17T00:00:00", "LastChangedDateTimeOffset": "2024-05-13T12:34:56.1234567Z"},
        {"Id": 2, "DateOfBirth": "1980-05-17", "LastChangedDateTimeOffset": "2024-05-13T14:34:56.1234567+02:00"},
        {"id": 3, "dateOfBirth": " ", "lastChangedDateTimeOffset": "2024-05-13T12:34:56.123456 +00:00"},
        {"Id": 4, "DateOfBirth": "in May", "LastChangedDateTimeOffset": None, "Number": "x", "FirstName": "Kari"},
        {"Id": 5, "Number": 2**70, "MailAddress": {"City": "Oslo", "Id": 1.0}},
    ]
    frame = to_frame(customers, records)
    stamp = datetime(2024, 5, 13, 12, 34, 56, 123456, tzinfo=UTC)
    assert frame["Id"].to_list() == ["1", "2", "3", "4", "5"]
    assert frame["DateOfBirth"].to_list() == [date(1980, 5, 17), date(1980, 5, 17), None, None, None]
    assert frame["LastChangedDateTimeOffset"].to_list() == [stamp, stamp, stamp, None, None]
    assert frame["Number"].to_list() == [None] * 5  # a value that does not fit is null, the record kept
    assert frame["FirstName"][3] == "Kari"
    assert frame["MailAddress"][4]["City"] == "Oslo" and frame["MailAddress"][4]["Id"] == 1


def test_only_the_records_the_entity_filter_selects_are_kept() -> None:
    persons = builtin_catalogue("poweroffice").entities["Customers person"]
    records: list[dict[str, Any]] = [
        {"Id": 1, "IsPerson": True, "FirstName": "Ola"},
        {"Id": 2, "IsPerson": False, "Name": "Acme AS"},
        {"Id": 3, "Name": "No flag"},  # a missing bool is false
        {"Id": 4, "IsPerson": None},
    ]
    assert to_frame(persons, records, keep={"isperson": True})["Id"].to_list() == ["1"]
    assert to_frame(persons, records, keep={"isperson": False})["Id"].to_list() == ["2", "3", "4"]
    odd: list[dict[str, Any]] = [{"Id": 5, "IsPerson": 1}, {"Id": 6, "IsPerson": "yes"}, {"Id": 7, "IsPerson": 0}]
    assert to_frame(persons, odd, keep={"isperson": True})["Id"].to_list() == ["5", "6"]  # as bool() says
