"""No mix of sync and async, submit and map, waiting and nesting, generators and
transactions may block forever.

Each combination runs in a thread of its own and must finish within a few
seconds; one that hangs fails the test by name instead of hanging the suite.
"""

from __future__ import annotations

import asyncio
import contextvars
import itertools
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import pytest

from orchestrate import flow, task
from orchestrate.futures import PrefectFuture, as_completed, wait
from orchestrate.transactions import transaction

PER_COMBINATION = 10.0  # seconds; each one takes milliseconds when nothing blocks


@task
def leaf_sync(x: int) -> int:
    return x + 1


@task
async def leaf_async(x: int) -> int:
    await asyncio.sleep(0)
    return x + 1


LEAVES = {"sync": leaf_sync, "async": leaf_async}
STARTERS = ("submit", "map")
SYNC_WAITERS = ("result", "wait", "wait_for", "as_completed")
ASYNC_WAITERS = (*SYNC_WAITERS, "await")
EXPECTED = {"submit": [2], "map": [2, 3]}


def _start(leaf: str, starter: str) -> list[PrefectFuture[int]]:
    child = LEAVES[leaf]
    if starter == "submit":
        return [child.submit(1)]
    return list(child.map([1, 2]))


def _collect(futures: list[PrefectFuture[int]], waiter: str) -> list[int]:
    """Wait for `futures` the way `waiter` names, then read their results (blocking)."""
    if waiter == "wait":
        wait(futures)
    elif waiter == "wait_for":
        leaf_sync.submit(0, wait_for=futures).result()
    elif waiter == "as_completed":
        assert len(list(as_completed(futures))) == len(futures)
    return [f.result() for f in futures]


def work_sync(leaf: str, starter: str, waiter: str) -> list[int]:
    return _collect(_start(leaf, starter), waiter)


async def work_async(leaf: str, starter: str, waiter: str) -> list[int]:
    futures = _start(leaf, starter)
    if waiter == "await":
        return list(await asyncio.gather(*futures))
    return _collect(futures, waiter)


@task
def holder_task_sync(leaf: str, starter: str, waiter: str) -> list[int]:
    return work_sync(leaf, starter, waiter)


@task
async def holder_task_async(leaf: str, starter: str, waiter: str) -> list[int]:
    return await work_async(leaf, starter, waiter)


@flow
def holder_flow_sync(leaf: str, starter: str, waiter: str) -> list[int]:
    return work_sync(leaf, starter, waiter)


@flow
async def holder_flow_async(leaf: str, starter: str, waiter: str) -> list[int]:
    return await work_async(leaf, starter, waiter)


@task
def subflow_in_task_sync(leaf: str, starter: str, waiter: str) -> list[int]:
    return holder_flow_sync(leaf, starter, waiter)


@task
async def subflow_in_task_async(leaf: str, starter: str, waiter: str) -> list[int]:
    return await holder_flow_async(leaf, starter, waiter)


def _in_sync_flow(holder: str, *args: str) -> list[int]:
    if holder == "flow":
        return work_sync(*args)
    if holder == "submitted sync task":
        return holder_task_sync.submit(*args).result()
    if holder == "submitted async task":
        return holder_task_async.submit(*args).result()
    if holder == "called sync task":
        return holder_task_sync(*args)
    if holder == "sync subflow in a submitted task":
        return subflow_in_task_sync.submit(*args).result()
    if holder == "async subflow in a submitted task":
        return subflow_in_task_async.submit(*args).result()
    return holder_flow_sync(*args)  # a sync subflow


async def _in_async_flow(holder: str, *args: str) -> list[int]:
    if holder == "flow":
        return await work_async(*args)
    if holder == "submitted sync task":
        return await holder_task_sync.submit(*args)
    if holder == "submitted async task":
        return holder_task_async.submit(*args).result()  # blocking, on the flow's own loop
    if holder == "called sync task":
        return holder_task_sync(*args)
    if holder == "called async task":
        return await holder_task_async(*args)
    if holder == "sync subflow":
        return holder_flow_sync(*args)
    if holder == "sync subflow in a submitted task":
        return await subflow_in_task_sync.submit(*args)
    if holder == "async subflow in a submitted task":
        return await subflow_in_task_async.submit(*args)
    return await holder_flow_async(*args)


@flow
def outer_sync(holder: str, leaf: str, starter: str, waiter: str) -> list[int]:
    return _in_sync_flow(holder, leaf, starter, waiter)


@flow
async def outer_async(holder: str, leaf: str, starter: str, waiter: str) -> list[int]:
    return await _in_async_flow(holder, leaf, starter, waiter)


ASYNC_BODIES = (
    "submitted async task",
    "called async task",
    "async subflow",
    "async subflow in a submitted task",
)
SYNC_HOLDERS = (
    "flow",
    "submitted sync task",
    "submitted async task",
    "called sync task",
    "sync subflow",
    "sync subflow in a submitted task",
    "async subflow in a submitted task",
)
ASYNC_HOLDERS = (*SYNC_HOLDERS, "called async task", "async subflow")


def _combinations() -> list[tuple[str, str, str, str, str]]:
    combos = []
    for outer, holders in (("sync", SYNC_HOLDERS), ("async", ASYNC_HOLDERS)):
        for holder, leaf, starter in itertools.product(holders, LEAVES, STARTERS):
            in_async = holder in ASYNC_BODIES or (outer == "async" and holder == "flow")
            for waiter in ASYNC_WAITERS if in_async else SYNC_WAITERS:
                combos.append((outer, holder, leaf, starter, waiter))
    return combos


def _run_with_deadline(call: Callable[[], Any], seconds: float) -> Any:
    """`call()` in a daemon thread; fails the test if it has not returned within `seconds`."""
    outcome: dict[str, Any] = {}
    finished = threading.Event()

    def target() -> None:
        try:
            outcome["value"] = call()
        except BaseException as exc:
            outcome["error"] = exc
        finally:
            finished.set()

    threading.Thread(target=target, daemon=True).start()
    if not finished.wait(seconds):
        pytest.fail(f"still blocked after {seconds:g}s", pytrace=False)
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]


def test_every_combination_returns(recorded) -> None:
    hung: list[str] = []
    for outer, holder, leaf, starter, waiter in _combinations():
        args = (holder, leaf, starter, waiter)
        if outer == "sync":
            call: Callable[[], Any] = lambda args=args: outer_sync(*args)  # noqa: E731
        else:
            call = lambda args=args: asyncio.run(outer_async(*args))  # noqa: E731
        name = f"{outer} flow / {holder} / {leaf} {starter} / {waiter}"
        try:
            assert _run_with_deadline(call, PER_COMBINATION) == EXPECTED[starter], name
        except pytest.fail.Exception:
            hung.append(name)
            if len(hung) == 3:
                break  # enough to see the pattern; each one costs the whole deadline
    assert not hung, f"blocked forever: {hung}"


def test_an_async_task_blocking_on_an_async_task_it_submitted_returns(recorded) -> None:
    """The issue's case: `asyncio.wait_for` around the flow can fire, and need not."""

    @task
    async def parent() -> int:
        return leaf_async.submit(41).result()

    @flow
    async def pipeline() -> int:
        return await parent.submit()

    async def main() -> int:
        return await asyncio.wait_for(pipeline(), timeout=PER_COMBINATION)

    assert _run_with_deadline(lambda: asyncio.run(main()), PER_COMBINATION + 1) == 42


def test_async_task_runs_on_a_reused_thread_loop_start_clean(recorded) -> None:
    """Each run sees the context it was submitted in; what it left running is cancelled."""
    seen = contextvars.ContextVar("seen", default=-1)
    loops: list[asyncio.AbstractEventLoop] = []
    abandoned: list[asyncio.Task[None]] = []
    still_running: list[bool] = []

    @task
    async def reads() -> int:
        loops.append(asyncio.get_running_loop())
        still_running.append(any(not t.done() for t in abandoned))
        abandoned.append(asyncio.create_task(asyncio.sleep(5)))
        return seen.get()

    @flow
    def pipeline() -> list[int]:
        values = []
        for i in range(5):  # one after another: the same pool thread takes each
            seen.set(i)
            values.append(reads.submit().result())
        return values

    assert pipeline() == [0, 1, 2, 3, 4]
    assert not any(still_running) and all(t.cancelled() for t in abandoned)
    assert len(set(loops)) < len(loops) and all(loop.is_closed() for loop in loops)


# --- generators and transactions -------------------------------------------------------------


@task
def count_up(n: int) -> Iterator[int]:
    yield from range(1, n + 1)


@task
async def count_up_async(n: int) -> AsyncIterator[int]:
    for i in range(1, n + 1):
        await asyncio.sleep(0)
        yield i


@task
def gen_waiting_on_submitted(n: int) -> Iterator[int]:
    for i in range(n):
        yield leaf_async.submit(i).result()  # blocks inside the generator's run


@task
async def agen_waiting_on_submitted(n: int) -> AsyncIterator[int]:
    for i in range(n):
        yield leaf_async.submit(i).result()  # blocking, on the generator's own loop


@flow
def gen_flow(n: int) -> Iterator[int]:
    yield from count_up(n)


@flow
async def agen_flow(n: int) -> AsyncIterator[int]:
    async for i in count_up_async(n):
        yield i


def _in_transaction() -> list[int]:
    with transaction():
        futures = [leaf_sync.submit(1), leaf_async.submit(2)]
        return [*count_up(1), *(f.result() for f in futures)]


@task
def transaction_in_task() -> list[int]:
    return _in_transaction()


SYNC_GENERATOR_CASES: dict[str, Callable[[], Any]] = {
    "sync generator task, streamed": lambda: list(count_up(3)),
    "sync generator task, submitted": lambda: count_up.submit(3).result(),
    "async generator task, submitted": lambda: count_up_async.submit(3).result(),
    "sync generator task, mapped": lambda: count_up.map([1, 3]).result(),
    "generator blocking on a task it submitted": lambda: list(gen_waiting_on_submitted(3)),
    "async generator blocking on a task it submitted, submitted": (
        lambda: agen_waiting_on_submitted.submit(3).result()
    ),
    "generator subflow": lambda: list(gen_flow(3)),
    "transaction in the flow": _in_transaction,
    "transaction in a submitted task": lambda: transaction_in_task.submit().result(),
}


async def _async_generator_cases(case: str) -> Any:
    if case == "async generator task, streamed":
        return [i async for i in count_up_async(3)]
    if case == "async generator blocking on a task it submitted, streamed":
        return [i async for i in agen_waiting_on_submitted(3)]
    if case == "async generator subflow":
        return [i async for i in agen_flow(3)]
    if case == "sync generator task, awaited submit":
        return await count_up.submit(3)
    return SYNC_GENERATOR_CASES[case]()


ASYNC_GENERATOR_CASES = (
    *SYNC_GENERATOR_CASES,
    "async generator task, streamed",
    "async generator blocking on a task it submitted, streamed",
    "async generator subflow",
    "sync generator task, awaited submit",
)
GENERATOR_EXPECTED = {
    "sync generator task, mapped": [[1], [1, 2, 3]],
    "generator blocking on a task it submitted": [1, 2, 3],
    "async generator blocking on a task it submitted, submitted": [1, 2, 3],
    "async generator blocking on a task it submitted, streamed": [1, 2, 3],
    "transaction in the flow": [1, 2, 3],
    "transaction in a submitted task": [1, 2, 3],
}


@flow
def gen_outer_sync(case: str) -> Any:
    return SYNC_GENERATOR_CASES[case]()


@flow
async def gen_outer_async(case: str) -> Any:
    return await _async_generator_cases(case)


def test_generators_and_transactions_in_every_holder_return(recorded) -> None:
    hung: list[str] = []
    runs: list[tuple[str, str, Callable[[], Any]]] = [
        ("sync", case, lambda case=case: gen_outer_sync(case)) for case in SYNC_GENERATOR_CASES
    ]
    runs += [
        ("async", case, lambda case=case: asyncio.run(gen_outer_async(case)))
        for case in ASYNC_GENERATOR_CASES
    ]
    for outer, case, call in runs:
        name = f"{outer} flow / {case}"
        try:
            got = _run_with_deadline(call, PER_COMBINATION)
        except pytest.fail.Exception:
            hung.append(name)
            if len(hung) == 3:
                break
            continue
        assert got == GENERATOR_EXPECTED.get(case, [1, 2, 3]), name
    assert not hung, f"blocked forever: {hung}"
