"""Runs flows and tasks in-process: task runs, futures, retries, timeouts, caching, results, logs.

The public modules (`orchestrate.flows`, `orchestrate.tasks`, `orchestrate.futures`, ...)
reach the engine only through the names below. The engine never imports them,
nor the store's writer, the daemon, the CLI or the TUI: it reads flows and
tasks through `FlowDefinition`/`TaskDefinition` and hands what happens to the
process's record sink (`orchestrate.recording`).

Names load on first use, so `import orchestrate` stays quick and a sync flow
never loads asyncio.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from orchestrate.engine.caching import (
        DEFAULT,
        FLOW_PARAMETERS,
        INPUTS,
        NO_CACHE,
        NONE,
        RUN_ID,
        TASK_SOURCE,
        CacheKeyError,
        CacheKeyFnPolicy,
        CachePolicy,
        CompoundCachePolicy,
        FlowParameters,
        Inputs,
        RunId,
        TaskSource,
        hash_objects,
        source_hash,
    )
    from orchestrate.engine.context import (
        FlowRunContext,
        TaskRunContext,
        current_tags,
        flow_run_context,
        get_run_context,
        tags,
        task_run_context,
    )
    from orchestrate.engine.definitions import (
        FlowOptions,
        Hook,
        Plainness,
        TaskOptions,
        plainness,
    )
    from orchestrate.engine.flow_engine import call_flow
    from orchestrate.engine.futures import (
        DoneAndNotDoneFutures,
        PrefectFuture,
        PrefectFutureList,
        as_completed,
        wait,
    )
    from orchestrate.engine.generator_runs import is_generator, stream_flow, stream_task
    from orchestrate.engine.logs import RunLogger, configure, flow_run_logger, task_run_logger
    from orchestrate.engine.outcomes import resolve_futures_to_results, resolve_futures_to_states
    from orchestrate.engine.params import ParameterValidator, bind_parameters
    from orchestrate.engine.pauses import pause
    from orchestrate.engine.retries import RetryDelay, exponential_backoff
    from orchestrate.engine.runners import TaskRunner, ThreadPoolTaskRunner
    from orchestrate.engine.steps import bind_plan, call_plan
    from orchestrate.engine.task_engine import call_task, submit_task, submit_tasks
    from orchestrate.engine.transactions import (
        AsyncTransaction,
        CommitMode,
        IsolationLevel,
        ResultRecord,
        Transaction,
        TransactionState,
        atransaction,
        get_transaction,
        transaction,
    )

#: Each name of the engine's entry and the module that defines it.
_HOMES = {
    "DEFAULT": "caching",
    "FLOW_PARAMETERS": "caching",
    "INPUTS": "caching",
    "NO_CACHE": "caching",
    "NONE": "caching",
    "RUN_ID": "caching",
    "TASK_SOURCE": "caching",
    "CacheKeyError": "caching",
    "CacheKeyFnPolicy": "caching",
    "CachePolicy": "caching",
    "CompoundCachePolicy": "caching",
    "FlowParameters": "caching",
    "Inputs": "caching",
    "RunId": "caching",
    "TaskSource": "caching",
    "hash_objects": "caching",
    "source_hash": "caching",
    "FlowRunContext": "context",
    "TaskRunContext": "context",
    "current_tags": "context",
    "flow_run_context": "context",
    "get_run_context": "context",
    "tags": "context",
    "task_run_context": "context",
    "FlowOptions": "definitions",
    "Hook": "definitions",
    "TaskOptions": "definitions",
    "plainness": "definitions",
    "Plainness": "definitions",
    "call_flow": "flow_engine",
    "DoneAndNotDoneFutures": "futures",
    "PrefectFuture": "futures",
    "PrefectFutureList": "futures",
    "as_completed": "futures",
    "wait": "futures",
    "RunLogger": "logs",
    "configure": "logs",
    "flow_run_logger": "logs",
    "task_run_logger": "logs",
    "resolve_futures_to_results": "outcomes",
    "resolve_futures_to_states": "outcomes",
    "ParameterValidator": "params",
    "bind_parameters": "params",
    "pause": "pauses",
    "RetryDelay": "retries",
    "exponential_backoff": "retries",
    "TaskRunner": "runners",
    "ThreadPoolTaskRunner": "runners",
    "bind_plan": "steps",
    "call_plan": "steps",
    "call_task": "task_engine",
    "is_generator": "generator_runs",
    "stream_flow": "generator_runs",
    "stream_task": "generator_runs",
    "submit_task": "task_engine",
    "submit_tasks": "task_engine",
    "AsyncTransaction": "transactions",
    "atransaction": "transactions",
    "CommitMode": "transactions",
    "IsolationLevel": "transactions",
    "ResultRecord": "transactions",
    "Transaction": "transactions",
    "TransactionState": "transactions",
    "get_transaction": "transactions",
    "transaction": "transactions",
}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{home}"), name)
    globals()[name] = value
    return value


__all__ = [
    "DEFAULT",
    "FLOW_PARAMETERS",
    "INPUTS",
    "NONE",
    "NO_CACHE",
    "RUN_ID",
    "TASK_SOURCE",
    "AsyncTransaction",
    "CacheKeyError",
    "CacheKeyFnPolicy",
    "CachePolicy",
    "CommitMode",
    "CompoundCachePolicy",
    "DoneAndNotDoneFutures",
    "FlowOptions",
    "FlowParameters",
    "FlowRunContext",
    "Hook",
    "Inputs",
    "IsolationLevel",
    "ParameterValidator",
    "Plainness",
    "PrefectFuture",
    "PrefectFutureList",
    "ResultRecord",
    "RetryDelay",
    "RunId",
    "RunLogger",
    "TaskOptions",
    "TaskRunContext",
    "TaskRunner",
    "TaskSource",
    "ThreadPoolTaskRunner",
    "Transaction",
    "TransactionState",
    "as_completed",
    "atransaction",
    "bind_parameters",
    "bind_plan",
    "call_flow",
    "call_plan",
    "call_task",
    "configure",
    "current_tags",
    "exponential_backoff",
    "flow_run_context",
    "flow_run_logger",
    "get_run_context",
    "get_transaction",
    "hash_objects",
    "is_generator",
    "pause",
    "plainness",
    "resolve_futures_to_results",
    "resolve_futures_to_states",
    "source_hash",
    "stream_flow",
    "stream_task",
    "submit_task",
    "submit_tasks",
    "tags",
    "task_run_context",
    "task_run_logger",
    "transaction",
    "wait",
]
