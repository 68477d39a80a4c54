"""orc: Python functions become observable, retryable, schedulable flows.

    from orchestrate import flow, task

The API is Prefect 3's, so a Prefect flow moves over by changing its import.
Names load on first use, which keeps `import orchestrate` fast.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from orchestrate._version import __version__

if TYPE_CHECKING:
    from orchestrate.context import tags
    from orchestrate.events import emit_event
    from orchestrate.flow_runs import (
        apause_flow_run,
        aresume_flow_run,
        asuspend_flow_run,
        pause_flow_run,
        resume_flow_run,
        suspend_flow_run,
    )
    from orchestrate.flows import Flow, flow
    from orchestrate.futures import PrefectFuture
    from orchestrate.logging import get_run_logger
    from orchestrate.states import State
    from orchestrate.tasks import Task, task
    from orchestrate.transactions import Transaction
    from orchestrate.utilities.annotations import allow_failure, unmapped

_EXPORTS = {
    "flow": "orchestrate.flows",
    "Flow": "orchestrate.flows",
    "task": "orchestrate.tasks",
    "Task": "orchestrate.tasks",
    "get_run_logger": "orchestrate.logging",
    "tags": "orchestrate.context",
    "unmapped": "orchestrate.utilities.annotations",
    "allow_failure": "orchestrate.utilities.annotations",
    "State": "orchestrate.states",
    "PrefectFuture": "orchestrate.futures",
    "emit_event": "orchestrate.events",
    "Transaction": "orchestrate.transactions",
    "pause_flow_run": "orchestrate.flow_runs",
    "suspend_flow_run": "orchestrate.flow_runs",
    "resume_flow_run": "orchestrate.flow_runs",
    "apause_flow_run": "orchestrate.flow_runs",
    "asuspend_flow_run": "orchestrate.flow_runs",
    "aresume_flow_run": "orchestrate.flow_runs",
}

__all__ = [
    "Flow",
    "PrefectFuture",
    "State",
    "Task",
    "Transaction",
    "__version__",
    "allow_failure",
    "apause_flow_run",
    "aresume_flow_run",
    "asuspend_flow_run",
    "emit_event",
    "flow",
    "get_run_logger",
    "pause_flow_run",
    "resume_flow_run",
    "suspend_flow_run",
    "tags",
    "task",
    "unmapped",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'orchestrate' has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
