"""The exceptions Prefect code catches, raised where Prefect raises them, with Prefect's messages."""

from __future__ import annotations

import asyncio
import threading

import pydantic
import pytest

from orchestrate import flow, task
from orchestrate.exceptions import (
    FlowRunTimeoutError,
    ParameterBindError,
    ParameterTypeError,
    PausedRun,
    TaskRunTimeoutError,
    UnfinishedRun,
)
from orchestrate.states import Paused, Pending, Running, State


@task(timeout_seconds=0.1)
def stalls() -> None:
    threading.Event().wait(5)


@task(timeout_seconds=0.1)
async def stalls_async() -> None:
    await asyncio.sleep(5)


def _timed_out(state: State, error: type[TimeoutError], message: str) -> None:
    assert state.name == "TimedOut" and state.is_failed()
    assert state.message == message
    assert isinstance(state.exception, error) and isinstance(state.exception, TimeoutError)
    with pytest.raises(error):
        state.result()


def test_a_task_past_its_timeout_raises_task_run_timeout_error(recorded) -> None:
    @flow
    def pipeline():  # type: ignore[no-untyped-def]
        return {"inline": stalls(return_state=True), "submitted": stalls.submit().wait_state()}

    states = pipeline()
    for state in states.values():
        _timed_out(state, TaskRunTimeoutError, "Task run exceeded timeout of 0.1 second(s)")


def test_an_async_task_past_its_timeout_too(recorded) -> None:
    @flow
    async def pipeline():  # type: ignore[no-untyped-def]
        return {"state": await stalls_async(return_state=True)}

    state = asyncio.run(pipeline())["state"]
    _timed_out(state, TaskRunTimeoutError, "Task run exceeded timeout of 0.1 second(s)")


def test_a_flow_past_its_timeout_raises_flow_run_timeout_error(recorded) -> None:
    @flow(timeout_seconds=0.1)
    def sync_flow() -> None:
        threading.Event().wait(5)

    @flow(timeout_seconds=0.1)
    async def async_flow() -> None:
        await asyncio.sleep(5)

    for state in (sync_flow(return_state=True), asyncio.run(async_flow(return_state=True))):
        _timed_out(state, FlowRunTimeoutError, "Flow run exceeded timeout of 0.1 second(s)")
    with pytest.raises(TimeoutError):
        sync_flow()


def test_a_timeout_error_from_the_body_ends_timed_out_as_in_prefect(recorded) -> None:
    @task
    def slow_disk() -> None:
        raise TimeoutError("slow disk")

    @flow
    def pipeline() -> State:
        return {"state": slow_disk(return_state=True)}  # type: ignore[return-value]

    state = pipeline()["state"]  # type: ignore[index]
    assert state.name == "TimedOut"
    assert state.message == "Task run failed due to timeout: TimeoutError('slow disk')"


def test_result_with_a_timeout_raises_timeout_error(recorded) -> None:
    release = threading.Event()

    @task
    def waits() -> int:
        release.wait(5)
        return 1

    @flow
    def pipeline() -> tuple[str, int]:
        future = waits.submit()
        try:
            future.result(timeout=0.05)
        except TimeoutError as exc:
            caught = str(exc)
            assert isinstance(exc, UnfinishedRun)  # orc's own name still catches it
        release.set()
        return caught, future.result()

    message, value = pipeline()
    assert message.endswith("did not complete within 0.05 seconds") and value == 1


def test_an_unfinished_state_raises_unfinished_run_even_without_raise_on_failure() -> None:
    for state in (Pending(), Running()):
        with pytest.raises(UnfinishedRun, match=f"Run is in {state.type.value} state"):
            state.result(raise_on_failure=False)
    with pytest.raises(PausedRun):
        Paused().result(raise_on_failure=False)


def test_waiting_on_a_downstream_of_a_failed_upstream_raises_unfinished_run(recorded) -> None:
    @task
    def boom() -> int:
        raise RuntimeError("upstream broke")

    @task
    def after(x: int) -> int:
        return x

    @flow
    def pipeline() -> None:
        with pytest.raises(UnfinishedRun):
            after.submit(boom.submit()).result(raise_on_failure=False)

    pipeline()


def test_parameter_type_error_from_a_validation_error() -> None:
    class Model(pydantic.BaseModel):
        x: int

    with pytest.raises(pydantic.ValidationError) as raised:
        Model(x="many")  # type: ignore[arg-type]
    error = ParameterTypeError.from_validation_error(raised.value)
    assert str(error).startswith("Flow run received invalid parameters:\n - x: Input should be")


def test_parameter_bind_error_from_a_bind_failure() -> None:
    def load(table, limit=10):  # type: ignore[no-untyped-def]
        pass

    error = ParameterBindError.from_bind_failure(load, TypeError("too many"), (1, 2, 3), {"x": 1})
    assert str(error) == (
        "Error binding parameters for function 'load': too many.\n"
        "Function 'load' has signature 'table, limit=10' "
        "but received args: (1, 2, 3) and kwargs: ['x']."
    )
    assert isinstance(error, ParameterTypeError)


def test_a_timeout_error_from_an_async_body_with_a_timeout_is_not_its_timeout(recorded) -> None:
    @task(timeout_seconds=5)
    async def slow_disk() -> None:
        raise TimeoutError("slow disk")

    @flow(timeout_seconds=5)
    async def pipeline() -> None:
        raise TimeoutError("slow network")

    @flow
    async def calls_the_task():  # type: ignore[no-untyped-def]
        return {"state": await slow_disk(return_state=True)}

    task_state = asyncio.run(calls_the_task())["state"]
    assert task_state.message == "Task run failed due to timeout: TimeoutError('slow disk')"
    flow_state = asyncio.run(pipeline(return_state=True))
    assert flow_state.message == "Flow run failed due to timeout: TimeoutError('slow network')"
