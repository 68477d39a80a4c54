"""The Dask dashboard a flow run used, read from the event the run records when it connects.

A run on a Dask task runner records `orc.dask.cluster.connected` about
itself, with the dashboard's link in its payload (the integration's
`DASHBOARD_EVENT`; named here, not imported, as `orc runs show` does: the
dashboard reaches the daemon only through the client). A cluster started for
the run serves its dashboard on a port chosen free, so the link is worth
nothing unless it is shown.
"""

from __future__ import annotations

from collections.abc import Iterable

from orchestrate.client.protocol import EventInfo

DASHBOARD_EVENT = "orc.dask.cluster.connected"


def resource_of(flow_run_id: str) -> str:
    return f"orc.flow-run.{flow_run_id}"


def dashboard_links(events: Iterable[EventInfo], flow_run_id: str) -> tuple[str, ...]:
    """The run's Dask dashboard links, oldest first, each once (a retried run may reconnect)."""
    mine = sorted(
        (
            event
            for event in events
            if event.event == DASHBOARD_EVENT
            and event.resource.get("orc.resource.id") == resource_of(flow_run_id)
        ),
        key=lambda event: event.occurred,
    )
    links = (event.payload.get("dashboard") for event in mine)
    return tuple(dict.fromkeys(link for link in links if isinstance(link, str) and link))
