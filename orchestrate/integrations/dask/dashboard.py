"""Saying which Dask cluster a flow run uses, and where its dashboard is.

A cluster started for a run puts its dashboard on a port chosen free, so
the link is worth nothing unless it is shown: each run says it in a log line
and in an event about the flow run (`DASHBOARD_EVENT`), which `orc runs show`
reads to print it.
"""

from __future__ import annotations

import logging
import time

from orchestrate.core.records import EventRecord
from orchestrate.core.runs import new_id
from orchestrate.engine.context import flow_run_context

#: The event a flow run records when it connects to a Dask cluster; its resource is the
#: flow run, its payload `scheduler`, `cluster` and `dashboard` (a link, or null).
DASHBOARD_EVENT = "orc.dask.cluster.connected"

_log = logging.getLogger("orc.dask")


def announce(what: str, scheduler: str, dashboard: str | None) -> None:
    """Log where the run's task runs go, and record it for `orc runs show`."""
    where = f"Dask dashboard: {dashboard}" if dashboard else "no Dask dashboard"
    message = f"Task runs go to {what} at {scheduler}; {where}"
    context = flow_run_context.get()
    if context is None:  # a runner entered outside a flow run: only the console hears it
        _log.info(message)
        return
    from orchestrate.logging import get_run_logger

    get_run_logger().info(message)
    context.sink.put(
        EventRecord(
            new_id(),
            time.time(),
            DASHBOARD_EVENT,
            {"orc.resource.id": f"orc.flow-run.{context.run.id}", "orc.resource.role": "flow-run"},
            {"scheduler": scheduler, "cluster": what, "dashboard": dashboard},
        )
    )
