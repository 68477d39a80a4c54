"""Where submitted task runs execute (Prefect's task runners).

A runner is entered once per flow run. `submit` starts a job once the futures
it depends on are done — threads never sit blocked on upstream work — and
leaving the runner waits for everything it started.

The engine knows runners only through `TaskRunner` and `TaskJob`; runners on
other machines are integrations built on them (`orchestrate.integrations`).
"""

from __future__ import annotations

import concurrent.futures as cf
import contextvars
import sys
import threading
from abc import ABC, abstractmethod
from collections.abc import Coroutine
from functools import partial
from typing import TYPE_CHECKING, Any, Protocol

from orchestrate.core.records import TaskRunRecord
from orchestrate.core.states import Crashed, State
from orchestrate.engine.futures import PrefectFuture
from orchestrate.engine.thread_pool import ThreadPool

if TYPE_CHECKING:
    import asyncio


class TaskJob(Protocol):
    """One task run, ready to execute wherever a runner puts it."""

    run: TaskRunRecord
    pending: list[PrefectFuture[Any]]
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


class ThreadPoolTaskRunner(TaskRunner):
    """Runs task runs on a pool of threads; async tasks share one event loop thread.

    Args:
        max_workers: the most task runs executing at once. Unbounded by default, as in
            Prefect: a task that waits on tasks it submitted must never starve the pool.
    """

    def __init__(self, max_workers: int | None = None) -> None:
        self.max_workers = max_workers or sys.maxsize
        self._pool: ThreadPool | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._loop_thread: threading.Thread | None = None
        self._started: list[cf.Future[State]] = []  # only ever appended to while running
        self._lock = threading.Lock()

    def duplicate(self) -> ThreadPoolTaskRunner:
        return type(self)(self.max_workers)

    def __enter__(self) -> ThreadPoolTaskRunner:
        self._pool = ThreadPool(self.max_workers)
        self._started = []
        return self

    def __exit__(self, *exc_info: object) -> None:
        waited = 0
        while waited < len(self._started):  # jobs may submit more jobs while we wait
            upto = len(self._started)
            cf.wait(self._started[waited:upto])
            waited = upto
        if self._pool is not None:
            self._pool.shutdown()
            self._pool = None
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
            assert self._loop_thread is not None
            self._loop_thread.join()
            self._loop.close()

    def submit(self, job: TaskJob) -> PrefectFuture[Any]:
        if self._pool is None:
            raise RuntimeError("The task runner is not running: submit tasks inside a flow run.")
        outcome: cf.Future[State] = cf.Future()
        self._started.append(outcome)
        context = contextvars.copy_context()
        if not job.pending:
            self._start(job, outcome, context)
        else:
            when_all_done(job.pending, lambda: self._start(job, outcome, context))
        return PrefectFuture(job.run, outcome)

    def _start(self, job: TaskJob, outcome: cf.Future[State], context: contextvars.Context) -> None:
        if job.is_async:
            import asyncio  # here, not at the top: a sync flow never loads asyncio

            loop = self._event_loop()
            context.run(asyncio.run_coroutine_threadsafe, _settle_async(job, outcome), loop)
        else:
            assert self._pool is not None
            self._pool.submit(partial(context.run, _settle, job, outcome))

    def _event_loop(self) -> asyncio.AbstractEventLoop:
        import asyncio

        with self._lock:
            if self._loop is None:
                self._loop = asyncio.new_event_loop()
                self._loop_thread = threading.Thread(
                    target=self._loop.run_forever, name="orc-async-tasks", daemon=True
                )
                self._loop_thread.start()
            return self._loop


def _settle(job: TaskJob, outcome: cf.Future[State]) -> None:
    try:
        outcome.set_result(job.execute_sync())
    except BaseException as exc:  # the engine reports run failures as states; this is a crash
        outcome.set_result(Crashed(message=f"{type(exc).__name__}: {exc}", data=exc))


async def _settle_async(job: TaskJob, outcome: cf.Future[State]) -> None:
    try:
        outcome.set_result(await job.execute_async())
    except BaseException as exc:
        outcome.set_result(Crashed(message=f"{type(exc).__name__}: {exc}", data=exc))


def when_all_done(futures: list[PrefectFuture[Any]], then: Any) -> None:
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
