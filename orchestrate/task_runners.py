"""Where submitted task runs execute (Prefect's `prefect.task_runners`).

`ThreadPoolTaskRunner` is the default. `DaskTaskRunner` runs task runs on a
Dask cluster; it lives in the Dask integration (`orchestrate.integrations.dask`,
Prefect's `prefect_dask`) and is named here too, for flows written against
that path. It loads on first use, so importing this module never loads
`distributed`.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from orchestrate.engine import TaskRunner, ThreadPoolTaskRunner

if TYPE_CHECKING:
    from orchestrate.integrations.dask import DaskTaskRunner

#: Runners an integration defines, and that integration. An integration is built on
#: the engine, so nothing below it imports one: this module looks the runner up by name
#: when first asked for it (as a plugin is found), and the dependency points one way.
_INTEGRATION_RUNNERS = {"DaskTaskRunner": "orchestrate.integrations.dask"}


def __getattr__(name: str) -> Any:
    if name in _INTEGRATION_RUNNERS:
        return getattr(importlib.import_module(_INTEGRATION_RUNNERS[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["DaskTaskRunner", "TaskRunner", "ThreadPoolTaskRunner"]
