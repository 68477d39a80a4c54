"""Where submitted task runs execute (Prefect's task runners).

A runner is entered once per flow run. `submit` starts a job once the futures
it depends on are done — threads never sit blocked on upstream work — and
leaving the runner waits for everything it started, unless the process is
being stopped (`sigterm`: SIGTERM, or a worker's cancel or timeout): then the
thread pool's unfinished task runs are ended (`cancel_all`) and nothing waits
for threads that cannot be stopped.

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

from orchestrate.core.records import RecordSink, TaskRunRecord
from orchestrate.core.states import Crashed, State
from orchestrate.engine.context import runner_gate
from orchestrate.engine.futures import PrefectFuture
from orchestrate.engine.record_gate import RecordGate
from orchestrate.engine.sigterm import handling, received
from orchestrate.engine.state_future import StateFuture
from orchestrate.engine.thread_pool import ThreadPool


class TaskJob(Protocol):
    """One task run, ready to execute wherever a runner puts it."""

    run: TaskRunRecord
    pending: Sequence[PrefectFuture[Any]]
    is_async: bool
    sink: RecordSink
    #: What its state changes go through on a runner's threads (`record_gate`).
    gate: RecordGate | None

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
        #: The state changes of runs on the pool's threads go through it, where SIGTERM may
        #: end the flow run with the pool's work unfinished (`record_gate`).
        self._gate: RecordGate | None = None
        #: Task runs submitted and not yet final: a count, not their futures, so a future
        #: (and the result it holds) lives only as long as the caller keeps it.
        self._unfinished = 0
        self._all_finished = threading.Condition(threading.Lock())

    def duplicate(self) -> ThreadPoolTaskRunner:
        return type(self)(self.max_workers)

    def __enter__(self) -> ThreadPoolTaskRunner:
        self._pool = ThreadPool(self.max_workers, on_exit=_close_thread_loop)
        self._gate = _gate()
        self._unfinished = 0
        return self

    def __exit__(self, *exc_info: object) -> None:
        try:
            if self._pool is not None and received() is None:
                self._wait_for_all()
        finally:
            stop = received()  # it came before, or while we waited
            if stop is not None:
                self.cancel_all(stop)
            elif self._pool is not None:
                self._pool.shutdown()
            self._pool = None

    def _wait_for_all(self) -> None:
        with self._all_finished:  # jobs may submit more jobs while we wait: they count too
            while self._unfinished:
                self._all_finished.wait()

    def cancel_all(self, reason: BaseException) -> None:
        """End every task run submitted here and not finished, now: Crashed, for `reason`.

        Prefect's flow engine calls its runner's `cancel_all` on SIGTERM: queued
        runs never start, and the executor's shutdown waits for those running.
        Here they are not waited for: a thread cannot be stopped, and the process
        is ending. Their runs are recorded Crashed, and what their threads go on
        to record is kept out of the store (`record_gate`); the threads end with
        the process.
        """
        if self._gate is not None:
            self._gate.cut_off(reason)
        if self._pool is not None:
            self._pool.abandon()
            self._pool = None

    def submit(self, job: TaskJob) -> PrefectFuture[Any]:
        if self._pool is None:
            raise RuntimeError("The task runner is not running: submit tasks inside a flow run.")
        outcome = StateFuture()
        with self._all_finished:
            self._unfinished += 1
        if self._gate is not None:
            self._gate.admit(job.run, job.sink)
            job.gate = self._gate
        context = contextvars.copy_context()
        if not job.pending:
            self._start(job, outcome, context)
        else:
            when_all_done(job.pending, lambda: self._start(job, outcome, context))
        return PrefectFuture(job.run, outcome)

    def _start(self, job: TaskJob, outcome: StateFuture, context: contextvars.Context) -> None:
        pool = self._pool
        if pool is None:  # `cancel_all` recorded the run Crashed already
            return
        settle = _settle_async if job.is_async else _settle
        try:
            pool.submit(partial(context.run, self._settled, settle, job, outcome))
        except BaseException as exc:  # a bug: crash this run rather than leave the flow waiting
            outcome.set_result(Crashed(message=f"{type(exc).__name__}: {exc}", data=exc))
            self._count_off()
            raise

    def _settled(self, settle: Settle, job: TaskJob, outcome: StateFuture) -> None:
        """Run the job to its final state, then count it off (its downstream jobs counted already)."""
        runner_gate.set(self._gate)  # in the job's own context: the runs it starts use it too
        try:
            settle(job, outcome)
        finally:
            self._count_off()

    def _count_off(self) -> None:
        with self._all_finished:
            self._unfinished -= 1
            if not self._unfinished:
                self._all_finished.notify_all()


def _gate() -> RecordGate | None:
    """A gate for a runner's threads where orc ends the flow run on SIGTERM; inside the gate of
    the runner whose thread enters it (a subflow's runner). A worker of `orc up`, which stops
    its run by its own SIGTERM handling, needs none and pays nothing for one."""
    outer = runner_gate.get()
    return RecordGate(outer) if outer is not None or handling() else None


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
