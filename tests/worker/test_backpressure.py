"""Real workers whose daemon stops reading them (its store cannot take more records): their
flows stall, and nothing they recorded is lost when they end, are stopped, or lose their daemon."""

from __future__ import annotations

import asyncio
import fcntl
import os
import signal
import sys
import termios
import time
from pathlib import Path

import pytest

from orchestrate.daemon.read_pause import PAUSE_AT, ReadPause
from orchestrate.daemon.supervisor import Supervisor
from orchestrate.daemon.worker_process import spawn_worker
from orchestrate.worker import handshake
from orchestrate.worker.channel import RUN, notification
from tests.worker.conftest import Project, Recorder

pytestmark = pytest.mark.timeout(120)

FLOWS = """
import os
from orchestrate import flow, get_run_logger


@flow
def ends_soon(lines: int) -> int:
    logger = get_run_logger()
    for i in range(lines):
        logger.info("line %d", i)
    print("printed at the end", flush=True)
    return lines


@flow
def chatty(marker: str) -> None:
    logger = get_run_logger()
    i = 0
    try:
        while True:
            logger.info("line %d", i)
            i += 1
    finally:
        with open(marker, "w") as f:
            f.write(str(i))


@flow
def prints_forever() -> None:
    i = 0
    while True:
        print("x" * 100, i, flush=True)
        get_run_logger().info("line %d", i)
        i += 1
"""


@pytest.fixture
def paused(tmp_path: Path) -> Project:
    """Workers of a supervisor whose store is degraded past its bound: none is read."""
    pause = ReadPause(lambda: PAUSE_AT)
    pause.store_changed(degraded=True)
    recorder = Recorder()
    supervisor = Supervisor(recorder, kill_grace=1.0, read_pause=pause)
    project = Project(tmp_path, recorder, supervisor)
    project.write("flows.py", FLOWS)
    return project


def _lines(recorder: Recorder) -> list[int]:
    return [int(m.split()[1]) for m in recorder.messages() if m.startswith("line ")]


async def test_a_flow_that_ends_while_it_is_not_read_waits_to_send_all_it_recorded(
    paused: Project,
) -> None:
    """Its worker must not exit with records unsent (an orderly exit says all was sent): it
    waits, past the 10 s a worker gave its records before, and the run ends Completed."""
    lines = 15_000  # more than its socket takes, fewer than its sink queues before pacing
    handle = await paused.start("flows.py:ends_soon", parameters={"lines": lines})
    with pytest.raises(TimeoutError):  # the condition, an exit, must not come while unread
        await asyncio.wait_for(asyncio.shield(handle.wait()), 12.0)
    paused.supervisor.read_pause.store_changed(degraded=False)
    exit_ = await asyncio.wait_for(handle.wait(), 30)
    assert exit_.final_state.name == "Completed", exit_.final_state.message
    assert _lines(paused.recorder) == list(range(lines))
    assert paused.recorder.messages("stdout") == ["printed at the end"]


@pytest.mark.parametrize("stop", ["cancel", "timeout"])
async def test_a_stalled_worker_is_stopped_and_records_its_own_end_with_every_line(
    paused: Project, tmp_path: Path, stop: str
) -> None:
    """A stop reads the worker again: it ends in the stop's state on its own, not by
    SIGKILL after the grace with its last records unsent."""
    marker = tmp_path / "logged"
    timeout = {"timeout_seconds": 3.0} if stop == "timeout" else {}
    handle = await paused.start("flows.py:chatty", parameters={"marker": str(marker)}, **timeout)
    if stop == "cancel":
        with pytest.raises(TimeoutError):  # stalled: nothing read, nothing ends it
            await asyncio.wait_for(asyncio.shield(handle.wait()), 3.0)
        exit_ = await handle.cancel("stop it")
    else:
        exit_ = await asyncio.wait_for(handle.wait(), 30)
    assert exit_.signal is None, f"killed by {exit_.signal}: its end was not read in its grace"
    assert exit_.final_state.name == ("Cancelled" if stop == "cancel" else "TimedOut")
    logged = int(marker.read_text())
    assert _lines(paused.recorder) in (list(range(logged)), list(range(logged + 1)))
    assert logged < 100_000  # it stalled: a free run logs ~100,000 lines a second


async def test_a_worker_stalled_on_a_full_stdout_stops_itself_when_its_daemon_dies(
    tmp_path: Path,
) -> None:
    """Its flow's thread is blocked writing to stdout, its sink's on the socket: the hang-up
    watch still notices the daemon's end close and stops the worker and its group."""
    project = Project(tmp_path, Recorder(), Supervisor(Recorder()))
    project.write("flows.py", FLOWS)
    spec = project.spec("flows.py:prints_forever")
    spawned = await spawn_worker(sys.executable, spec, None)
    try:
        spawned.sock.sendall(handshake.our_line() + notification(RUN, spec.to_dict()))
        deadline = time.monotonic() + 30
        while _unread(spawned.stdout) < 65_536 - 200:  # a condition: its stdout is full
            assert time.monotonic() < deadline, "the flow never filled its stdout"
            await asyncio.sleep(0.01)
        spawned.sock.close()  # the daemon is gone (its stdout end stays open, full)
        returncode = await asyncio.wait_for(spawned.proc.wait(), 15)
        assert returncode == -signal.SIGKILL
    finally:
        if spawned.proc.returncode is None:
            os.killpg(spawned.proc.pid, signal.SIGKILL)
            await spawned.proc.wait()
        for fd in (spawned.stdout, spawned.stderr):
            os.close(fd)


def _unread(fd: int) -> int:
    """Bytes waiting in a pipe."""
    return int.from_bytes(fcntl.ioctl(fd, termios.FIONREAD, b"\0\0\0\0"), "little")
