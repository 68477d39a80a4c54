"""`orc up` end to end: a real daemon, real workers, the real socket and store, in a temp folder."""

from __future__ import annotations

import json
import os
import signal
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.daemon.conftest import FLOWS, ORC, Project, wait_for

pytestmark = pytest.mark.timeout(120)


def test_an_interval_deployment_produces_completed_runs(project: Project) -> None:
    project.write("flows.py", FLOWS)
    project.write(
        "flows.toml",
        """
        [project]
        name = "t"
        [[deployments]]
        name = "every-second"
        entrypoint = "flows.py:tiny"
        schedules = [{ interval = "1s" }]
    """,
    )
    project.up()
    done = wait_for(lambda: len(project.completed("every-second")) >= 3 and project.completed("every-second"),
                    45, "3 Completed runs")  # fmt: skip
    times = [r.expected_start_time for r in done]
    assert len(set(times)) == len(times), "a schedule slot ran twice"
    status = project.orc("status")
    assert status.returncode == 0, status.stderr
    assert "1 deployment(s)" in status.stdout


def test_run_with_watch_streams_logs_and_exits_0(project: Project) -> None:
    project.write("flows.py", FLOWS)
    project.write(
        "flows.toml",
        """
        [[deployments]]
        name = "tiny"
        entrypoint = "flows.py:tiny"
    """,
    )
    project.up()
    result = project.orc("run", "tiny", "-p", "x=3", "--watch")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "tiny got x=3" in result.stdout
    assert "[Completed]" in result.stdout


@pytest.mark.parametrize("lean", ["1", "0"], ids=["quick path", "full path"])
def test_ctrl_c_stops_watching_a_run_with_no_traceback_and_the_run_goes_on(
    project: Project, lean: str
) -> None:
    project.write("flows.py", FLOWS)
    project.write(
        "flows.toml", '[[deployments]]\nname = "sleepy"\nentrypoint = "flows.py:sleepy"\n'
    )
    project.up()
    watching = subprocess.Popen(
        [ORC, "run", "sleepy", "-p", "seconds=60", "--watch", "--project", str(project.root)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "ORC_LEAN_CLI": lean},
    )  # fmt: skip
    [running] = wait_for(lambda: project.runs(state="RUNNING"), 30, "the run Running")
    watching.send_signal(signal.SIGINT)
    out, err = watching.communicate(timeout=30)
    assert watching.returncode == 130, out + err
    assert "Traceback" not in err and "KeyboardInterrupt" not in err, err
    assert f"run {running.id} goes on" in err, err
    assert [r.id for r in project.runs(state="RUNNING")] == [running.id]


def test_a_number_typed_for_a_string_parameter_is_taken_as_typed(project: Project) -> None:
    """`orc run NAME -p day=20261201` for `day: str`: refused as a number before (exit 2), so
    a date or an id written as digits needed JSON quoting."""
    project.write(
        "flows.py",
        "from orchestrate import flow\n\n\n@flow\ndef report(day: str, n: int = 1) -> str:\n    return day * n\n",
    )
    project.write(
        "flows.toml", '[[deployments]]\nname = "report"\nentrypoint = "flows.py:report"\n'
    )
    project.up()
    for lean in ("1", "0"):
        result = project.orc(
            "run", "report", "-p", "day=20261201", "-p", "n=2", "--watch", "--json",
            env={"ORC_LEAN_CLI": lean},
        )  # fmt: skip
        assert result.returncode == 0, result.stdout + result.stderr
        assert json.loads(result.stdout)["parameters"] == {"day": "20261201", "n": 2}


def test_run_watch_exits_1_on_failure_after_retries(project: Project) -> None:
    project.write("flows.py", FLOWS)
    project.write(
        "flows.toml",
        """
        [[deployments]]
        name = "fails"
        entrypoint = "flows.py:fails"
        retries = 1
    """,
    )
    project.up()
    result = project.orc("run", "fails", "--watch")
    assert result.returncode == 1, result.stdout + result.stderr
    assert result.stdout.count("[Failed]") == 2, result.stdout  # the first attempt and its retry
    assert "[AwaitingRetry]" in result.stdout


def test_config_edits_apply_live_and_bad_ones_keep_the_last_good(project: Project) -> None:
    project.write("flows.py", FLOWS)
    good = """
        [[deployments]]
        name = "one"
        entrypoint = "flows.py:tiny"
    """
    project.write("flows.toml", good)
    project.up()
    project.write("flows.toml", good + '\n[[deployments]]\nname = "two"\nentrypoint = "flows.py:tiny"\n'
                  'schedules = [{ cron = "61 * * * *" }]\n')  # fmt: skip

    def invalid_event() -> list[object]:
        with project.client() as client:
            return client.events(name="orc.config.invalid")

    events = wait_for(invalid_event, 20, "an orc.config.invalid event")
    assert "minute" in str(events[0].payload), events[0].payload
    with project.client() as client:
        assert [d.name for d in client.deployments()] == ["one"]
        assert client.status().config_error
    project.write(
        "flows.toml", good + '\n[[deployments]]\nname = "two"\nentrypoint = "flows.py:tiny"\n'
    )

    def names() -> list[str]:
        with project.client() as client:
            return [d.name for d in client.deployments()]

    wait_for(lambda: names() == ["one", "two"], 20, "deployment two to be added")
    assert project.processes[0].poll() is None


def test_a_second_daemon_is_refused_naming_the_pid(project: Project) -> None:
    project.write("flows.toml", "")
    first = project.up()
    second = project.up(wait=False)
    assert second.wait(30) == 5
    assert f"pid {first.pid}" in project.daemon_log(), project.daemon_log()


def test_kill_9_during_a_run_then_restart_crashes_and_retries_it(
    project: Project, tmp_path: Path
) -> None:
    project.write(
        "napping.py",
        """
        import time
        from orchestrate import flow, task

        @task
        def nap(seconds: float) -> None:
            time.sleep(seconds)

        @flow
        def napping(seconds: float = 0.5) -> None:
            nap(seconds)
    """,
    )
    project.write(
        "flows.toml",
        """
        [[deployments]]
        name = "sleepy"
        entrypoint = "napping.py:napping"
        parameters = { seconds = 0.5 }
        retries = 1
    """,
    )
    daemon = project.up()
    with project.client() as client:
        run = client.create_run("sleepy", {"seconds": 60})

    def task_states() -> list[str]:
        with project.client() as client:
            return [t.state.name for t in client.run(run.id).task_runs]

    wait_for(lambda: task_states() == ["Running"], 30, "the flow's task run to be Running")
    os.kill(daemon.pid, signal.SIGKILL)
    daemon.wait(10)
    project.up()

    def history() -> list[str]:
        with project.client() as client:
            return [s.name for s in client.run(run.id).state_history]

    wait_for(
        lambda: "Crashed" in history() and "AwaitingRetry" in history(),
        30,
        "Crashed then AwaitingRetry",
    )
    with project.client() as client:
        again = client.run(run.id).run
    assert again.run_count >= 1
    assert task_states()[0] == "Crashed"  # the first attempt's task run is not left Running


def test_cancel_stops_the_flow_and_its_subprocess_within_5s(
    project: Project, tmp_path: Path
) -> None:
    project.write("flows.py", FLOWS)
    project.write(
        "flows.toml",
        """
        [[deployments]]
        name = "sleepy"
        entrypoint = "flows.py:sleepy"
    """,
    )
    project.up()
    marker = tmp_path / "child.pid"
    with project.client() as client:
        run = client.create_run("sleepy", {"seconds": 600, "marker": str(marker)})
    wait_for(marker.exists, 30, "the flow to start its subprocess")
    child = int(wait_for(marker.read_text, 5, "the child pid"))
    result = project.orc("cancel", run.id[:8])
    assert result.returncode == 0, result.stderr

    def cancelled() -> bool:
        with project.client() as client:
            return client.run(run.id).run.state.type == "CANCELLED"

    wait_for(cancelled, 5, "the run to be Cancelled")
    wait_for(lambda: not _alive(child), 5, "the flow's subprocess to be gone")


def test_a_hanging_flow_is_killed_at_its_timeout(project: Project) -> None:
    project.write("flows.py", FLOWS)
    project.write(
        "flows.toml",
        """
        [[deployments]]
        name = "hangs"
        entrypoint = "flows.py:sleepy"
        parameters = { seconds = 600 }
        timeout_seconds = 1
    """,
    )
    project.up()
    with project.client() as client:
        run = client.create_run("hangs")

    def final() -> object:
        with project.client() as client:
            state = client.run(run.id).run.state
        return state if state.type == "FAILED" else None

    state = wait_for(final, 30, "the run to time out")
    assert state.name == "TimedOut"


@pytest.mark.parametrize(
    ("strategy", "second_state"),
    [("enqueue", "COMPLETED"), ("cancel-new", "CANCELLED"), ("skip", "CANCELLED")],
)
def test_concurrency_limit_collision_strategies(
    project: Project, strategy: str, second_state: str
) -> None:
    project.write("flows.py", FLOWS)
    project.write(
        "flows.toml",
        f"""
        [[deployments]]
        name = "one-at-a-time"
        entrypoint = "flows.py:sleepy"
        parameters = {{ seconds = 1.5 }}
        concurrency_limit = 1
        collision_strategy = "{strategy}"
    """,
    )
    project.up()
    with project.client() as client:
        first = client.create_run("one-at-a-time")
        wait_for(
            lambda: client.run(first.id).run.state.type == "RUNNING", 30, "the first run to start"
        )
        second = client.create_run("one-at-a-time")

        def settled() -> object:
            state = client.run(second.id).run.state
            return state if state.type in ("COMPLETED", "CANCELLED", "FAILED", "CRASHED") else None

        state = wait_for(settled, 30, "the second run to settle")
        assert state.type == second_state, state
        first_state = client.run(first.id).run
        assert first_state.state.type in ("RUNNING", "COMPLETED")
        if strategy == "enqueue":
            assert client.run(second.id).run.start_time >= first_state.end_time


def test_bad_input_gets_clear_messages_and_the_daemon_keeps_running(project: Project) -> None:
    project.write("flows.py", FLOWS)
    project.write("broken.py", "def oops(:\n    pass\n")
    project.write(
        "flows.toml",
        """
        [[deployments]]
        name = "tiny"
        entrypoint = "flows.py:tiny"
    """,
    )
    project.up()
    unknown = project.orc("run", "nope")
    assert unknown.returncode == 3 and "No deployment named 'nope'" in unknown.stderr, (
        unknown.stderr
    )
    wrong = project.orc("run", "tiny", "-p", "x=abc")
    assert wrong.returncode == 2, wrong.stderr
    assert "'x'" in wrong.stderr and "integer" in wrong.stderr
    for bad in ('schedules = [{ cron = "0 25 * * *" }]', 'schedules = [{ interval = "soon" }]',
                'timezone = "Mars/Olympus"', 'entrypoint2 = "x"'):  # fmt: skip
        project.write(
            "flows.toml", f'[[deployments]]\nname = "tiny"\nentrypoint = "flows.py:tiny"\n{bad}\n'
        )
        check = project.orc("validate")
        assert check.returncode != 0 and "flows.toml:" in (check.stdout + check.stderr), bad
    project.write("flows.toml", '[[deployments]]\nname = "b"\nentrypoint = "broken.py:oops"\n')
    check = project.orc("validate")
    assert "broken.py" in check.stdout + check.stderr and check.returncode != 0
    project.write("flows.toml", '[[deployments]]\nname = "m"\nentrypoint = "missing.py:flow"\n')
    assert project.orc("validate").returncode != 0
    with project.client() as client:
        assert [d.name for d in client.deployments()] == ["tiny"]
        assert client.status().pid == project.processes[0].pid
    ok = project.orc("run", "tiny", "--watch")
    assert ok.returncode == 0, ok.stdout + ok.stderr


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split()[2] != "Z"
    except OSError:
        return False


def test_a_plain_python_flow_reports_through_the_running_daemon(project: Project) -> None:
    import subprocess
    import sys

    project.write("flows.py", FLOWS)
    project.write("flows.toml", "")
    project.up()
    script = "import flows; print(flows.tiny(4))"
    out = subprocess.run([sys.executable, "-c", script], cwd=project.root, capture_output=True,
                         text=True, timeout=60, env={**os.environ, "ORC_HOME": str(project.root)})  # fmt: skip
    assert out.returncode == 0 and out.stdout.strip() == "8", out.stderr

    def recorded() -> list[object]:
        return [r for r in project.runs() if r.flow_name == "tiny" and r.state.type == "COMPLETED"]

    run = wait_for(recorded, 20, "the plain-Python run to be recorded by the daemon")[0]
    with project.client() as client:
        detail = client.run(run.id)
    assert [t.state.name for t in detail.task_runs] == ["Completed"]
    assert any("tiny got x=4" in line.message for line in client_logs(project, run.id))


def client_logs(project: Project, run_id: str) -> list[object]:
    with project.client() as client:
        return client.logs(run_id)


def test_a_worker_whose_daemon_died_stops_with_what_it_started(
    project: Project, tmp_path: Path
) -> None:
    project.write("flows.py", FLOWS)
    project.write(
        "flows.toml",
        """
        [[deployments]]
        name = "sleepy"
        entrypoint = "flows.py:sleepy"
    """,
    )
    daemon = project.up()
    marker = tmp_path / "child.pid"
    with project.client() as client:
        client.create_run("sleepy", {"seconds": 600, "marker": str(marker)})
    wait_for(marker.exists, 30, "the flow to start its subprocess")
    child = int(wait_for(marker.read_text, 5, "the child pid"))
    folder = project.root / ".orc" / "workers"  # pid files are written off the loop, in batches
    numbers = lambda: [int(n) for n in (p.read_text() for p in folder.glob("*.pid")) if n]  # noqa: E731
    workers = wait_for(numbers, 10, "the worker's pid file")
    assert len(workers) == 1 and _alive(workers[0]) and _alive(child)
    os.kill(daemon.pid, signal.SIGKILL)
    daemon.wait(10)
    wait_for(lambda: not _alive(workers[0]), 5, "the orphaned worker to stop")
    wait_for(lambda: not _alive(child), 5, "the flow's subprocess to stop with it")


KILLED_MID_TASK = """
    import pathlib
    import time

    from orchestrate import flow, task


    @task
    def wait_here() -> None:
        pathlib.Path("in-task").touch()
        time.sleep(120)


    @flow
    def killed() -> None:
        wait_here()


    if __name__ == "__main__":
        killed()
"""


def test_a_plain_python_flow_killed_mid_run_ends_crashed_with_its_task_runs(
    project: Project,
) -> None:
    """`python my_flow.py` shipping to the running daemon, then killed with SIGKILL: its
    connection ends without a final state. The run used to stay Running (in `orc status`,
    the TUI and the store) until the next `orc up`; now it ends Crashed at once, saying
    why, and its open task run with it."""
    import subprocess
    import sys

    project.write("killed.py", KILLED_MID_TASK)
    project.write("flows.toml", "")
    project.up()
    proc = subprocess.Popen([sys.executable, "killed.py"], cwd=project.root,
                            env={**os.environ, "ORC_HOME": str(project.root)})  # fmt: skip
    try:
        wait_for(lambda: (project.root / "in-task").exists(), 30, "the flow to be in its task")

        def running() -> list[Any]:
            return [r for r in project.runs() if r.flow_name == "killed"]

        run = wait_for(running, 20, "the run to reach the daemon")[0]
    finally:
        proc.kill()
        proc.wait(10)

    def crashed() -> Any:
        with project.client() as client:
            detail = client.run(run.id)
        return detail if detail.run.state.type == "CRASHED" else None

    detail = wait_for(crashed, 20, "the killed run to end Crashed")
    assert str(proc.pid) in (detail.run.state.message or ""), detail.run.state.message
    assert [t.state.type for t in detail.task_runs] == ["CRASHED"]
