"""Direct calls of generator tasks and flows: a task run or flow run that streams its items.

`Task.__call__` and `Flow.__call__` come here when the function yields (sync
or async); everything else about the run (states, retries, hooks, records)
is the same task or flow run as any other, driven by `engine.streams`.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterable, Iterator
from contextlib import ExitStack, contextmanager
from typing import TYPE_CHECKING, Any

from orchestrate.core.errors import FlowRunTimeoutError, RunTimeout, TaskRunTimeoutError
from orchestrate.engine.context import flow_run_context, task_run_context
from orchestrate.engine.flow_engine import FlowRunJob, flow_steps, stand_in_name
from orchestrate.engine.links import is_linkable
from orchestrate.engine.logs import print_target, prints_to
from orchestrate.engine.streams import refused, refused_async, stream_async, stream_sync
from orchestrate.engine.task_engine import TaskRunJob
from orchestrate.engine.task_rules import task_steps

if TYPE_CHECKING:
    from orchestrate.engine.definitions import FlowDefinition, TaskDefinition


def is_generator(fn: Any) -> bool:
    """Whether calling `fn` makes a generator or an async generator (Prefect's `isgenerator`)."""
    return inspect.isgeneratorfunction(fn) or inspect.isasyncgenfunction(fn)


def stream_task(
    task: TaskDefinition,
    parameters: dict[str, Any],
    wait_for: Iterable[Any] | None,
    return_state: bool,
) -> Any:
    """A generator task called directly: a generator of its items, made inside one task run."""
    streams_async = inspect.isasyncgenfunction(task.fn)
    if return_state:  # refused before any task run exists, as in Prefect
        return refused_async("task") if streams_async else refused("task")
    job = TaskRunJob(task, parameters, wait_for, flow_run_context.get())
    job.streams = True
    body = _TaskStream(job)
    return (
        stream_async(task_steps(job), body) if streams_async else stream_sync(task_steps(job), body)
    )


def stream_flow(flow: FlowDefinition, parameters: dict[str, Any], return_state: bool) -> Any:
    """A generator flow called: a generator of its items, made inside one flow run."""
    streams_async = inspect.isasyncgenfunction(flow.fn)
    if return_state:
        return refused_async("flow") if streams_async else refused("flow")
    parent = flow_run_context.get()
    name = None if parent is None else stand_in_name(parent, flow)
    job = FlowRunJob(flow, parameters, stand_in_name=name)
    body = _FlowStream(job)
    return (
        stream_async(flow_steps(job), body) if streams_async else stream_sync(flow_steps(job), body)
    )


class _TaskStream:
    """A task run's generator body, for `engine.streams`."""

    timeout_error: type[RunTimeout] = TaskRunTimeoutError

    def __init__(self, job: TaskRunJob) -> None:
        self.job = job
        self.timeout = job.task.options.timeout_seconds

    def open(self, parameters: dict[str, Any]) -> Any:
        with self.inside():
            return self.job.task.call(parameters)

    @contextmanager
    def inside(self) -> Iterator[None]:
        context = self.job.context
        assert context is not None  # set by the steps before they ask for the body
        token = task_run_context.set(context)
        printing = prints_to(self.job.logger, context.log_prints)
        try:
            yield
        finally:
            if printing is not None:
                print_target.reset(printing)
            task_run_context.reset(token)

    def close(self) -> None:
        pass

    def made(self, item: Any) -> None:
        flow_ctx = self.job.flow_ctx
        if flow_ctx is not None and is_linkable(item):  # as Prefect links each yielded item
            flow_ctx.result_links.add(self.job.run.id, item)


class _FlowStream:
    """A flow run's generator body: its context and task runner last as long as the stream."""

    timeout_error: type[RunTimeout] = FlowRunTimeoutError

    def __init__(self, job: FlowRunJob) -> None:
        self.job = job
        self.timeout = job.flow.options.timeout_seconds
        self._held = ExitStack()

    def open(self, parameters: dict[str, Any]) -> Any:
        context = self.job._new_context()
        self._held.enter_context(context.task_runner)
        with self.inside():
            return self.job.flow.call(parameters)

    @contextmanager
    def inside(self) -> Iterator[None]:
        context = self.job.context
        assert context is not None
        token = flow_run_context.set(context)
        printing = print_target.set(self.job.logger if context.log_prints else None)
        try:
            yield
        finally:
            print_target.reset(printing)
            flow_run_context.reset(token)

    def close(self) -> None:
        self._held.close()  # waits for the task runs the body submitted

    def made(self, item: Any) -> None:
        pass


__all__ = ["is_generator", "stream_flow", "stream_task"]
