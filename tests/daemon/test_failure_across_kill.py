"""A failed attempt is retried or told once, even when orc up is killed before its worker exits.

The daemon holds an attempt's `orc.flow-run.Failed` event until it handles the
worker's exit, then retries the run (AwaitingRetry) or settles it and tells the
event. The flow here fails, then its worker lingers in an exit hook: the Failed
state is stored but the exit is not handled yet, so a kill -9 of orc up lands in
that gap every time. The next orc up must decide the run as the exit would have.
"""

from __future__ import annotations

import shutil
import signal
from typing import Any

import pytest

from tests.daemon.conftest import Project, wait_for

pytestmark = pytest.mark.timeout(120)

LINGERS = '''
    import atexit
    import os
    import time

    from orchestrate import flow
    from orchestrate.runtime import flow_run


    def linger() -> None:
        """Keep the worker alive after its run's end was recorded, until released (a minute at most)."""
        deadline = time.monotonic() + 60
        while not os.path.exists("release") and time.monotonic() < deadline:
            time.sleep(0.05)


    @flow
    def fails(linger_in: int = 1) -> None:
        with open("marks.txt", "a") as f:
            f.write(f"{flow_run.run_count}\\n")
        if flow_run.run_count == linger_in:
            atexit.register(linger)
        raise ValueError("this flow always fails")
'''


def _deploy(project: Project, retries: int, linger_in: int = 1) -> None:
    project.write("flows.py", LINGERS)
    project.write(
        "flows.toml",
        f'[[deployments]]\nname = "fails"\nentrypoint = "flows.py:fails"\n'
        f"parameters = {{ linger_in = {linger_in} }}\nretries = {retries}\n"
        "retry_delay_seconds = 0\n",
    )


def _run(project: Project, run_id: str) -> Any:
    """The run as the store holds it (the daemon flushes its writer before it reads)."""
    with project.client() as client:
        return client.run(run_id)


def _failed(project: Project, run_id: str, attempt: int, settled: bool = False) -> bool:
    """Whether attempt `attempt` is stored Failed (and, with `settled`, is the run's last)."""
    run = _run(project, run_id).run
    ended = run.state.name == "Failed" and run.run_count == attempt
    return ended and (bool(run.settled) or not settled)


def _settled(project: Project, run_id: str, attempt: int) -> bool:
    return _failed(project, run_id, attempt, settled=True)


def _failures_told(project: Project, run_id: str) -> list[int]:
    """The attempt each stored `orc.flow-run.Failed` event of the run tells of."""
    with project.client() as client:
        events = client.events(name="orc.flow-run.Failed", resource=f"orc.flow-run.{run_id}")
    return sorted(int(e.payload["run_count"]) for e in events)


def _attempts_run(project: Project) -> list[int]:
    return [int(line) for line in (project.root / "marks.txt").read_text().split()]


def _kill_in_the_gap(project: Project, attempt: int) -> str:
    """Start a run, wait until attempt `attempt` is stored Failed while its worker lingers,
    then kill -9 orc up; the run's id."""
    daemon = project.up()
    with project.client() as client:
        run_id = str(client.create_run("fails").id)
    wait_for(lambda: _failed(project, run_id, attempt), 60, f"attempt {attempt} stored Failed")
    project.stop(daemon, signal.SIGKILL)
    return run_id


def test_a_failed_attempt_cut_off_before_its_worker_exited_is_retried(project: Project) -> None:
    _deploy(project, retries=1)
    try:
        run_id = _kill_in_the_gap(project, attempt=1)
        project.up()
        wait_for(lambda: _settled(project, run_id, 2), 30, "the retry to run and fail")
        assert _attempts_run(project) == [1, 2]
        assert _failures_told(project, run_id) == [2]  # the retried attempt is told as a retry
        history = [s.name for s in _run(project, run_id).state_history]
        assert history.count("AwaitingRetry") == 1, history
    finally:
        (project.root / "release").touch()


def test_with_no_retry_left_it_settles_and_its_failure_is_told_once(project: Project) -> None:
    _deploy(project, retries=1)
    try:
        run_id = _kill_in_the_gap(project, attempt=1)
        journals = project.root / ".orc" / "runs"
        kept = project.root / "kept-journals"
        shutil.copytree(journals, kept)
        _deploy(project, retries=0)  # lowered while orc up was down: attempt 1 was the last
        project.up()
        wait_for(lambda: _failures_told(project, run_id), 30, "the failure to be told")
        assert _settled(project, run_id, 1)
        project.stop()
        # As if that orc up had been killed after it told the failure, before it removed the
        # journal: the next one must not tell it again.
        shutil.copytree(kept, journals, dirs_exist_ok=True)
        project.up()
        assert _failures_told(project, run_id) == [1]
        assert _settled(project, run_id, 1)
        assert _attempts_run(project) == [1]
    finally:
        (project.root / "release").touch()


def test_a_failure_told_before_the_kill_is_not_told_again(project: Project) -> None:
    """With no retry left the event is told as the state is stored, before the worker exits."""
    _deploy(project, retries=1, linger_in=2)
    try:
        run_id = _kill_in_the_gap(project, attempt=2)
        project.up()
        wait_for(lambda: _settled(project, run_id, 2), 30, "the run to settle")
        assert _failures_told(project, run_id) == [2]
        assert _attempts_run(project) == [1, 2]
    finally:
        (project.root / "release").touch()
