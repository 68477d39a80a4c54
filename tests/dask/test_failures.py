"""When the cluster fails: a worker dying mid-task, a scheduler that is not there."""

from __future__ import annotations

import importlib
import os
import socket
import time
import uuid
from pathlib import Path
from typing import Any

import pytest

from orchestrate import flow, task
from orchestrate.context import flow_run_context
from orchestrate.core.records import StateRecord
from orchestrate.integrations.dask import DaskTaskRunner, SchedulerUnreachable
from orchestrate.runtime import task_run
from tests.dask.conftest import needs_distributed
from tests.engine.conftest import MemorySink

needs_distributed()


@task(retries=1)
def dies_on_first_attempt(folder: str) -> str:
    (Path(folder) / f"attempt-{task_run.run_count}-pid-{os.getpid()}").touch()
    if task_run.run_count == 1:
        os._exit(1)  # the worker process dies mid-task
    return "done"


def wait_for_workers(cluster: Any, count: int, timeout: float = 60) -> None:
    """The nanny restarts a killed worker; later tests want the cluster whole again."""
    deadline = time.monotonic() + timeout
    while len(cluster.scheduler.workers) < count:
        assert time.monotonic() < deadline, "the killed Dask worker did not come back"
        time.sleep(0.05)


def test_a_worker_killed_mid_task_leads_to_a_recorded_retry_not_a_silent_rerun(
    recorded: MemorySink, dask_cluster: Any, dask_address: str, tmp_path: Path
) -> None:
    @flow(task_runner=DaskTaskRunner(dask_address))
    def pipeline() -> str:
        return dies_on_first_attempt.submit(str(tmp_path)).result()

    try:
        assert pipeline() == "done"
    finally:
        wait_for_workers(dask_cluster, 2)
    run = recorded.task_run("dies_on_first_attempt-0")
    assert recorded.history(run.id) == [
        "Pending",
        "Running",
        "AwaitingRetry",
        "Retrying",
        "Completed",
    ]
    awaiting = next(
        r.state
        for r in recorded.records
        if isinstance(r, StateRecord) and r.state.name == "AwaitingRetry"
    )
    assert "WorkerLost" in awaiting.message and "died while running attempt 1" in awaiting.message
    attempts = sorted(p.name.split("-pid-")[0] for p in tmp_path.iterdir())
    assert attempts == ["attempt-1", "attempt-2"]  # Dask did not run the body again by itself


def test_a_worker_killed_without_retries_left_fails_the_task_run(
    recorded: MemorySink, dask_cluster: Any, dask_address: str, tmp_path: Path
) -> None:
    @flow(task_runner=DaskTaskRunner(dask_address))
    def pipeline() -> tuple[str, str]:
        state = dies_on_first_attempt.with_options(retries=0).submit(
            str(tmp_path), return_state=True
        )
        return state.name, state.message

    try:
        name, message = pipeline()
    finally:
        wait_for_workers(dask_cluster, 2)
    assert name == "Failed"
    assert message.startswith("WorkerLost: The Dask worker tcp://")
    assert len(list(tmp_path.iterdir())) == 1


def test_a_task_the_workers_cannot_import_fails_saying_so(
    recorded: MemorySink, dask_address: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    module = f"orc_only_here_{uuid.uuid4().hex[:8]}"
    (tmp_path / f"{module}.py").write_text(
        "from orchestrate import task\n\n@task\ndef local_only() -> int:\n    return 1\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))  # importable here, not on the workers
    local_only = importlib.import_module(module).local_only

    @flow(task_runner=DaskTaskRunner(dask_address))
    def pipeline() -> tuple[str, str]:
        state = local_only.submit(return_state=True)
        return state.name, state.message

    name, message = pipeline()
    assert name == "Failed"
    assert message.startswith("WorkerSetupError: Dask worker tcp://")
    assert f"could not load the task (ModuleNotFoundError: No module named '{module}')" in message
    assert "docs/dask.md" in message


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_an_unreachable_scheduler_fails_the_flow_run_before_any_task_runs(
    recorded: MemorySink,
) -> None:
    address = f"tcp://127.0.0.1:{closed_port()}"
    ran: list[int] = []

    @flow(task_runner=DaskTaskRunner(address, client_kwargs={"timeout": 1}))
    def pipeline() -> None:
        ran.append(1)

    started = time.monotonic()
    with pytest.raises(SchedulerUnreachable) as raised:
        pipeline()
    assert time.monotonic() - started < 10
    assert f"Could not connect to the Dask scheduler at {address}" in str(raised.value)
    assert "dask scheduler" in str(raised.value)
    assert ran == [] and recorded.task_runs() == []
    assert recorded.flow_runs()[0].state.name == "Failed"


def test_without_an_address_a_cluster_is_started_for_the_run_and_closed_after(
    recorded: MemorySink,
) -> None:
    @task
    def where() -> int:
        return os.getpid()

    @flow(task_runner=DaskTaskRunner(cluster_kwargs={"n_workers": 1, "threads_per_worker": 1}))
    def pipeline() -> tuple[int, str]:
        runner = flow_run_context.get().task_runner  # type: ignore[union-attr]
        return where.submit().result(), runner.client.scheduler.address

    worker_pid, address = pipeline()
    assert worker_pid != os.getpid()  # the task ran in a worker process
    host, port = address.removeprefix("tcp://").rsplit(":", 1)
    assert host == "127.0.0.1"
    with pytest.raises(OSError), socket.create_connection((host, int(port)), timeout=1):
        pass  # nothing listens there any more


def test_a_scheduler_that_reruns_tasks_itself_or_has_no_workers_is_reported_in_the_run(
    recorded: MemorySink,
) -> None:
    from distributed import LocalCluster

    with LocalCluster(
        n_workers=0,
        processes=False,
        dashboard_address=":0",
        scheduler_kwargs={"allowed_failures": 3},
    ) as cluster:

        @flow(task_runner=DaskTaskRunner(cluster.scheduler_address))
        def pipeline() -> None:
            pass

        pipeline()
    warnings = [r.message for r in recorded.logs() if r.level == 30]
    assert any("has no workers yet; task runs wait until one joins" in w for w in warnings)
    assert any(
        "re-runs a task itself up to 3 times" in w
        and "DASK_DISTRIBUTED__SCHEDULER__ALLOWED_FAILURES=0" in w
        for w in warnings
    )
