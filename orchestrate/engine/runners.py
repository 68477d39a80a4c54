"""Where submitted task runs execute (Prefect's task runners).

A runner is entered once per flow run. `submit` starts a job once the futures
it depends on are done — threads never sit blocked on upstream work — and
leaving the runner waits for everything it started.

The engine knows runners only through `TaskRunner` and `TaskJob`; runners on
other machines are integrations built on them (`orchestrate.integrations`).
"""

from __future__ import annotations

import contextvars
import sys
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Coroutine, Sequence
from functools import partial
from typing import Any, Protocol

from orchestrate.core.records import TaskRunRecord
from orchestrate.core.states import Crashed, State
from orchestrate.engine.futures import PrefectFuture
from orchestrate.engine.state_future import StateFuture
from orchestrate.engine.thread_pool import ThreadPool


class TaskJob(Protocol):
    """One task run, ready to execute wherever a runner puts it."""

    run: TaskRunRecord
    pending: Sequence[PrefectFuture[Any]]
    is_async: bool

    def execute_sync(self) -> State: ...

    def execute_async(self) -> Coroutine[Any, Any, State]: ...


class TaskRunner(ABC):
    """Runs submitted task runs for the duration of one flow run."""

    def duplicate(self) -> TaskRunner:
        """A fresh, unentered runner with the same settings (one per flow run)."""
        return type(self)()

    def __enter__(self) -> TaskRunner:
        return self

    def __exit__(self, *exc_info: object) -> None:  # noqa: B027 - optional for runners with nothing to release
        """Wait for the task runs started here and release what the runner holds."""

    @abstractmethod
    def submit(self, job: TaskJob) -> PrefectFuture[Any]: ...

    def submit_many(self, jobs: Sequence[TaskJob]) -> list[PrefectFuture[Any]]:
        """Submit the runs of one `.map()`; a runner that can send them as one batch overrides it."""
        return [self.submit(job) for job in jobs]


class ThreadPoolTaskRunner(TaskRunner):
    """Runs task runs on a pool of threads; an async one runs its own event loop there.

    Args:
        max_workers: the most task runs executing at once. Unbounded by default, as in
            Prefect: a task that waits on tasks it submitted must never starve the pool.
    """

    def __init__(self, max_workers: int | None = None) -> None:
        self.max_workers = max_workers or sys.maxsize
        self._pool: ThreadPool | None = None
        #: Task runs submitted and not yet final: a count, not their futures, so a future
        #: (and the result it holds) lives only as long as the caller keeps it.
        self._unfinished = 0
        self._all_finished = threading.Condition(threading.Lock())

    def duplicate(self) -> ThreadPoolTaskRunner:
        return type(self)(self.max_workers)

    def __enter__(self) -> ThreadPoolTaskRunner:
        self._pool = ThreadPool(self.max_workers, on_exit=_close_thread_loop)
        self._unfinished = 0
        return self

    def __exit__(self, *exc_info: object) -> None:
        with self._all_finished:  # jobs may submit more jobs while we wait: they count too
            while self._unfinished:
                self._all_finished.wait()
        if self._pool is not None:
            self._pool.shutdown()
            self._pool = None

    def submit(self, job: TaskJob) -> PrefectFuture[Any]:
        if self._pool is None:
            raise RuntimeError("The task runner is not running: submit tasks inside a flow run.")
        outcome = StateFuture()
        with self._all_finished:
            self._unfinished += 1
        context = contextvars.copy_context()
        if not job.pending:
            self._start(job, outcome, context)
        else:
            when_all_done(job.pending, lambda: self._start(job, outcome, context))
        return PrefectFuture(job.run, outcome)

    def _start(self, job: TaskJob, outcome: StateFuture, context: contextvars.Context) -> None:
        assert self._pool is not None
        settle = _settle_async if job.is_async else _settle
        try:
            self._pool.submit(partial(context.run, self._settled, settle, job, outcome))
        except BaseException as exc:  # a bug: crash this run rather than leave the flow waiting
            outcome.set_result(Crashed(message=f"{type(exc).__name__}: {exc}", data=exc))
            self._count_off()
            raise

    def _settled(self, settle: Settle, job: TaskJob, outcome: StateFuture) -> None:
        """Run the job to its final state, then count it off (its downstream jobs counted already)."""
        try:
            settle(job, outcome)
        finally:
            self._count_off()

    def _count_off(self) -> None:
        with self._all_finished:
            self._unfinished -= 1
            if not self._unfinished:
                self._all_finished.notify_all()


def _settle(job: TaskJob, outcome: StateFuture) -> None:
    try:
        outcome.set_result(job.execute_sync())
    except BaseException as exc:  # the engine reports run failures as states; this is a crash
        outcome.set_result(Crashed(message=f"{type(exc).__name__}: {exc}", data=exc))


def _settle_async(job: TaskJob, outcome: StateFuture) -> None:
    """An async task run gets an event loop to itself on a pool thread, as in Prefect.

    So a task that blocks on `.result()` holds up only itself: a loop shared by
    all async task runs would wait for the very work queued behind it.
    """
    from orchestrate.engine.thread_loops import run_alone  # a sync flow never loads asyncio

    try:
        outcome.set_result(run_alone(job.execute_async()))
    except BaseException as exc:
        outcome.set_result(Crashed(message=f"{type(exc).__name__}: {exc}", data=exc))


Settle = Callable[[TaskJob, StateFuture], None]


def _close_thread_loop() -> None:
    loops = sys.modules.get("orchestrate.engine.thread_loops")
    if loops is not None:  # not loaded: no async task ran, so no thread has a loop
        loops.close_thread_loop()


def when_all_done(futures: Sequence[PrefectFuture[Any]], then: Any) -> None:
    """Call `then()` once, in the thread that finishes the last of `futures`."""
    remaining = [len(futures)]
    lock = threading.Lock()

    def one_done(_: object) -> None:
        with lock:
            remaining[0] -= 1
            last = remaining[0] == 0
        if last:
            then()

    for future in futures:
        future.add_done_callback(one_done)


__all__ = ["TaskJob", "TaskRunner", "ThreadPoolTaskRunner", "when_all_done"]
