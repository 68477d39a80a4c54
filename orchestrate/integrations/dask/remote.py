"""What runs on a Dask worker: one attempt of a task run's body, and what it said meanwhile.

The flow process keeps a task run's states, edges, retries and results; a
worker only calls the function (a generator's items come back as a list, as a
submitted generator task's do on threads). Whatever the body logs or emits
(`get_run_logger()`, `log_prints`, `emit_event`) is caught for the attempt and
travels back with its outcome in an `Envelope`, so it lands in the run's logs
as if the body had run in the flow process. Nothing here writes to a store.

An attempt arrives pickled by the flow process (what cannot travel fails
there, at submit, with a clear message), and a task's function is unpickled
once per worker process, not once per attempt. Code that travels by value
keeps the file it was written in (`dumps_keeping_files`), so a traceback from
a worker names the file and line of the task's source. A large result can
also stay on the worker that made it, so a task run downstream placed on that
worker reads it there instead of receiving it again from the flow process.
"""

from __future__ import annotations

import asyncio
import hashlib
import importlib
import io
import logging
import os
import sys
import threading
import types
from collections import ChainMap, OrderedDict
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

import cloudpickle

import orchestrate
from orchestrate.core.errors import OrcError, TaskRunTimeoutError
from orchestrate.core.records import Record, RecordSink, TaskRunRecord
from orchestrate.core.states import format_exception
from orchestrate.engine.context import TaskRunContext, task_run_context
from orchestrate.engine.definitions import TaskDefinition, TaskOptions
from orchestrate.engine.logs import (
    ROOT_LOGGER,
    capture_prints,
    configure,
    print_target,
    task_run_logger,
)
from orchestrate.engine.steps import awaitable, listed
from orchestrate.engine.timeouts import timeout_scope
from orchestrate.recording import set_sink
from orchestrate.tasks import Task

#: Modules orc imports from a flow file (`orchestrate.worker.entrypoints`); workers cannot import them.
FILE_MODULE_PREFIX = "orc_entrypoint_"
#: orc's own frames (anything in the `orchestrate` package) lead a task's traceback; they are cut.
_PACKAGE_DIR = os.path.dirname(os.path.abspath(orchestrate.__file__)) + os.sep


class RemoteTraceback(Exception):
    """The traceback of an exception raised on a worker, as text (shown as the cause)."""

    def __str__(self) -> str:
        return f"\n{self.args[0].rstrip()}" if self.args else ""


class RemoteError(OrcError):
    """A task's exception that could not be pickled, sent back as its text and traceback."""

    def __init__(self, message: str, remote_traceback: str) -> None:
        super().__init__(message)
        self.remote_traceback = remote_traceback
        self.__cause__ = RemoteTraceback(remote_traceback)

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (str(self), self.remote_traceback))


class WorkerSetupError(OrcError):
    """A worker could not load what an attempt needs (usually the flow's code is not importable there)."""


@dataclass(frozen=True, slots=True)
class TaskCode:
    """How a worker finds a task: its import path when it has one, else its function by value.

    By import path, a task shares its module's globals with every other task on
    the worker, as it would in the flow process; cloudpickle alone would copy
    them into each task (the decorated function is not what its module names).
    """

    digest: str
    blob: bytes

    @classmethod
    def of(cls, task: TaskDefinition) -> TaskCode:
        options = task.options
        where = _import_path(task)
        if where is not None:
            blob = cloudpickle.dumps(("import", *where))
        else:
            blob = dumps_keeping_files(
                (
                    "value",
                    task.fn,
                    options.name,
                    options.tags,
                    options.version,
                    options.timeout_seconds,
                )
            )
        return cls(hashlib.blake2b(blob, digest_size=16).hexdigest(), blob)


def dumps_keeping_files(value: Any) -> bytes:
    """`cloudpickle.dumps`, except that code pickled by value keeps its file name.

    cloudpickle (3.1.3 on) names every such code object `<dynamic-code>`, so a
    task's traceback from a worker would show neither its file nor its source line.
    """
    buffer = io.BytesIO()
    _FileKeepingPickler(buffer, protocol=cloudpickle.DEFAULT_PROTOCOL).dump(value)
    return buffer.getvalue()


def _reduce_code_in_file(code: types.CodeType) -> tuple[Any, ...]:
    """cloudpickle's reduction of `code`, then its file name put back when loaded."""
    rebuild, arguments = _CLOUDPICKLE_REDUCE_CODE(code)
    return _code_in_file, (rebuild, arguments, code.co_filename)


def _code_in_file(rebuild: Any, arguments: tuple[Any, ...], filename: str) -> types.CodeType:
    """A code object unpickled on a worker, named after the file it came from."""
    code: types.CodeType = rebuild(*arguments)
    return code.replace(co_filename=filename)


_CLOUDPICKLE_REDUCE_CODE = cloudpickle.Pickler.dispatch_table[types.CodeType]


class _FileKeepingPickler(cloudpickle.Pickler):
    """cloudpickle's pickler with code objects reduced by `_reduce_code_in_file`."""

    dispatch_table = ChainMap(
        {types.CodeType: _reduce_code_in_file}, cloudpickle.Pickler.dispatch_table
    )


def _import_path(task: TaskDefinition) -> tuple[str, str] | None:
    """`(module, qualified name)` under which `task` itself can be imported, if any."""
    module_name = getattr(task.fn, "__module__", None) or ""
    qualname = getattr(task.fn, "__qualname__", "")
    module = sys.modules.get(module_name)
    if module is None or module_name == "__main__" or module_name.startswith(FILE_MODULE_PREFIX):
        return None
    found: Any = module
    for part in qualname.split("."):
        found = getattr(found, part, None)
    return (module_name, qualname) if found is task else None


@dataclass(frozen=True, slots=True)
class KeptValue:
    """Stands for a result kept on a worker (see `Envelope.kept`) in an attempt's parameters."""

    key: str


@dataclass(frozen=True, slots=True)
class Attempt:
    """One attempt of one task run's body, as the flow process ships it."""

    key: str
    code: TaskCode
    run: TaskRunRecord
    parameters: dict[str, Any]
    log_prints: bool
    log_level: int
    #: keep the result on the worker when it is at least this many bytes (None: never)
    keep_over: int | None = None
    #: some parameters are `KeptValue`s, to be read on the worker
    kept_inputs: bool = False


@dataclass(slots=True)
class Envelope:
    """What an attempt sends back: its value or error, and the records put while it ran."""

    value: Any = None
    error: BaseException | None = None
    records: list[Record] = field(default_factory=list)
    worker: str = ""
    #: the value also stays on `worker`, under the attempt's key, for attempts placed there
    kept: bool = False
    #: a kept input was not on this worker, so the body did not run (the flow process resends it)
    missing: bool = False


def run_attempt(payload: bytes) -> Envelope:
    """The Dask task orc submits: run one attempt; what the body does never raises here."""
    worker = _worker_address()
    try:
        attempt: Attempt = cloudpickle.loads(payload)
        task = _task_of(attempt.code)
    except Exception as exc:
        setup_error = WorkerSetupError(
            f"Dask worker {worker} could not load the task ({type(exc).__name__}: {exc}). "
            "Make the flow's code and its imports available on every worker (see docs/dask.md)."
        )
        return Envelope(error=setup_error, worker=worker)
    parameters: dict[str, Any] | None = attempt.parameters
    if attempt.kept_inputs:
        parameters = _with_kept_values(attempt.parameters, attempt.run.flow_run_id)
    if parameters is None:
        return Envelope(worker=worker, missing=True)
    records: list[Record] = []
    value, failure = _call_capturing(task, attempt, parameters, records)
    envelope = Envelope(value, _portable(failure), records, worker)
    if failure is None and attempt.keep_over is not None and _size_of(value) >= attempt.keep_over:
        _keep(attempt.run.flow_run_id, attempt.key, value)
        envelope.kept = True
    return envelope


def _call_capturing(
    task: Task[..., Any], attempt: Attempt, parameters: dict[str, Any], records: list[Record]
) -> tuple[Any, BaseException | None]:
    _install_capture()
    configure()
    root = logging.getLogger(ROOT_LOGGER)
    if root.level != attempt.log_level:  # the flow process's level; setting it clears caches
        root.setLevel(attempt.log_level)
    captured = _captured.set(records)
    context = task_run_context.set(
        TaskRunContext(task, attempt.run, parameters, attempt.log_prints)
    )
    printing = None
    if attempt.log_prints:
        capture_prints()
        run = attempt.run
        printing = print_target.set(task_run_logger(run.flow_run_id, run.id, run.name))
    try:
        if task.is_async:
            return asyncio.run(_call_async(task, parameters)), None
        with timeout_scope(task.options.timeout_seconds, TaskRunTimeoutError):
            return listed(task.call(parameters)), None
    except BaseException as exc:  # reported as the attempt's outcome, like in the flow process
        return None, exc
    finally:
        if printing is not None:
            print_target.reset(printing)
        task_run_context.reset(context)
        _captured.reset(captured)


async def _call_async(task: Task[..., Any], parameters: dict[str, Any]) -> Any:
    timeout = task.options.timeout_seconds
    if timeout is None:
        return listed(await awaitable(task.call(parameters)))
    scope = asyncio.timeout(timeout)
    try:
        async with scope:
            return listed(await awaitable(task.call(parameters)))
    except TimeoutError as exc:
        if not scope.expired():
            raise  # the body's own TimeoutError, not its timeout
        raise TaskRunTimeoutError.after(timeout) from exc


def _portable(error: BaseException | None) -> BaseException | None:
    """The error, made to travel with its traceback (or its text, if it cannot be pickled)."""
    if error is None:
        return None
    tb = error.__traceback__
    while tb is not None and tb.tb_frame.f_code.co_filename.startswith(_PACKAGE_DIR):
        tb = tb.tb_next
    if tb is not None:
        error.__traceback__ = tb
    try:
        from tblib import pickling_support

        pickling_support.install(error)
    except ImportError:  # tblib comes with distributed; without it tracebacks stay behind
        pass
    try:
        cloudpickle.dumps(error)
    except Exception:
        return RemoteError(f"{type(error).__name__}: {error}", format_exception(error))
    return error


# --- where records go while an attempt runs ------------------------------------------

_captured: ContextVar[list[Record] | None] = ContextVar("orc_captured_records", default=None)
_install_lock = threading.Lock()
_installed = False


class CapturingSink:
    """A worker's process sink: records put during an attempt go back with it, others pass on."""

    def __init__(self) -> None:
        self.fallback: RecordSink | None = None

    def put(self, record: Record) -> None:
        captured = _captured.get()
        if captured is not None:
            captured.append(record)
        elif self.fallback is not None:
            self.fallback.put(record)

    def flush(self, timeout: float | None = None) -> bool:
        return True if self.fallback is None else self.fallback.flush(timeout)

    def close(self) -> None:
        if self.fallback is not None:
            self.fallback.close()


def _install_capture() -> None:
    """Make this process's sink a `CapturingSink` (once), so a worker never opens a store."""
    global _installed
    if _installed:
        return
    with _install_lock:
        if not _installed:
            sink = CapturingSink()
            sink.fallback = set_sink(sink)
            if sink.fallback is None:  # a worker process, not a flow process with workers inside
                # The flow process prints these lines when they come back; a worker keeps
                # quiet unless its own environment asks for them.
                os.environ.setdefault("ORC_LOGGING_TO_CONSOLE", "0")
            _installed = True


# --- task code and kept results, per worker process ------------------------------------

_tasks: OrderedDict[str, Task[..., Any]] = OrderedDict()
_tasks_lock = threading.Lock()
_TASKS_KEPT = 256
_kept: dict[str, dict[str, Any]] = {}  # flow run id -> attempt key -> value
_kept_lock = threading.Lock()


def _task_of(code: TaskCode) -> Task[..., Any]:
    with _tasks_lock:
        task = _tasks.get(code.digest)
        if task is not None:
            _tasks.move_to_end(code.digest)
            return task
    how, *details = cloudpickle.loads(code.blob)
    if how == "import":
        module_name, qualname = details
        found: Any = importlib.import_module(module_name)
        for part in qualname.split("."):
            found = getattr(found, part)
        if not isinstance(found, Task):
            raise TypeError(f"{module_name}.{qualname} is not a task on this worker")
        task = found
    else:
        fn, name, tags, version, timeout_seconds = details
        task = Task(
            fn, TaskOptions(name=name, tags=tags, version=version, timeout_seconds=timeout_seconds)
        )
    with _tasks_lock:
        _tasks[code.digest] = task
        while len(_tasks) > _TASKS_KEPT:
            _tasks.popitem(last=False)
    return task


def _keep(flow_run_id: str, key: str, value: Any) -> None:
    with _kept_lock:
        _kept.setdefault(flow_run_id, {})[key] = value


def forget_kept(flow_run_id: str) -> int:
    """Drop the results kept for a flow run (run on every worker when the run's tasks are done)."""
    with _kept_lock:
        return len(_kept.pop(flow_run_id, {}))


def _with_kept_values(parameters: dict[str, Any], flow_run_id: str) -> dict[str, Any] | None:
    """The parameters with kept results put back; None if one of them is not on this worker."""
    missing: list[str] = []

    def put_back(value: Any) -> Any:
        if type(value) is KeptValue:
            if value.key not in kept:
                missing.append(value.key)
            return kept.get(value.key)
        if type(value) in (list, tuple):
            return type(value)(put_back(v) for v in value)
        if type(value) is dict:
            return {k: put_back(v) for k, v in value.items()}
        return value

    with _kept_lock:
        kept = _kept.get(flow_run_id, {})
        restored = {name: put_back(value) for name, value in parameters.items()}
    return None if missing else restored


def _size_of(value: Any) -> int:
    try:
        from dask.sizeof import sizeof

        return int(sizeof(value))
    except Exception:
        return 0


def _worker_address() -> str:
    try:
        from distributed import get_worker

        return str(get_worker().address)
    except (ImportError, ValueError):
        return "local"
