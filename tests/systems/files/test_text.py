"""CSV and JSON files as people send them: another separator, another encoding, a byte-order mark, CRLF.

Each reads with the settings a system file gives; a file that does not decode, or whose header lacks the key,
is one line naming the file and what to set; a file written back keeps its mark, line endings, separator
and encoding, and a new file takes the settings.
"""

from __future__ import annotations

import codecs
import json
import tomllib
from pathlib import Path
from typing import Any

import pytest

from reconcile.config.catalogue import parse_catalogue
from reconcile.errors import ConfigError
from reconcile.model.systemfile import TextSettings
from reconcile.systems.base import WriteKind, WriteOp
from reconcile.systems.files.connector import FileFormat, FileSystem

CATALOGUE = parse_catalogue(
    tomllib.loads(
        """
system = "crm"
[entities.customers]
key = "id"
fields.id = { type = "int" }
fields.name = {}
fields.city = {}
"""
    ),
    "crm.toml",
)
SOURCE = "flows/systems/crm.toml"
ROWS = [("1", "Ærøskøbing AS", "Tromsø"), ("2", "Café Noël", "Genève")]


def crm(folder: Path, file_format: FileFormat = "csv", /, **settings: Any) -> FileSystem:
    return FileSystem("crm", CATALOGUE, folder, file_format, text=TextSettings(**settings), source=SOURCE)


def rows(fs: FileSystem) -> list[tuple[str, str, str]]:
    frame = fs.read("customers")
    return [(str(i), n, c) for i, n, c in frame.select("id", "name", "city").rows()]


def csv_text(sep: str = ",", newline: str = "\n") -> str:
    lines = [sep.join(("id", "name", "city")), *(sep.join(r) for r in ROWS)]
    return "".join(line + newline for line in lines)


def json_text() -> str:
    return json.dumps([{"id": int(i), "name": n, "city": c} for i, n, c in ROWS], ensure_ascii=False)


def update(fs: FileSystem) -> None:
    (result,) = fs.write("customers", [WriteOp(WriteKind.UPDATE, "u", key="2", values={"city": "Zürich"})])
    assert result.ok, result.error


def test_a_semicolon_separated_file_reads_with_its_separator(tmp_path: Path) -> None:
    (tmp_path / "customers.csv").write_text(csv_text(";"), encoding="utf-8")
    assert rows(crm(tmp_path, separator=";")) == ROWS
    (tmp_path / "customers.csv").write_text(csv_text("\t"), encoding="utf-8")
    assert rows(crm(tmp_path, separator="\t")) == ROWS


@pytest.mark.parametrize("file_format", ["csv", "json"])
@pytest.mark.parametrize("encoding", ["latin-1", "cp1252"])
def test_a_latin1_file_reads_with_its_encoding(tmp_path: Path, file_format: FileFormat, encoding: str) -> None:
    text = csv_text() if file_format == "csv" else json_text()
    (tmp_path / f"customers.{file_format}").write_bytes(text.encode(encoding))
    assert rows(crm(tmp_path, file_format, encoding=encoding)) == ROWS


@pytest.mark.parametrize("file_format", ["csv", "json"])
@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-be", "utf-32", "utf-8-sig"])
def test_a_file_with_a_byte_order_mark_reads_in_the_encoding_it_says(
    tmp_path: Path, file_format: FileFormat, encoding: str
) -> None:
    """No setting needed: the mark says the encoding (a JSON file with a UTF-8 mark was refused before)."""
    text = csv_text() if file_format == "csv" else json_text()
    mark = {"utf-16-be": codecs.BOM_UTF16_BE}.get(encoding, b"")
    (tmp_path / f"customers.{file_format}").write_bytes(mark + text.encode(encoding))
    assert rows(crm(tmp_path, file_format)) == ROWS


@pytest.mark.parametrize("file_format", ["csv", "json"])
def test_a_file_that_does_not_decode_is_one_line_naming_the_byte_and_the_line(
    tmp_path: Path, file_format: FileFormat
) -> None:
    path = tmp_path / f"customers.{file_format}"
    text = csv_text() if file_format == "csv" else json_text().replace("}, {", "},\n{")
    path.write_bytes(text.encode("latin-1"))  # read as UTF-8, the default
    at = text.index("Æ")
    line = text[:at].count("\n") + 1
    with pytest.raises(ConfigError) as refused:
        rows(crm(tmp_path, file_format))
    assert str(refused.value) == (
        f"{path}: byte {at} (line {line}) is not valid utf-8 (the file's encoding); if the file is in another "
        f'encoding, set encoding = "latin-1" (or the file\'s own) in {SOURCE}'
    )
    (tmp_path / "cp").mkdir()
    (tmp_path / "cp" / "customers.csv").write_bytes(b"id,name\n1,\x81\n")  # 0x81 is no character in cp1252
    with pytest.raises(ConfigError, match=r"customers.csv: byte 10 \(line 2\) is not valid cp1252 ") as again:
        rows(crm(tmp_path / "cp", "csv", encoding="cp1252"))
    assert "\n" not in str(again.value)


@pytest.mark.parametrize(
    ("header", "hint"),
    [
        ("id;name;city", ' — is the separator ";"? Set separator = ";" in ' + SOURCE),
        ("id\tname\tcity", ' — is the separator "\\t"? Set separator = "\\t" in ' + SOURCE),
        ("id|name|city", ' — is the separator "|"? Set separator = "|" in ' + SOURCE),
        ("ident,name,city", ""),
    ],
)
def test_a_header_without_the_key_shows_the_header_and_suggests_a_separator(
    tmp_path: Path, header: str, hint: str
) -> None:
    path = tmp_path / "customers.csv"
    path.write_text(header + "\n1\n", encoding="utf-8")
    with pytest.raises(ConfigError) as refused:
        crm(tmp_path).read("customers")
    shown = json.dumps(header)
    assert str(refused.value) == f'{path}: the header has no column "id"; found {shown}{hint}'


def test_a_utf16_file_without_a_mark_is_told_to_set_the_encoding(tmp_path: Path) -> None:
    path = tmp_path / "customers.csv"
    path.write_bytes("id,name,city\n1,Ola,Oslo\n".encode("utf-16-le"))  # valid UTF-8, every other byte 0
    with pytest.raises(ConfigError, match=f'without a byte-order mark: set encoding = "utf-16" in {SOURCE}$'):
        crm(tmp_path).read("customers")
    path.write_bytes(csv_text().encode("utf-16-le"))  # not valid UTF-8
    with pytest.raises(ConfigError, match=f'set encoding = "utf-16" \\(or the file\'s own\\) in {SOURCE}$'):
        crm(tmp_path).read("customers")
    assert rows(crm(tmp_path, encoding="utf-16")) == ROWS
    (tmp_path / "customers.json").write_bytes(b'[{"id": 1}]'.decode().encode("utf-16-le"))
    with pytest.raises(ConfigError, match=f'not valid JSON: .* set encoding = "utf-16" in {SOURCE}$'):
        crm(tmp_path, "json").read("customers")


def test_a_comma_file_read_with_a_semicolon_setting_suggests_the_comma(tmp_path: Path) -> None:
    (tmp_path / "customers.csv").write_text(csv_text(","), encoding="utf-8")
    with pytest.raises(ConfigError, match='found "id,name,city" — is the separator ","\\? Set separator = ","'):
        crm(tmp_path, separator=";").read("customers")


@pytest.mark.parametrize(
    ("file_format", "encoding", "mark", "newline", "sep"),
    [
        ("csv", "latin-1", codecs.BOM_UTF8, "\r\n", ";"),  # a mark some program put before Latin-1 text
        ("csv", "utf-8", codecs.BOM_UTF8, "\r\n", ";"),
        ("csv", "utf-8", b"", "\n", ","),
        ("csv", "utf-16-le", codecs.BOM_UTF16_LE, "\r\n", "\t"),
        ("json", "cp1252", b"", "\r\n", ","),
        ("json", "utf-8", codecs.BOM_UTF8, "\n", ","),
    ],
)
def test_a_rewritten_file_keeps_its_mark_line_endings_separator_and_encoding(
    tmp_path: Path, file_format: FileFormat, encoding: str, mark: bytes, newline: str, sep: str
) -> None:
    path = tmp_path / f"customers.{file_format}"
    if file_format == "csv":
        text = csv_text(sep, newline)
    else:
        text = json.dumps(json.loads(json_text()), ensure_ascii=False, indent=2).replace("\n", newline) + newline
    path.write_bytes(mark + text.encode(encoding))
    fs = crm(tmp_path, file_format, separator=sep, encoding="latin-1" if encoding == "latin-1" else "utf-8")
    if encoding == "cp1252":
        fs = crm(tmp_path, file_format, encoding="cp1252")
    update(fs)
    data = path.read_bytes()
    assert data.startswith(mark) and not data[len(mark) :].startswith((codecs.BOM_UTF8, codecs.BOM_UTF16_LE))
    written = data[len(mark) :].decode(encoding)
    assert written.count("\n") == written.count(newline) > 2
    if file_format == "csv":
        assert written.startswith(sep.join(("id", "name", "city")) + newline)
        assert sep.join(("2", "Café Noël", "Zürich")) + newline in written
    else:
        assert [r["city"] for r in json.loads(written)] == ["Tromsø", "Zürich"]
    assert rows(fs)[1] == ("2", "Café Noël", "Zürich")


@pytest.mark.parametrize(
    ("settings", "start", "encoding"),
    [
        ({}, b"id,name,city\n", "utf-8"),
        ({"separator": ";", "encoding": "latin-1"}, b"id;name;city\n", "latin-1"),
        ({"bom": True}, codecs.BOM_UTF8 + b"id,name,city\n", "utf-8"),
        ({"encoding": "utf-16"}, codecs.BOM_UTF16_LE + "id,".encode("utf-16-le"), "utf-16-le"),
        ({"encoding": "utf-16", "bom": False}, "id,".encode("utf-16-le"), "utf-16-le"),
    ],
)
def test_a_new_file_takes_the_settings(tmp_path: Path, settings: dict[str, Any], start: bytes, encoding: str) -> None:
    fs = crm(tmp_path, **settings)
    (tmp_path / "customers.csv").touch()  # an empty file: no records, no text to keep
    (result,) = fs.write("customers", [WriteOp(WriteKind.CREATE, "c", values={"id": 7, "name": "Åse", "city": "Ås"})])
    assert result.ok, result.error
    data = (tmp_path / "customers.csv").read_bytes()
    assert data.startswith(start)
    assert "7{0}Åse{0}Ås\n".format(settings.get("separator", ",")).encode(encoding) in data


def test_text_the_encoding_cannot_hold_is_refused_for_that_record_only(tmp_path: Path) -> None:
    (tmp_path / "customers.csv").write_bytes(csv_text().encode("latin-1"))
    fs = crm(tmp_path, encoding="latin-1")
    ops = [
        WriteOp(WriteKind.UPDATE, "a", key="1", values={"name": "Euro € AS"}),
        WriteOp(WriteKind.UPDATE, "b", key="2", values={"name": "Crème"}),
    ]
    refused, done = fs.write("customers", ops)
    assert refused.error == "name = 'Euro € AS': \"€\" cannot be written in customers.csv, whose encoding is iso8859-1"
    assert done.ok
    assert rows(crm(tmp_path, encoding="latin-1"))[:2] == [ROWS[0], ("2", "Crème", "Genève")]
