"""How a task call becomes a task run: the `TaskRunJob`, called, submitted or mapped.

A `TaskRunJob` is created in the caller's thread (so its Pending state and
its edges are recorded at once, in call order), then executed inline, on a
runner's thread, or on an event loop. `task_rules.task_steps` holds the rules
for all; a plain sync task (`Plainness`: no retries, hooks, caching or
results to keep) takes `plain_runs.run_plain`, the same rules with those
parts left out. What becomes of a run's result is `task_results`' part.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from orchestrate.core.errors import TaskRunTimeoutError
from orchestrate.core.records import EdgeRecord, RecordSink, TaskRunRecord
from orchestrate.core.runs import new_id, transition
from orchestrate.core.states import State, StateType
from orchestrate.engine.context import (
    FlowRunContext,
    TaskRunContext,
    current_tags,
    flow_run_context,
    runner_gate,
    task_run_context,
)
from orchestrate.engine.definitions import Plainness
from orchestrate.engine.dispatch import run_is_async  # noqa: F401 - hands State.result() its probe
from orchestrate.engine.futures import PrefectFuture
from orchestrate.engine.inputs import InputWalker, plain_upstreams
from orchestrate.engine.logs import RunLogger, configure, print_target, prints_to, task_run_logger
from orchestrate.engine.outcomes import failure_state, unwrap_task_state
from orchestrate.engine.plain_runs import run_plain
from orchestrate.engine.sigterm import received
from orchestrate.engine.steps import Outcome, awaitable, drive_async, drive_sync, listed
from orchestrate.engine.task_rules import settle, task_steps
from orchestrate.engine.timeouts import timeout_scope
from orchestrate.engine.transactions import active_transaction
from orchestrate.recording import get_sink

if TYPE_CHECKING:
    from orchestrate.engine.definitions import TaskDefinition
    from orchestrate.engine.transactions import Transaction

#: Read once: an enum member looked up on its class costs ~150 ns, on every task call.
_ALWAYS, _FLOW_DECIDES = Plainness.ALWAYS, Plainness.FLOW_DECIDES
_PENDING = StateType.PENDING


class TaskRunJob:
    """One task run: its record, its arguments, and where it reports."""

    __slots__ = (
        "_edges_recorded",
        "_logger",
        "_resolved",
        "context",
        "flow_ctx",
        "gate",
        "is_async",
        "parameters",
        "pending",
        "run",
        "sink",
        "streams",
        "task",
        "txn",
        "txn_parent",
        "wait_for",
    )

    def __init__(
        self,
        task: TaskDefinition,
        parameters: dict[str, Any],
        wait_for: Iterable[Any] | None,
        flow_ctx: FlowRunContext | None,
    ) -> None:
        parent = task_run_context.get()
        options = task.options
        self.task = task
        self.parameters = parameters
        self.wait_for = list(wait_for) if wait_for else None
        self.flow_ctx = flow_ctx
        # Outside a flow Prefect still records the task run (with no flow run): so does orc.
        self.sink: RecordSink = flow_ctx.sink if flow_ctx else get_sink()
        self.gate = runner_gate.get()  # made on a task runner's thread: its changes go through it
        self.is_async = task.is_async
        self.pending: Sequence[PrefectFuture[Any]] = ()  # a list once a walk finds some
        self.context: TaskRunContext | None = None
        self._logger: RunLogger | None = None
        self._edges_recorded = False
        self._resolved = False  # the parameters hold no future, state or annotation
        self.streams = False  # a generator streamed to its caller: nothing cached, as in Prefect
        self.txn_parent = active_transaction.get()  # the transaction the call was made in
        self.txn: Transaction | None = None  # this attempt's own, when one is needed
        if flow_ctx is not None:
            flow_run_id = flow_ctx.run.id
            dynamic_key = flow_ctx.next_dynamic_key(task.task_key)
            # A `task_run_name` renames the run once it runs (`task_rules`), as Prefect's does.
            name = f"{options.name}-{dynamic_key}"
        else:
            # Outside a flow Prefect names a run after its task, with no dynamic key.
            flow_run_id, dynamic_key, name = "", 0, options.name
        extra = current_tags()
        tags = options.tags | extra if extra else options.tags  # most calls add none
        # Positional, in the record's field order: keywords cost ~0.4 us more on every task
        # run. A field moved in `TaskRunRecord` fails tests/engine/test_records.py.
        self.run = TaskRunRecord(
            new_id(),
            flow_run_id,
            name,
            task.task_key,
            dynamic_key,
            State(_PENDING, "Pending"),  # as `Pending()`, without the constructor's extra call
            time.time(),
            "task",
            tuple(sorted(tags)) if tags else (),
            parent.run.id if parent else None,
        )
        if self.gate is None:
            transition(self.run, self.run.state, self.sink, initial=True)
        else:
            self.gate.record(self.run, self.run.state, self.sink, initial=True)
        if parent is not None:
            self.sink.put(EdgeRecord(self.run.flow_run_id, self.run.id, parent.run.id, "parent"))

    def record_upstreams(self) -> None:
        """Record edges now and note unfinished upstream futures (for `.submit()`)."""
        if self._record_plain_upstreams():
            self._edges_recorded = self._resolved = True
            return
        walker = InputWalker(self.flow_ctx.result_links if self.flow_ctx else None, resolve=False)
        walker.walk_parameters(self.parameters)
        if self.wait_for:
            walker.walk_wait_for(self.wait_for)
        walker.record_edges(self.sink, self.run.flow_run_id, self.run.id)
        self.pending = walker.pending
        self._edges_recorded = True
        self._resolved = not walker.wrapped

    def _record_plain_upstreams(self) -> bool:
        """With plain arguments only (numbers, strings), record their links; False for the walk."""
        if self.wait_for:
            return False
        links = self.flow_ctx.result_links if self.flow_ctx else None
        upstreams = plain_upstreams(self.parameters, links)
        if upstreams is None:
            return False
        run = self.run
        for upstream in upstreams:
            if upstream != run.id:
                self.sink.put(EdgeRecord(run.flow_run_id, run.id, upstream, "data"))
        return True

    @property
    def logger(self) -> RunLogger:
        if self._logger is None:
            configure()
            self._logger = task_run_logger(self.run.flow_run_id, self.run.id, self.run.name)
        return self._logger

    def record(self, state: State) -> bool:
        """Move the run to `state`, on record; False if its runner's gate refused (see `record_gate`)."""
        if self.gate is None:
            transition(self.run, state, self.sink)
            return True
        return self.gate.record(self.run, state, self.sink)

    def execute_sync(self) -> State:
        try:
            if self.txn_parent is None and _runs_plain(self.task, self.flow_ctx):
                return run_plain(self)  # called or submitted: no step generator for a plain task
            return drive_sync(task_steps(self), self._call_sync)
        except BaseException as exc:
            self._interrupted(exc)
            raise

    async def execute_async(self) -> State:
        try:
            return await drive_async(task_steps(self), self._call_async)
        except BaseException as exc:
            self._interrupted(_cause(exc))
            raise

    def _interrupted(self, exc: BaseException) -> None:
        """Interrupted outside its body (waiting for an upstream, between attempts): the run ends
        Crashed, as Prefect's task engine crashes a run on a `BaseException` that is not an error."""
        if not isinstance(exc, Exception | GeneratorExit) and not self.run.state.is_final():
            settle(self, failure_state(exc))

    def _call_sync(self, parameters: dict[str, Any]) -> Outcome:
        assert self.context is not None
        token = task_run_context.set(self.context)
        printing = prints_to(self.logger, self.context.log_prints)
        txn = active_transaction.set(self.txn) if self.txn is not None else None
        try:
            timeout = self.task.options.timeout_seconds
            if timeout is None:
                return listed(self.task.call(parameters)), None
            with timeout_scope(timeout, TaskRunTimeoutError):
                return listed(self.task.call(parameters)), None
        except BaseException as exc:
            return None, exc
        finally:
            if txn is not None:
                active_transaction.reset(txn)
            if printing is not None:
                print_target.reset(printing)
            task_run_context.reset(token)

    async def _call_async(self, parameters: dict[str, Any]) -> Outcome:
        assert self.context is not None
        token = task_run_context.set(self.context)
        printing = prints_to(self.logger, self.context.log_prints)
        txn = active_transaction.set(self.txn) if self.txn is not None else None
        timeout = self.task.options.timeout_seconds
        try:
            if timeout is None:
                return listed(await awaitable(self.task.call(parameters))), None
            import asyncio  # here, not at the top: a sync flow never loads asyncio

            scope = asyncio.timeout(timeout)
            try:
                async with scope:
                    return listed(await awaitable(self.task.call(parameters))), None
            except TimeoutError as exc:
                if not scope.expired():
                    raise  # the body's own TimeoutError, not its timeout
                raise TaskRunTimeoutError.after(timeout) from exc
        except BaseException as exc:
            return None, _cause(exc)
        finally:
            if txn is not None:
                active_transaction.reset(txn)
            if printing is not None:
                print_target.reset(printing)
            task_run_context.reset(token)


def _cause(exc: BaseException) -> BaseException:
    """Why an async body stopped: a cancel that came of SIGTERM stands for the signal (`sigterm`)."""
    stop = received()
    if stop is None:
        return exc
    import asyncio  # loaded already: an async body ran

    return stop if isinstance(exc, asyncio.CancelledError) else exc


def _runs_plain(task: TaskDefinition, flow_ctx: FlowRunContext | None) -> bool:
    """Whether a call of `task` takes `run_plain` (see `Plainness`)."""
    plain = task.plain
    if plain is _ALWAYS:
        return True
    return plain is _FLOW_DECIDES and (flow_ctx is None or flow_ctx.plain_tasks)


# --- how a task call becomes a task run --------------------------------------------


def call_task(
    task: TaskDefinition,
    parameters: dict[str, Any],
    wait_for: Iterable[Any] | None,
    return_state: bool,
) -> Any:
    """A direct call: the task runs inline and returns its value (or state)."""
    job = TaskRunJob(task, parameters, wait_for, flow_run_context.get())
    if task.is_async:
        return _call_async(job, return_state)
    return unwrap_task_state(job.execute_sync(), return_state)


async def _call_async(job: TaskRunJob, return_state: bool) -> Any:
    return unwrap_task_state(await job.execute_async(), return_state)


def submit_task(
    task: TaskDefinition, parameters: dict[str, Any], wait_for: Iterable[Any] | None
) -> PrefectFuture[Any]:
    """`.submit()`: the task run starts on the flow's task runner once its upstreams are done."""
    flow_ctx = flow_run_context.get()
    if flow_ctx is None:
        raise RuntimeError(
            f"Task {task.options.name!r} was submitted outside of a flow run. "
            "Call .submit() and .map() inside a @flow, or call the task directly."
        )
    job = TaskRunJob(task, parameters, wait_for, flow_ctx)
    job.record_upstreams()
    return flow_ctx.task_runner.submit(job)


def submit_tasks(
    task: TaskDefinition, calls: Iterable[dict[str, Any]], wait_for: Iterable[Any] | None
) -> list[PrefectFuture[Any]]:
    """`.map()`: one task run per call, recorded in call order, handed to the runner together.

    A runner that sends work to a cluster then sends the map as one batch at once,
    rather than guessing when the calls have stopped coming.
    """
    flow_ctx = flow_run_context.get()
    if flow_ctx is None:
        raise RuntimeError(
            f"Task {task.options.name!r} was submitted outside of a flow run. "
            "Call .submit() and .map() inside a @flow, or call the task directly."
        )
    waits = list(wait_for) if wait_for else None
    jobs = []
    for parameters in calls:
        job = TaskRunJob(task, parameters, waits, flow_ctx)
        job.record_upstreams()
        jobs.append(job)
    return flow_ctx.task_runner.submit_many(jobs)
