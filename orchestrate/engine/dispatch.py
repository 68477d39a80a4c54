"""Whether the caller is async code, judged by the run in progress (Prefect's `async_dispatch`).

`State.result()` lives in `orchestrate.core`, which cannot see the engine's
context; importing this module hands it the probe it asks.
"""

from __future__ import annotations

from orchestrate.core.states import set_run_probe
from orchestrate.engine.context import flow_run_context, task_run_context


def run_is_async() -> bool | None:
    """True inside an async task or flow, False inside a sync one, None outside any run."""
    task_context = task_run_context.get()
    if task_context is not None:
        return task_context.task.is_async
    flow_context = flow_run_context.get()
    if flow_context is not None:
        return flow_context.flow.is_async
    return None


set_run_probe(run_is_async)
