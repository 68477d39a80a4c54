"""The run context of the current flow run or task run (Prefect's `prefect.context`)."""

from orchestrate.engine import (
    FlowRunContext,
    TaskRunContext,
    current_tags,
    flow_run_context,
    get_run_context,
    tags,
    task_run_context,
)

__all__ = [
    "FlowRunContext",
    "TaskRunContext",
    "current_tags",
    "flow_run_context",
    "get_run_context",
    "tags",
    "task_run_context",
]
