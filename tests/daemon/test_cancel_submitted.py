"""A cancel or a timeout of a run whose submitted task runs are still running ends it at once.

A thread cannot be stopped, so the worker does not wait for its task runs'
threads after the stop: their runs end in the stop's state and the process
ends, instead of waiting out the daemon's kill grace (5 s) with them.
"""

from __future__ import annotations

import time

import pytest

from orchestrate.client import Client
from orchestrate.client.protocol import FlowRunInfo, RunDetail
from tests.daemon.conftest import Project, wait_for

pytestmark = pytest.mark.timeout(120)

FLOWS = """
import time
from pathlib import Path
from orchestrate import flow, task


@task
def slow(i: int) -> int:
    Path(f"started-{i}").touch()
    time.sleep(60)
    return i


@flow
def fan() -> None:
    futures = [slow.submit(i) for i in range(3)]
    for future in futures:
        future.result()
"""

TOML = """
[[deployments]]
name = "fan"
entrypoint = "flows.py:fan"

[[deployments]]
name = "fan-timed"
entrypoint = "flows.py:fan"
timeout_seconds = 2
"""

FINAL = {"COMPLETED", "FAILED", "CRASHED", "CANCELLED"}

#: Well under the daemon's kill grace: a worker that waited for its threads would take it all.
AT_ONCE = 3.0


def _over(found: RunDetail) -> RunDetail | None:
    """`found` once the run and every task run of it are final."""
    runs = [found.run, *found.task_runs]
    return found if all(r.state.type in FINAL for r in runs) else None


@pytest.fixture
def fans(project: Project) -> Project:
    """`orc up` with both deployments of three 60 s task runs."""
    project.write("flows.py", FLOWS)
    project.write("flows.toml", TOML)
    project.up()
    return project


def _busy_run(project: Project, client: Client, deployment: str) -> FlowRunInfo:
    """A run of `deployment` once its three task runs are running."""
    run = client.create_run(deployment)
    started = lambda: len(list(project.root.glob("started-*"))) == 3  # noqa: E731
    wait_for(started, 30, "three task runs started")
    return run


def test_a_cancel_ends_a_run_and_its_running_task_runs_at_once(fans: Project) -> None:
    with fans.client() as client:
        run = _busy_run(fans, client, "fan")
        asked = time.monotonic()
        client.cancel_run(run.id)
        wait_for(lambda: client.run(run.id).run.state.type == "CANCELLED", 30, "the run Cancelled")
        took = time.monotonic() - asked
        ended = wait_for(lambda: _over(client.run(run.id)), 30, "its task runs ended")
    assert took < AT_ONCE, f"the cancel took {took:.1f}s: the worker waited for its threads"
    assert [t.state.name for t in ended.task_runs] == ["Cancelled"] * 3


def test_a_timed_out_run_ends_at_its_timeout_with_its_task_runs(fans: Project) -> None:
    with fans.client() as client:
        run = _busy_run(fans, client, "fan-timed")
        ended = wait_for(lambda: _over(client.run(run.id)), 30, "the run and its task runs over")
    assert ended.run.state.name == "TimedOut", ended.run.state
    assert ended.run.end_time is not None and ended.run.start_time is not None
    took = ended.run.end_time - ended.run.start_time
    assert took < 2 + AT_ONCE, f"the run took {took:.1f}s: the worker waited for its threads"
    # the daemon ends what the worker left open, Crashed, as it always has for a timeout
    assert [t.state.name for t in ended.task_runs] == ["Crashed"] * 3
