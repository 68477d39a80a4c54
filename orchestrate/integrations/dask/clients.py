"""A Dask client for the code of a task run or a flow run (Prefect's `prefect_dask.get_dask_client`).

Task bodies that work on Dask collections (`dask.dataframe`, `dask.bag`) need
a client to spread that work over the cluster; without one Dask computes it
serially in the worker's own thread. Where the client points:

- in a task run on a Dask worker: that worker's scheduler. The synchronous
  client is `distributed.worker_client()`, which leaves the worker's thread
  pool while the task waits, so tasks that all wait on their own sub-work do
  not take every thread and deadlock (Prefect opens a plain `Client` here);
- in a flow run (or a task run in the flow process) on a `DaskTaskRunner`:
  the runner's scheduler, with the runner's `client_kwargs`;
- anywhere else: `distributed.Client()` as Dask makes it (a local cluster),
  which lets the code be tried outside orc.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from orchestrate.engine.context import flow_run_context

if TYPE_CHECKING:
    from distributed import Client

Timeout = int | float | str | timedelta | None


@contextmanager
def get_dask_client(timeout: Timeout = None, **client_kwargs: Any) -> Iterator[Client]:
    """A temporary synchronous Dask client on the cluster this code runs on.

    Args:
        timeout: how long to wait to connect (Dask's `distributed.comm.timeouts.connect`
            by default).
        client_kwargs: more `distributed.Client` arguments; they override the runner's.

    Yields:
        The client, closed (or, on a worker, handed back) when the block ends.

    Example:
        ```python
        import dask.dataframe as dd
        from orchestrate import task
        from orchestrate.integrations.dask import get_dask_client

        @task
        def summary(path: str):
            with get_dask_client() as client:
                return client.compute(dd.read_parquet(path).describe()).result()
        ```
    """
    from distributed import Client, worker_client

    address = _worker_scheduler()
    if address is not None and not client_kwargs:
        with worker_client(timeout=_seconds(timeout), separate_thread=True) as client:
            yield client
        return
    with Client(**_client_kwargs(address, False, timeout, client_kwargs)) as client:
        yield client


@asynccontextmanager
async def get_async_dask_client(
    timeout: Timeout = None, **client_kwargs: Any
) -> AsyncIterator[Client]:
    """A temporary asynchronous Dask client on the cluster this code runs on (for async tasks).

    Args:
        timeout: how long to wait to connect (Dask's default when None).
        client_kwargs: more `distributed.Client` arguments; they override the runner's.

    Yields:
        The client (`await client.compute(...)`), closed when the block ends.
    """
    from distributed import Client

    kwargs = _client_kwargs(_worker_scheduler(), True, timeout, client_kwargs)
    async with Client(**kwargs) as client:
        yield client


def _client_kwargs(
    worker_scheduler: str | None, asynchronous: bool, timeout: Timeout, given: dict[str, Any]
) -> dict[str, Any]:
    """As Prefect builds them: where to connect, the runner's arguments, then the caller's."""
    kwargs: dict[str, Any] = {"address": worker_scheduler}
    if worker_scheduler is None:
        runner = _flow_runs_dask_runner()
        if runner is not None:
            kwargs = {**runner.client_kwargs, "address": runner.client.scheduler.address}
    kwargs["asynchronous"] = asynchronous
    if timeout is not None:
        kwargs["timeout"] = timeout
    return {**kwargs, **given}


def _worker_scheduler() -> str | None:
    """The scheduler of the Dask worker running this code, if it runs on one."""
    from distributed import get_worker

    try:
        return str(get_worker().scheduler.address)
    except ValueError:  # not in a Dask task
        return None


def _flow_runs_dask_runner() -> Any | None:
    """The running `DaskTaskRunner` of this flow run, if it has one."""
    from orchestrate.integrations.dask.runner import DaskTaskRunner

    context = flow_run_context.get()
    runner = context.task_runner if context is not None else None
    if isinstance(runner, DaskTaskRunner) and runner.running:
        return runner
    return None


def _seconds(timeout: Timeout) -> float | str | None:
    return timeout.total_seconds() if isinstance(timeout, timedelta) else timeout
