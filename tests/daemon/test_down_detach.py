"""`orc down` stops a daemon through its socket; `orc up --detach` starts one in the background."""

from __future__ import annotations

import json
import signal

import pytest

from tests.daemon.conftest import FLOWS, Project, wait_for

pytestmark = pytest.mark.timeout(120)

CONFIG = """
    [[deployments]]
    name = "sleepy"
    entrypoint = "flows.py:sleepy"
"""


def _running(project: Project, seconds: float) -> str:
    started = project.orc("run", "sleepy", "-p", f"seconds={seconds}")
    assert started.returncode == 0, started.stderr
    return wait_for(lambda: [r.id for r in project.runs(state="RUNNING")], 30, "a Running run")[0]


def _state(project: Project, run_id: str) -> str:
    shown = project.orc("runs", "show", run_id, "--json")
    assert shown.returncode == 0, shown.stderr
    return str(json.loads(shown.stdout)["state_name"])


def test_down_lets_a_running_run_finish_within_the_grace(project: Project) -> None:
    project.write("flows.py", FLOWS)
    project.write("flows.toml", CONFIG)
    daemon = project.up("--grace", "30")
    run_id = _running(project, 1.0)
    down = project.orc("down", "--timeout", "60")
    assert down.returncode == 0, down.stdout + down.stderr
    assert daemon.poll() == 0, "orc down returned before the daemon had gone"
    assert _state(project, run_id) == "Completed"


def test_down_records_what_outlives_the_grace_and_is_idempotent(project: Project) -> None:
    project.write("flows.py", FLOWS)
    project.write("flows.toml", CONFIG)
    daemon = project.up("--grace", "0.5")
    run_id = _running(project, 600)
    down = project.orc("down", "--timeout", "60")
    assert down.returncode == 0, down.stdout + down.stderr
    assert daemon.poll() == 0
    assert _state(project, run_id) in ("Crashed", "Cancelled")
    again = project.orc("down")
    assert again.returncode == 0, again.stderr
    assert "not running" in again.stdout


def test_a_run_stopped_with_orc_up_is_retried_by_the_next_start_within_its_retries(
    project: Project,
) -> None:
    """What outlives the grace is Crashed, and retried on the next start where its `retries`
    allow, as docs/operating.md says: it used to stay Crashed for good after a clean stop
    (only a kill -9 of orc up was followed by a retry)."""
    project.write("flows.py", FLOWS)
    project.write("flows.toml", CONFIG + "    retries = 1\n")
    project.up("--grace", "0.5")
    run_id = _running(project, 600)
    assert project.orc("down", "--timeout", "60").returncode == 0
    shown = json.loads(project.orc("runs", "show", run_id, "--json").stdout)
    assert shown["state_name"] == "AwaitingRetry", shown
    names = [s["name"] for s in shown["state_history"]]
    assert "Crashed" in names, names
    project.up()
    again = wait_for(
        lambda: [r for r in project.runs(state="RUNNING") if r.id == run_id], 30, "the retry"
    )
    assert again[0].run_count == 2


def test_sighup_stops_orc_up_cleanly_and_says_why(project: Project) -> None:
    """A foreground orc up whose terminal or SSH session closes gets SIGHUP: it used to die
    at once with nothing in its log, its run cut off with no retry stored."""
    project.write("flows.py", FLOWS)
    project.write("flows.toml", CONFIG + "    retries = 1\n")
    daemon = project.up("--grace", "0.5")
    run_id = _running(project, 600)
    assert project.stop(daemon, signal.SIGHUP) == 0
    assert "stopping on SIGHUP (its terminal or session closed)" in project.daemon_log()
    assert _state(project, run_id) == "AwaitingRetry"


def test_up_detach_returns_once_ready_and_logs_to_orc_log(project: Project) -> None:
    project.write("flows.py", FLOWS)
    project.write("flows.toml", CONFIG)
    up = project.orc("up", "--detach")
    assert up.returncode == 0, up.stdout + up.stderr
    log = project.root / ".orc" / "orc.log"
    assert str(log) in up.stdout
    status = project.orc("status")
    assert status.returncode == 0, status.stderr
    assert f"log: {log}" in status.stdout
    assert json.loads(project.orc("status", "--json").stdout)["log"] == str(log)
    assert project.orc("up", "--detach").returncode == 5  # a second one is refused
    assert project.orc("down").returncode == 0
    assert "orc up: project" in log.read_text()
    assert "stopped" in log.read_text()
    assert "not running" in project.orc("status").stdout


@pytest.mark.parametrize("lean", ["1", "0"], ids=["quick path", "full path"])
def test_status_names_the_log_this_daemon_writes_and_lists_its_running_runs_in_json(
    project: Project, lean: str
) -> None:
    """A foreground `orc up` logs to its stderr: a `.orc/orc.log` left by an earlier detached
    one used to be named as its log. And `--json` said `"running": true` (the daemon is up)
    with no list of the running runs the text shows."""
    project.write("flows.py", FLOWS)
    project.write("flows.toml", CONFIG)
    stale = project.write(".orc/orc.log", "an older daemon's log\n")
    project.up()
    run_id = _running(project, 600)
    env = {"ORC_LEAN_CLI": lean}
    text = project.orc("status", env=env).stdout
    assert f"running: {run_id[:8]}" in text and str(stale) not in text, text
    answer = json.loads(project.orc("status", "--json", env=env).stdout)
    assert answer["running"] is True and answer["log"] is None, answer
    assert [r["id"] for r in answer["running_runs"]] == [run_id]
    assert project.orc("cancel", run_id).returncode == 0


def test_down_names_a_daemon_that_holds_the_project_but_does_not_answer(project: Project) -> None:
    project.write("flows.py", FLOWS)
    project.write("flows.toml", CONFIG)
    daemon = project.up()
    daemon.send_signal(signal.SIGSTOP)
    try:
        down = project.orc("down")
    finally:
        daemon.send_signal(signal.SIGCONT)
    assert down.returncode == 5, down.stdout + down.stderr
    assert f"pid {daemon.pid}" in down.stderr and "does not answer" in down.stderr
    assert project.orc("down").returncode == 0
    assert daemon.wait(30) == 0
