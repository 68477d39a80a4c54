"""Generator and async-generator tasks and flows, as Prefect 3 runs them.

Written from Prefect's own tests (tests/test_task_engine.py and
tests/test_flow_engine.py, `TestGenerators`/`TestAsyncGenerators`): items
stream inside the run, a retry streams again from the start, a timeout cuts a
body that yields slowly, and `return_state=True` is refused with Prefect's
message. A submitted generator task hands back the list of what it yielded.
"""

from __future__ import annotations

import asyncio
import time

import pytest

from orchestrate import flow, task
from orchestrate.context import FlowRunContext, TaskRunContext
from orchestrate.exceptions import FlowRunTimeoutError, TaskRunTimeoutError

# --- async-generator tasks -------------------------------------------------------------


def test_an_async_generator_task_streams_inside_its_task_run(recorded) -> None:
    events: list[str] = []

    @task
    async def numbers(n: int):  # type: ignore[no-untyped-def]
        for i in range(n):
            context = TaskRunContext.get()
            events.append(f"made {i} in {context.task_run.name if context else None}")
            yield i

    @flow
    async def pipeline() -> list[int]:
        out = []
        async for item in numbers(2):
            events.append(f"got {item}")
            out.append(item)
        return out

    assert asyncio.run(pipeline()) == [0, 1]
    assert events == ["made 0 in numbers-0", "got 0", "made 1 in numbers-0", "got 1"]
    run = recorded.task_run("numbers-0")
    assert recorded.history(run.id) == ["Pending", "Running", "Completed"]


def test_an_async_generator_task_that_raises_fails_and_retries_from_its_start(recorded) -> None:
    @task(retries=2)
    async def flaky():  # type: ignore[no-untyped-def]
        yield 1
        yield 2
        raise ValueError("xyz")

    values: list[int] = []

    @flow
    async def pipeline() -> None:
        async for v in flaky():
            values.append(v)

    with pytest.raises(ValueError, match="xyz"):
        asyncio.run(pipeline())
    assert values == [1, 2, 1, 2, 1, 2]
    run = recorded.task_run("flaky-0")
    assert run.state.name == "Failed" and run.run_count == 3


def test_an_async_generator_task_that_yields_too_slowly_times_out(recorded) -> None:
    @task(timeout_seconds=0.2)
    async def slow():  # type: ignore[no-untyped-def]
        yield 1
        await asyncio.sleep(5)
        yield 2

    values: list[int] = []

    @flow
    async def pipeline() -> None:
        async for v in slow():
            values.append(v)

    started = time.monotonic()
    with pytest.raises(TaskRunTimeoutError):
        asyncio.run(pipeline())
    assert time.monotonic() - started < 3
    assert values == [1]
    run = recorded.task_run("slow-0")
    assert run.state.name == "TimedOut"
    assert run.state.message == "Task run exceeded timeout of 0.2 second(s)"


def test_an_async_generator_task_stopped_early_completes(recorded) -> None:
    closed: list[bool] = []

    @task
    async def endless():  # type: ignore[no-untyped-def]
        try:
            i = 0
            while True:
                yield i
                i += 1
        finally:
            closed.append(True)

    @flow
    async def pipeline() -> list[int]:
        stream = endless()
        first = [await stream.__anext__(), await stream.__anext__()]
        await stream.aclose()
        return first

    assert asyncio.run(pipeline()) == [0, 1]
    assert closed == [True]
    assert recorded.task_run("endless-0").state.name == "Completed"


def test_state_result_is_awaitable_inside_an_async_generator_task(recorded) -> None:
    @task
    def one() -> int:
        return 1

    @task
    async def relay():  # type: ignore[no-untyped-def]
        state = one(return_state=True)
        yield await state.result()

    @flow
    async def pipeline() -> list[int]:
        return [v async for v in relay()]

    assert asyncio.run(pipeline()) == [1]


def test_a_task_given_a_yielded_item_records_the_generator_task_upstream(recorded) -> None:
    @task(task_run_name="gen-1000")
    def g():  # type: ignore[no-untyped-def]
        yield 1000

    @task
    def f(x: int) -> int:
        return x

    @flow
    def pipeline() -> None:
        for value in g():
            f(value)

    pipeline()
    assert ("gen-1000", "f-0", "data") in recorded.edges()


# --- timeouts of sync generator tasks --------------------------------------------------


def test_a_generator_task_that_yields_too_slowly_times_out(recorded) -> None:
    @task(timeout_seconds=0.3)
    def slow():  # type: ignore[no-untyped-def]
        yield 1
        time.sleep(5)
        yield 2

    values: list[int] = []

    @flow
    def pipeline() -> None:
        for v in slow():
            values.append(v)

    started = time.monotonic()
    with pytest.raises(TimeoutError):
        pipeline()
    assert time.monotonic() - started < 3
    assert values == [1]
    run = recorded.task_run("slow-0")
    assert run.state.name == "TimedOut"
    assert run.state.message == "Task run exceeded timeout of 0.3 second(s)"


def test_a_generator_task_within_its_timeout_completes(recorded) -> None:
    @task(timeout_seconds=5)
    def quick():  # type: ignore[no-untyped-def]
        yield 1
        yield 2

    @flow
    def pipeline() -> list[int]:
        return list(quick())

    assert pipeline() == [1, 2]
    assert recorded.task_run("quick-0").state.name == "Completed"


# --- return_state=True -----------------------------------------------------------------


def test_return_state_is_refused_for_a_generator_task_as_prefect_does(recorded) -> None:
    @task
    def g():  # type: ignore[no-untyped-def]
        yield 1

    @flow
    def pipeline() -> None:
        for _ in g(return_state=True):
            pass

    with pytest.raises(ValueError, match="The return_type for a generator task must be 'result'"):
        pipeline()
    assert [r.name for r in recorded.task_runs()] == []  # refused before any task run


def test_return_state_is_refused_for_an_async_generator_task(recorded) -> None:
    @task
    async def g():  # type: ignore[no-untyped-def]
        yield 1

    @flow
    async def pipeline() -> None:
        async for _ in g(return_state=True):
            pass

    with pytest.raises(ValueError, match="The return_type for a generator task must be 'result'"):
        asyncio.run(pipeline())


# --- submitted generator tasks ---------------------------------------------------------


def test_a_submitted_generator_task_results_in_the_list_of_its_items(recorded) -> None:
    @task
    def numbers(n: int):  # type: ignore[no-untyped-def]
        for i in range(n):
            context = TaskRunContext.get()
            yield (i, context.task_run.name if context else None)

    @flow
    def pipeline() -> list[tuple[int, str]]:
        return numbers.submit(2).result()

    assert pipeline() == [(0, "numbers-0"), (1, "numbers-0")]
    assert recorded.task_run("numbers-0").state.name == "Completed"


def test_a_mapped_async_generator_task_results_in_lists(recorded) -> None:
    @task
    async def repeat(x: int):  # type: ignore[no-untyped-def]
        for _ in range(x):
            yield x

    @flow
    def pipeline() -> list[list[int]]:
        return repeat.map([1, 2]).result()

    assert pipeline() == [[1], [2, 2]]


def test_a_task_that_returns_a_generator_hands_back_its_items(recorded) -> None:
    made: list[str] = []

    def produce():  # type: ignore[no-untyped-def]
        made.append("made")
        yield 1
        yield 2

    @task
    def wrapper():  # type: ignore[no-untyped-def]
        return produce()

    @flow
    def pipeline():  # type: ignore[no-untyped-def]
        return wrapper()

    assert pipeline() == [1, 2]  # Prefect: generators are not portable, so they are listed
    assert made == ["made"]


def test_a_generator_flow_run_by_a_worker_completes_with_its_items(recorded) -> None:
    """A deployed generator flow has no caller to stream to: the run drains it, as Prefect's does."""
    from orchestrate.engine.flow_engine import FlowRunJob

    @flow
    def g():  # type: ignore[no-untyped-def]
        yield 1
        yield 2

    @flow
    async def ag():  # type: ignore[no-untyped-def]
        yield 3

    assert FlowRunJob(g, {}).execute_sync().result() == [1, 2]
    assert asyncio.run(FlowRunJob(ag, {}).execute_async()).result() == [3]


# --- generator flows -------------------------------------------------------------------


def test_a_generator_flow_streams_and_is_running_while_it_does(recorded) -> None:
    @flow
    def g():  # type: ignore[no-untyped-def]
        context = FlowRunContext.get()
        yield context.flow_run.id if context else None
        yield 2
        return "done"

    stream = g()
    run_id = next(stream)
    run = next(r for r in recorded.flow_runs() if r.id == run_id)
    assert run.state.name == "Running"
    assert next(stream) == 2
    with pytest.raises(StopIteration) as stop:
        next(stream)
    assert stop.value.value == "done"
    assert recorded.history(run_id) == ["Pending", "Running", "Completed"]


def test_a_generator_flow_runs_its_tasks_inside_its_run(recorded) -> None:
    @task
    def double(x: int) -> int:
        return 2 * x

    @flow
    def g():  # type: ignore[no-untyped-def]
        for i in range(2):
            yield double(i) + double.submit(i).result()

    assert list(g()) == [0, 4]
    (run,) = recorded.flow_runs()
    assert {t.flow_run_id for t in recorded.task_runs()} == {run.id}
    assert [t.name for t in recorded.task_runs()] == [
        "double-0",
        "double-1",
        "double-2",
        "double-3",
    ]


def test_a_generator_flow_that_raises_fails_and_retries_from_its_start(recorded) -> None:
    @flow(retries=2)
    def g():  # type: ignore[no-untyped-def]
        yield 1
        yield 2
        raise ValueError("xyz")

    values: list[int] = []
    with pytest.raises(ValueError, match="xyz"):
        for v in g():
            values.append(v)
    assert values == [1, 2, 1, 2, 1, 2]
    (run,) = recorded.flow_runs()
    assert run.state.name == "Failed" and run.run_count == 3


def test_a_generator_flow_that_yields_too_slowly_times_out(recorded) -> None:
    @flow(timeout_seconds=0.3)
    def g():  # type: ignore[no-untyped-def]
        yield 1
        time.sleep(5)
        yield 2

    values: list[int] = []
    started = time.monotonic()
    with pytest.raises(FlowRunTimeoutError):
        for v in g():
            values.append(v)
    assert time.monotonic() - started < 3
    assert values == [1]
    (run,) = recorded.flow_runs()
    assert run.state.name == "TimedOut"
    assert run.state.message == "Flow run exceeded timeout of 0.3 second(s)"


def test_return_state_is_refused_for_a_generator_flow(recorded) -> None:
    @flow
    def g():  # type: ignore[no-untyped-def]
        yield 1

    with pytest.raises(ValueError, match="The return_type for a generator flow must be 'result'"):
        for _ in g(return_state=True):
            pass
    assert recorded.flow_runs() == []


def test_a_generator_flow_stopped_early_completes(recorded) -> None:
    @flow
    def g():  # type: ignore[no-untyped-def]
        i = 0
        while True:
            yield i
            i += 1

    stream = g()
    assert [next(stream), next(stream)] == [0, 1]
    stream.close()
    (run,) = recorded.flow_runs()
    assert run.state.name == "Completed"


def test_an_async_generator_flow_streams_retries_and_times_out(recorded) -> None:
    @flow
    async def counting():  # type: ignore[no-untyped-def]
        context = FlowRunContext.get()
        yield context.flow_run.name if context else None
        yield 2

    @flow(retries=1)
    async def flaky():  # type: ignore[no-untyped-def]
        yield 1
        raise ValueError("xyz")

    @flow(timeout_seconds=0.2)
    async def slow():  # type: ignore[no-untyped-def]
        yield 1
        await asyncio.sleep(5)
        yield 2

    async def consume(stream) -> list[object]:  # type: ignore[no-untyped-def]
        got: list[object] = []
        try:
            async for v in stream:
                got.append(v)
        except (ValueError, TimeoutError) as exc:
            got.append(type(exc).__name__)
        return got

    first = asyncio.run(consume(counting()))
    assert first[1:] == [2] and isinstance(first[0], str)
    assert asyncio.run(consume(flaky())) == [1, 1, "ValueError"]
    assert asyncio.run(consume(slow())) == [1, "FlowRunTimeoutError"]
    states = {r.flow_name: r.state.name for r in recorded.flow_runs()}
    assert states == {"counting": "Completed", "flaky": "Failed", "slow": "TimedOut"}


def test_return_state_is_refused_for_an_async_generator_flow(recorded) -> None:
    @flow
    async def g():  # type: ignore[no-untyped-def]
        yield 1

    async def consume() -> None:
        async for _ in g(return_state=True):
            pass

    with pytest.raises(ValueError, match="The return_type for a generator flow must be 'result'"):
        asyncio.run(consume())


def test_a_streaming_generator_task_is_never_served_from_the_cache(recorded) -> None:
    """Prefect never reads a cached result for a generator: it streams again every time."""
    from orchestrate.cache_policies import INPUTS

    made: list[int] = []

    @task(cache_policy=INPUTS, persist_result=True)
    def numbers(n: int):  # type: ignore[no-untyped-def]
        for i in range(n):
            made.append(i)
            yield i

    @flow
    def pipeline() -> list[int]:
        return list(numbers(2)) + list(numbers(2))

    assert pipeline() == [0, 1, 0, 1]
    assert made == [0, 1, 0, 1]
    assert [r.state.name for r in recorded.task_runs()] == ["Completed", "Completed"]


def test_a_generator_subflow_streams_inside_its_parent(recorded) -> None:
    @flow
    def child():  # type: ignore[no-untyped-def]
        yield 1
        yield 2

    @flow
    def parent() -> list[int]:
        return [v * 10 for v in child()]

    assert parent() == [10, 20]
    runs = {r.flow_name: r for r in recorded.flow_runs()}
    assert runs["child"].parent_flow_run_id == runs["parent"].id
    assert runs["child"].state.name == "Completed"
    (stand_in,) = recorded.task_runs()
    assert stand_in.state.name == "Completed" and runs["child"].parent_task_run_id == stand_in.id
