"""The current task run's attributes, read on access (`task_run.id`, `task_run.name`, …)."""

from __future__ import annotations

from typing import Any

from orchestrate.engine import task_run_context

__all__ = ["id", "name", "parameters", "run_count", "tags", "task_name"]


def __getattr__(attribute: str) -> Any:
    if attribute not in __all__:
        raise AttributeError(f"orchestrate.runtime.task_run has no attribute {attribute!r}")
    context = task_run_context.get()
    if context is None:
        return {} if attribute == "parameters" else [] if attribute == "tags" else None
    if attribute == "parameters":
        return context.parameters
    if attribute == "task_name":
        return context.task.options.name
    if attribute == "tags":
        return list(context.run.tags)
    return getattr(context.run, attribute)
