"""A zygote rehearses a run before it forks: each forked run copies fewer of its pages, and
nothing of the rehearsal shows in the runs, the logs or the zygote."""

from __future__ import annotations

import asyncio
import os
import statistics
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from orchestrate.daemon.supervisor import Supervisor
from tests.worker.conftest import Recorder
from tests.worker.test_zygote import WarmProject

ONE_TASK = """
from orchestrate import flow, task, get_run_logger


@task
def one(i: int) -> int:
    return i


@flow
def one_task(i: int = 0) -> int:
    get_run_logger().debug("debug line %d", i)
    return one(i)
"""

RUNS = 5


def _children_faults(pid: int) -> int:
    """The minor page faults of the process's reaped children (`cminflt`)."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    return int(stat[stat.rfind(")") + 2 :].split()[8])


async def _faults_per_run(root: Path, monkeypatch: pytest.MonkeyPatch, rehearse: bool) -> float:
    """The median page faults of a forked one-task run, from a zygote that rehearsed or not."""
    monkeypatch.setenv("ORC_NO_REHEARSAL", "0" if rehearse else "1")  # the zygote inherits it
    root.mkdir()
    recorder = Recorder()
    supervisor = Supervisor(recorder, kill_grace=1.0, warm=True)
    project = WarmProject(root, recorder, supervisor)
    project.write("flows.py", ONE_TASK)
    try:
        assert supervisor.zygotes is not None
        assert await supervisor.zygotes.warm(str(root))
        zygote = supervisor.zygotes.zygote(str(root))
        assert zygote is not None
        faults = []
        for i in range(RUNS):
            before = _children_faults(zygote.pid)
            handle = await project.start(
                "flows.py:one_task", flow_run_id=str(uuid.uuid4()), parameters={"i": i}
            )
            async with asyncio.timeout(30):
                exit_ = await handle.wait()  # reaped by the zygote before it reports the exit
            assert exit_.final_state.name == "Completed"
            faults.append(_children_faults(zygote.pid) - before)
    finally:
        await supervisor.shutdown()
    return statistics.median(faults)


async def test_a_run_forked_from_a_rehearsed_zygote_copies_fewer_of_its_pages(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    plain = await _faults_per_run(tmp_path / "plain", monkeypatch, rehearse=False)
    rehearsed = await _faults_per_run(tmp_path / "rehearsed", monkeypatch, rehearse=True)
    # measured here: ~145 fewer of ~1,390 since the rehearsal serves its run through the
    # worker's own path (~105 when it ran only the flow); ~100 fewer in the daemon's soak
    assert rehearsed < plain - 100, (plain, rehearsed)


async def test_a_forked_run_logs_at_its_own_level_and_the_rehearsal_prints_nothing(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    recorder = Recorder()
    project = WarmProject(tmp_path, recorder, Supervisor(recorder, kill_grace=1.0, warm=True))
    project.write("flows.py", ONE_TASK)
    try:
        exit_ = await project.run("flows.py:one_task", parameters={"i": 7}, log_level="DEBUG")
    finally:
        await project.supervisor.shutdown()
    assert exit_.final_state.name == "Completed"
    assert "debug line 7" in recorder.messages()
    assert "rehearsal" not in " ".join(recorder.messages())
    assert "rehearsal" not in capfd.readouterr().err  # the zygote's stderr is the daemon's
    assert sorted(os.listdir(tmp_path)) == ["flows.py"]


def test_the_rehearsal_leaves_the_zygote_as_it_found_it(tmp_path: Path) -> None:
    code = (
        "import logging, os, signal, sys, threading\n"
        "from orchestrate.core import secrets\n"
        "from orchestrate.engine import logs, pauses\n"
        "from orchestrate.recording import current\n"
        "from orchestrate.worker import zygote\n"
        "path, environ, fds = list(sys.path), dict(os.environ), os.listdir('/proc/self/fd')\n"
        "masker, buffering = secrets.current(), sys.stdout.line_buffering\n"
        "assert zygote._preload([]) is None\n"
        "assert 'orchestrate.worker.rehearsal' in sys.modules\n"
        "print(threading.active_count(), logging.getLogger('orc').handlers, logs._configured,\n"
        "      current._sink, sys.path == path, dict(os.environ) == environ,\n"
        "      [m for m in sys.modules if m.startswith('orc_entrypoint_')], os.listdir('.'),\n"
        "      os.getcwd() == sys.argv[1], os.listdir('/proc/self/fd') == fds,\n"
        "      signal.getsignal(signal.SIGTERM) is signal.SIG_DFL, pauses._gate,\n"
        "      secrets.current() is masker, sys.stdout.line_buffering == buffering)\n"
    )
    env = {**os.environ, "ORC_NO_REHEARSAL": "0"}
    out = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path)],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout == "1 [] False None True True [] [] True True True None True True\n"
    assert out.stderr == ""
