"""`get_run_logger()`: a logger whose lines are kept with the current run (Prefect's API)."""

from __future__ import annotations

from orchestrate.core.errors import MissingContextError
from orchestrate.engine import (
    RunLogger,
    configure,
    flow_run_context,
    flow_run_logger,
    task_run_context,
    task_run_logger,
)


def get_run_logger() -> RunLogger:
    """The logger of the task run or flow run in progress.

    Its lines show on the console and are stored with the run (`orc logs RUN`).
    """
    configure()
    task_ctx = task_run_context.get()
    if task_ctx is not None:
        run = task_ctx.run
        return task_run_logger(run.flow_run_id, run.id, run.name)
    flow_ctx = flow_run_context.get()
    if flow_ctx is not None:
        return flow_run_logger(flow_ctx.run.id, flow_ctx.run.name)
    raise MissingContextError(
        "There is no active flow or task run: call get_run_logger() inside a @flow or @task "
        "(use the standard logging module elsewhere)."
    )


__all__ = ["MissingContextError", "get_run_logger"]
