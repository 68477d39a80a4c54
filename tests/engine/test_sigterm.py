"""SIGTERM to `python flow.py`: the run ends Crashed in the store, as Prefect's `capture_sigterm` has it.

A real process records into a real store in a temporary project, is sent SIGTERM
once its run is Running, and the store is read back with `orc runs ls` and `orc sql`.
Sync and async flows alike; the task runs it submitted that had not finished end
Crashed with it, and nothing their threads do after that reaches the store.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from orchestrate import flow

ORC = str(Path(sys.executable).parent / "orc")

LONG_FLOW = textwrap.dedent(
    """
    import pathlib
    import signal
    import sys
    import time

    from orchestrate import flow, task

    if sys.argv[1:2] == ["own-handler"]:
        signal.signal(signal.SIGTERM, lambda *_: pathlib.Path("handled").write_text("yes"))


    @task
    def step(i: int) -> int:
        pathlib.Path("running").touch()
        time.sleep(0.5)
        return i


    @flow
    def long_flow(steps: int) -> None:
        for i in range(steps):
            step(i)


    long_flow(int(sys.argv[2]) if len(sys.argv) > 2 else 20)
    """
)


def _start(project: Path, *args: str, script: str = LONG_FLOW) -> subprocess.Popen[str]:
    (project / "long.py").write_text(script)
    env = {**os.environ, "ORC_HOME": str(project), "ORC_LOGGING_TO_CONSOLE": "0"}
    env.pop("ORC_RECORD", None)  # recording on, into the project's store
    return subprocess.Popen(
        [sys.executable, "long.py", *args], cwd=project, env=env, text=True,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )  # fmt: skip


def _terminate_once_running(process: subprocess.Popen[str], project: Path) -> int:
    deadline = time.monotonic() + 30
    while not (project / "running").exists():
        assert process.poll() is None, process.communicate()[0]
        assert time.monotonic() < deadline, "the flow run never started"
        time.sleep(0.02)
    process.send_signal(signal.SIGTERM)
    try:
        process.communicate(timeout=30)
    except subprocess.TimeoutExpired as still_running:
        process.kill()
        output = process.communicate()[0]
        raise AssertionError(f"still running 30 s after SIGTERM: {output}") from still_running
    return process.returncode


def _stored_runs(project: Path) -> list[dict[str, object]]:
    listed = subprocess.run(
        [ORC, "runs", "ls", "--json", "--project", str(project)],
        capture_output=True, text=True, check=True, timeout=60,
    )  # fmt: skip
    runs: list[dict[str, object]] = json.loads(listed.stdout)
    return runs


def _query(project: Path, sql: str) -> list[dict[str, object]]:
    answered = subprocess.run(
        [ORC, "sql", "--json", "--project", str(project), sql],
        capture_output=True, text=True, check=True, timeout=60,
    )  # fmt: skip
    rows: list[dict[str, object]] = json.loads(answered.stdout)
    return rows


def _task_runs(project: Path) -> dict[str, dict[str, object]]:
    """Each stored task run by name, with the names of its states in the order they came."""
    rows = _query(
        project,
        "SELECT t.name, t.state_name, t.state_message, list(s.state_name ORDER BY s.ts) AS history"
        " FROM task_runs t JOIN states s ON s.run_id = t.id GROUP BY ALL",
    )
    return {str(row["name"]): row for row in rows}


def test_sigterm_ends_a_plain_python_run_crashed_in_the_store(tmp_path: Path) -> None:
    returncode = _terminate_once_running(_start(tmp_path), tmp_path)
    assert returncode == -signal.SIGTERM  # the process still ends as killed, as Prefect's does
    (run,) = _stored_runs(tmp_path)
    assert run["state_name"] == "Crashed"
    assert "SIGTERM" in str(run["state_message"])


def test_a_handler_the_user_installed_is_left_alone(tmp_path: Path) -> None:
    returncode = _terminate_once_running(_start(tmp_path, "own-handler", "3"), tmp_path)
    assert returncode == 0 and (tmp_path / "handled").read_text() == "yes"
    (run,) = _stored_runs(tmp_path)
    assert run["state_name"] == "Completed"


def test_the_default_handler_is_back_after_a_run(recorded) -> None:
    seen = []

    @flow
    def notes_the_handler() -> None:
        seen.append(signal.getsignal(signal.SIGTERM))

    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL
    notes_the_handler()
    assert seen[0] is not signal.SIG_DFL
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL


ASYNC_FLOW = textwrap.dedent(
    """
    import asyncio
    import pathlib
    import sys
    import time

    from orchestrate import flow, task


    @task
    async def stall(busy: bool) -> None:
        pathlib.Path("running").touch()
        if busy:
            time.sleep(60)  # holds the event loop: only an interrupt of this very code ends it
        else:
            await asyncio.sleep(60)


    @flow
    async def async_flow(busy: bool) -> None:
        await stall(busy)


    async def main() -> None:
        await async_flow(False)


    if sys.argv[1] == "awaited":  # the flow awaited inside the caller's own coroutine
        asyncio.run(main())
    else:
        asyncio.run(async_flow(sys.argv[1] == "busy"))
    """
)


@pytest.mark.parametrize("how", ["awaiting", "busy", "awaited"])
def test_sigterm_ends_an_async_run_crashed_in_the_store(tmp_path: Path, how: str) -> None:
    process = _start(tmp_path, how, script=ASYNC_FLOW)
    assert _terminate_once_running(process, tmp_path) == -signal.SIGTERM
    (run,) = _stored_runs(tmp_path)
    assert run["state_name"] == "Crashed"
    assert "SIGTERM" in str(run["state_message"])
    stall = _task_runs(tmp_path)["stall-0"]  # the task run it was awaiting: the same reason
    assert stall["state_name"] == "Crashed" and stall["state_message"] == run["state_message"]


ASYNC_OWN_HANDLER = textwrap.dedent(
    """
    import asyncio
    import pathlib
    import signal

    from orchestrate import flow

    asked_to_stop = asyncio.Event()


    @flow
    async def stops_when_asked() -> str:
        pathlib.Path("running").touch()
        await asked_to_stop.wait()
        return "stopped cleanly"


    async def main() -> None:
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, asked_to_stop.set)
        await stops_when_asked()


    asyncio.run(main())
    """
)


def test_an_event_loop_handler_the_user_installed_is_left_alone(tmp_path: Path) -> None:
    process = _start(tmp_path, script=ASYNC_OWN_HANDLER)
    assert _terminate_once_running(process, tmp_path) == 0
    (run,) = _stored_runs(tmp_path)
    assert run["state_name"] == "Completed"


POOL_FLOW = textwrap.dedent(
    """
    import asyncio
    import pathlib
    import sys
    import threading

    from orchestrate import flow, get_run_logger, task
    from orchestrate.task_runners import ThreadPoolTaskRunner

    flow_crashed = threading.Event()
    stuck_returned = threading.Event()


    @task
    def quick() -> int:
        return 1


    @task(on_completion=[lambda *_: stuck_returned.set()])
    def stuck(name: str) -> str:
        pathlib.Path(name).touch()
        # Threads cannot be stopped: this one goes on until the flow run is on record as
        # Crashed, then logs and returns, while the process records its last records.
        flow_crashed.wait(5)
        get_run_logger().info("%s went on after the crash", name)
        return "late"


    @task
    def downstream(value: str) -> str:
        return value


    def wait_for_the_stuck_task(*_: object) -> None:
        flow_crashed.set()
        stuck_returned.wait(5)  # its Completed has been given to the sink by now


    def submit_all() -> object:
        quick.submit().result()
        first = stuck.submit("running")  # takes the one thread
        stuck.submit("queued")  # waits in the pool's queue
        downstream.submit(first)  # waits for its upstream
        return first


    @flow(on_crashed=[wait_for_the_stuck_task], task_runner=ThreadPoolTaskRunner(max_workers=1))
    def pool_flow() -> None:
        downstream(submit_all())  # called here: it waits for its upstream in this thread


    @flow(on_crashed=[wait_for_the_stuck_task], task_runner=ThreadPoolTaskRunner(max_workers=1))
    async def async_pool_flow() -> None:
        submit_all()
        await asyncio.sleep(60)


    if sys.argv[1] == "async":
        asyncio.run(async_pool_flow())
    else:
        pool_flow()
    """
)


@pytest.mark.parametrize("kind", ["sync", "async"])
def test_submitted_task_runs_end_crashed_with_the_flow_run_and_nothing_comes_after(
    tmp_path: Path, kind: str
) -> None:
    process = _start(tmp_path, kind, script=POOL_FLOW)
    assert _terminate_once_running(process, tmp_path) == -signal.SIGTERM
    (run,) = _stored_runs(tmp_path)
    assert run["state_name"] == "Crashed"
    reason = run["state_message"]
    runs = _task_runs(tmp_path)
    assert runs["quick-0"]["state_name"] == "Completed"  # finished before: left as it was
    waiting = ["downstream-0", "downstream-1"] if kind == "sync" else ["downstream-0"]
    for name in ["stuck-0", "stuck-1", *waiting]:  # running, queued, waiting for upstream
        assert runs[name]["state_name"] == "Crashed", (name, runs[name])
        assert runs[name]["state_message"] == reason
        history = runs[name]["history"]
        assert isinstance(history, list) and history[-1] == "Crashed", (name, history)
        assert "Completed" not in history  # the stuck one's late Completed never reached the store
    late = _query(tmp_path, "SELECT message FROM logs WHERE message LIKE '%after the crash%'")
    assert late == []
