"""The rules of one task run: inputs, cache, attempts with retries, final state and hooks.

`task_steps` is written once as a generator of steps (see `engine.steps`),
so the same rules drive a task run inline, on a runner's thread, on an event
loop or on a cluster. `resolve_inputs` and `settle` are shared with
`plain_runs`, the same rules for a plain task with the optional parts left out.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from orchestrate.core.errors import FailedRun, UpstreamTaskError
from orchestrate.core.states import (
    AwaitingRetry,
    Cached,
    Failed,
    NotReady,
    Retrying,
    Running,
    State,
    StateType,
)
from orchestrate.engine.context import TaskRunContext, task_run_context
from orchestrate.engine.inputs import InputWalker, SelfDependencyError
from orchestrate.engine.logs import capture_prints
from orchestrate.engine.outcomes import failure_state, state_from_return
from orchestrate.engine.retries import clamped_poisson_interval, retry_delays
from orchestrate.engine.steps import CallBody, RunHooks, Sleep, Steps
from orchestrate.engine.storage_keys import StorageKeyError
from orchestrate.engine.task_results import (
    held,
    keep_result,
    link_result,
    open_transaction,
    persists_result,
    result_keys,
    results_of,
    serializer_of,
)

if TYPE_CHECKING:
    from orchestrate.engine.task_engine import TaskRunJob

_FAILING = frozenset({StateType.FAILED, StateType.CRASHED})


def task_steps(job: TaskRunJob) -> Steps:
    """The rules of one task run, for either driver (see `engine.steps`)."""
    try:
        parameters = resolve_inputs(job)
    except SelfDependencyError as refused:  # Prefect fails the run rather than hang on itself
        return (yield from _finish(job, failure_state(refused)))
    if parameters is None:
        return job.run.state
    options = job.task.options
    log_prints = _enter(job, parameters)
    persists = not job.streams and persists_result(job.task, job.flow_ctx)
    try:
        cache_key, write_key = result_keys(job, parameters, persists)
    except StorageKeyError as refused:
        return (yield from _finish(job, failure_state(refused)))
    if cache_key is not None and not options.refresh_cache:
        hit = results_of(job).read(cache_key, serializer=serializer_of(job))
        if hit is not None:
            link_result(job, hit.value)
            return (yield from _finish(job, Cached(data=held(job, cache_key, hit.value))))

    attempt = 0
    while True:
        job.run.run_count += 1
        running = Running() if attempt == 0 else Retrying()
        if not job.record(running):  # its flow run gave up on it (`record_gate`)
            return job.run.state
        if options.on_running:
            yield RunHooks(options.on_running, (job.task, job.run, running), job.logger, log_prints)
        if job.txn_parent is not None or options.on_commit or options.on_rollback:
            open_transaction(job, write_key, persists)
        outcome = yield CallBody(parameters)
        assert outcome is not None  # a body call always answers with its outcome
        value, exc = outcome
        state = state_from_return(value) if exc is None else failure_state(exc)
        if state.is_completed():
            keep_result(job, write_key, persists, state)
            link_result(job, state.data)
            return (yield from _finish(job, state))
        error = exc or state.exception or FailedRun(state.message or state.name)
        if not (isinstance(error, Exception) and _should_retry(job, attempt, error)):
            return (yield from _finish(job, state))
        yield from _await_retry(job, attempt, error)
        attempt += 1


def _enter(job: TaskRunJob, parameters: dict[str, Any]) -> bool:
    """Give the run its context, and its name worked out in it; whether it logs prints."""
    options = job.task.options
    log_prints = (
        options.log_prints
        if options.log_prints is not None
        else bool(job.flow_ctx and job.flow_ctx.log_prints)
    )
    if log_prints:
        capture_prints()
    job.context = TaskRunContext(job.task, job.run, parameters, log_prints)
    if options.task_run_name is not None:
        _name_run(job)
    return log_prints


def _name_run(job: TaskRunJob) -> None:
    """Prefect's `_set_custom_task_run_name`: the name from the resolved arguments, in the run's context.

    So a callable reads `task_run.parameters` and `task_run.task_name`, and a
    template formats the values futures resolved to, not the futures.
    """
    assert job.context is not None
    token = task_run_context.set(job.context)
    try:
        job.run.name = job.task.run_name(job.context.parameters, job.run.name)
    finally:
        task_run_context.reset(token)


def resolve_inputs(job: TaskRunJob) -> dict[str, Any] | None:
    """The arguments with futures and states resolved; None if an upstream did not complete."""
    if job._resolved:
        return job.parameters  # plain values, their edges recorded at submit: nothing to do
    if not job._edges_recorded and job._record_plain_upstreams():
        return job.parameters  # plain values: nothing to resolve, their links recorded
    links = job.flow_ctx.result_links if job.flow_ctx else None
    walker = InputWalker(links, resolve=True, own=(job.run.id, job.task.options.name))
    parameters = walker.walk_parameters(job.parameters)
    if job.wait_for:
        walker.walk_wait_for(job.wait_for)
    if not job._edges_recorded:
        walker.record_edges(job.sink, job.run.flow_run_id, job.run.id)
    if walker.failure is None:
        return parameters
    # As in Prefect: the run stays NotReady (never ran, not final) and no hook fires.
    job.record(NotReady(message=walker.failure, data=UpstreamTaskError(walker.failure)))
    return None


def _await_retry(job: TaskRunJob, attempt: int, error: Exception) -> Steps:
    delay = _retry_delay(job, attempt)
    message = f"Retry {attempt + 1}/{job.task.options.retries} in {delay:.3g}s"
    job.record(AwaitingRetry(message=f"{message} after {type(error).__name__}: {error}"))
    job.logger.warning("Task run failed with %s: %s - %s", type(error).__name__, error, message)
    if delay > 0:
        yield Sleep(delay)
    return job.run.state


def settle(job: TaskRunJob, state: State) -> State:
    """Record the final state, and log it when the run failed."""
    if not job.record(state):
        return state  # its flow run gave up on it: nothing more of it is recorded
    if state.type in _FAILING:
        retried = f" after {job.run.run_count} attempts" if job.run.run_count > 1 else ""
        detail = f"\n{(state.traceback or '').rstrip()}" if _shows_traceback(state) else ""
        job.logger.error("Finished in state %s%s: %s%s", state.name, retried, state.message, detail)
    return state


def _finish(job: TaskRunJob, state: State) -> Steps:
    settle(job, state)
    options = job.task.options
    hooks = (
        options.on_completion
        if state.is_completed()
        else options.on_failure
        if state.is_failed()
        else ()
    )
    if hooks:
        log_prints = job.context is not None and job.context.log_prints
        contexts = ((task_run_context, job.context),) if job.context is not None else ()
        yield RunHooks(hooks, (job.task, job.run, state), job.logger, log_prints, contexts)
    return state


def _shows_traceback(state: State) -> bool:
    return state.traceback is not None and not isinstance(state.exception, UpstreamTaskError)


def _should_retry(job: TaskRunJob, attempt: int, exc: BaseException) -> bool:
    options = job.task.options
    if attempt >= options.retries:
        return False
    if options.retry_condition_fn is None:
        return True
    try:
        return bool(
            options.retry_condition_fn(job.task, job.run, Failed(message=str(exc), data=exc))
        )
    except Exception as error:
        job.logger.error(
            "retry_condition_fn raised %s: %s; not retrying", type(error).__name__, error
        )
        return False


def _retry_delay(job: TaskRunJob, attempt: int) -> float:
    options = job.task.options
    delay = retry_delays(options.retry_delay_seconds, options.retries)[attempt]
    if options.retry_jitter_factor is not None:
        delay = clamped_poisson_interval(delay, options.retry_jitter_factor)
    return delay
