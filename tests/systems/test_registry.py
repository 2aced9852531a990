"""The registry of a command's systems: which folder a system of files is opened on."""

from __future__ import annotations

import json
from pathlib import Path

from reconcile.systems.files.connector import FileSystem
from reconcile.systems.registry import Systems

DROP = """
system = "drop"
kind = "files"
{folder}
[entities.Customer]
key = "id"
[entities.Customer.fields]
id = {{ type = "int" }}
name = {{ type = "string" }}
"""


def _project(root: Path, folder_line: str) -> Path:
    flows = root / "flows"
    (flows / "systems").mkdir(parents=True)
    (flows / "systems" / "drop.toml").write_text(DROP.format(folder=folder_line), encoding="utf-8")
    return flows


def test_a_folder_in_the_system_file_is_honoured_without_a_connections_file(tmp_path: Path) -> None:
    exchange = tmp_path / "exchange"
    exchange.mkdir()
    (exchange / "Customer.json").write_text(json.dumps([{"id": 1, "name": "Kari"}]), encoding="utf-8")
    flows = _project(tmp_path, f'folder = "{exchange}"')
    with Systems(flows_dir=flows, state_dir=tmp_path / "state") as systems:
        drop = systems.open("drop")
        assert isinstance(drop, FileSystem) and drop.folder == exchange
        assert drop.read("Customer")["name"].to_list() == ["Kari"]
        assert not systems.uses_sandbox("drop")
    assert not (tmp_path / "state" / "sandbox").exists()


def test_a_files_system_without_a_folder_is_its_sandbox_copy(tmp_path: Path) -> None:
    flows = _project(tmp_path, "")
    seed = tmp_path / "data" / "sandbox" / "drop"
    seed.mkdir(parents=True)
    (seed / "Customer.json").write_text(json.dumps([{"id": 2, "name": "Ola"}]), encoding="utf-8")
    with Systems(flows_dir=flows, state_dir=tmp_path / "state") as systems:
        drop = systems.open("drop")
        assert isinstance(drop, FileSystem) and drop.folder == tmp_path / "state" / "sandbox" / "drop"
        assert drop.read("Customer")["name"].to_list() == ["Ola"]
        assert systems.uses_sandbox("drop")
