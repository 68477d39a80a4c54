"""`dask.annotate(resources=…, priority=…, workers=…)` around `.submit()` reaches the Dask scheduler.

Prefect's docs show `with dask.annotate(resources={"GPU": 1}): task.submit()`
to run a task only where a GPU is; a task run so marked waits until a worker
with that resource joins.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import dask

from orchestrate import flow, task
from orchestrate.integrations.dask import DaskTaskRunner
from tests.daemon.conftest import wait_for
from tests.dask.conftest import needs_distributed
from tests.dask.external import ExternalCluster
from tests.engine.conftest import MemorySink

needs_distributed()


@task
def resources_here(folder: str, name: str) -> dict[str, float]:
    from distributed import get_worker

    (Path(folder) / name).touch()
    return dict(get_worker().state.total_resources)


def _task_states(cluster: ExternalCluster) -> dict[str, str]:
    from distributed import Client

    with Client(cluster.address, timeout="10s", set_as_default=False) as client:
        return dict(
            client.run_on_scheduler(
                lambda dask_scheduler: {str(k): t.state for k, t in dask_scheduler.tasks.items()}
            )
        )


def test_a_task_needing_a_gpu_waits_for_a_worker_with_one(
    recorded: MemorySink, external_cluster: ExternalCluster, tmp_path: Path
) -> None:
    folder, results = str(tmp_path), {}

    @flow(task_runner=DaskTaskRunner(external_cluster.address))
    def mixed() -> tuple[Any, Any]:
        with dask.annotate(resources={"GPU": 1}):
            on_gpu = resources_here.submit(folder, "gpu")
        anywhere = resources_here.submit(folder, "cpu")
        return on_gpu.result(), anywhere.result()

    runner = threading.Thread(target=lambda: results.update(out=mixed()))
    runner.start()
    try:
        wait_for((tmp_path / "cpu").exists, 60, "the task without annotation to run")
        waiting = lambda: "no-worker" in _task_states(external_cluster).values()  # noqa: E731
        wait_for(waiting, 30, "the GPU task run to wait for a worker with a GPU")
        assert not (tmp_path / "gpu").exists()
        external_cluster.add_worker(resources="GPU=1")
    finally:
        runner.join(60)
    on_gpu, anywhere = results["out"]
    assert on_gpu == {"GPU": 1.0} and anywhere == {}


@task
def worker_address() -> str:
    from distributed import get_worker

    return str(get_worker().address)


def test_workers_annotation_places_each_task_run(recorded: MemorySink, dask_cluster: Any) -> None:
    workers = sorted(dask_cluster.scheduler.workers)

    @flow(task_runner=DaskTaskRunner(dask_cluster.scheduler_address))
    def placed() -> list[str]:
        futures = []
        for address in workers * 3:
            with dask.annotate(workers=[address], allow_other_workers=False):
                futures.append(worker_address.submit())
        return [future.result() for future in futures]

    assert placed() == workers * 3
