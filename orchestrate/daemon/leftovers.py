"""Task runs and subflow runs still open when their flow run's process is gone.

A worker killed mid-run (SIGKILL, the OOM killer, a timeout, a cancel, or
`orc up` itself dying) cannot finish what it had started, so without this
its task runs would stay Running for ever: in `orc runs show`, in the TUI's
graph, and for any automation counting them. The daemon ends them for it,
in the state that says what happened: Cancelled when the flow run was
cancelled, Crashed otherwise.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from orchestrate.core.errors import InvalidStateTransition
from orchestrate.core.records import FlowRunRecord, RecordPut, TaskRunRecord
from orchestrate.core.runs import transition
from orchestrate.core.states import Cancelled, Crashed, State

log = logging.getLogger("orc.daemon")


def leftover_state(flow_state: State) -> State:
    """The final state of a run left open when its flow run ended in `flow_state`."""
    if flow_state.is_cancelled():  # at the flow run's end: not when it was noticed
        return Cancelled(
            message=f"Its flow run was cancelled: {flow_state.message}", timestamp=flow_state.ts
        )
    return Crashed(
        message=f"Its flow run's worker ended (flow run {flow_state.name}) before this run finished.",
        timestamp=flow_state.ts,
    )


def end_leftovers(
    runs: Iterable[TaskRunRecord | FlowRunRecord], flow_state: State, sink: RecordPut
) -> int:
    """Give every run in `runs` that is not final a final state; how many were ended."""
    ended = 0
    for run in runs:
        if run.state.is_final():
            continue
        try:
            transition(run, leftover_state(flow_state), sink)
        except InvalidStateTransition as exc:
            log.warning("Run %s: left as %s (%s)", run.id, run.state.name, exc)
            continue
        ended += 1
    return ended
