"""Futures of submitted task runs (Prefect's `PrefectFuture`), and `wait` / `as_completed`.

A future resolves to the task run's final `State`; `.result()` unwraps it,
blocking, in async code too (as Prefect's do). Futures can also be awaited,
so `asyncio.gather` works on submitted tasks, and `aresult()` waits without
blocking the event loop.
"""

from __future__ import annotations

import concurrent.futures as cf
from collections.abc import Callable, Generator, Iterable, Iterator
from typing import TYPE_CHECKING, Any, Generic, NamedTuple, TypeVar

from orchestrate.core.errors import ResultTimeout
from orchestrate.engine.state_future import StateFuture, completed, wait_all

if TYPE_CHECKING:
    import asyncio

    from orchestrate.core.records import TaskRunRecord
    from orchestrate.core.states import State

R = TypeVar("R")


class PrefectFuture(Generic[R]):
    """The eventual outcome of one task run started with `.submit()` or `.map()`."""

    __slots__ = ("_future", "_run")

    def __init__(self, run: TaskRunRecord, future: StateFuture | cf.Future[State]) -> None:
        self._run = run
        self._future = future

    @property
    def task_run_id(self) -> str:
        return self._run.id

    @property
    def state(self) -> State:
        """The task run's state now (final once the future is done)."""
        if self._future.done():
            return self._future.result()
        return self._run.state

    def done(self) -> bool:
        return self._future.done()

    def wait(self, timeout: float | None = None) -> None:
        """Block until the task run is final, or `timeout` seconds pass."""
        wait_all([self._future], timeout)

    def wait_state(self) -> State:
        return self._future.result()

    def result(self, timeout: float | None = None, raise_on_failure: bool = True) -> R:
        """The task's return value; raises its exception if it did not complete.

        Args:
            timeout: seconds to wait at most; raises `TimeoutError` after (`ResultTimeout`).
            raise_on_failure: when False, return the exception instead of raising it.
        """
        try:
            state = self._future.result(timeout)
        except TimeoutError:
            raise self._timed_out(timeout) from None
        return state.sync_result(raise_on_failure)

    async def aresult(self, timeout: float | None = None, raise_on_failure: bool = True) -> R:
        """`result()` for async code: waits without blocking the event loop."""
        import asyncio

        try:
            state = await asyncio.wait_for(self._waiter(), timeout)
        except TimeoutError:
            raise self._timed_out(timeout) from None
        return state.sync_result(raise_on_failure)

    def _timed_out(self, timeout: float | None) -> ResultTimeout:
        return ResultTimeout(
            f"Task run {self._run.id} ({self._run.name!r}) did not complete within {timeout} seconds"
        )

    def add_done_callback(self, fn: Callable[[PrefectFuture[R]], Any]) -> None:
        self._future.add_done_callback(lambda _: fn(self))

    def __await__(self) -> Generator[Any, None, R]:
        state = yield from self._waiter().__await__()
        return state.sync_result()

    def _waiter(self) -> asyncio.Future[State]:
        """The state as an asyncio future; cancelling it leaves the task run alone."""
        import asyncio  # only async code awaits: a sync flow never loads asyncio

        inner = self._future
        if not isinstance(inner, cf.Future):
            bridge: cf.Future[State] = cf.Future()
            inner.add_done_callback(lambda settled: bridge.set_result(settled.result()))
            inner = bridge
        return asyncio.shield(asyncio.wrap_future(inner))

    def __repr__(self) -> str:
        return f"PrefectFuture({self._run.name!r}, {self.state!r})"


class PrefectFutureList(list[PrefectFuture[R]]):
    """The futures of a `.map()`, with `wait()` and `result()` over all of them."""

    def wait(self, timeout: float | None = None) -> None:
        wait(self, timeout=timeout)

    def result(self, timeout: float | None = None, raise_on_failure: bool = True) -> list[R]:
        return [f.result(timeout, raise_on_failure) for f in self]


class DoneAndNotDoneFutures(NamedTuple, Generic[R]):
    done: set[PrefectFuture[R]]
    not_done: set[PrefectFuture[R]]


def wait(
    futures: Iterable[PrefectFuture[R]], timeout: float | None = None
) -> DoneAndNotDoneFutures[R]:
    """Wait for futures; returns those done and those not done when `timeout` ran out."""
    by_inner: dict[Any, PrefectFuture[R]] = {f._future: f for f in futures}
    done, not_done = wait_all(list(by_inner), timeout)
    return DoneAndNotDoneFutures({by_inner[f] for f in done}, {by_inner[f] for f in not_done})


def as_completed(
    futures: Iterable[PrefectFuture[R]], timeout: float | None = None
) -> Iterator[PrefectFuture[R]]:
    """Yield futures as their task runs finish, first finished first."""
    by_inner: dict[Any, PrefectFuture[R]] = {f._future: f for f in futures}
    for inner in completed(list(by_inner), timeout):
        yield by_inner[inner]


__all__ = [
    "DoneAndNotDoneFutures",
    "PrefectFuture",
    "PrefectFutureList",
    "as_completed",
    "wait",
]
