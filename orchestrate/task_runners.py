"""Where submitted task runs execute (Prefect's task runners).

A runner is entered once per flow run. `submit` starts a job once the futures
it depends on are done — threads never sit blocked on upstream work — and
leaving the runner waits for everything it started.

`DaskTaskRunner` (task runs on a Dask cluster) lives in the Dask integration,
`orchestrate.integrations.dask`; this module names it only to keep Prefect's
path working and loads it on first use, so importing it never loads the
integration or `distributed`. `task_runner_from_spec` turns the `task_runner`
of a deployment in flows.toml into a runner.
"""

from __future__ import annotations

import concurrent.futures as cf
import contextvars
import importlib
import sys
import threading
from abc import ABC, abstractmethod
from collections.abc import Coroutine
from functools import partial
from typing import TYPE_CHECKING, Any, Protocol

from orchestrate.engine.thread_pool import ThreadPool
from orchestrate.errors import OrcError
from orchestrate.futures import PrefectFuture
from orchestrate.records import TaskRunRecord
from orchestrate.states import Crashed, State

if TYPE_CHECKING:
    import asyncio

    from orchestrate.integrations.dask import DaskTaskRunner


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


# --- task runners named in flows.toml ---------------------------------------------------


class InvalidTaskRunnerSpec(OrcError, ValueError):
    """A `task_runner` setting that does not describe a task runner."""


_SPEC_KEYS = {
    "thread": {"type", "max_workers"},
    "dask": {
        "type",
        "address",
        "cluster_class",
        "cluster_kwargs",
        "client_kwargs",
        "keep_results_over",
    },
}


def task_runner_from_spec(spec: str | dict[str, Any] | None) -> TaskRunner:
    """The runner a deployment's `task_runner` setting asks for (threads when it is not set).

    Args:
        spec: `"thread"`, `"dask"`, `{ type = "thread", max_workers = 8 }` or
            `{ type = "dask", address = "tcp://host:8786", cluster_kwargs = {...},
            client_kwargs = {...} }`.

    Raises:
        InvalidTaskRunnerSpec: the setting names no known runner or has keys it does not take.
    """
    if spec is None:
        return ThreadPoolTaskRunner()
    if isinstance(spec, str):
        spec = {"type": spec}
    if not isinstance(spec, dict):
        raise InvalidTaskRunnerSpec(
            f'task_runner must be "thread", "dask" or a table like {{ type = "dask" }}, '
            f"not {spec!r}."
        )
    kind = spec.get("type")
    if kind not in _SPEC_KEYS:
        raise InvalidTaskRunnerSpec(
            f'task_runner type {kind!r} is not known; use "thread" or "dask".'
        )
    unknown = sorted(set(spec) - _SPEC_KEYS[kind])
    if unknown:
        raise InvalidTaskRunnerSpec(
            f"task_runner of type {kind!r} does not take {', '.join(unknown)}; "
            f"it takes {', '.join(sorted(_SPEC_KEYS[kind] - {'type'}))}."
        )
    options = {key: value for key, value in spec.items() if key != "type"}
    _check_types(kind, options)
    if kind == "thread":
        return ThreadPoolTaskRunner(**options)
    return _integration_runner("DaskTaskRunner")(**options)


#: The TOML type each setting takes, as a user would write it.
_SPEC_TYPES: dict[str, tuple[type, str]] = {
    "max_workers": (int, "an integer"),
    "address": (str, "a string"),
    "cluster_class": (str, "a string"),
    "cluster_kwargs": (dict, "a table"),
    "client_kwargs": (dict, "a table"),
    "keep_results_over": (int, "an integer"),
}


def _check_types(kind: str, options: dict[str, Any]) -> None:
    for key, value in options.items():
        expected, wanted = _SPEC_TYPES[key]
        if (value is not None and not isinstance(value, expected)) or isinstance(value, bool):
            raise InvalidTaskRunnerSpec(
                f"task_runner of type {kind!r}: {key} must be {wanted}, not {value!r}."
            )
    if options.get("max_workers") is not None and options["max_workers"] < 1:
        raise InvalidTaskRunnerSpec(f"task_runner of type {kind!r}: max_workers must be 1 or more.")


#: Runners an integration defines, under the names Prefect's paths give them here, and that
#: integration. The integration is built on this module, so this module holds no import of it:
#: it looks the runner up by name when first asked for, and the dependency points one way.
_INTEGRATION_RUNNERS = {"DaskTaskRunner": "orchestrate.integrations.dask"}


def _integration_runner(name: str) -> type[TaskRunner]:
    """The runner class `name` from its integration, which loads now if it has not yet."""
    runner: type[TaskRunner] = getattr(importlib.import_module(_INTEGRATION_RUNNERS[name]), name)
    return runner


def __getattr__(name: str) -> Any:
    if name in _INTEGRATION_RUNNERS:  # `distributed` stays unimported until a runner is entered
        return _integration_runner(name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "DaskTaskRunner",
    "InvalidTaskRunnerSpec",
    "TaskRunner",
    "ThreadPoolTaskRunner",
    "task_runner_from_spec",
]
