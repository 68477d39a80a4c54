"""Async flows and tasks: awaited calls, gathered calls, gathered futures, timeouts, subflows."""

from __future__ import annotations

import asyncio
import time

from orchestrate import flow, task


@task
async def fetch(i: int, delay: float = 0.2) -> int:
    await asyncio.sleep(delay)
    return i * 10


def test_an_async_task_awaited_in_an_async_flow(recorded) -> None:
    @flow
    async def pipeline() -> int:
        return await fetch(2, 0)

    assert asyncio.run(pipeline()) == 20
    assert recorded.task_run("fetch-0").state.is_completed()


def test_gathered_task_calls_run_concurrently(recorded) -> None:
    @flow
    async def pipeline() -> list[int]:
        return await asyncio.gather(*[fetch(i) for i in range(5)])

    started = time.monotonic()
    assert asyncio.run(pipeline()) == [0, 10, 20, 30, 40]
    assert time.monotonic() - started < 0.2 * 5 * 0.8  # overlapped, not one after another


def test_gathered_submitted_async_tasks(recorded) -> None:
    @flow
    async def pipeline() -> list[int]:
        return await asyncio.gather(*[fetch.submit(i) for i in range(5)])

    started = time.monotonic()
    assert asyncio.run(pipeline()) == [0, 10, 20, 30, 40]
    assert time.monotonic() - started < 0.8
    assert len(recorded.task_runs()) == 5


def test_sync_tasks_from_an_async_flow(recorded) -> None:
    @task
    def square(x: int) -> int:
        return x * x

    @flow
    async def pipeline() -> list[int]:
        return [square(3), square.submit(4).result(), *square.map([1, 2]).result()]

    assert asyncio.run(pipeline()) == [9, 16, 1, 4]


def test_async_task_timeout_and_retries(recorded) -> None:
    attempts = []

    @task(timeout_seconds=0.1, retries=1)
    async def slow() -> None:
        attempts.append(1)
        await asyncio.sleep(5)

    @flow
    async def pipeline():  # type: ignore[no-untyped-def]
        return {"state": await slow(return_state=True)}

    state = asyncio.run(pipeline())["state"]
    assert state.name == "TimedOut" and len(attempts) == 2


def test_async_flow_timeout(recorded) -> None:
    @flow(timeout_seconds=0.1)
    async def pipeline() -> None:
        await asyncio.sleep(5)

    assert asyncio.run(pipeline(return_state=True)).name == "TimedOut"


def test_async_subflow_and_async_hooks(recorded) -> None:
    seen = []

    async def hook(flow_, run, state) -> None:  # type: ignore[no-untyped-def]
        seen.append(state.name)

    @flow(on_completion=[hook])
    async def child(x: int) -> int:
        return await fetch(x, 0)

    @flow
    async def parent() -> int:
        return await child(1)

    assert asyncio.run(parent()) == 10
    assert seen == ["Completed"]
    assert {r.name for r in recorded.task_runs()} == {"child-0", "fetch-0"}
