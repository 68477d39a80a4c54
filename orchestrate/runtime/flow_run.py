"""The current flow run's attributes, read on access (`flow_run.id`, `flow_run.name`, …)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from orchestrate.engine import flow_run_context

__all__ = [
    "deployment_name",
    "flow_name",
    "id",
    "name",
    "parameters",
    "parent_flow_run_id",
    "run_count",
    "scheduled_start_time",
    "tags",
]


def __getattr__(attribute: str) -> Any:
    if attribute not in __all__:
        raise AttributeError(f"orchestrate.runtime.flow_run has no attribute {attribute!r}")
    context = flow_run_context.get()
    if context is None:
        return {} if attribute == "parameters" else [] if attribute == "tags" else None
    run = context.run
    if attribute == "scheduled_start_time":
        start = run.expected_start_time or run.start_time or run.created
        return datetime.fromtimestamp(start, UTC)
    if attribute == "deployment_name":
        return run.deployment
    if attribute == "tags":
        return list(run.tags)
    return getattr(run, attribute)
