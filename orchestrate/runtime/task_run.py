"""The current task run's attributes, read on access (Prefect's `prefect.runtime.task_run`).

Outside of a task run the values are Prefect's empty ones (`None`, `[]`,
`{}`, `run_count` 0). `ORC__RUNTIME__TASK_RUN__<NAME>` or
`PREFECT__RUNTIME__TASK_RUN__<NAME>` overrides an attribute (see `overrides`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from orchestrate.engine import TaskRunContext
from orchestrate.runtime.overrides import read

__all__ = ["api_url", "id", "name", "parameters", "run_count", "tags", "task_name", "ui_url"]


def __getattr__(attribute: str) -> Any:
    return read(__name__, "task_run", attribute, _GETTERS)


def __dir__() -> list[str]:
    return sorted(__all__)


def _from_run(read_run: Callable[[TaskRunContext], Any], empty: Any = None) -> Callable[[], Any]:
    def get() -> Any:
        context = TaskRunContext.get()
        if context is None:
            return empty() if callable(empty) else empty
        return read_run(context)

    return get


_GETTERS: dict[str, Callable[[], Any]] = {
    "id": _from_run(lambda c: c.run.id),
    "name": _from_run(lambda c: c.run.name),
    "task_name": _from_run(lambda c: c.task.options.name),
    "parameters": _from_run(lambda c: c.parameters, dict),
    "tags": _from_run(lambda c: list(c.run.tags), list),
    "run_count": _from_run(lambda c: c.run.run_count, 0),
    "api_url": lambda: None,  # no API server: runs are read with `orc runs`
    "ui_url": lambda: None,
}
