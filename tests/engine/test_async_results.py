"""`State.result()` answers async code with an awaitable and sync code with the value, as Prefect's does.

Prefect decides by the run in progress (an async task or flow is async code)
and, outside any run, by whether an event loop is running. Futures of task
runs stay synchronous in Prefect, so `await future.result()` is a TypeError.
"""

from __future__ import annotations

import asyncio
import inspect
import threading
from typing import Any

import pytest

from orchestrate import flow, task
from orchestrate.core.errors import UnfinishedRun
from orchestrate.states import Completed, Failed, Pending


@task
def double(x: int) -> int:
    return 2 * x


@task
async def adouble(x: int) -> int:
    await asyncio.sleep(0)
    return 2 * x


def test_await_state_result_in_an_async_flow(recorded) -> None:
    @flow
    async def pipeline() -> tuple[bool, int, int]:
        state = await adouble(3, return_state=True)
        pending = state.result()
        awaitable = inspect.isawaitable(pending)
        return awaitable, await pending, await double(4, return_state=True).result()

    assert asyncio.run(pipeline()) == (True, 6, 8)


def test_sync_code_keeps_getting_the_value(recorded) -> None:
    @flow
    def pipeline() -> int:
        future = double.submit(1)
        future.wait()
        return double(5, return_state=True).result() + future.state.result()

    assert pipeline() == 12


def test_a_sync_task_inside_an_async_flow_is_sync_code(recorded) -> None:
    @task
    def reads_a_state() -> int:
        return Completed(data=7).result()

    @flow
    async def other() -> int:
        return reads_a_state()

    assert asyncio.run(other()) == 7


def test_aresult_works_from_any_code(recorded) -> None:
    @flow
    def pipeline() -> int:
        state = double(5, return_state=True)
        return asyncio.run(state.aresult())

    assert pipeline() == 10
    assert asyncio.run(Completed(data=1).aresult()) == 1


def test_outside_a_run_an_event_loop_decides() -> None:
    state = Completed(data=3)
    assert state.result() == 3

    async def main() -> int:
        return await state.result()

    assert asyncio.run(main()) == 3


def test_awaiting_the_result_in_sync_code_is_a_type_error(recorded) -> None:
    @flow
    def pipeline() -> None:
        state = double(5, return_state=True)

        async def helper() -> int:
            return await state.result()  # a sync flow's run: the value, not an awaitable

        asyncio.run(helper())

    with pytest.raises(TypeError):
        pipeline()


def test_a_future_result_is_the_value_even_in_async_code(recorded) -> None:
    @flow
    async def pipeline() -> tuple[int, int]:
        future = adouble.submit(2)
        return future.result(), await future.aresult()

    assert asyncio.run(pipeline()) == (4, 4)

    @flow
    async def awaits_the_value() -> int:
        return await adouble.submit(2).result()  # type: ignore[no-any-return]

    with pytest.raises(TypeError):
        asyncio.run(awaits_the_value())


def test_failed_and_unfinished_states_in_async_code(recorded) -> None:
    @flow
    async def pipeline() -> Any:
        error = await Failed(data=ValueError("no")).result(raise_on_failure=False)
        with pytest.raises(ValueError):
            await Failed(data=ValueError("no")).result()
        with pytest.raises(UnfinishedRun):
            await Pending().result()
        return error

    assert isinstance(asyncio.run(pipeline()), ValueError)


def test_giving_up_on_awaiting_a_future_leaves_its_task_run_alone(recorded) -> None:
    release = threading.Event()

    @task
    def slow() -> int:
        release.wait(10)
        return 1

    @flow
    async def pipeline() -> int:
        future = slow.submit()
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(future, 0.01)
        release.set()
        return future.result()

    assert asyncio.run(pipeline()) == 1
    assert recorded.task_run("slow-0").state.is_completed()
