"""A files system that writes each entity file once per run, and loses nothing when the run stops before that.

``write_once`` is how a nightly run opens a system of files: batches are kept in memory and in a pending log
beside the file, and the file is written when the run is done with it. A run that dies is played in a child
process that leaves without closing anything (``os._exit``), as a killed process would.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from reconcile.atomic import write_atomically
from reconcile.errors import ConfigError, SystemFailure
from reconcile.systems.base import WriteKind, WriteOp
from reconcile.systems.files import connector as files
from reconcile.systems.files.connector import FileSystem
from reconcile.systems.files.pending import PendingLog
from tests.systems.files.test_connector import CATALOGUE, NOW


def _system(folder: Path, **options: Any) -> FileSystem:
    return FileSystem("shop", CATALOGUE, folder, now=lambda: NOW, write_once=True, **options)


def _create(row: str, name: str) -> WriteOp:
    return WriteOp(WriteKind.CREATE, row, values={"Name": name})


def _names(folder: Path) -> list[str]:
    return [r["Name"] for r in json.loads((folder / "Customers.json").read_text(encoding="utf-8"))]


def test_a_files_system_writes_each_entity_file_once_per_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "Customers.json").write_text("[]", encoding="utf-8")
    replaced: list[Path] = []

    def counted(path: Path, write: Any, **options: Any) -> None:
        replaced.append(path)
        write_atomically(path, write, **options)

    monkeypatch.setattr(files, "write_atomically", counted)
    fs = _system(tmp_path)
    for batch in range(20):
        results = fs.write("Customers", [_create(f"r{batch}-{i}", f"C{batch}-{i}") for i in range(50)])
        assert all(r.ok for r in results)
    assert replaced == [] and _names(tmp_path) == []
    assert fs.read("Customers").height == 1000  # the run reads what it wrote
    fs.close()
    assert replaced == [tmp_path / "Customers.json"]
    assert len(_names(tmp_path)) == 1000
    assert sorted(p.name for p in tmp_path.iterdir()) == [".Customers.json.lock", "Customers.json"]


_DIES = """
import sys
from datetime import UTC, datetime
from pathlib import Path
from reconcile.systems.base import WriteKind, WriteOp
from reconcile.systems.files.connector import FileSystem
from tests.systems.files.test_connector import CATALOGUE
fs = FileSystem("shop", CATALOGUE, Path(sys.argv[1]), write_once=True)
for batch in range(3):
    ops = [WriteOp(WriteKind.CREATE, f"r{batch}-{i}", values={"Name": f"C{batch}-{i}"}) for i in range(5)]
    results = fs.write("Customers", ops)
    print(" ".join(r.key for r in results), flush=True)
fs.write("Customers", [WriteOp(WriteKind.UPDATE, "u", key="1", values={"Name": "Changed"})])
fs.write("Customers", [WriteOp(WriteKind.DELETE, "d", key="2")])
import os
os._exit(0)
"""


def _run_and_die(folder: Path) -> list[str]:
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(_DIES), str(folder)],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).parents[3],
    )
    return done.stdout.split()


def test_a_run_that_stops_before_the_flush_loses_nothing_it_reported_written(tmp_path: Path) -> None:
    (tmp_path / "Customers.json").write_text(json.dumps([{"Id": 1, "Name": "Kari"}, {"Id": 2, "Name": "Per"}]))
    before = (tmp_path / "Customers.json").read_bytes()
    keys = _run_and_die(tmp_path)
    assert len(keys) == 15
    assert (tmp_path / "Customers.json").read_bytes() == before  # the file was never half written
    # The next run sees every write the dead one answered for ...
    frame = _system(tmp_path).read("Customers")
    assert sorted(frame["Id"].to_list(), key=int) == sorted(["1", *keys], key=int)
    assert frame.filter(frame["Id"] == "1")["Name"].to_list() == ["Changed"]
    # ... and its first flush puts them into the file, once.
    fs = _system(tmp_path)
    (more,) = fs.write("Customers", [_create("n", "New")])
    fs.close()
    names = _names(tmp_path)
    assert len(names) == 17 and names[0] == "Changed" and "Per" not in names and names[-1] == "New"
    assert more.key == str(max(int(k) for k in keys) + 1)
    assert not PendingLog(tmp_path / "Customers.json").exists()


def test_a_log_whose_flush_was_done_is_not_laid_over_the_file_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "Customers.json").write_text("[]", encoding="utf-8")
    fs = _system(tmp_path)
    fs.write("Customers", [_create("a", "A"), _create("b", "B")])
    monkeypatch.setattr(PendingLog, "remove", lambda self: None)  # the run dies just after the rename
    fs.close()
    monkeypatch.undo()
    assert PendingLog(tmp_path / "Customers.json").exists()
    assert _system(tmp_path).read("Customers")["Name"].to_list() == ["A", "B"]
    fs = _system(tmp_path)
    fs.write("Customers", [_create("c", "C")])
    fs.close()
    assert _names(tmp_path) == ["A", "B", "C"]


def test_a_pending_log_over_a_file_replaced_since_is_refused_naming_both(tmp_path: Path) -> None:
    (tmp_path / "Customers.json").write_text(json.dumps([{"Id": 1, "Name": "Kari"}]))
    _run_and_die(tmp_path)
    (tmp_path / "Customers.json").write_text(json.dumps([{"Id": 7, "Name": "Someone else's copy"}]))
    with pytest.raises(ConfigError, match=r"\.Customers\.json\.pending holds 17 change.*Customers\.json has been"):
        _system(tmp_path).read("Customers")


def test_a_second_writer_waits_for_the_first_ones_flush(tmp_path: Path) -> None:
    (tmp_path / "Customers.json").write_text("[]", encoding="utf-8")
    first = _system(tmp_path)
    first.write("Customers", [_create("a", "A")])
    with pytest.raises(SystemFailure, match="another run has held"):
        _system(tmp_path, lock_timeout=0.05).write("Customers", [_create("b", "B")])
    first.close()
    second = _system(tmp_path, lock_timeout=0.05)
    second.write("Customers", [_create("b", "B")])
    second.close()
    assert _names(tmp_path) == ["A", "B"]


def test_the_next_run_that_reads_a_dead_runs_writes_puts_them_into_the_file(tmp_path: Path) -> None:
    (tmp_path / "Customers.json").write_text(json.dumps([{"Id": 1, "Name": "Kari"}, {"Id": 2, "Name": "Per"}]))
    keys = _run_and_die(tmp_path)
    fs = _system(tmp_path)
    assert fs.read("Customers").height == 16
    fs.close()
    assert len(_names(tmp_path)) == 16 and not PendingLog(tmp_path / "Customers.json").exists()
    assert sorted(str(r["Id"]) for r in json.loads((tmp_path / "Customers.json").read_text())) == sorted(["1", *keys])
