"""One flow run with everything `orc runs show` and `orc logs` print, from the daemon or the file.

Apart from the commands (`orchestrate.cli.runs`) so the quick path of a read
(`orchestrate.cli.lean`) uses it without loading Typer.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, NamedTuple

if TYPE_CHECKING:
    from collections.abc import Sequence

    from orchestrate.cli.reads import DaemonReads
    from orchestrate.cli.rows import (
        AnyFlowRun,
        AnyStateEntry,
        AnyTaskRun,
        StateRow,
    )
    from orchestrate.client.protocol import EventInfo, StateInfo
    from orchestrate.store.queries import Store
    from orchestrate.store.views import EventRow

#: The event in which a flow run says which Dask cluster it used and where its dashboard is
#: (`orchestrate.integrations.dask.dashboard.DASHBOARD_EVENT`, not imported: the CLI stays light).
DASHBOARD_EVENT = "orc.dask.cluster.connected"


class RunRead(NamedTuple):
    """One flow run with everything `orc runs show` prints (a tuple: no `dataclasses` to load)."""

    run: AnyFlowRun
    history: Sequence[AnyStateEntry]
    task_runs: Sequence[AnyTaskRun]
    subflows: Sequence[AnyFlowRun]
    #: links to the dashboards of the Dask clusters the run used, oldest first
    dashboards: tuple[str, ...] = ()


def read_run(store: Store | DaemonReads, run: str, dashboards: bool = True) -> RunRead:
    """The run `run` (id or prefix) with its errors and tracebacks, the same from the daemon as
    from the file; its Dask dashboards too unless not asked (`orc logs` prints none)."""
    from orchestrate.cli.reads import DaemonReads

    if isinstance(store, DaemonReads):
        return _read_from_daemon(store, run, dashboards)
    flow_run = store.get_flow_run(run)
    return RunRead(
        flow_run,
        store.state_history(flow_run.id),
        store.task_runs(flow_run.id),
        store.child_flow_runs(flow_run.id),
        _dashboards(store.events(DASHBOARD_EVENT, f"orc.flow-run.{flow_run.id}", limit=20))
        if dashboards
        else (),
    )


def _dashboards(events: Sequence[EventRow | EventInfo]) -> tuple[str, ...]:
    """The dashboard links in a run's cluster events (newest first), oldest first, once each."""
    links = (event.payload.get("dashboard") for event in reversed(events))
    return tuple(dict.fromkeys(link for link in links if isinstance(link, str)))


def _read_from_daemon(reads: DaemonReads, run: str, dashboards: bool = True) -> RunRead:
    """One `runs.get` answer, keeping the full error type and traceback each state carries."""
    from orchestrate.cli.reads import flow_run_view, task_run_view
    from orchestrate.cli.rows import StateEntryRow
    from orchestrate.client import NotFound
    from orchestrate.core.errors import RunNotFound

    try:
        detail = reads.client.run(run)
    except NotFound as exc:
        raise RunNotFound(str(exc)) from None
    return RunRead(
        flow_run_view(detail.run, wire_state(detail.run.state)),
        [StateEntryRow(detail.run.id, wire_state(s)) for s in detail.state_history],
        [task_run_view(t, wire_state(t.state)) for t in detail.task_runs],
        [flow_run_view(r, wire_state(r.state)) for r in detail.subflow_runs],
        _dashboards(reads.client.events(DASHBOARD_EVENT, f"orc.flow-run.{detail.run.id}", limit=20))
        if dashboards
        else (),
    )


def wire_state(info: StateInfo) -> StateRow:
    """A state from the wire with its error as the store keeps it (type, message, traceback)."""
    from orchestrate.cli.rows import StateRow

    short_type, _, short_message = (info.error or "").partition(": ")
    return StateRow(
        info.type,
        info.name,
        info.message,
        datetime.fromtimestamp(info.timestamp, UTC),
        info.error_type or short_type or None,
        info.error_message or short_message or None,
        info.traceback,
    )


def detail_json(found: RunRead) -> dict[str, Any]:
    """`orc runs show --json`: the run with its error, states, task runs, subflows and dashboards."""
    from orchestrate.cli import render

    names = {t.id: t.name for t in found.task_runs}
    return {
        **render.flow_run_json(found.run),
        "error": render.error_json(found.run.state),
        "state_history": [render.history_json(entry) for entry in found.history],
        "task_run_details": [render.task_run_json(t, names) for t in found.task_runs],
        "subflow_runs": [render.flow_run_json(child) for child in found.subflows],
        "dask_dashboards": list(found.dashboards),
    }
