"""`get_dask_client()` / `get_async_dask_client()`: task bodies spreading Dask work over the cluster."""

from __future__ import annotations

from typing import Any

from orchestrate import flow, task
from orchestrate.integrations.dask import DaskTaskRunner, get_async_dask_client, get_dask_client
from tests.dask.conftest import needs_distributed
from tests.engine.conftest import MemorySink

needs_distributed()


def _square(x: int) -> int:
    return x * x


@task
def sum_of_squares(n: int) -> tuple[int, str, int]:
    """Work of its own on the cluster, from inside a task run."""
    import dask.bag as db

    with get_dask_client() as client:
        total = client.compute(db.from_sequence(range(n), npartitions=4).map(_square).sum())
        workers = len(client.scheduler_info()["workers"])
        return total.result(), client.scheduler.address, workers


@task
async def sum_of_squares_async(n: int) -> tuple[int, str]:
    import dask.bag as db

    async with get_async_dask_client() as client:
        total = await client.compute(db.from_sequence(range(n), npartitions=4).map(_square).sum())
        return total, client.scheduler.address


def test_a_task_gets_a_client_on_its_own_cluster(recorded: MemorySink, dask_address: str) -> None:
    @flow(task_runner=DaskTaskRunner(dask_address))
    def squares() -> Any:
        return sum_of_squares.submit(100).result()

    total, address, workers = squares()
    assert (total, address, workers) == (328350, dask_address, 2)


def test_tasks_that_all_wait_on_their_own_dask_work_do_not_deadlock_the_workers(
    recorded: MemorySink, dask_address: str
) -> None:
    # 2 workers x 2 threads: 6 task runs that each wait on sub-work would hold every thread
    # if waiting kept its thread; worker_client() hands the thread back while it waits
    @flow(task_runner=DaskTaskRunner(dask_address))
    def many() -> list[Any]:
        return sum_of_squares.map([10] * 6).result()

    assert [total for total, _, _ in many()] == [285] * 6


def test_an_async_task_gets_an_async_client(recorded: MemorySink, dask_address: str) -> None:
    @flow(task_runner=DaskTaskRunner(dask_address))
    def squares() -> Any:
        return sum_of_squares_async.submit(10).result()

    assert squares() == (285, dask_address)


def test_the_flow_body_gets_a_client_on_the_runners_cluster(
    recorded: MemorySink, dask_address: str
) -> None:
    import dask.bag as db

    @flow(task_runner=DaskTaskRunner(dask_address))
    def squares() -> tuple[int, str]:
        with get_dask_client() as client:
            total = client.compute(db.from_sequence(range(10)).map(_square).sum()).result()
            return total, client.scheduler.address

    assert squares() == (285, dask_address)
