"""Stored runs back as the live records the daemon works on: what a restart, or a retry
asked for by hand, picks up from the store."""

from __future__ import annotations

from orchestrate.core.records import FlowRunRecord, TaskRunRecord
from orchestrate.core.states import State, StateType
from orchestrate.store.views import FlowRunView, RunState, TaskRunView


def _state(s: RunState) -> State:
    return State(
        StateType(s.type),
        s.name,
        message=s.message,
        timestamp=s.timestamp.timestamp() if s.timestamp else None,
    )


def record_of(view: FlowRunView) -> FlowRunRecord:
    """A stored flow run back as the live record the daemon works on (a retry's state
    with the time it is due: its run's expected start time is when it was first due)."""
    state = _state(view.state)
    if view.next_scheduled_start_time is not None and state.type is StateType.SCHEDULED:
        state.scheduled_time = view.next_scheduled_start_time.timestamp()
    return FlowRunRecord(
        id=view.id,
        name=view.name,
        flow_name=view.flow_name,
        parameters=view.parameters,
        state=state,
        created=view.created.timestamp() if view.created else 0.0,
        tags=tuple(view.tags),
        parent_flow_run_id=view.parent_flow_run_id,
        parent_task_run_id=view.parent_task_run_id,
        deployment=view.deployment,
        entrypoint=view.entrypoint,
        expected_start_time=view.expected_start_time.timestamp()
        if view.expected_start_time
        else None,
        start_time=view.start_time.timestamp() if view.start_time else None,
        run_count=view.run_count,
    )


def task_record_of(view: TaskRunView) -> TaskRunRecord:
    """A stored task run back as a record, to give it a final state."""
    return TaskRunRecord(
        id=view.id,
        flow_run_id=view.flow_run_id,
        name=view.name,
        task_key=view.task_key,
        dynamic_key=view.dynamic_key,
        state=_state(view.state),
        created=view.created.timestamp() if view.created else 0.0,
        kind=view.kind,  # type: ignore[arg-type]
        tags=tuple(view.tags),
        parent_task_run_id=view.parent_task_run_id,
        cache_key=view.cache_key,
        start_time=view.start_time.timestamp() if view.start_time else None,
        end_time=view.end_time.timestamp() if view.end_time else None,
        run_count=view.run_count,
    )
