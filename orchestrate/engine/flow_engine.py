"""Running one flow run: parameters, attempts with retries and a timeout, hooks, subflows.

A flow called inside another flow is a subflow: the parent gets a stand-in
task run (so the graph shows where it was called and what fed it), and the
child flow run points back at it. A worker runs a flow run the daemon already
named (`RunPreset`) and can stop it from outside (`RunAborted`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any

from orchestrate.core.errors import FlowRunTimeoutError, OrcError, ParameterTypeError
from orchestrate.core.names import random_name, render_name
from orchestrate.core.records import EdgeRecord, FlowRunRecord, RecordSink, TaskRunRecord
from orchestrate.core.runs import new_id, transition
from orchestrate.core.states import (
    AwaitingRetry,
    Failed,
    Pending,
    Retrying,
    Running,
    State,
    StateType,
    StoredResult,
)
from orchestrate.engine.context import (
    FlowRunContext,
    current_tags,
    flow_run_context,
    runner_gate,
    task_run_context,
)
from orchestrate.engine.dispatch import run_is_async  # noqa: F401 - hands State.result() its probe
from orchestrate.engine.inputs import InputWalker
from orchestrate.engine.interpreter_pacing import paced_interpreter
from orchestrate.engine.logs import (
    RunLogger,
    capture_prints,
    configure,
    flow_run_logger,
    print_target,
)
from orchestrate.engine.outcomes import RunAborted, failure_state, state_from_return, unwrap_state
from orchestrate.engine.pauses import Suspend
from orchestrate.engine.results import ResultStore, flow_persists, store_at
from orchestrate.engine.retries import retry_delays
from orchestrate.engine.sigterm import received, sigterm_crashes, sigterm_crashes_async
from orchestrate.engine.steps import (
    CallBody,
    Outcome,
    RunHooks,
    Sleep,
    Steps,
    awaitable,
    drive_async,
    drive_sync,
    listed,
)
from orchestrate.engine.timeouts import timeout_scope
from orchestrate.recording import get_sink

if TYPE_CHECKING:
    from orchestrate.engine.definitions import FlowDefinition


@dataclass(frozen=True, slots=True)
class RunPreset:
    """What was decided about a flow run before this process runs it (a daemon, for its worker)."""

    id: str
    name: str | None = None
    deployment: str | None = None
    entrypoint: str | None = None
    created: float | None = None
    expected_start_time: float | None = None
    run_count: int = 1  # the attempt this process makes, from 1
    resuming: bool = False  # a suspended run resumed: it goes on Running, not Retrying
    pending_recorded: bool = False  # its Pending is on record already (the daemon's dispatch)
    retried_until: int = 0  # the daemon retries a failed attempt numbered up to this


class FlowRunJob:
    """One flow run: its record, its parameters, its context while it runs."""

    def __init__(
        self,
        flow: FlowDefinition,
        parameters: dict[str, Any],
        preset: RunPreset | None = None,
        stand_in_name: str | None = None,
    ) -> None:
        self.flow = flow
        self.sink: RecordSink = get_sink()
        #: On a task runner's thread a subflow changes state through the runner's gate.
        self.gate = runner_gate.get()
        self.parent = flow_run_context.get()
        self.parameters = parameters
        self.stand_in: TaskRunRecord | None = None
        self.resuming = False
        #: The daemon retries a failed attempt numbered up to this: `on_failure` waits for it.
        self.retried_until = 0
        self.named = False  # `flow_run_name` was rendered (once a run, as Prefect's engine does)
        #: Shared by the contexts of every attempt (see FlowRunContext.completed_subflows).
        self.completed_subflows: dict[str, State] = {}
        if self.parent is not None:
            self.parameters = self._enter_parent(self.parent, stand_in_name)
        options = flow.options
        self.run = FlowRunRecord(
            id=new_id(),
            name=random_name(),  # a `flow_run_name` renames it as it starts (`name_run`)
            flow_name=options.name,
            parameters=self.parameters,
            state=Pending(),
            created=time.time(),
            tags=tuple(sorted(current_tags())),
            parent_flow_run_id=self.parent.run.id if self.parent else None,
            parent_task_run_id=self.stand_in.id if self.stand_in else None,
            flow_version=options.version,
        )
        if preset is not None:
            self._apply(preset)
        if preset is not None and preset.pending_recorded:
            self.run.state.run_id = self.run.id  # one Pending per attempt, the dispatcher's
        else:
            self._change(self.run, self.run.state, self.sink, initial=True)
        self.context: FlowRunContext | None = None
        self._logger: RunLogger | None = None
        #: Set (with the body cancelled) to stop an async run: it ends in this state.
        self.aborted: RunAborted | None = None

    def _apply(self, preset: RunPreset) -> None:
        run = self.run
        run.id = preset.id
        run.name = preset.name or run.name
        run.deployment = preset.deployment
        run.entrypoint = preset.entrypoint
        run.created = preset.created or run.created
        run.expected_start_time = preset.expected_start_time
        run.run_count = preset.run_count - 1  # each attempt counts itself as it starts
        self.resuming = preset.resuming
        self.retried_until = preset.retried_until
        # The first attempt names the run; a retry or a resume keeps the name it was given.
        self.named = preset.run_count > 1 or preset.resuming

    def _enter_parent(self, parent: FlowRunContext, name: str | None) -> dict[str, Any]:
        """Create the stand-in task run in the parent; resolve futures passed in."""
        enclosing = task_run_context.get()
        stand_in = TaskRunRecord(
            id=new_id(),
            flow_run_id=parent.run.id,
            name=name or stand_in_name(parent, self.flow),
            task_key=f"subflow:{self.flow.options.name}",
            dynamic_key=0,
            state=Pending(),
            created=time.time(),
            kind="subflow",
            parent_task_run_id=enclosing.run.id if enclosing else None,
        )
        self._change(stand_in, stand_in.state, parent.sink, initial=True)
        if enclosing is not None:
            parent.sink.put(EdgeRecord(parent.run.id, stand_in.id, enclosing.run.id, "parent"))
        walker = InputWalker(parent.result_links, resolve=True)
        resolved = walker.walk_parameters(self.parameters)
        walker.record_edges(parent.sink, parent.run.id, stand_in.id)
        self.stand_in = stand_in
        return resolved

    @property
    def logger(self) -> RunLogger:
        if self._logger is None:
            configure()
            self._logger = flow_run_logger(self.run.id, self.run.name)
        return self._logger

    def name_run(self) -> None:
        """Render `flow_run_name` from the validated parameters, in a context of this run.

        As Prefect's engine does just before Running: a callable reads
        `flow_run.parameters`, a template formats `datetime` values and models.
        A deployment run is renamed too; a template that fails keeps the name.
        """
        template = self.flow.options.flow_run_name
        if template is None or self.named:
            return
        context = FlowRunContext(
            flow=self.flow,
            run=self.run,
            sink=self.sink,
            task_runner=self.flow.options.task_runner,
            results=self._results(),
            parent=self.parent,
        )
        token = flow_run_context.set(context)
        try:
            self.run.name = render_name(template, self.run.parameters, self.run.name)
        finally:
            flow_run_context.reset(token)
        self.named = True

    def set_state(self, state: State) -> None:
        self._change(self.run, state, self.sink)
        stand_in = self.stand_in
        if stand_in is None or stand_in.state.is_final():
            return
        if state.is_final() or (
            state.type is StateType.RUNNING and stand_in.state.type is not StateType.RUNNING
        ):
            mirror = State(state.type, state.name, state.message, state.data)
            mirror.traceback = state.traceback
            assert self.parent is not None
            self._change(stand_in, mirror, self.parent.sink)

    def _change(
        self,
        run: FlowRunRecord | TaskRunRecord,
        state: State,
        sink: RecordSink,
        initial: bool = False,
    ) -> None:
        """`transition`, or through the runner's gate on a task runner's thread (`record_gate`)."""
        if self.gate is None:
            transition(run, state, sink, initial)
        else:
            self.gate.record(run, state, sink, initial)

    def execute_sync(self) -> State:
        try:
            return drive_sync(flow_steps(self), self._call_sync)
        except BaseException as exc:
            self._interrupted(exc)
            raise

    async def execute_async(self) -> State:
        import asyncio

        try:
            return await drive_async(flow_steps(self), self._call_async)
        except BaseException as exc:
            if isinstance(exc, asyncio.CancelledError):
                exc = self.aborted or received() or exc
            self._interrupted(exc)
            raise

    def _interrupted(self, exc: BaseException) -> None:
        """Interrupted outside its body (between attempts, in a hook): the run ends Crashed, as
        Prefect's flow engine crashes a run on a `BaseException` that is not an error."""
        if not isinstance(exc, Exception | GeneratorExit) and not self.run.state.is_final():
            self.set_state(failure_state(exc, "Flow run"))

    def _new_context(self) -> FlowRunContext:
        options = self.flow.options
        log_prints = options.log_prints
        if log_prints is None:
            log_prints = self.parent.log_prints if self.parent else False
        if log_prints:
            capture_prints()
        self.context = FlowRunContext(
            flow=self.flow,
            run=self.run,
            sink=self.sink,
            task_runner=options.task_runner.duplicate(),
            results=self._results(),
            log_prints=log_prints,
            plain_tasks=not log_prints and not flow_persists(options),
            completed_subflows=self.completed_subflows,
        )
        return self.context

    def _results(self) -> ResultStore:
        """The flow's `result_storage`, else its parent's, else the project's results."""
        folder = self.flow.options.result_storage
        if folder is not None:
            return store_at(folder)
        return self.parent.results if self.parent else ResultStore()

    def _call_sync(self, parameters: dict[str, Any]) -> Outcome:
        context = self._new_context()
        token = flow_run_context.set(context)
        printing = print_target.set(self.logger) if context.log_prints else print_target.set(None)
        try:
            with paced_interpreter(), context.task_runner:
                with timeout_scope(self.flow.options.timeout_seconds, FlowRunTimeoutError):
                    value = listed(self.flow.call(parameters))
                return value, None
        except BaseException as exc:
            return None, exc
        finally:
            print_target.reset(printing)
            flow_run_context.reset(token)

    async def _call_async(self, parameters: dict[str, Any]) -> Outcome:
        import asyncio  # here, not at the top: a sync flow's worker never loads asyncio

        context = self._new_context()
        token = flow_run_context.set(context)
        printing = print_target.set(self.logger) if context.log_prints else print_target.set(None)
        timeout = self.flow.options.timeout_seconds
        try:
            with paced_interpreter(), context.task_runner:
                scope = asyncio.timeout(timeout)
                try:
                    async with scope:
                        value = listed(await awaitable(self.flow.call(parameters)))
                except TimeoutError as exc:
                    if timeout is None or not scope.expired():
                        raise  # the body's own TimeoutError, not its timeout
                    raise FlowRunTimeoutError.after(timeout) from exc
                return value, None
        except BaseException as exc:
            if isinstance(exc, asyncio.CancelledError):  # cancelled from outside to stop the run
                stop = self.aborted or received()
                if stop is not None:
                    return None, stop
            return None, exc
        finally:
            print_target.reset(printing)
            flow_run_context.reset(token)


def flow_steps(job: FlowRunJob) -> Steps:
    """The rules of one flow run, for either driver (see `engine.steps`)."""
    flow, run, options = job.flow, job.run, job.flow.options
    try:
        parameters = (
            flow.validate(job.parameters) if options.validate_parameters else job.parameters
        )
    except ParameterTypeError as refused:
        return (yield from _finish(job, Failed(message=str(refused), data=refused)))
    run.parameters = parameters
    job.name_run()
    job.logger.info("Beginning flow run %r for flow %r", run.name, options.name)
    attempt = 0
    while True:
        run.run_count += 1
        resumed = job.resuming and attempt == 0
        running = Running() if run.run_count == 1 or resumed else Retrying()
        job.set_state(running)
        if options.on_running:
            yield RunHooks(options.on_running, (flow, run, running), job.logger, _log_prints(job))
        outcome = yield CallBody(parameters)
        assert outcome is not None  # a body call always answers with its outcome
        value, exc = outcome
        if isinstance(exc, RunAborted):
            return (yield from _finish(job, exc.state()))
        if isinstance(exc, Suspend):  # the run stays paused; a resume runs it again
            job.logger.info("Flow run %s: %s", exc.state.name.lower(), exc.state.message)
            return exc.state
        state = state_from_return(value) if exc is None else failure_state(exc, "Flow run")
        crashed = state.type is StateType.CRASHED
        if not state.is_completed() and not crashed and attempt < options.retries:
            delay = retry_delays(options.retry_delay_seconds, options.retries)[attempt]
            message = (
                f"Retry {attempt + 1}/{options.retries} in {delay:.3g}s after: {state.message}"
            )
            job.set_state(AwaitingRetry(message=message))
            job.logger.warning("Flow run failed (%s) - %s", state.name, message)
            if delay > 0:
                yield Sleep(delay)
            attempt += 1
            continue
        if state.is_completed() and flow_persists(options):
            _persist(job, state)
        return (yield from _finish(job, state))


def _finish(job: FlowRunJob, state: State) -> Steps:
    job.set_state(state)
    options = job.flow.options
    if state.is_completed():
        job.logger.info("Finished in state %s()", state.name)
    else:
        job.logger.error("Finished in state %s: %s", state.name, state.message)
    hooks = {
        StateType.COMPLETED: options.on_completion,
        StateType.FAILED: options.on_failure,
        StateType.CRASHED: options.on_crashed,
        StateType.CANCELLING: options.on_cancellation,  # as Prefect: a returned Cancelling too
        StateType.CANCELLED: options.on_cancellation,
    }.get(state.type, ())
    if hooks and _retried(job, state):
        job.logger.info("on_failure hooks wait for the last attempt: orc up retries this run")
        hooks = ()
    if hooks:
        contexts = ((flow_run_context, job.context),) if job.context is not None else ()
        yield RunHooks(hooks, (job.flow, job.run, state), job.logger, _log_prints(job), contexts)
    return state


def _retried(job: FlowRunJob, state: State) -> bool:
    """Whether the daemon will run a failed run again: then its `on_failure` hooks wait. Not
    a failure no retry can fix (an `OrcError`: parameters, the flow not loading), and not
    past the daemon's count (in-process retries count attempts too)."""
    return (
        state.type is StateType.FAILED
        and job.run.run_count <= job.retried_until
        and not isinstance(state.data, OrcError)
    )


def _log_prints(job: FlowRunJob) -> bool:
    return job.context is not None and job.context.log_prints


def _persist(job: FlowRunJob, state: State) -> None:
    """Write the result under the run's id; with `cache_result_in_memory=False` let go of it."""
    assert job.context is not None
    store, serializer = job.context.results, job.flow.options.result_serializer or "cloudpickle"
    try:
        store.write(job.run.id, state.data, serializer)
    except Exception as exc:
        job.logger.warning(
            "The flow's result could not be persisted (%s: %s).", type(exc).__name__, exc
        )
        return
    if not job.flow.options.cache_result_in_memory:
        state.data = StoredResult(job.run.id, partial(store.load, job.run.id, serializer))


# --- how a flow call becomes a flow run -------------------------------------------------


def call_flow(flow: FlowDefinition, parameters: dict[str, Any], return_state: bool) -> Any:
    """A flow call: run it here and return its value (or its final state)."""
    parent = flow_run_context.get()
    name = None if parent is None else stand_in_name(parent, flow)
    earlier = None if parent is None or name is None else parent.completed_subflows.get(name)
    if earlier is not None:  # a retry of the parent: the child completed already
        return (
            _earlier_async(earlier, return_state)
            if flow.is_async
            else unwrap_state(earlier, return_state)
        )
    job = FlowRunJob(flow, parameters, stand_in_name=name)
    if flow.is_async:
        return _call_async(job, return_state, name)
    if parent is not None:
        return _remember(job, job.execute_sync(), name, return_state)
    with sigterm_crashes(job):
        return _remember(job, job.execute_sync(), name, return_state)


def stand_in_name(parent: FlowRunContext, flow: FlowDefinition) -> str:
    """The name of a child flow's task run in its parent: `child-0`, `child-1`, … per attempt."""
    return f"{flow.options.name}-{parent.next_dynamic_key('subflow:' + flow.options.name)}"


def _remember(job: FlowRunJob, state: State, name: str | None, return_state: bool) -> Any:
    if job.parent is not None and name is not None and state.is_completed():
        job.parent.completed_subflows[name] = state
    return unwrap_state(state, return_state)


async def _call_async(job: FlowRunJob, return_state: bool, name: str | None = None) -> Any:
    if job.parent is not None:
        return _remember(job, await job.execute_async(), name, return_state)
    with sigterm_crashes_async(job):
        return _remember(job, await job.execute_async(), name, return_state)


async def _earlier_async(state: State, return_state: bool) -> Any:
    return unwrap_state(state, return_state)
