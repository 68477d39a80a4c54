"""Ordinary mistakes must cost one attempt, not a storm: checked on a real `orc up`.

An `env` variable unset where `orc up` runs is a failure no retry can fix:
one attempt, `Failed` naming the variable, a handful of state rows and an
idle daemon, whatever `retries` says. A flow that raises is retried exactly
`retries` times, never sooner than the delay.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import duckdb
import pytest

from orchestrate.core.errors import OrcError
from tests.fault.invariants import read_markers
from tests.fault.project import FLOWS, FaultProject, wait_for

UNSET = "ORC_FAULT_NEVER_SET_TOKEN"


def _project(root: Path, deployment: str) -> FaultProject:
    root.mkdir(parents=True)
    (root / "flows.py").write_text(FLOWS)
    (root / "flows.toml").write_text(f'[project]\nname = "mistakes"\n\n{deployment}')
    return FaultProject(root.resolve())


def _state_of(project: FaultProject, run_id: str) -> Any:
    """The run as `orc runs show` shows it; None until the store has it."""
    try:
        with project.client() as client:
            return client.run(run_id).run
    except OrcError:
        return None


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _daemon_cpu(project: FaultProject, window: float = 1.0) -> float:
    """The daemon's CPU use (cores) over a `window` of wall time: a measurement, not a wait."""
    proc = project.daemon
    assert proc is not None, "orc up exited"
    before, started = _cpu_seconds(proc.pid), time.monotonic()
    time.sleep(window)
    return (_cpu_seconds(proc.pid) - before) / (time.monotonic() - started)


def _stored(project: FaultProject, run_id: str) -> tuple[dict[str, Any], int]:
    """The run's stored row and its number of state history rows, read once the daemon is down."""
    conn = duckdb.connect(str(project.store), read_only=True)
    try:
        cursor = conn.execute(
            "SELECT state_name, state_message, run_count FROM flow_runs WHERE id = ?", [run_id]
        )
        name, message, run_count = cursor.fetchone() or (None, None, None)
        count = conn.execute(
            "SELECT count(*) FROM state_history WHERE run_id = ?", [run_id]
        ).fetchone()
    finally:
        conn.close()
    return {"state_name": name, "message": message or "", "run_count": run_count}, int(
        count[0] if count else 0
    )


def _stop(project: FaultProject) -> None:
    try:
        project.stop(timeout=30)
    finally:
        project.kill_everything()


@pytest.mark.parametrize("retries", [0, 2])
def test_an_unset_env_variable_fails_once_and_names_it(tmp_path: Path, retries: int) -> None:
    os.environ.pop(UNSET, None)
    project = _project(
        tmp_path / "p",
        f'[[deployments]]\nname = "needs-token"\nentrypoint = "flows.py:quick"\n'
        f'schedules = [{{ interval = "2s" }}]\n'
        f'env = {{ TOKEN = {{ from_env = "{UNSET}" }} }}\nretries = {retries}\n',
    )
    try:
        project.up()
        run_id = wait_for(lambda: _first_failed(project), 20, "a scheduled run to fail")
        cpu = _daemon_cpu(project)
        refusal = _manual_run_refusal(project)
    finally:
        _stop(project)
    stored, history = _stored(project, run_id)
    assert stored["state_name"] == "Failed" and UNSET in stored["message"], stored
    assert stored["run_count"] == 1, f"{stored['run_count']} attempts counted, one was made"
    assert history <= 5, f"{history} state rows for one failed attempt"
    assert cpu < 0.2, f"orc up used {cpu:.0%} of a core after the run failed"
    assert read_markers(project.markers) == [], (
        "the flow body ran although its env could not be built"
    )
    assert refusal is None or UNSET in refusal, refusal


def _first_failed(project: FaultProject) -> str | None:
    """The id of the first run `orc runs ls` shows Failed, once there is one."""
    with project.client() as client:
        runs = client.runs(limit=50, deployment="needs-token")
    return next((r.id for r in runs if _failed(r)), None)


def _manual_run_refusal(project: FaultProject) -> str | None:
    """A run asked for by hand is refused naming the variable, or accepted (and then fails once)."""
    try:
        with project.client() as client:
            client.create_run("needs-token")
    except OrcError as exc:
        return str(exc)
    return None


def test_a_flow_that_raises_runs_retries_plus_one_times_spaced_by_the_delay(tmp_path: Path) -> None:
    delay = 1.0
    project = _project(
        tmp_path / "p",
        f'[[deployments]]\nname = "fails"\nentrypoint = "flows.py:always_fails"\n'
        f"retries = 2\nretry_delay_seconds = {delay}\n",
    )
    try:
        project.up()
        with project.client() as client:
            run_id = client.create_run("fails").id
        wait_for(lambda: _final_after(project, run_id, 3), 30, "the third attempt to fail")
    finally:
        _stop(project)
    stored, _ = _stored(project, run_id)
    markers = read_markers(project.markers)
    starts = [m for m in markers if m["phase"] == "start"]
    raises = [m for m in markers if m["phase"] == "raise"]
    assert [m["attempt"] for m in starts] == [1, 2, 3], starts
    gaps = [round(s["t"] - r["t"], 3) for r, s in zip(raises, starts[1:], strict=False)]
    assert all(gap >= delay for gap in gaps), (
        f"retries came {gaps} s after the failure; the delay is {delay} s"
    )
    assert (stored["state_name"], stored["run_count"]) == ("Failed", 3), stored


def _failed(run: Any) -> bool:
    return run is not None and run.state.type == "FAILED"


def _final_after(project: FaultProject, run_id: str, attempts: int) -> bool:
    run = _state_of(project, run_id)
    return _failed(run) and run.run_count >= attempts


def test_a_retry_due_while_its_deployment_is_paused_still_runs(tmp_path: Path) -> None:
    """Pausing holds new scheduled runs, not a retry already promised: it must come after its delay."""
    project = _project(
        tmp_path / "p",
        '[[deployments]]\nname = "fails"\nentrypoint = "flows.py:always_fails"\n'
        "retries = 2\nretry_delay_seconds = 2\n",
    )
    try:
        project.up()
        with project.client() as client:
            run_id = client.create_run("fails").id
        wait_for(lambda: _awaiting_retry(project, run_id), 20, "the first retry to be scheduled")
        with project.client() as client:
            client.pause_deployment("fails")
        wait_for(lambda: _final_after(project, run_id, 3), 20, "the retries of a paused deployment")
    finally:
        _stop(project)


def _awaiting_retry(project: FaultProject, run_id: str) -> bool:
    run = _state_of(project, run_id)
    return run is not None and run.state.name == "AwaitingRetry"
