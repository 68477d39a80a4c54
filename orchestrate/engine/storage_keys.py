"""Filling in a task's `result_storage_key`, as Prefect does: `"{parameters[x]}.json"`.

Prefect formats the template with its runtime modules and the run's
parameters; orc offers the same names with what a local run knows.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from orchestrate.core.records import FlowRunRecord, TaskRunRecord


class StorageKeyError(ValueError):
    """A `result_storage_key` names something the run does not have; the run fails, saying so."""


def render_storage_key(
    template: str,
    task_name: str,
    parameters: dict[str, Any],
    task_run: TaskRunRecord,
    flow_run: FlowRunRecord | None,
) -> str:
    """The key for this run: `template` formatted with `parameters`, `task_run`, `flow_run`."""
    names = {
        "parameters": parameters,
        "task_run": SimpleNamespace(
            id=task_run.id,
            name=task_run.name,
            task_name=task_name,
            parameters=parameters,
            run_count=task_run.run_count,
            tags=list(task_run.tags),
        ),
        "flow_run": SimpleNamespace(
            id=flow_run.id if flow_run else None,
            name=flow_run.name if flow_run else None,
            flow_name=flow_run.flow_name if flow_run else None,
            parameters=flow_run.parameters if flow_run else {},
        ),
        "deployment": SimpleNamespace(
            id=None, name=flow_run.deployment if flow_run else None, parameters={}
        ),
    }
    try:
        return template.format(**names)
    except (KeyError, IndexError, AttributeError, ValueError) as exc:
        usable = ", ".join(f"{{parameters[{name}]}}" for name in parameters) or "no parameters"
        raise StorageKeyError(
            f"Task {task_name!r}: result_storage_key {template!r} could not be filled in "
            f"({type(exc).__name__}: {exc}). It may use {usable}, {{task_run.id}}, "
            "{task_run.name}, {flow_run.id}, {flow_run.name} or {deployment.name}."
        ) from exc


__all__ = ["StorageKeyError", "render_storage_key"]
