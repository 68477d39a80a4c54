"""Running one task run: inputs, cache, attempts with retries and timeouts, final state.

A `TaskRunJob` is created in the caller's thread (so its Pending state and
its edges are recorded at once, in call order), then executed inline, on a
runner's thread, or on an event loop. `task_steps` holds the rules for all;
a plain sync task (`Plainness`: no retries, hooks, caching or results to
keep) takes `run_plain`, the same rules with those parts left out.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from functools import partial
from typing import TYPE_CHECKING, Any

from orchestrate.core.errors import FailedRun, TaskRunTimeoutError, UpstreamTaskError
from orchestrate.core.records import EdgeRecord, RecordSink, TaskRunRecord
from orchestrate.core.runs import new_id, transition
from orchestrate.core.states import (
    AwaitingRetry,
    Cached,
    Failed,
    NotReady,
    Retrying,
    Running,
    State,
    StateType,
    StoredResult,
)
from orchestrate.engine.caching import (
    DEFAULT,
    NO_CACHE,
    CacheKeyFnPolicy,
    CachePolicy,
    hash_objects,
)
from orchestrate.engine.context import (
    FlowRunContext,
    TaskRunContext,
    current_tags,
    flow_run_context,
    task_run_context,
)
from orchestrate.engine.definitions import Plainness
from orchestrate.engine.dispatch import run_is_async  # noqa: F401 - hands State.result() its probe
from orchestrate.engine.futures import PrefectFuture
from orchestrate.engine.inputs import (
    InputWalker,
    SelfDependencyError,
    is_linkable,
    plain_upstreams,
)
from orchestrate.engine.logs import (
    RunLogger,
    capture_prints,
    configure,
    print_target,
    task_run_logger,
)
from orchestrate.engine.outcomes import failure_state, state_from_return, unwrap_state
from orchestrate.engine.results import ResultStore, flow_persists, store_at
from orchestrate.engine.retries import clamped_poisson_interval, retry_delays
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
from orchestrate.engine.storage_keys import StorageKeyError, render_storage_key
from orchestrate.engine.timeouts import timeout_scope
from orchestrate.engine.transactions import (
    active_transaction,
    rolled_back_event,
    settle_task_transaction,
    task_transaction,
)
from orchestrate.recording import get_sink

if TYPE_CHECKING:
    from orchestrate.engine.definitions import TaskDefinition
    from orchestrate.engine.transactions import Transaction

_standalone_results = ResultStore()
#: Read once: an enum member looked up on its class costs ~150 ns, on every task call.
_ALWAYS, _FLOW_DECIDES = Plainness.ALWAYS, Plainness.FLOW_DECIDES
_PENDING, _RUNNING, _COMPLETED = StateType.PENDING, StateType.RUNNING, StateType.COMPLETED
_FAILING = frozenset({StateType.FAILED, StateType.CRASHED})


class TaskRunJob:
    """One task run: its record, its arguments, and where it reports."""

    __slots__ = (
        "_edges_recorded",
        "_logger",
        "_resolved",
        "context",
        "flow_ctx",
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
            if options.task_run_name is None:
                name = f"{options.name}-{dynamic_key}"  # `run_name`'s default, without the call
            else:
                name = task.run_name(parameters, dynamic_key)
        else:
            flow_run_id, dynamic_key = "", 0
            name = _standalone_name(task, parameters)
        extra = current_tags()
        tags = options.tags | extra if extra else options.tags  # most calls add none
        # Positional, in the record's field order: keywords cost more on every task run.
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
        transition(self.run, self.run.state, self.sink, initial=True)
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

    def execute_sync(self) -> State:
        if self.txn_parent is None and _runs_plain(self.task, self.flow_ctx):
            return run_plain(self)  # called or submitted: no step generator for a plain task
        return drive_sync(task_steps(self), self._call_sync)

    async def execute_async(self) -> State:
        return await drive_async(task_steps(self), self._call_async)

    def _call_sync(self, parameters: dict[str, Any]) -> Outcome:
        assert self.context is not None
        token = task_run_context.set(self.context)
        printing = print_target.set(self.logger) if self.context.log_prints else None
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
        printing = print_target.set(self.logger) if self.context.log_prints else None
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
            return None, exc
        finally:
            if txn is not None:
                active_transaction.reset(txn)
            if printing is not None:
                print_target.reset(printing)
            task_run_context.reset(token)


def _standalone_name(task: TaskDefinition, parameters: dict[str, Any]) -> str:
    """Outside a flow Prefect names a run after its task, with no dynamic key."""
    if task.options.task_run_name is None:
        return task.options.name
    return task.run_name(parameters, 0)


def task_steps(job: TaskRunJob) -> Steps:
    """The rules of one task run, for either driver (see `engine.steps`)."""
    try:
        parameters = _resolve_inputs(job)
    except SelfDependencyError as refused:  # Prefect fails the run rather than hang on itself
        return (yield from _finish(job, failure_state(refused)))
    if parameters is None:
        return job.run.state
    options = job.task.options
    log_prints = (
        options.log_prints
        if options.log_prints is not None
        else bool(job.flow_ctx and job.flow_ctx.log_prints)
    )
    if log_prints:
        capture_prints()
    job.context = TaskRunContext(job.task, job.run, parameters, log_prints)
    persists = not job.streams and persists_result(job.task, job.flow_ctx)
    try:
        cache_key, write_key = _keys(job, parameters, persists)
    except StorageKeyError as refused:
        return (yield from _finish(job, failure_state(refused)))
    if cache_key is not None and not options.refresh_cache:
        hit = _results(job).read(cache_key, serializer=_serializer_of(job))
        if hit is not None:
            _link_result(job, hit.value)
            return (yield from _finish(job, Cached(data=_held(job, cache_key, hit.value))))

    attempt = 0
    while True:
        job.run.run_count += 1
        running = Running() if attempt == 0 else Retrying()
        transition(job.run, running, job.sink)
        if options.on_running:
            yield RunHooks(options.on_running, (job.task, job.run, running), job.logger, log_prints)
        if job.txn_parent is not None or options.on_commit or options.on_rollback:
            _open_transaction(job, write_key, persists)
        outcome = yield CallBody(parameters)
        assert outcome is not None  # a body call always answers with its outcome
        value, exc = outcome
        state = state_from_return(value) if exc is None else failure_state(exc)
        if state.is_completed():
            _keep_result(job, write_key, persists, state)
            _link_result(job, state.data)
            return (yield from _finish(job, state))
        error = exc or state.exception or FailedRun(state.message or state.name)
        if not (isinstance(error, Exception) and _should_retry(job, attempt, error)):
            return (yield from _finish(job, state))
        yield from _await_retry(job, attempt, error)
        attempt += 1


def _resolve_inputs(job: TaskRunJob) -> dict[str, Any] | None:
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
    transition(
        job.run, NotReady(message=walker.failure, data=UpstreamTaskError(walker.failure)), job.sink
    )
    return None


def _await_retry(job: TaskRunJob, attempt: int, error: Exception) -> Steps:
    delay = _retry_delay(job, attempt)
    message = f"Retry {attempt + 1}/{job.task.options.retries} in {delay:.3g}s"
    transition(
        job.run, AwaitingRetry(message=f"{message} after {type(error).__name__}: {error}"), job.sink
    )
    job.logger.warning("Task run failed with %s: %s - %s", type(error).__name__, error, message)
    if delay > 0:
        yield Sleep(delay)
    return job.run.state


def _keys(
    job: TaskRunJob, parameters: dict[str, Any], persists: bool
) -> tuple[str | None, str | None]:
    """The key a stored result is looked for under, and the one it is written under.

    As in Prefect, a `result_storage_key` is both (unless the policy is NO_CACHE,
    then it is only written), and persisting nothing means neither.
    """
    options = job.task.options
    if options.result_storage_key is None:
        key = _safe_cache_key(job, parameters, persists)
        return key, key
    if not persists:
        return None, None
    flow_run = job.flow_ctx.run if job.flow_ctx else None
    key = render_storage_key(
        options.result_storage_key, options.name, parameters, job.run, flow_run
    )
    return (None if options.cache_policy is NO_CACHE else key), key


def _safe_cache_key(job: TaskRunJob, parameters: dict[str, Any], persists: bool) -> str | None:
    """The cache key; a policy or key function that fails means no caching, never a failed run."""
    try:
        return _cache_key(job, parameters, persists)
    except Exception as exc:
        job.logger.error(
            "No cache key (%s: %s); the task runs without caching.", type(exc).__name__, exc
        )
        return None


def _settle(job: TaskRunJob, state: State) -> State:
    """Record the final state, and log it when the run failed."""
    transition(job.run, state, job.sink)
    if state.type in _FAILING:
        retried = f" after {job.run.run_count} attempts" if job.run.run_count > 1 else ""
        detail = f"\n{(state.traceback or '').rstrip()}" if _shows_traceback(state) else ""
        job.logger.error("Finished in state %s%s: %s%s", state.name, retried, state.message, detail)
    return state


def _finish(job: TaskRunJob, state: State) -> Steps:
    _settle(job, state)
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
        yield RunHooks(hooks, (job.task, job.run, state), job.logger, log_prints)
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


def _results(job: TaskRunJob) -> ResultStore:
    """The task's own `result_storage`, else its flow's, else the project's results."""
    folder = job.task.options.result_storage
    if folder is not None:
        return store_at(folder)
    return job.flow_ctx.results if job.flow_ctx else _standalone_results


def _serializer_of(job: TaskRunJob) -> Any:
    """The task's serializer, else its flow's (as Prefect inherits it), else cloudpickle."""
    serializer = job.task.options.result_serializer
    if serializer is None and job.flow_ctx is not None:
        serializer = job.flow_ctx.flow.options.result_serializer
    return serializer or "cloudpickle"


def _keep(job: TaskRunJob, key: str, state: State) -> None:
    """Persist a completed run's result; with `cache_result_in_memory=False` the state lets go of it."""
    if _persist(job, key, state.data) and not job.task.options.cache_result_in_memory:
        state.data = _held(job, key, state.data)


def _held(job: TaskRunJob, key: str, value: Any) -> Any:
    """What the state holds: the value, or with `cache_result_in_memory=False` a way to read it."""
    if job.task.options.cache_result_in_memory:
        return value
    return StoredResult(key, partial(_results(job).load, key, _serializer_of(job)))


def _cache_key(job: TaskRunJob, parameters: dict[str, Any], persists: bool) -> str | None:
    policy = cache_policy_of(job.task, persists)
    if policy is None:
        return None
    assert job.context is not None
    flow_parameters = job.flow_ctx.run.parameters if job.flow_ctx else {}
    key = policy.compute_key(
        task_ctx=job.context, inputs=parameters, flow_parameters=flow_parameters
    )
    if key is None or isinstance(policy, CacheKeyFnPolicy):
        return key
    return hash_objects(
        job.task.task_key, key
    )  # a policy key is per task, never shared by accident


def persists_result(task: TaskDefinition, flow_ctx: FlowRunContext | None) -> bool:
    """Prefect's rule: explicit `persist_result`, else implied by caching options, else the flow's."""
    options = task.options
    if options.persist_result is not None:
        return options.persist_result
    if (
        options.cache_key_fn is not None
        or options.cache_policy is not None
        or options.result_serializer is not None
        or options.result_storage is not None
        or options.result_storage_key is not None
        or not options.cache_result_in_memory  # there must be somewhere to read it back from
    ):
        return True
    return flow_ctx is not None and flow_persists(flow_ctx.flow.options)


def cache_policy_of(task: TaskDefinition, persists: bool) -> CachePolicy | None:
    """The policy a task caches by, or None when its results are not reused."""
    options = task.options
    if not persists:
        return None
    if options.cache_key_fn is not None:
        return CacheKeyFnPolicy(options.cache_key_fn)
    return options.cache_policy if options.cache_policy is not None else DEFAULT


def _persist(job: TaskRunJob, key: str, value: Any) -> bool:
    """Write the result under `key`; a result that cannot be written is only warned about."""
    expiration = job.task.options.cache_expiration
    expires = time.time() + expiration.total_seconds() if expiration is not None else None
    try:
        _results(job).write(key, value, _serializer_of(job), expires)
    except Exception as exc:
        job.logger.warning(
            "The result could not be persisted (%s: %s); it will not be cached.",
            type(exc).__name__,
            exc,
        )
        return False
    job.run.cache_key = key
    return True


def _open_transaction(job: TaskRunJob, write_key: str | None, persists: bool) -> None:
    """This attempt's own transaction, joined to the one the task was called in (Prefect's)."""
    key = write_key if write_key is not None or not persists else job.run.id
    job.txn = task_transaction(
        job.txn_parent, job.task.options, key, _results(job), lambda: job.logger
    )


def _keep_result(job: TaskRunJob, write_key: str | None, persists: bool, state: State) -> None:
    """Persist a completed run's result now, or stage it in its transaction until commit.

    A staged result stays in memory (whatever `cache_result_in_memory` says):
    its file exists only once the transaction commits.
    """
    writes = write_key is not None or persists
    if job.txn is None:
        if writes:
            _keep(job, write_key or job.run.id, state)
        return
    write = partial(_persist, job) if writes else None
    if writes:  # where it will be once committed, so pruning the run finds it
        job.run.cache_key = write_key or job.run.id
    settle_task_transaction(job.txn, state.data, job.task.options, write, _rollback_announcer(job))


def _rollback_announcer(job: TaskRunJob) -> Any:
    """A rollback hook that records `orc.task-run.RolledBack`; not logged (it is not the user's)."""
    announce = partial(_announce_rollback, job.sink, job.run)  # not the job: keep little alive
    announce.log_on_run = False  # type: ignore[attr-defined]
    return announce


def _announce_rollback(sink: RecordSink, run: TaskRunRecord, _txn: Transaction) -> None:
    sink.put(rolled_back_event(run))


def _link_result(job: TaskRunJob, value: Any) -> None:
    if job.flow_ctx is not None and is_linkable(value):
        job.flow_ctx.result_links.add(job.run.id, value)


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
    return unwrap_state(job.execute_sync(), return_state)


def _runs_plain(task: TaskDefinition, flow_ctx: FlowRunContext | None) -> bool:
    plain = task.plain
    if plain is _ALWAYS:
        return True
    return plain is _FLOW_DECIDES and (flow_ctx is None or flow_ctx.plain_tasks)


def run_plain(job: TaskRunJob) -> State:
    """`task_steps` for a plain sync task (see `Plainness`), with no generator.

    What the steps would do with no retries, caching, results to keep, prints to
    capture, hooks or transaction: the same states, records and result links.
    """
    try:
        parameters = _resolve_inputs(job)
    except SelfDependencyError as refused:
        return _settle(job, failure_state(refused))
    if parameters is None:
        return job.run.state
    run = job.run
    job.context = TaskRunContext(job.task, run, parameters, False)
    run.run_count += 1
    transition(run, State(_RUNNING, "Running"), job.sink)
    value, exc = job._call_sync(parameters)
    state = state_from_return(value) if exc is None else failure_state(exc)
    if state.type is _COMPLETED:
        _link_result(job, state.data)
    return _settle(job, state)


async def _call_async(job: TaskRunJob, return_state: bool) -> Any:
    return unwrap_state(await job.execute_async(), return_state)


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
