"""The command line as cron runs it: a process of its own, started from another directory with a bare environment.

What an operator reads the next morning is the exit code and one line: bad input never shows a traceback, and
nothing is written where it should not be.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from reconcile.cli.main import app
from reconcile.state.store import open_state
from tests.cli.review import by_row, decide, erp_world, report_of
from tests.cli.world import make_world

RECONCILE = Path(sys.executable).parent / "reconcile"


def cron(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """``reconcile args`` started as cron starts it: from a directory of its own, with only ``PATH`` set."""
    elsewhere = root / "elsewhere"
    elsewhere.mkdir(exist_ok=True)
    return subprocess.run(
        [str(RECONCILE), *args],
        cwd=elsewhere,
        env={"PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_a_flow_named_to_lead_out_of_the_report_directory_is_refused_in_one_line(tmp_path: Path) -> None:
    root = tmp_path / "project"
    root.mkdir()
    flow = make_world(root, n_customers=2, bad=False)
    flow.write_text(flow.read_text().replace('name = "shop-to-ledger"', 'name = "../../escape"', 1))
    reports = root / "reports"
    before = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*"))

    done = cron(root, "plan", str(flow), "--state", str(root / "state"), "--report-dir", str(reports))

    assert done.returncode == 2, done.stdout + done.stderr
    said = (done.stdout + done.stderr).strip()
    assert said == (
        f"error: {flow}: name: '../../escape' cannot name the run folders: use letters, digits, '-', '_' and '.', "
        "not starting with '.' or '-' (at most 100 characters), e.g. \"crm-to-exact\""
    )
    assert sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*")) == sorted([*before, Path("project/elsewhere")])


def test_apply_finds_the_state_and_the_reports_of_its_plan_from_any_directory(tmp_path: Path) -> None:
    """A plan made in the project's folder with relative paths; its workbook decided; applied by cron from
    elsewhere, given the run folder alone: it uses the plan's state and puts its run folder beside the plan's."""
    root = tmp_path / "project"
    root.mkdir()
    erp_world(root, conflict="manual")
    flow = "flows/custom-erp-to-custom-pms.toml"
    planned = subprocess.run(
        [str(RECONCILE), "plan", flow, "--state", "state", "--report-dir", "reports"],
        cwd=root,
        env={"PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert planned.returncode == 0, planned.stdout + planned.stderr
    folder = root / report_of(planned.stdout)
    assert decide(folder / "plan.xlsx", "customers", by_row({"customers|create|233|": "approve"}))

    applied = cron(root, "apply", str(folder))

    assert applied.returncode == 0, applied.stdout + applied.stderr
    assert "1 decision in" in applied.stdout
    assert len(list((root / "reports").iterdir())) == 2  # the plan's run folder and the apply's, side by side
    assert not (root / "elsewhere" / ".reconcile").exists() and not (root / "elsewhere" / "reports").exists()
    again = cron(root, "apply", str(folder))  # the plan's state knows it was applied
    assert again.returncode == 0 and "already applied by run" in again.stdout, again.stdout + again.stderr


def test_a_run_refused_because_another_holds_the_flow_is_not_recorded_as_a_failed_run(tmp_path: Path) -> None:
    root = tmp_path / "project"
    root.mkdir()
    flow = make_world(root, n_customers=2, bad=False)
    state = root / "state"
    other = subprocess.Popen([sys.executable, "-c", "import sys; sys.stdin.read()"], stdin=subprocess.PIPE)
    try:
        with open_state(state) as store, store.transaction() as db:  # a run of another process holds the flow
            db.execute(
                "INSERT INTO locks (flow, target, run_id, pid, acquired_at) VALUES (?, ?, ?, ?, ?)",
                ("shop-to-ledger", "ledger", "r-other", other.pid, "2026-12-08T02:00:00+00:00"),
            )
        done = cron(root, "run", str(flow), "--state", str(state), "--report-dir", str(root / "reports"))
    finally:
        assert other.stdin is not None
        other.stdin.close()
        other.wait()
    assert done.returncode == 2, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    assert f"flow shop-to-ledger is already running against ledger (run r-other, process {other.pid})" in done.stderr
    with open_state(state) as store:
        assert store.runs("shop-to-ledger").is_empty()


def test_runs_prune_removes_the_folders_of_old_finished_runs_and_keeps_the_rest(tmp_path: Path) -> None:
    root = tmp_path / "project"
    root.mkdir()
    flow = make_world(root, n_customers=2, bad=False)
    state, reports = root / "state", root / "reports"
    folders = []
    for _ in range(4):
        planned = CliRunner().invoke(
            app, ["plan", str(flow), "--state", str(state), "--report-dir", str(reports), "--no-workbook"]
        )
        assert planned.exit_code == 0, planned.output
        folders.append(report_of(planned.output))
    stray = reports / "not-a-run"
    stray.mkdir()
    with open_state(state) as store, store.transaction() as db:
        runs = [r[0] for r in db.execute("SELECT run_id FROM runs ORDER BY started_at, run_id")]
        for run_id in runs[:3]:  # 40 days old; the third never ended (killed, say); the fourth is today's
            db.execute("UPDATE runs SET started_at = '2026-10-01T02:00:00+00:00' WHERE run_id = ?", (run_id,))
        db.execute("UPDATE runs SET ended_at = NULL WHERE run_id = ?", (runs[2],))
        db.execute("UPDATE runs SET report_dir = ? WHERE run_id = ?", (str(stray), runs[1]))
    shown = cron(root, "runs", "prune", "--keep-days", "30", "--state", str(state), "--dry-run")
    assert shown.returncode == 0, shown.stdout + shown.stderr
    assert all(f.exists() for f in folders) and stray.exists()  # a dry run removes nothing
    assert f"would remove {folders[0]}" in shown.stdout

    done = cron(root, "runs", "prune", "--keep-days", "30", "--state", str(state))

    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.splitlines() == [
        f"removed {folders[0]}",
        f"kept {stray} is not the run's folder (its name is not the run id)",
        f"removed 1 run folder ({done.stdout.split('(')[-1].split(')')[0]}) older than 30 days",
    ]
    assert not folders[0].exists()
    assert folders[1].exists() and stray.exists()  # its run names another folder: neither is touched
    assert folders[2].exists() and folders[3].exists()  # a run that never ended; the newest run
    with open_state(state) as store:
        assert store.runs("shop-to-ledger").height == 4  # the runs stay in the state
    bad = cron(root, "runs", "prune", "--keep-days", "-1", "--state", str(state))
    assert bad.returncode == 2 and "Traceback" not in bad.stderr
    assert "--keep-days -1: the days to keep cannot be fewer than 0" in bad.stderr


def test_unlock_releases_a_lock_whose_process_id_now_belongs_to_another_process(tmp_path: Path) -> None:
    """A run died and, after a reboot, its process id went to another process: the flow looks held. A person
    releases it: refused while that process runs unless --force, and the next run goes through."""
    root = tmp_path / "project"
    root.mkdir()
    flow = make_world(root, n_customers=2, bad=False)
    state = root / "state"
    assert cron(root, "unlock", "shop-to-ledger", "--state", str(state)).returncode == 2  # no state at all
    other = subprocess.Popen([sys.executable, "-c", "import sys; sys.stdin.read()"], stdin=subprocess.PIPE)
    try:
        with open_state(state) as store, store.transaction() as db:
            db.execute(
                "INSERT INTO locks (flow, target, run_id, pid, acquired_at) VALUES (?, ?, ?, ?, ?)",
                ("shop-to-ledger", "ledger", "r-dead", other.pid, "2026-12-08T02:00:00+00:00"),
            )
        refused = cron(root, "unlock", "shop-to-ledger", "--state", str(state))
        forced = cron(root, "unlock", "shop-to-ledger", "--state", str(state), "--force")
    finally:
        assert other.stdin is not None
        other.stdin.close()
        other.wait()
    held = f"against ledger, taken by run r-dead (process {other.pid}) at 2026-12-08T02:00:00+00:00"
    assert refused.returncode == 2 and "Traceback" not in refused.stderr
    assert f"flow shop-to-ledger's lock {held}: process {other.pid} is running;" in refused.stderr
    assert forced.returncode == 0, forced.stdout + forced.stderr
    assert forced.stdout.splitlines() == [f"released flow shop-to-ledger's lock {held}"]
    again = cron(root, "unlock", "shop-to-ledger", "--state", str(state))
    assert again.returncode == 0 and again.stdout.strip() == "flow shop-to-ledger holds no lock"
    ran = cron(root, "run", str(flow), "--state", str(state), "--report-dir", str(root / "reports"))
    assert "outcome: applied 3 writes" in ran.stdout, ran.stdout + ran.stderr  # an order waits for review: exit 1
    assert ran.returncode == 1


def test_run_log_holds_the_run_at_info_while_the_console_shows_only_what_needs_a_person(tmp_path: Path) -> None:
    root = tmp_path / "project"
    root.mkdir()
    flow = make_world(root, n_customers=2, bad=False)
    done = cron(root, "plan", str(flow), "--state", str(root / "state"), "--report-dir", str(root / "reports"))
    assert done.returncode == 0, done.stdout + done.stderr
    log = (root / report_of(done.stdout) / "run.log").read_text(encoding="utf-8")
    assert " INFO read shop Customer: 2 records" in log and " INFO read ledger Account: 1 records" in log
    assert " INFO " not in done.stderr
    verbose = cron(root, "-v", "plan", str(flow), "--state", str(root / "state"), "--report-dir", str(root / "r2"))
    assert " INFO read shop Customer: 2 records" in verbose.stderr


def test_each_flow_stands_alone_and_the_exit_code_is_the_worst(tmp_path: Path) -> None:
    """A flow that fails does not stop the next; the last lines say which flow got which exit code."""
    root = tmp_path / "project"
    root.mkdir()
    good = make_world(root, n_customers=2, bad=False)
    broken = good.with_name("broken.toml")
    broken.write_text(good.read_text().replace('name = "shop-to-ledger"', 'name = "../escape"', 1))

    done = cron(root, "plan", str(broken), str(good), "--state", str(root / "state"), "--report-dir", "r")

    assert done.returncode == 2, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    assert f"error: {broken}: name: '../escape' cannot name the run folders" in done.stderr
    assert (root / "elsewhere" / report_of(done.stdout) / "plan.json").exists()  # the good flow was planned
    assert done.stdout.splitlines()[-2:] == [
        f"{broken}: exit 2: {broken}: name: '../escape' cannot name the run folders: use letters, digits, '-', "
        "'_' and '.', not starting with '.' or '-' (at most 100 characters), e.g. \"crm-to-exact\"",
        f"{good}: exit 0: dry run, nothing written; 3 writes planned, 1 row waits for review",
    ]
