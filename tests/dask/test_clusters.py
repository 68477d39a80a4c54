"""Which cluster a flow run uses: a cluster object given, a class from flows.toml, adaptive
scaling, and the dashboard link each run logs and records."""

from __future__ import annotations

import socket
from typing import Any

from orchestrate import flow, task
from orchestrate.cli import runs as runs_cli
from orchestrate.core.records import EventRecord, LogRecord
from orchestrate.integrations.dask import DaskTaskRunner
from orchestrate.integrations.dask.dashboard import DASHBOARD_EVENT
from orchestrate.worker.runners import task_runner_from_spec
from tests.dask.conftest import needs_distributed
from tests.engine.conftest import MemorySink

needs_distributed()


@task
def on_a_worker(i: int) -> str:
    from distributed import get_worker

    return str(get_worker().address)


def _messages(recorded: MemorySink) -> list[str]:
    return [r.message for r in recorded.records if isinstance(r, LogRecord)]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_a_cluster_object_is_used_as_it_is_and_left_running(
    recorded: MemorySink, dask_cluster: Any
) -> None:
    @flow(task_runner=DaskTaskRunner(cluster=dask_cluster))
    def spread() -> set[str]:
        return set(on_a_worker.map(range(8)).result())

    assert spread() <= set(dask_cluster.scheduler.workers)
    assert dask_cluster.status.name == "running"  # not closed: it is the caller's
    line = f"Task runs go to the LocalCluster given at {dask_cluster.scheduler_address}"
    assert any(m.startswith(line) for m in _messages(recorded))


def test_flows_toml_settings_start_an_adaptive_cluster_of_the_named_class_with_its_dashboard(
    recorded: MemorySink,
) -> None:
    port = _free_port()
    runner = task_runner_from_spec(
        {
            "type": "dask",
            "cluster_class": "distributed.LocalCluster",
            # no workers at first: only adapt_kwargs make any task run at all
            "cluster_kwargs": {"n_workers": 0, "dashboard_address": f"127.0.0.1:{port}"},
            "adapt_kwargs": {"minimum": 1, "maximum": 2},
        }
    )

    @flow(task_runner=runner)
    def spread() -> list[str]:
        return on_a_worker.map(range(4)).result()

    assert all(address.startswith("tcp://127.0.0.1:") for address in spread())
    [flow_run] = recorded.flow_runs()
    link = f"http://127.0.0.1:{port}/status"
    [line] = [m for m in _messages(recorded) if m.startswith("Task runs go to")]
    assert line.startswith("Task runs go to the LocalCluster started for this run at tcp://")
    assert line.endswith(f"; Dask dashboard: {link}")
    [event] = [r for r in recorded.records if isinstance(r, EventRecord)]
    assert event.event == DASHBOARD_EVENT == runs_cli.DASHBOARD_EVENT
    assert event.resource["orc.resource.id"] == f"orc.flow-run.{flow_run.id}"
    assert event.payload["dashboard"] == link
