"""What is running right now: the flow run and task run of the current thread or task.

Context variables carry them, so threads started by the task runner and
asyncio tasks each see their own, and `get_run_logger()` and
`orchestrate.runtime` can find the run without it being passed around.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from orchestrate.core.errors import MissingContextError
from orchestrate.core.records import FlowRunRecord, RecordSink, TaskRunRecord
from orchestrate.engine.links import ResultLinks

if TYPE_CHECKING:
    from orchestrate.core.states import State
    from orchestrate.engine.definitions import FlowDefinition, TaskDefinition
    from orchestrate.engine.record_gate import RecordGate
    from orchestrate.engine.results import ResultStore
    from orchestrate.engine.runners import TaskRunner


@dataclass(slots=True, eq=False)
class FlowRunContext:
    """The flow run in progress and what its task runs share."""

    flow: FlowDefinition
    run: FlowRunRecord
    sink: RecordSink
    task_runner: TaskRunner
    results: ResultStore
    log_prints: bool = False
    #: Its plain tasks need no more (it neither persists results nor logs prints): `Plainness`.
    plain_tasks: bool = False
    #: The flow run this one is a subflow of: the context current when this one was made.
    parent: FlowRunContext | None = field(default_factory=lambda: flow_run_context.get())
    _counters: dict[str, itertools.count[int]] = field(default_factory=dict)
    #: Results linked back to the task run that produced them, while they live.
    result_links: ResultLinks = field(default_factory=ResultLinks)
    #: Child flows that completed in an earlier attempt of this run, by stand-in name
    #: (`child-0`): a retry hands back their state instead of running them again, as Prefect does.
    completed_subflows: dict[str, State] = field(default_factory=dict)

    @classmethod
    def get(cls) -> FlowRunContext | None:
        """The flow run in progress in this thread or task, or None (Prefect's `FlowRunContext.get()`)."""
        return flow_run_context.get()

    @property
    def flow_run(self) -> FlowRunRecord:
        """Prefect's name for the run (`FlowRunContext.get().flow_run.id`)."""
        return self.run

    @property
    def parameters(self) -> dict[str, Any]:
        """The run's parameters, as validated (Prefect's `flow_run_ctx.parameters`)."""
        return self.run.parameters

    def next_dynamic_key(self, task_key: str) -> int:
        counter = self._counters.get(task_key)
        if counter is None:
            counter = self._counters.setdefault(task_key, itertools.count())
        return next(counter)


@dataclass(slots=True, eq=False)
class TaskRunContext:
    """The task run in progress."""

    task: TaskDefinition
    run: TaskRunRecord
    parameters: dict[str, Any]
    log_prints: bool = False

    @classmethod
    def get(cls) -> TaskRunContext | None:
        """The task run in progress in this thread or task, or None (Prefect's `TaskRunContext.get()`)."""
        return task_run_context.get()

    @property
    def task_run(self) -> TaskRunRecord:
        """Prefect's name for the run (`context.task_run.flow_run_id` in a cache_key_fn)."""
        return self.run


flow_run_context: ContextVar[FlowRunContext | None] = ContextVar("orc_flow_run", default=None)
task_run_context: ContextVar[TaskRunContext | None] = ContextVar("orc_task_run", default=None)
#: On a task runner's threads, the gate their runs change state through (`record_gate`).
runner_gate: ContextVar[RecordGate | None] = ContextVar("orc_runner_gate", default=None)
_tags: ContextVar[frozenset[str]] = ContextVar("orc_tags", default=frozenset())


def current_tags() -> frozenset[str]:
    return _tags.get()


@contextmanager
def tags(*names: str) -> Iterator[frozenset[str]]:
    """Add tags to every task run (and flow run) created inside the block.

    Args:
        *names: the tags to add to those already in force.
    """
    current = _tags.get() | frozenset(names)
    token = _tags.set(current)
    try:
        yield current
    finally:
        _tags.reset(token)


def get_run_context() -> TaskRunContext | FlowRunContext:
    """The innermost run in progress; raises if called outside of any run."""
    context: TaskRunContext | FlowRunContext | None = (
        task_run_context.get() or flow_run_context.get()
    )
    if context is None:
        raise MissingContextError("No run is in progress: call this inside a @flow or @task.")
    return context
