"""The supervisor stops workers on time and on request, and every run ends in a final state."""

from __future__ import annotations

import asyncio
import os
import signal
import stat
import sys
import time
from pathlib import Path

import pytest

from orchestrate.core.records import FlowRunRecord, Record, TaskRunRecord
from orchestrate.daemon.supervisor import Supervisor
from orchestrate.worker.handshake import PROTOCOL
from tests.worker.conftest import FLOW_RUN_ID, Project, Recorder

SLOW = """
import subprocess, sys, time
from orchestrate import flow

@flow
def hang():
    print("started", flush=True)
    time.sleep(600)

@flow
def with_child():
    child = subprocess.Popen(["sleep", "600"])
    print(f"child {child.pid}", flush=True)
    child.wait()

@flow
def stubborn():
    import signal
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    print("started", flush=True)
    time.sleep(600)
"""


def process_gone(pid: int) -> bool:
    """True once `pid` has exited (a zombie nobody has reaped yet counts as exited)."""
    if not os.path.isdir("/proc"):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        return False
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] == "Z"
    except FileNotFoundError:
        return True


async def wait_until_gone(pid: int, timeout: float) -> None:
    async with asyncio.timeout(timeout):
        while not process_gone(pid):
            await asyncio.sleep(0.02)


def started(rec: Recorder) -> bool:
    return "started" in rec.messages("stdout")


async def test_a_hanging_flow_is_stopped_at_its_timeout_as_timed_out(project: Project) -> None:
    project.write("slow.py", SLOW)
    began = time.monotonic()
    exit_ = await project.run("slow.py:hang", timeout_seconds=1.0)
    elapsed = time.monotonic() - began
    assert exit_.timed_out and not exit_.cancelled
    assert exit_.final_state.name == "TimedOut" and exit_.final_state.is_failed()
    assert "timed out after 1s" in (exit_.final_state.message or "").lower()
    assert elapsed < 1.0 + project.supervisor.kill_grace + 1.0
    history = project.recorder.history()
    assert history[-1] == "TimedOut" and history.count("TimedOut") == 1
    assert project.recorder.flow_run().state.name == "TimedOut"


async def test_a_worker_that_ignores_sigterm_is_killed_after_the_grace(project: Project) -> None:
    project.write("slow.py", SLOW)
    handle = await project.start("slow.py:stubborn")
    await project.recorder.wait_for(started)
    began = time.monotonic()
    exit_ = await handle.cancel("stop it")
    assert time.monotonic() - began < project.supervisor.kill_grace + 1.5
    assert exit_.signal == signal.SIGKILL and exit_.cancelled
    assert exit_.final_state.name == "Cancelled" and exit_.final_state.message == "stop it"
    assert project.recorder.history()[-1] == "Cancelled"


async def test_cancel_kills_the_worker_and_what_the_flow_started(project: Project) -> None:
    project.write("slow.py", SLOW)
    handle = await project.start("slow.py:with_child")
    line = await project.recorder.wait_for(
        lambda rec: next((m for m in rec.messages("stdout") if m.startswith("child ")), None)
    )
    child = int(line.split()[1])
    began = time.monotonic()
    exit_ = await handle.cancel("no longer needed")
    await wait_until_gone(child, timeout=5.0)
    assert time.monotonic() - began < 5.0
    assert process_gone(handle.pid or 0)
    assert exit_.cancelled and exit_.final_state.name == "Cancelled"
    assert project.recorder.history().count("Cancelled") == 1
    assert project.recorder.flow_run().state.message == "no longer needed"


async def test_a_worker_that_exits_without_a_final_state_crashes_the_run(project: Project) -> None:
    project.write(
        "quit.py",
        """
        import os, sys
        from orchestrate import flow

        @flow
        def quit():
            print("giving up", file=sys.stderr, flush=True)
            os._exit(3)
        """,
    )
    exit_ = await project.run("quit.py:quit")
    state = exit_.final_state
    assert exit_.returncode == 3 and state.name == "Crashed" and not exit_.needs_a_fix
    assert "exited with code 3" in (state.message or "") and "giving up" in (state.message or "")
    assert project.recorder.flow_run().state.name == "Crashed"
    history = project.recorder.history()  # what the last ~20 ms queued may die with the process
    assert history[-1] == "Crashed" and history.count("Crashed") == 1
    assert set(history) <= {"Pending", "Running", "Crashed"}
    assert "giving up" in project.recorder.messages("stderr")


async def test_a_worker_killed_from_outside_crashes_the_run(project: Project) -> None:
    project.write("slow.py", SLOW)
    handle = await project.start("slow.py:hang")
    await project.recorder.wait_for(started)
    os.kill(handle.pid or 0, signal.SIGKILL)
    exit_ = await handle.wait()
    assert exit_.signal == signal.SIGKILL and not exit_.cancelled
    assert exit_.final_state.name == "Crashed" and "killed by SIGKILL" in (
        exit_.final_state.message or ""
    )


async def test_the_worker_is_announced_by_started_and_exited_events(project: Project) -> None:
    project.write("slow.py", SLOW)
    exit_ = await project.run("slow.py:hang", timeout_seconds=0.5)
    events = {e.event: e for e in project.recorder.events()}
    started_event, exited = events["orc.worker.started"], events["orc.worker.exited"]
    pid = started_event.payload["pid"]
    assert started_event.resource == {"orc.resource.id": f"orc.worker.{pid}"}
    assert {
        "orc.resource.id": f"orc.flow-run.{FLOW_RUN_ID}",
        "orc.resource.role": "flow-run",
    } in exited.related
    assert (
        exited.payload["returncode"] == exit_.returncode and exited.payload["state"] == "TimedOut"
    )
    assert project.recorder.records[-1] is exited


async def test_wait_returns_when_on_records_raises(project: Project) -> None:
    project.write("ok.py", "from orchestrate import flow\n\n@flow\ndef ok():\n    return 1\n")

    def refuse(records: list[Record]) -> None:
        raise RuntimeError("store is down")

    supervisor = Supervisor(refuse)
    handle = await supervisor.start(project.spec("ok.py:ok"))
    async with asyncio.timeout(30):
        exit_ = await handle.wait()
    assert exit_.returncode == 0 and supervisor.running == {}


async def test_a_worker_that_cannot_start_still_ends_the_run(project: Project) -> None:
    supervisor = Supervisor(project.recorder, python=str(project.root / "no-python-here"))
    handle = await supervisor.start(project.spec("ok.py:ok"))
    exit_ = await handle.wait()
    assert exit_.returncode is None and exit_.final_state.name == "Crashed"
    assert "could not be started" in (exit_.final_state.message or "")
    assert project.recorder.flow_run().state.name == "Crashed"


FAKE_WORKER = """
import json, socket, sys
sock = socket.socket(fileno=int(sys.argv[-1]))
sock.recv(1 << 20)
sock.sendall(b'{"method": "hello", "params": {"protocol": %d, "orc": "fake"}}\\n')
sock.recv(1 << 20)
state = {"type": "COMPLETED", "name": "Completed", "message": None, "timestamp": 1.0}
run = {"id": %r, "name": "r", "flow_name": "f", "state": state, "created": 1.0}
good = {"jsonrpc": "2.0", "method": "records", "params": {"records": [["flow_run", run]]}}
sock.sendall(b"not json at all\\n" + b'{"method": "records", "params": {"records": [["log", {}]]}}\\n'
             + json.dumps(good).encode() + b"\\n")
"""


async def test_garbage_on_the_record_socket_is_reported_and_skipped(
    project: Project, tmp_path: Path
) -> None:
    script = tmp_path / "fake_worker.py"
    script.write_text(FAKE_WORKER % (PROTOCOL, FLOW_RUN_ID))
    python = tmp_path / "fake-python"
    python.write_text(f'#!/bin/sh\nexec "{sys.executable}" "{script}" "$@"\n')
    python.chmod(python.stat().st_mode | stat.S_IEXEC)
    supervisor = Supervisor(project.recorder, python=str(python))
    exit_ = await (await supervisor.start(project.spec("x.py:f"))).wait()
    warnings = project.recorder.messages("orc.supervisor")
    assert len(warnings) == 2 and all("not a records notification" in w for w in warnings)
    assert exit_.returncode == 0 and exit_.final_state.name == "Completed"


async def test_a_run_cancelled_while_its_module_imports_ends_cancelled(project: Project) -> None:
    project.write(
        "heavy.py",
        """
        import time
        print("importing", flush=True)
        time.sleep(600)
        from orchestrate import flow

        @flow
        def heavy():
            pass
        """,
    )
    handle = await project.start("heavy.py:heavy")
    await project.recorder.wait_for(lambda rec: "importing" in rec.messages("stdout"))
    exit_ = await handle.cancel()
    assert exit_.returncode == 1 and exit_.signal is None  # the worker ended it, not SIGKILL
    assert project.recorder.history() == ["Pending", "Cancelled"]


async def test_an_async_flow_is_cancelled_by_the_worker_itself(project: Project) -> None:
    project.write(
        "aio.py",
        """
        import asyncio
        from orchestrate import flow

        @flow
        async def idle():
            print("started", flush=True)
            await asyncio.sleep(600)
        """,
    )
    handle = await project.start("aio.py:idle")
    await project.recorder.wait_for(started)
    exit_ = await handle.cancel("enough")
    assert exit_.returncode == 1 and exit_.final_state.name == "Cancelled"
    assert project.recorder.history() == ["Pending", "Running", "Cancelled"]
    assert "orc.supervisor" not in {r.logger for r in project.recorder.logs()}


async def test_shutdown_cancels_every_running_worker(project: Project) -> None:
    project.write("slow.py", SLOW)
    first = await project.start("slow.py:hang")
    second = await project.supervisor.start(project.spec("slow.py:hang", flow_run_id="other-run"))
    await project.recorder.wait_for(lambda rec: rec.messages("stdout").count("started") == 2)
    await project.supervisor.shutdown("daemon stopping")
    assert project.supervisor.running == {}
    for handle in (first, second):
        assert (await handle.wait()).final_state.name == "Cancelled"


async def test_a_very_long_output_line_is_cut_into_log_lines(project: Project) -> None:
    project.write(
        "wide.py",
        """
        import sys
        from orchestrate import flow

        @flow
        def wide():
            sys.stdout.write("x" * 150_000 + "\\nend\\n")
        """,
    )
    await project.run("wide.py:wide")
    lines = project.recorder.messages("stdout")
    assert "".join(lines[:-1]) == "x" * 150_000 and lines[-1] == "end"
    assert max(map(len, lines)) <= 64 * 1024


NESTED = """
import time
from orchestrate import flow, task

@task
def quick():
    return 1

@task
def sleepy(n):
    print(f"sleeping {n}", flush=True)
    time.sleep(600)

@flow
def inner():
    sleepy(2)

@flow
def outer():
    quick()
    sleepy.submit(1)
    inner()
"""


def latest_runs(rec: Recorder) -> dict[str, TaskRunRecord | FlowRunRecord]:
    """Every task run and flow run by id, as last seen."""
    return {r.id: r for r in rec.records if isinstance(r, TaskRunRecord | FlowRunRecord)}


@pytest.mark.parametrize("how", ["kill -9", "cancel"])
async def test_task_runs_and_subflows_left_open_by_a_dead_worker_end_with_it(
    project: Project, how: str
) -> None:
    project.write("nested.py", NESTED)
    handle = await project.start("nested.py:outer")

    def both_sleeping(rec: Recorder) -> bool:
        running = [r for r in latest_runs(rec).values()
                   if r.name.startswith("sleepy") and r.state.name == "Running"]  # fmt: skip
        return len(running) == 2

    await project.recorder.wait_for(both_sleeping)
    if how == "kill -9":
        os.kill(handle.pid or 0, signal.SIGKILL)
        exit_ = await handle.wait()
    else:
        exit_ = await handle.cancel("stop it")
    ending = "Crashed" if how == "kill -9" else "Cancelled"
    assert exit_.final_state.name == ending
    runs = latest_runs(project.recorder)

    def key(r: TaskRunRecord | FlowRunRecord) -> str:
        return r.flow_name if isinstance(r, FlowRunRecord) else r.name.split("-")[0] + " task"

    states = {(key(r), r.state.name) for r in runs.values() if r.id != FLOW_RUN_ID}
    assert states == {("quick task", "Completed"), ("sleepy task", ending), ("inner task", ending),
                      ("inner", ending)}  # fmt: skip
    assert all(r.state.is_final() and r.end_time is not None for r in runs.values())
    sleepers = [r for r in runs.values() if r.name.startswith("sleepy")]
    assert len(sleepers) == 2 and all(
        project.recorder.history(r.id)[-1] == ending for r in sleepers
    )


SHADOWED = """
import colorsys, numbers, sys
import helper
from orchestrate import flow

@flow
def shadowed():
    print("colorsys", colorsys.rgb_to_hsv(1.0, 0.0, 0.0), flush=True)
    print("helper", helper.VALUE, flush=True)
    print("numbers", sys.modules["numbers"].__name__, hasattr(sys.modules["numbers"], "Number"), flush=True)
"""


async def test_a_project_file_named_like_a_standard_module_does_not_shadow_it(
    project: Project,
) -> None:
    """The project folder is on `sys.path` after the standard library's folders (as a flow
    file's folder is), so `colorsys.py` or `numbers.py` there do not replace the standard
    modules in the worker; a sibling module still imports."""
    project.write("colorsys.py", "raise RuntimeError('the project shadowed colorsys')\n")
    project.write("numbers.py", "raise RuntimeError('the project shadowed numbers')\n")
    project.write("helper.py", "VALUE = 'from the project'\n")
    (project.root / "flows").mkdir()
    project.write("flows/shadowed.py", SHADOWED)
    exit_ = await project.run("flows/shadowed.py:shadowed")
    assert exit_.final_state.name == "Completed", exit_.final_state.message
    assert project.recorder.messages("stdout") == [
        "colorsys (0.0, 1.0, 1.0)",
        "helper from the project",
        "numbers numbers True",
    ]


async def test_a_start_that_raises_keeps_no_handle(
    project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A start that fails in orc's own code (injected here: nothing real raises at that point
    now) is the caller's to report, and leaves no handle behind: each retry used to add one."""
    from orchestrate.daemon import supervisor as supervisor_module

    async def broken(*args: object, **kwargs: object) -> None:
        raise ValueError("a bug while starting the worker")

    monkeypatch.setattr(supervisor_module, "start_worker", broken)
    for attempt in range(3):
        with pytest.raises(ValueError):
            await project.start("flows.py:tiny", flow_run_id=f"{FLOW_RUN_ID[:-1]}{attempt}")
    assert project.supervisor.running == {}
