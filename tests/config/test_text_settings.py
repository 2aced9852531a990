"""A files system's text settings (separator, encoding, bom): given in the system file or the connections file,
each mistake refused on one line naming the file and the setting."""

from __future__ import annotations

import pytest

from reconcile.config.systemfile import connect, parse_system_file
from reconcile.errors import ConfigError
from reconcile.model.systemfile import SystemFile, TextSettings

BASE = {"system": "drop", "kind": "files", "entities": {"Customer": {"key": "id", "fields": {"id": {}}}}}
WHERE = "flows/systems/drop.toml"


def parsed(**keys: object) -> SystemFile:
    return parse_system_file({**BASE, **keys}, WHERE)


def test_the_settings_and_their_defaults() -> None:
    assert parsed().connection.text == TextSettings(separator=",", encoding="utf-8", bom=None)
    spec = parsed(format="csv", separator=";", encoding="latin-1", bom=True)
    assert spec.connection.text == TextSettings(separator=";", encoding="latin-1", bom=True)
    assert parsed(separator="\t", format="csv").connection.text.separator == "\t"
    assert parsed(encoding="utf-16", bom=False).connection.text == TextSettings(encoding="utf-16", bom=False)


@pytest.mark.parametrize(
    ("keys", "message"),
    [
        ({"format": "csv", "separator": "; "}, 'separator: "; " is 2 characters; the separator is one character'),
        ({"format": "csv", "separator": ""}, 'separator: "" is 0 characters'),
        ({"format": "csv", "separator": 59}, "separator: 59 is not text"),
        ({"format": "csv", "separator": '"'}, 'separator: "\\"" cannot split a CSV line; use an ASCII character'),
        ({"format": "csv", "separator": "§"}, 'separator: "§" cannot split a CSV line'),
        ({"encoding": "latin-l"}, 'encoding: "latin-l" is not a text encoding (did you mean "latin-1"?)'),
        ({"encoding": "base64"}, 'encoding: "base64" is not a text encoding; valid encodings are those Python knows'),
        ({"encoding": ""}, "encoding: must be the name of a text encoding, such as utf-8"),
        ({"bom": "yes"}, "bom: 'yes' is not valid; use true or false"),
        ({"separator": ";"}, 'separator: only for format = "csv"; this system\'s format is "json"'),
        ({"format": "parquet", "bom": True}, 'bom: only for CSV and JSON files; this system\'s format is "parquet"'),
    ],
)
def test_a_wrong_setting_is_one_line_naming_the_file_and_the_setting(keys: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError) as refused:
        parsed(**keys)
    text = str(refused.value)
    assert text.startswith(f"{WHERE}: ") and message in text and "\n" not in text


def test_a_rest_system_takes_no_text_settings() -> None:
    rest = {"system": "api", "entities": {"C": {"key": "id", "path": "/c", "fields": {"id": {}}}}}
    with pytest.raises(ConfigError, match=r'api\.toml: encoding: only for a system of kind = "files"'):
        parse_system_file({**rest, "encoding": "latin-1"}, "api.toml")


def test_the_connections_file_lays_settings_over_the_system_files() -> None:
    spec = parsed(format="csv", separator=";", encoding="latin-1")
    over = connect(spec, {"encoding": "cp1252", "bom": True, "_file": "c.toml"})
    assert over.connection.text == TextSettings(separator=";", encoding="cp1252", bom=True)
    with pytest.raises(ConfigError, match=r'^c.toml: drop.separator: only for format = "csv"; .* is "json"$'):
        connect(spec, {"format": "json", "separator": ";", "_file": "c.toml"})
    with pytest.raises(ConfigError, match=r'^c.toml: drop.encoding: "klingon" is not a text encoding'):
        connect(spec, {"encoding": "klingon", "_file": "c.toml"})
