"""Execution guarantees on a real `orc up`: attempts counted at dispatch, nothing run twice or
unrecorded across kill -9, cancels that answer at once and take every process of the run.

Flow bodies write marker lines (`marks.txt` in the project) so the tests can count
executions from outside the store.
"""

from __future__ import annotations

import itertools
import json
import os
import signal
import time
from pathlib import Path

import duckdb
import pytest

from tests.daemon.conftest import Project, wait_for

MARKED = '''
    import os
    import signal
    import subprocess
    import time

    from orchestrate import flow, task
    from orchestrate.runtime import flow_run, task_run


    def mark(*words):
        with open("marks.txt", "a") as f:
            f.write(" ".join(str(w) for w in words) + "\\n")


    @task
    def step(i: int) -> int:
        mark("task", task_run.id, i)
        return i


    @flow
    def fan(n: int = 30, gate: bool = False) -> int:
        mark("start", flow_run.id, flow_run.run_count, time.time())
        while gate and not os.path.exists("go"):  # held until the test opens the gate
            time.sleep(0.01)
        total = sum(step(i) for i in range(n))
        mark("end", flow_run.id)
        return total


    @flow
    def slow(seconds: float = 0.3) -> None:
        mark("start", flow_run.id, flow_run.run_count, time.time())
        time.sleep(seconds)
        mark("end", flow_run.id)


    @flow
    def fails() -> None:
        mark("start", flow_run.id, flow_run.run_count, time.time())
        raise ValueError("this flow always fails")


    @flow
    def stubborn(detach: bool = True) -> None:
        """Ignores SIGTERM and leaves a detached child behind: only SIGKILL of all stops it."""
        signal.signal(signal.SIGTERM, lambda *_: None)
        child = subprocess.Popen(["sleep", "600"], start_new_session=detach)
        mark("child", child.pid)
        time.sleep(600)
'''

BROKEN = """
    import no_such_module_for_orc_tests

    from orchestrate import flow


    @flow
    def broken() -> None:
        pass
"""


def _config(deployments: str) -> str:
    return f'[project]\nname = "exec"\n\n{deployments}'


def _deploy(project: Project, deployments: str) -> None:
    """The marked flows and a flows.toml with `deployments`."""
    project.write("flows.py", MARKED)
    project.write("flows.toml", _config(deployments))


def _marks(project: Project, kind: str) -> list[list[str]]:
    path = project.root / "marks.txt"
    lines = path.read_text().splitlines() if path.exists() else []
    return [line.split()[1:] for line in lines if line.split()[0] == kind]


def _settled(project: Project, run_id: str, states: tuple[str, ...]) -> object:
    with project.client() as client:
        run = client.run(run_id).run
    return run if run.state.name in states else None


def _stored(project: Project, sql: str, *params: object) -> list[tuple[object, ...]]:
    """Rows read straight from the store file (the daemon must be down)."""
    with duckdb.connect(str(project.root / ".orc" / "orc.duckdb"), read_only=True) as conn:
        return conn.execute(sql, list(params)).fetchall()


def _started_line(project: Project) -> bool:
    return "started " in project.daemon_log()


def test_an_unset_env_variable_fails_each_slot_once_and_never_loops(project: Project) -> None:
    project.write("flows.py", MARKED)
    project.write(
        "flows.toml",
        _config(
            """
        [[deployments]]
        name = "needs-token"
        entrypoint = "flows.py:slow"
        schedules = [{ interval = "1s" }]
        retries = 2
        retry_delay_seconds = 0
        env = { TOKEN = { from_env = "ORC_TEST_SURELY_UNSET" } }

        [[deployments]]
        name = "fine"
        entrypoint = "flows.py:slow"
        retries = 0
    """.replace("\n        ", "\n")
        ),
    )
    os.environ.pop("ORC_TEST_SURELY_UNSET", None)
    project.up()
    failed = wait_for(lambda: [r for r in project.runs(deployment="needs-token") if r.state.name == "Failed"][2:],
                      20, "three slots of needs-token to fail")  # fmt: skip
    refused = project.orc("run", "needs-token")
    assert refused.returncode != 0 and "ORC_TEST_SURELY_UNSET" in refused.stdout + refused.stderr
    assert project.orc("run", "fine", "--watch").returncode == 0  # the others still run
    with project.client() as client:
        assert "ORC_TEST_SURELY_UNSET" in json.dumps(client.status().model_dump())
    listed = project.orc("deployments", "ls").stdout
    assert [
        line.split()[1] for line in listed.splitlines() if line.startswith(("needs-token", "fine"))
    ] == ["blocked", "active"]
    assert "ORC_TEST_SURELY_UNSET" in project.orc("deployments", "show", "needs-token").stdout
    project.stop()
    runs = _stored(project, "SELECT id, state_name, run_count, state_message FROM flow_runs "
                            "WHERE deployment = 'needs-token' AND state_type != 'SCHEDULED'")  # fmt: skip
    assert len(runs) >= len(failed) and len(runs) < 40  # one run per slot, no storm
    for _, state, run_count, message in runs:
        assert state == "Failed" and run_count == 1 and "ORC_TEST_SURELY_UNSET" in message
    rows = _stored(project, "SELECT run_id, count(*) FROM state_history WHERE run_id IN "
                            "(SELECT id FROM flow_runs WHERE deployment = 'needs-token') GROUP BY ALL")  # fmt: skip
    assert max(n for _, n in rows) <= 5
    assert len(_marks(project, "start")) == 1  # only the run of "fine": no blocked body started


def test_an_entrypoint_that_does_not_import_fails_once_and_is_not_retried(project: Project) -> None:
    project.write("broken.py", BROKEN)
    project.write(
        "flows.toml",
        _config("""
[[deployments]]
name = "broken"
entrypoint = "broken.py:broken"
retries = 2
retry_delay_seconds = 0
"""),
    )
    project.up()
    started = project.orc("run", "broken", "--watch")
    assert started.returncode == 1, started.stdout + started.stderr
    run = list(project.runs(deployment="broken"))
    assert len(run) == 1 and run[0].state.name == "Failed" and run[0].run_count == 1
    assert "no_such_module_for_orc_tests" in (run[0].state.message or "")
    with project.client() as client:
        history = [s.name for s in client.run(run[0].id).state_history]
    assert "AwaitingRetry" not in history and len(history) <= 5


def test_a_failing_flow_with_two_retries_runs_three_attempts_spaced_by_the_delay(
    project: Project,
) -> None:
    _deploy(
        project,
        """
[[deployments]]
name = "fails"
entrypoint = "flows.py:fails"
retries = 2
retry_delay_seconds = 1
""",
    )
    project.up()
    assert project.orc("run", "fails", "--watch", timeout=60).returncode == 1
    starts = _marks(project, "start")
    assert [int(s[1]) for s in starts] == [1, 2, 3]
    times = [float(s[2]) for s in starts]
    assert all(b - a >= 0.95 for a, b in itertools.pairwise(times)), times
    (run,) = project.runs(deployment="fails")
    assert run.run_count == 3 and run.state.name == "Failed"


def test_kill_9_right_after_dispatch_spends_the_attempt_and_never_runs_it_again(
    project: Project,
) -> None:
    _deploy(
        project,
        """
[[deployments]]
name = "slow"
entrypoint = "flows.py:slow"
retries = 0
""",
    )
    daemon = project.up()
    # Long enough that the kill lands mid-body even when the run forks warm in milliseconds.
    created = project.orc("run", "slow", "-p", "seconds=30")
    run_id = created.stdout.split()[1]
    wait_for(lambda: _started_line(project), 20, "the daemon to start a worker")
    os.kill(daemon.pid, signal.SIGKILL)
    daemon.wait(10)
    project.up()
    run = wait_for(
        lambda: _settled(project, run_id, ("Crashed", "Completed", "Failed")),
        30,
        "the run to settle",
    )
    assert run.state.name == "Crashed" and run.run_count == 1, (run.state, run.run_count)  # type: ignore[attr-defined]
    project.stop()
    assert len(_marks(project, "start")) <= 1
    assert not list(
        (project.root / ".orc" / "runs").glob(f"{run_id}.*")
    )  # journal retired once stored


def test_a_body_that_finished_while_the_daemon_was_frozen_is_kept_not_run_again(
    project: Project,
) -> None:
    _deploy(
        project,
        """
[[deployments]]
name = "fan"
entrypoint = "flows.py:fan"
parameters = { gate = true }
retries = 1
""",
    )
    daemon = project.up()
    run_id = project.orc("run", "fan").stdout.split()[1]
    wait_for(lambda: _started_line(project), 20, "the daemon to start a worker")
    wait_for(lambda: _marks(project, "start"), 20, "the flow body to begin")
    pid_file = project.root / ".orc" / "workers" / f"{run_id}.pid"
    # written off the loop, in batches, and not atomically: wait for its number
    pid = int(wait_for(lambda: pid_file.exists() and pid_file.read_text(), 10, "the pid file"))
    os.kill(daemon.pid, signal.SIGSTOP)
    try:
        (project.root / "go").touch()  # the body ends only now, with its daemon frozen
        wait_for(lambda: _gone(pid), 30, "the worker to finish while its daemon is frozen")
    finally:
        os.kill(daemon.pid, signal.SIGKILL)
        os.kill(daemon.pid, signal.SIGCONT)
    daemon.wait(10)
    project.up()
    run = wait_for(
        lambda: _settled(project, run_id, ("Completed", "Crashed", "Failed")),
        30,
        "the run to settle",
    )
    assert run.state.name == "Completed"  # type: ignore[attr-defined]
    project.stop()
    assert len(_marks(project, "start")) == 1 and len(_marks(project, "end")) == 1
    executed = {m[0] for m in _marks(project, "task")}
    stored = {
        r[0]
        for r in _stored(
            project,
            "SELECT id FROM task_runs WHERE flow_run_id = ? AND state_name = 'Completed'",
            run_id,
        )
    }
    assert len(executed) == 30 and executed == stored
    history = _stored(
        project, "SELECT state_name, ts FROM state_history WHERE run_id = ? ORDER BY ts", run_id
    )
    assert history[-1][0] == "Completed" and len(history) == len(set(history))  # each state once


@pytest.fixture(params=["cgroup", "subreaper"])
def scope_mode(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Both ways of finding a run's processes: a cgroup where orc up may make one (as here,
    as root), and the subreaper + environment mark everywhere else."""
    if request.param == "subreaper":
        monkeypatch.setenv("ORC_NO_CGROUP", "1")
    return str(request.param)


def _start_stubborn(project: Project) -> tuple[str, int]:
    """A run that ignores SIGTERM, and the pid of the detached child it started."""
    project.write("flows.py", MARKED)
    project.write(
        "flows.toml",
        _config('[[deployments]]\nname = "stubborn"\nentrypoint = "flows.py:stubborn"\n'),
    )
    project.up()
    run_id = project.orc("run", "stubborn").stdout.split()[1]
    child = int(wait_for(lambda: _marks(project, "child"), 20, "the flow's child")[0][0])
    return run_id, child


def test_cancel_answers_at_cancelling_and_takes_detached_children_with_it(
    project: Project, scope_mode: str
) -> None:
    run_id, child = _start_stubborn(project)
    began = time.monotonic()
    answer = project.orc("cancel", run_id)
    assert answer.returncode == 0 and "Cancelling" in answer.stdout, answer.stdout + answer.stderr
    assert time.monotonic() - began < 4.0  # the kill grace is 5 s: it did not wait for it
    waited = project.orc("cancel", run_id, "--wait", timeout=30)
    assert waited.returncode == 0, waited.stdout + waited.stderr
    wait_for(lambda: _gone(child), 10, "the detached child to be stopped")


def test_a_worker_killed_takes_its_detached_children_with_it(
    project: Project, scope_mode: str
) -> None:
    run_id, child = _start_stubborn(project)
    pid_file = project.root / ".orc" / "workers" / f"{run_id}.pid"
    # written off the loop, in batches, and not atomically: wait for its number
    worker = int(wait_for(lambda: pid_file.exists() and pid_file.read_text(), 10, "the pid file"))
    os.kill(worker, signal.SIGKILL)
    wait_for(lambda: _settled(project, run_id, ("Crashed",)), 20, "the run to end Crashed")
    wait_for(lambda: _gone(child), 10, "the detached child to be stopped")
    with project.client() as client:
        assert scope_mode in (client.status().process_scope or "")


def test_a_skipped_slot_is_an_event_not_a_cancelled_run(project: Project) -> None:
    _deploy(
        project,
        """
[[deployments]]
name = "busy"
entrypoint = "flows.py:slow"
parameters = { seconds = 2.5 }
schedules = [{ interval = "1s" }]
concurrency_limit = 1
collision_strategy = "skip"
""",
    )
    project.up()

    def skipped() -> list[object]:
        with project.client() as client:
            return [e for e in client.events(limit=200) if e.event == "orc.deployment.slot-skipped"]

    wait_for(skipped, 20, "a slot-skipped event")
    assert not [r for r in project.runs(deployment="busy") if r.state.type == "CANCELLED"]
    assert "skipped slots" in project.orc("deployments", "show", "busy").stdout
    with project.client() as client:
        assert not [e for e in client.events(limit=500) if e.event == "orc.flow-run.Cancelled"]


def test_a_config_save_that_breaks_the_reader_never_ends_live_reload(project: Project) -> None:
    project.write("flows.py", MARKED)
    good = _config('[[deployments]]\nname = "one"\nentrypoint = "flows.py:slow"\n')
    project.write("flows.toml", good)
    project.up()
    project.write("flows.toml", good + "deep = " + "[" * 600 + "]" * 600 + "\n")

    def invalid() -> bool:
        with project.client() as client:
            return any(e.event == "orc.config.invalid" for e in client.events(limit=50))

    wait_for(invalid, 15, "the deep save to be refused as invalid")
    project.write(
        "flows.toml", good + '\n[[deployments]]\nname = "two"\nentrypoint = "flows.py:slow"\n'
    )

    def applied() -> bool:
        with project.client() as client:
            return "two" in [d.name for d in client.deployments()]

    wait_for(applied, 15, "a later valid save to apply")


def _gone(pid: int) -> bool:
    """The process has exited (a zombie waiting for its parent counts as gone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return stat[stat.rfind(")") + 2] == "Z"


def test_a_pause_holds_new_slots_but_a_waiting_retry_still_comes_on_time(project: Project) -> None:
    _deploy(
        project,
        """
[[deployments]]
name = "fails"
entrypoint = "flows.py:fails"
retries = 1
retry_delay_seconds = 2
""",
    )
    project.up()
    run_id = project.orc("run", "fails").stdout.split()[1]
    wait_for(lambda: _settled(project, run_id, ("AwaitingRetry",)), 20, "the first attempt to fail")
    assert project.orc("pause", "fails").returncode == 0
    run = wait_for(lambda: _settled(project, run_id, ("Failed",)), 20, "the retry to run and fail")
    assert run.run_count == 2  # type: ignore[attr-defined]


def test_a_clean_stop_leaves_no_cgroup_behind(project: Project) -> None:
    project.write("flows.py", MARKED)
    project.write(
        "flows.toml", _config('[[deployments]]\nname = "slow"\nentrypoint = "flows.py:slow"\n')
    )
    project.up()
    with project.client() as client:
        scope = client.status().process_scope or ""
    if not scope.startswith("cgroup v2"):
        pytest.skip(f"orc up may not make cgroups here ({scope})")
    base = Path(scope.removeprefix("cgroup v2 (").removesuffix(")"))
    assert project.orc("run", "slow", "--watch").returncode == 0
    assert base.is_dir()
    project.stop()
    assert not base.exists()


def test_a_project_cgroup_removed_while_empty_comes_back_for_the_next_run(
    project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Cold workers: with warm ones a spare worker waits in a cgroup of its own under the
    # project's, which is then never empty while orc up runs.
    monkeypatch.setenv("ORC_COLD_WORKERS", "1")
    project.write("flows.py", MARKED)
    project.write(
        "flows.toml",
        _config('[[deployments]]\nname = "stubborn"\nentrypoint = "flows.py:stubborn"\n'),
    )
    project.up()
    with project.client() as client:
        scope = client.status().process_scope or ""
    if not scope.startswith("cgroup v2"):
        pytest.skip(f"orc up may not make cgroups here ({scope})")
    base = Path(scope.removeprefix("cgroup v2 (").removesuffix(")"))
    base.rmdir()  # empty between runs: a cleaner (or systemd) may remove it
    run_id = project.orc("run", "stubborn").stdout.split()[1]
    child = int(wait_for(lambda: _marks(project, "child"), 20, "the flow's child")[0][0])
    assert (base / f"run-{run_id}").is_dir()
    assert project.orc("cancel", run_id, "--wait", timeout=30).returncode == 0
    wait_for(lambda: _gone(child), 10, "the detached child to be stopped")
