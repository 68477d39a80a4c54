"""Task runs on a Dask cluster (`distributed`), Prefect's `prefect_dask` for orc.

    from orchestrate.integrations.dask import DaskTaskRunner

`orchestrate.task_runners.DaskTaskRunner` is the same class, kept for flows
written against Prefect's paths. Where each part runs:

- `runner`: the flow process side, `DaskTaskRunner` and the events that move task runs on;
- `attempts`: packing body attempts into Dask tasks and sending them in batches (a `.map()` as one graph);
- `collector`: collecting the attempts' outcomes as Dask settles them, the ended ones gathered together;
- `remote`: what a Dask worker runs for one attempt (kept light: workers import only this);
- `cluster`: connecting to a scheduler or starting a cluster, and the errors of this package;
- `clients`: `get_dask_client()` and `get_async_dask_client()`, a client for the code of a run.

Names load on first use, so a Dask worker that imports `remote` does not load
the flow-process side, and nothing here imports `distributed` until a runner
is entered.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from orchestrate.integrations.dask.clients import get_async_dask_client, get_dask_client
    from orchestrate.integrations.dask.cluster import (
        DaskError,
        DaskNotInstalled,
        SchedulerUnreachable,
        WorkerLost,
    )
    from orchestrate.integrations.dask.remote import RemoteError, WorkerSetupError
    from orchestrate.integrations.dask.runner import DaskTaskRunner

#: Each public name and the module of this package that defines it.
_HOMES = {
    "DaskTaskRunner": "runner",
    "DaskError": "cluster",
    "DaskNotInstalled": "cluster",
    "SchedulerUnreachable": "cluster",
    "WorkerLost": "cluster",
    "RemoteError": "remote",
    "WorkerSetupError": "remote",
    "get_async_dask_client": "clients",
    "get_dask_client": "clients",
}


def __getattr__(name: str) -> Any:
    if name not in _HOMES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{_HOMES[name]}"), name)


__all__ = [
    "DaskError",
    "DaskNotInstalled",
    "DaskTaskRunner",
    "RemoteError",
    "SchedulerUnreachable",
    "WorkerLost",
    "WorkerSetupError",
    "get_async_dask_client",
    "get_dask_client",
]
