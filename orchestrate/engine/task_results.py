"""A task run's result: the keys it is cached and written under, kept, persisted, linked.

`task_rules` asks here whether a run's result is persisted (Prefect's rule),
under which keys it is looked for and written, and then keeps it: written at
once, or staged in the run's transaction until it commits, and linked by
identity to its run, so a later task it is passed to records a data edge.
"""

from __future__ import annotations

import time
from functools import partial
from typing import TYPE_CHECKING, Any

from orchestrate.core.states import State, StoredResult
from orchestrate.engine.caching import (
    DEFAULT,
    NO_CACHE,
    CacheKeyFnPolicy,
    CachePolicy,
    hash_objects,
)
from orchestrate.engine.links import is_linkable
from orchestrate.engine.results import ResultStore, flow_persists, store_at
from orchestrate.engine.storage_keys import render_storage_key
from orchestrate.engine.transactions import (
    rolled_back_event,
    settle_task_transaction,
    task_transaction,
)

if TYPE_CHECKING:
    from orchestrate.core.records import RecordSink, TaskRunRecord
    from orchestrate.engine.context import FlowRunContext
    from orchestrate.engine.definitions import TaskDefinition
    from orchestrate.engine.task_engine import TaskRunJob
    from orchestrate.engine.transactions import Transaction

_standalone_results = ResultStore()


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


def result_keys(
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


def results_of(job: TaskRunJob) -> ResultStore:
    """The task's own `result_storage`, else its flow's, else the project's results."""
    folder = job.task.options.result_storage
    if folder is not None:
        return store_at(folder)
    return job.flow_ctx.results if job.flow_ctx else _standalone_results


def serializer_of(job: TaskRunJob) -> Any:
    """The task's serializer, else its flow's (as Prefect inherits it), else cloudpickle."""
    serializer = job.task.options.result_serializer
    if serializer is None and job.flow_ctx is not None:
        serializer = job.flow_ctx.flow.options.result_serializer
    return serializer or "cloudpickle"


def held(job: TaskRunJob, key: str, value: Any) -> Any:
    """What the state holds: the value, or with `cache_result_in_memory=False` a way to read it."""
    if job.task.options.cache_result_in_memory:
        return value
    return StoredResult(key, partial(results_of(job).load, key, serializer_of(job)))


def open_transaction(job: TaskRunJob, write_key: str | None, persists: bool) -> None:
    """This attempt's own transaction, joined to the one the task was called in (Prefect's)."""
    key = write_key if write_key is not None or not persists else job.run.id
    job.txn = task_transaction(
        job.txn_parent, job.task.options, key, results_of(job), lambda: job.logger
    )


def keep_result(job: TaskRunJob, write_key: str | None, persists: bool, state: State) -> None:
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


def _keep(job: TaskRunJob, key: str, state: State) -> None:
    """Persist a completed run's result; with `cache_result_in_memory=False` the state lets go of it."""
    if _persist(job, key, state.data) and not job.task.options.cache_result_in_memory:
        state.data = held(job, key, state.data)


def _persist(job: TaskRunJob, key: str, value: Any) -> bool:
    """Write the result under `key`; a result that cannot be written is only warned about."""
    expiration = job.task.options.cache_expiration
    expires = time.time() + expiration.total_seconds() if expiration is not None else None
    try:
        results_of(job).write(key, value, serializer_of(job), expires)
    except Exception as exc:
        job.logger.warning(
            "The result could not be persisted (%s: %s); it will not be cached.",
            type(exc).__name__,
            exc,
        )
        return False
    job.run.cache_key = key
    return True


def _rollback_announcer(job: TaskRunJob) -> Any:
    """A rollback hook that records `orc.task-run.RolledBack`; not logged (it is not the user's)."""
    announce = partial(_announce_rollback, job.sink, job.run)  # not the job: keep little alive
    announce.log_on_run = False  # type: ignore[attr-defined]
    return announce


def _announce_rollback(sink: RecordSink, run: TaskRunRecord, _txn: Transaction) -> None:
    sink.put(rolled_back_event(run))


def link_result(job: TaskRunJob, value: Any) -> None:
    """Link a completed run's value to it by identity, for the edges of the tasks it is passed to."""
    if job.flow_ctx is not None and is_linkable(value):
        job.flow_ctx.result_links.add(job.run.id, value)
