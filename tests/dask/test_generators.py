"""Generator tasks submitted to a real Dask cluster give what they give on threads: their items."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

from orchestrate import flow, task
from orchestrate.integrations.dask import DaskTaskRunner
from tests.dask.conftest import needs_distributed

needs_distributed()


@task
def count(n: int) -> Iterator[int]:
    yield from range(n)


@task
async def count_async(n: int) -> AsyncIterator[int]:
    for i in range(n):
        yield i


def test_a_submitted_generator_task_holds_its_items_on_dask_as_on_threads(
    recorded, dask_address: str
) -> None:
    @flow(task_runner=DaskTaskRunner(address=dask_address))
    def pipeline() -> list[list[int]]:
        return [count.submit(3).result(), count_async.submit(2).result()]

    @flow
    def on_threads() -> list[list[int]]:
        return [count.submit(3).result(), count_async.submit(2).result()]

    assert pipeline() == on_threads() == [[0, 1, 2], [0, 1]]
