"""Helpers of the review tests: decide lines of a workbook as a reviewer would, and read what a run said."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import openpyxl

REPO = Path(__file__).resolve().parents[2]

Choose = Callable[[dict[str, Any]], str | None]
"""Given a line of a sheet (header -> value, hidden cells included), the Decision words to set, or None."""


def report_of(out: str) -> Path:
    """The run folder a command printed last."""
    return Path([line for line in out.splitlines() if line.startswith("report: ")][-1].removeprefix("report: "))


def decide(workbook: Path, sheet: str, choose: Choose) -> list[str]:
    """Set the Decision cell of each line ``choose`` picks, as a person does in a spreadsheet program; returns
    the row ids decided. The workbook is saved by openpyxl, a stand-in for Excel saving it."""
    book = openpyxl.load_workbook(workbook)
    ws = book[sheet]
    header = [c.value for c in ws[1]]
    decision_col = header.index("Decision") + 1
    decided = []
    for r in range(2, ws.max_row + 1):
        line = {h: ws.cell(r, i + 1).value for i, h in enumerate(header) if h}
        words = choose(line)
        if words is not None:
            ws.cell(r, decision_col).value = words
            decided.append(str(line.get("row_id")))
    book.save(workbook)
    return decided


def by_row(decisions: dict[str, str]) -> Choose:
    """Decide lines by their row id."""
    return lambda line: decisions.get(str(line.get("row_id")))


def choice(line: dict[str, Any], value: str) -> str:
    """The words of a line's own drop-down that stand for ``value`` (a candidate's target id, say)."""
    for words, meant in json.loads(line["choices"]):
        if meant == value:
            return str(words)
    raise AssertionError(f"no choice {value!r} in {line['choices']}")


def erp_world(root: Path, **flow_defaults: str) -> Path:
    """The bundled ERP -> PMS flow in a folder of its own, with the sandbox's data; ``flow_defaults`` replace
    lines of its [defaults] (``conflict="manual"``). Returns the flow file."""
    flows = root / "flows"
    (flows / "systems").mkdir(parents=True)
    for name in ("erp.toml", "pms.toml"):
        shutil.copy(REPO / "flows" / "systems" / name, flows / "systems" / name)
    text = (REPO / "flows" / "custom-erp-to-custom-pms.toml").read_text(encoding="utf-8")
    for key, value in flow_defaults.items():
        head, sep, rest = text.partition("[defaults]\n")
        text = (
            head
            + sep
            + f'{key} = "{value}"\n'
            + "\n".join(line for line in rest.split("\n") if not line.startswith(f"{key} ="))
        )
    flow = flows / "custom-erp-to-custom-pms.toml"
    flow.write_text(text, encoding="utf-8")
    (root / "data").mkdir()
    (root / "data" / "sandbox").symlink_to(REPO / "data" / "sandbox")
    return flow
