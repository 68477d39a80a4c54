"""The one place a run changes state: validate the move, stamp the times, record it."""

from __future__ import annotations

import uuid

from orchestrate.records import FlowRunRecord, RecordSink, StateRecord, TaskRunRecord
from orchestrate.states import TERMINAL_STATES, State, StateType, validate_transition


def new_id() -> str:
    return str(uuid.uuid4())


def transition(run: FlowRunRecord | TaskRunRecord, state: State, sink: RecordSink, initial: bool = False) -> State:
    """Move `run` to `state` if the transition table allows it, and record both."""
    validate_transition(None if initial else run.state, state)
    state.run_id = run.id
    if state.type is StateType.RUNNING and run.start_time is None:
        run.start_time = state.ts
    elif state.type in TERMINAL_STATES:
        run.end_time = state.ts
    run.state = state
    is_task = type(run) is TaskRunRecord
    sink.put(StateRecord(run.id, run.flow_run_id if is_task else run.id, is_task, state))  # type: ignore[union-attr]
    sink.put(run)
    return state
