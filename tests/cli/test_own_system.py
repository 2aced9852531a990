"""A company's own systems added by writing only system files and a flow, no code, run through the CLI.

A helpdesk (REST: records in a bare array, the next page in the ``Link`` header, an API key) and a billing
system (REST: ``{"result": [...]}``, offset paging, basic auth, a bulk create endpoint) that nobody wrote a
connector for. Without a connections file each is its local sandbox: the generic emulator serving the system
file over real HTTP, seeded from ``data/sandbox/<name>/``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from reconcile.cli.main import app

HELPDESK = """
system = "helpdesk"
description = "The support team's helpdesk"
[auth]
type = "api_key"
header = "X-Helpdesk-Key"
key_env = "HELPDESK_KEY"
[paging]
type = "link_header"
size_param = "per_page"
size = 10

[entities.Organisation]
key = "id"
modified = "updated_at"
path = "/organisations"
[entities.Organisation.fields]
id = { type = "int", read_only = true }
name = { type = "string", required = true }
domain = { type = "string" }
vat = { type = "string" }
updated_at = { type = "datetime", read_only = true }
"""

BILLING = """
system = "billing"
records = "result"
[auth]
type = "basic"
username_env = "BILLING_USER"
password_env = "BILLING_PASSWORD"
[paging]
type = "offset"
limit = 10

[entities.Client]
key = "ClientId"
modified = "Changed"
path = "/clients"
update = "PUT"
bulk = { create = "/clients:batch", size = 25 }
[entities.Client.fields]
ClientId = { type = "guid", read_only = true }
Name = { type = "string", required = true, max_length = 60 }
VatNo = { type = "string" }
Website = { type = "string" }
Changed = { type = "datetime", read_only = true }
"""

FLOW = """
name = "helpdesk-to-billing"
source = "helpdesk"
target = "billing"
[defaults]
conflict = "newest"
[[mapping]]
name = "organisations"
source = "Organisation"
target = "Client"
merge = [[["vat", "VatNo"]]]
properties = [
  { source = "name", target = "Name" },
  { source = "vat", target = "VatNo" },
  { source = "domain", target = "Website" },
]
"""

runner = CliRunner()


def _project(root: Path) -> Path:
    (root / "flows" / "systems").mkdir(parents=True)
    (root / "flows" / "systems" / "helpdesk.toml").write_text(HELPDESK)
    (root / "flows" / "systems" / "billing.toml").write_text(BILLING)
    flow = root / "flows" / "helpdesk-to-billing.toml"
    flow.write_text(FLOW)
    helpdesk, billing = root / "data" / "sandbox" / "helpdesk", root / "data" / "sandbox" / "billing"
    helpdesk.mkdir(parents=True)
    billing.mkdir(parents=True)
    orgs = [
        {
            "id": i,
            "name": f"Firma {i} AS",
            "domain": f"firma{i}.no",
            "vat": f"NO9{i:08d}MVA",
            "updated_at": "2026-10-01T08:00:00Z",
        }
        for i in range(1, 31)
    ]
    (helpdesk / "Organisation.json").write_text(json.dumps(orgs))
    known = {
        "ClientId": "7d6a1f7e-0000-4000-8000-000000000001",
        "Name": "Firma 1 AS",
        "VatNo": "NO900000001MVA",
        "Website": "firma1.no",
        "Changed": "2026-09-01T08:00:00Z",
    }
    (billing / "Client.json").write_text(json.dumps([known]))
    return flow


def _run(flow: Path, root: Path) -> tuple[int, dict[str, Any]]:
    result = runner.invoke(
        app, ["run", str(flow), "--state", str(root / "state"), "--report-dir", str(root / "reports")]
    )
    report = [line for line in result.output.splitlines() if line.startswith("report: ")][-1].removeprefix("report: ")
    return result.exit_code, json.loads((Path(report) / "plan.json").read_text())["counts"]["organisations"]


def _clients(root: Path) -> list[dict[str, Any]]:
    data: list[dict[str, Any]] = json.loads((root / "state" / "sandbox" / "billing" / "Client.json").read_text())
    return data


def test_a_new_system_from_a_system_file_and_a_flow_runs_end_to_end_and_then_is_in_sync(tmp_path: Path) -> None:
    flow = _project(tmp_path)
    code, counts = _run(flow, tmp_path)
    assert code == 0, counts
    assert counts["create"] == 29 and counts["in_sync"] == 1  # one merged by VAT number
    clients = _clients(tmp_path)  # the emulator's state, saved when the run ended
    assert len(clients) == 30 and len({c["ClientId"] for c in clients}) == 30
    assert all(c["Changed"] for c in clients)

    code, counts = _run(flow, tmp_path)
    assert code == 0
    assert counts["in_sync"] == 30 and counts["create"] == counts["update_target"] == counts["update_source"] == 0

    # an edit in the helpdesk travels to billing over HTTP (a PUT of the whole record) on the next night
    orgs_file = tmp_path / "state" / "sandbox" / "helpdesk" / "Organisation.json"
    orgs = json.loads(orgs_file.read_text())
    orgs[4].update(domain="firma5.com", updated_at="2026-12-01T08:00:00Z")
    orgs_file.write_text(json.dumps(orgs))
    code, counts = _run(flow, tmp_path)
    assert code == 0 and counts["update_target"] == 1
    website = {c["VatNo"]: c["Website"] for c in _clients(tmp_path)}
    assert website["NO900000005MVA"] == "firma5.com"
    assert _run(flow, tmp_path)[1]["in_sync"] == 30
