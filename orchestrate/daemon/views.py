"""Records and stored rows as the plain dicts the wire carries (shapes of `orchestrate.client.protocol`).

Built by hand rather than through pydantic because the daemon publishes one
for every record a worker ships: this is on the hot path.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from orchestrate.core.records import (
    EdgeRecord,
    EventRecord,
    FlowRunRecord,
    LogRecord,
    TaskRunRecord,
)
from orchestrate.core.states import State
from orchestrate.store.encode import state_columns
from orchestrate.store.views import EventRow, FlowRunView, LogLine, RunState, TaskRunView


def state_info(state: State) -> dict[str, Any]:
    kind, name, message, ts, error_type, error_message, traceback = state_columns(state)
    fields = {"type": kind, "name": name, "message": message, "timestamp": ts}
    return fields | _error_fields(error_type, error_message, traceback)


def _error_fields(
    error_type: str | None, error_message: str | None, traceback: str | None
) -> dict[str, Any]:
    """`error` ("KeyError: 'id'") plus what the store keeps: the full type, message and traceback.

    The last three are extra fields of `StateInfo`, so `orc runs show` says the
    same with the daemon up as with it down.
    """
    error = f"{error_type.rsplit('.', 1)[-1]}: {error_message}" if error_type else None
    return {
        "error": error,
        "error_type": error_type,
        "error_message": error_message,
        "traceback": traceback,
    }


def flow_run_info(run: FlowRunRecord, counts: dict[str, int] | None = None) -> dict[str, Any]:
    return {
        "id": run.id,
        "name": run.name,
        "flow_name": run.flow_name,
        "deployment": run.deployment,
        "state": state_info(run.state),
        "parameters": run.parameters,
        "tags": list(run.tags),
        "created": run.created,
        "expected_start_time": run.expected_start_time,
        "next_scheduled_start_time": run.next_scheduled_start_time,
        "start_time": run.start_time,
        "end_time": run.end_time,
        "run_count": run.run_count,
        "parent_flow_run_id": run.parent_flow_run_id,
        "parent_task_run_id": run.parent_task_run_id,
        "task_counts": counts or {},
    }


def task_run_info(
    run: TaskRunRecord, upstream: list[dict[str, str]] | None = None
) -> dict[str, Any]:
    return {
        "id": run.id,
        "flow_run_id": run.flow_run_id,
        "name": run.name,
        "task_key": run.task_key,
        "dynamic_key": run.dynamic_key,
        "kind": run.kind,
        "state": state_info(run.state),
        "tags": list(run.tags),
        "created": run.created,
        "start_time": run.start_time,
        "end_time": run.end_time,
        "run_count": run.run_count,
        "upstream": upstream or [],
    }


def edge_info(edge: EdgeRecord) -> dict[str, Any]:
    return {
        "flow_run_id": edge.flow_run_id,
        "task_run_id": edge.task_run_id,
        "upstream_id": edge.upstream_id,
        "kind": edge.kind,
    }


def log_info(log: LogRecord) -> dict[str, Any]:
    return {
        "flow_run_id": log.flow_run_id,
        "task_run_id": log.task_run_id,
        "ts": log.ts,
        "level": log.level,
        "logger": log.logger,
        "message": log.message,
    }


def event_info(event: EventRecord | EventRow) -> dict[str, Any]:
    return {
        "id": event.id,
        "occurred": event.occurred,
        "event": event.event,
        "resource": event.resource,
        "related": event.related,
        "payload": event.payload,
    }


def _epoch(value: datetime | None) -> float | None:
    return None if value is None else value.timestamp()


def stored_state_info(state: RunState) -> dict[str, Any]:
    fields = {
        "type": state.type,
        "name": state.name,
        "message": state.message,
        "timestamp": _epoch(state.timestamp) or 0.0,
    }
    return fields | _error_fields(state.error_type, state.error_message, state.traceback)


def stored_flow_run_info(run: FlowRunView) -> dict[str, Any]:
    return {
        "id": run.id,
        "name": run.name,
        "flow_name": run.flow_name,
        "deployment": run.deployment,
        "state": stored_state_info(run.state),
        "parameters": run.parameters,
        "tags": run.tags,
        "created": _epoch(run.created) or 0.0,
        "expected_start_time": _epoch(run.expected_start_time),
        "next_scheduled_start_time": _epoch(run.next_scheduled_start_time),
        "start_time": _epoch(run.start_time),
        "end_time": _epoch(run.end_time),
        "run_count": run.run_count,
        "parent_flow_run_id": run.parent_flow_run_id,
        "parent_task_run_id": run.parent_task_run_id,
        "task_counts": run.task_run_counts,
    }


def stored_task_run_info(run: TaskRunView) -> dict[str, Any]:
    return {
        "id": run.id,
        "flow_run_id": run.flow_run_id,
        "name": run.name,
        "task_key": run.task_key,
        "dynamic_key": run.dynamic_key,
        "kind": run.kind,
        "state": stored_state_info(run.state),
        "tags": run.tags,
        "created": _epoch(run.created) or 0.0,
        "start_time": _epoch(run.start_time),
        "end_time": _epoch(run.end_time),
        "run_count": run.run_count,
        "upstream": [{"upstream_id": u, "kind": k} for u, k in run.upstream],
    }


def stored_log_info(line: LogLine) -> dict[str, Any]:
    return {
        "flow_run_id": line.flow_run_id,
        "task_run_id": line.task_run_id,
        "ts": _epoch(line.timestamp) or 0.0,
        "level": line.level,
        "logger": line.logger,
        "message": line.message,
    }
