"""The current flow run's attributes, read on access (Prefect's `prefect.runtime.flow_run`).

Inside a flow run (or a task run of one) each attribute reads the run
context; outside of one the values are Prefect's empty ones: `None`, `[]`,
`{}`, `run_count` 0 and `scheduled_start_time` now. `ORC__RUNTIME__FLOW_RUN__<NAME>`
or `PREFECT__RUNTIME__FLOW_RUN__<NAME>` overrides an attribute (see `overrides`).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from orchestrate.engine import FlowRunContext, TaskRunContext
from orchestrate.runtime.overrides import read

__all__ = [
    "api_url",
    "deployment_name",
    "flow_name",
    "flow_version",
    "id",
    "job_variables",
    "name",
    "parameters",
    "parent_deployment_id",
    "parent_flow_run_id",
    "root_flow_run_id",
    "run_count",
    "scheduled_start_time",
    "tags",
    "ui_url",
]


def __getattr__(attribute: str) -> Any:
    return read(__name__, "flow_run", attribute, _GETTERS)


def __dir__() -> list[str]:
    return sorted(__all__)


def _root_flow_run_id(context: FlowRunContext) -> str:
    """The outermost flow run of this process's chain (or the parent a deployment run was given)."""
    while context.parent is not None:
        context = context.parent
    return context.run.parent_flow_run_id or context.run.id


def _scheduled_start_time(context: FlowRunContext | None) -> datetime:
    if context is None:
        return datetime.now(UTC)
    run = context.run
    return datetime.fromtimestamp(run.expected_start_time or run.start_time or run.created, UTC)


def _from_run(read_run: Callable[[FlowRunContext], Any], empty: Any = None) -> Callable[[], Any]:
    def get() -> Any:
        context = FlowRunContext.get()
        if context is None:
            return empty() if callable(empty) else empty
        return read_run(context)

    return get


def _id() -> str | None:
    """The flow run's id; a task run whose flow's context is not here (a Dask worker) knows it too."""
    context = FlowRunContext.get()
    if context is not None:
        return context.run.id
    task_context = TaskRunContext.get()
    return task_context.run.flow_run_id if task_context is not None else None


def _parent_deployment(context: FlowRunContext) -> str | None:
    return context.parent.run.deployment if context.parent is not None else None


_GETTERS: dict[str, Callable[[], Any]] = {
    "id": _id,
    "name": _from_run(lambda c: c.run.name),
    "flow_name": _from_run(lambda c: c.flow.options.name),
    "flow_version": _from_run(lambda c: c.flow.options.version),
    "deployment_name": _from_run(lambda c: c.run.deployment),
    "parameters": _from_run(lambda c: c.run.parameters, dict),
    "tags": _from_run(lambda c: list(c.run.tags), list),
    "run_count": _from_run(lambda c: c.run.run_count, 0),
    "scheduled_start_time": lambda: _scheduled_start_time(FlowRunContext.get()),
    "parent_flow_run_id": _from_run(lambda c: c.run.parent_flow_run_id),
    "parent_deployment_id": _from_run(_parent_deployment),
    "root_flow_run_id": _from_run(_root_flow_run_id),
    "job_variables": _from_run(lambda c: {}),  # local runs have no work pool to vary
    "api_url": lambda: None,  # no API server: runs are read with `orc runs`
    "ui_url": lambda: None,
}
