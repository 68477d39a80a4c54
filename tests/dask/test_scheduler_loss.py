"""A scheduler killed mid-run: the flow run ends Crashed at once, without spending retries.

Retrying against a client whose scheduler is gone cannot succeed; Prefect
calls a run that lost its infrastructure Crashed, and so does orc. Task runs
that had finished keep their results.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from orchestrate import flow, task, unmapped
from orchestrate.context import flow_run_context
from orchestrate.core.records import StateRecord
from orchestrate.engine.outcomes import RunAborted
from orchestrate.integrations.dask import DaskTaskRunner
from orchestrate.runtime import task_run
from tests.daemon.conftest import wait_for
from tests.dask.conftest import needs_distributed
from tests.dask.external import ExternalCluster
from tests.engine.conftest import MemorySink

needs_distributed()


@task(retries=3)
def step(i: int, folder: str) -> int:
    (Path(folder) / f"started-{i}-attempt-{task_run.run_count}").touch()
    if i >= 2:
        time.sleep(120)  # still running when the scheduler goes
    return i * 10


def test_a_killed_scheduler_crashes_the_run_without_a_retry_storm(
    recorded: MemorySink, external_cluster: ExternalCluster, tmp_path: Path
) -> None:
    address, folder = external_cluster.address, str(tmp_path)

    @flow(task_runner=DaskTaskRunner(address))
    def pipeline() -> list[int]:
        finished = step.map(range(2), unmapped(folder)).result()
        return finished + step.map(range(2, 4), unmapped(folder)).result()

    def kill_when_both_slow_steps_run() -> None:
        started = (tmp_path / "started-2-attempt-1", tmp_path / "started-3-attempt-1")
        wait_for(lambda: all(p.exists() for p in started), 60, "the slow steps to start")
        external_cluster.kill_scheduler()

    killer = threading.Thread(target=kill_when_both_slow_steps_run)
    killer.start()
    began = time.monotonic()
    with pytest.raises(RunAborted) as crashed:  # a crash goes on up from a direct call
        pipeline()
    took = time.monotonic() - began
    killer.join()

    assert str(crashed.value) == f"The flow run lost the Dask scheduler at {address}."
    [flow_run] = recorded.flow_runs()
    [*_, final] = (
        r.state for r in recorded.records if isinstance(r, StateRecord) and r.run_id == flow_run.id
    )
    assert final.name == "Crashed"
    assert final.message == f"The flow run lost the Dask scheduler at {address}."
    assert took < 20  # not the client's reconnect timeouts, once per retry
    for i in (0, 1):
        run = recorded.task_run(f"step-{i}")
        assert recorded.history(run.id)[-1] == "Completed"
    for i in (2, 3):
        run = recorded.task_run(f"step-{i}")
        assert recorded.history(run.id) == ["Pending", "Running", "Crashed"]
    assert not list(tmp_path.glob("started-*-attempt-2"))  # no attempt was retried


def test_a_task_run_submitted_after_the_scheduler_went_is_not_sent(
    recorded: MemorySink, external_cluster: ExternalCluster, tmp_path: Path
) -> None:
    address, folder = external_cluster.address, str(tmp_path)

    @flow(task_runner=DaskTaskRunner(address))
    def pipeline() -> int:
        first = step.submit(0, folder).result()
        external_cluster.kill_scheduler()
        client = flow_run_context.get().task_runner.client  # type: ignore[union-attr]
        wait_for(lambda: client.status != "running", 30, "the client to see the scheduler go")
        return first + step.submit(1, folder).result()

    began = time.monotonic()
    with pytest.raises(RunAborted, match=f"lost the Dask scheduler at {address}"):
        pipeline()
    assert time.monotonic() - began < 20  # not the client's reconnect timeout
    assert recorded.history(recorded.task_run("step-1").id) == ["Pending", "Running", "Crashed"]
    assert not (tmp_path / "started-1-attempt-1").exists()
