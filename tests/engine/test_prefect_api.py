"""Prefect code runs unchanged: decorators on methods, validation, hooks, context and annotations."""

from __future__ import annotations

from orchestrate import flow, task
from orchestrate.context import FlowRunContext, TaskRunContext


def test_run_contexts_are_found_with_their_class_get(recorded) -> None:
    seen: dict[str, object] = {}

    @task
    def work() -> None:
        context = TaskRunContext.get()
        assert context is not None
        seen["task"] = (context.task_run.name, FlowRunContext.get() is not None)

    @flow(flow_run_name="run-{day}")
    def pipeline(day: str) -> None:
        context = FlowRunContext.get()
        assert context is not None
        seen["flow"] = (context.flow_run.name, context.parameters, TaskRunContext.get())
        work()

    assert FlowRunContext.get() is None and TaskRunContext.get() is None
    pipeline("mon")
    assert seen == {"flow": ("run-mon", {"day": "mon"}, None), "task": ("work-0", True)}
