"""What a read of the store returns: runs, task runs, states, log lines and events as plain dataclasses.

Each view reads itself from the row its `*_COLUMNS` select, and reads a row
that does not fit anyway (`lenient`): its `malformed` says what was wrong.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from orchestrate.core.records import EventRecord
from orchestrate.store.lenient import (
    fitting,
    is_label_list,
    is_labels,
    noted,
    params_of,
    raw,
    text_of,
    time_of,
)

_STATE_COLUMNS = (
    "state_type, state_name, state_message, epoch(state_ts), error_type, error_message, traceback"
)
#: What `FlowRunView.from_row` reads, in its order.
FLOW_RUN_COLUMNS = (
    f"id, name, flow_name, {_STATE_COLUMNS}, parameters, tags, parent_flow_run_id, "
    "parent_task_run_id, deployment, entrypoint, epoch(created), epoch(start_time), "
    "epoch(end_time), run_count, epoch(expected_start_time), epoch(next_scheduled_start_time)"
)
#: What `TaskRunView.from_row` reads, in its order.
TASK_RUN_COLUMNS = (
    f"id, flow_run_id, name, task_key, dynamic_key, kind, {_STATE_COLUMNS}, tags, cache_key, "
    "epoch(created), epoch(start_time), epoch(end_time), run_count, parent_task_run_id"
)
_RUN_NAMES = ("id", "name", "flow_name")
_TASK_NAMES = ("id", "flow_run_id", "name", "task_key")


def _duration(start: datetime | None, end: datetime | None) -> float | None:
    return None if start is None or end is None else (end - start).total_seconds()


@dataclass(frozen=True)
class RunState:
    """A run's current state, with the error it failed with (if it did)."""

    type: str
    name: str
    message: str | None
    timestamp: datetime | None
    error_type: str | None = None
    error_message: str | None = None
    traceback: str | None = None

    @classmethod
    def from_row(cls, row: tuple[Any, ...], notes: list[str] | None = None) -> RunState:
        kind, name, message, ts, error_type, error_message, tb = row
        notes = [] if notes is None else notes
        kind = text_of(kind, "state type", notes)
        name = text_of(name, "state name", notes)
        return cls(kind, name, message, time_of(ts), error_type, error_message, tb)


@dataclass(frozen=True)
class FlowRunView:
    """One flow run as stored, with its task runs counted by state name."""

    id: str
    name: str
    flow_name: str
    state: RunState
    parameters: dict[str, Any]
    tags: list[str]
    parent_flow_run_id: str | None
    parent_task_run_id: str | None
    deployment: str | None
    entrypoint: str | None
    created: datetime | None
    start_time: datetime | None
    end_time: datetime | None
    run_count: int
    task_run_counts: dict[str, int] = field(default_factory=dict)
    expected_start_time: datetime | None = None
    malformed: str | None = None  # what in the stored row did not fit, with its raw value
    #: when a Scheduled run is due, if its state says (an AwaitingRetry's time)
    next_scheduled_start_time: datetime | None = None

    @property
    def duration_seconds(self) -> float | None:
        return _duration(self.start_time, self.end_time)

    @classmethod
    def from_row(cls, row: tuple[Any, ...]) -> FlowRunView:
        notes: list[str] = []
        ident, name, flow_name = (
            text_of(v, k, notes) for v, k in zip(row[:3], _RUN_NAMES, strict=True)
        )
        params, tags, parent_flow, parent_task, deployment, entrypoint = row[10:16]
        created, start, end, run_count = row[16:20]
        return cls(
            ident,
            name,
            flow_name,
            RunState.from_row(row[3:10], notes),
            params_of(params, notes),
            list(tags or []),
            parent_flow,
            parent_task,
            deployment,
            entrypoint,
            time_of(created),
            time_of(start),
            time_of(end),
            run_count or 0,
            {},
            time_of(row[20]),
            noted(notes),
            time_of(row[21]),
        )


@dataclass(frozen=True)
class TaskRunView:
    """One task run, with the task runs it waited on (`upstream`: (id, edge kind) pairs)."""

    id: str
    flow_run_id: str
    name: str
    task_key: str
    dynamic_key: int
    kind: str
    state: RunState
    tags: list[str]
    cache_key: str | None
    created: datetime | None
    start_time: datetime | None
    end_time: datetime | None
    run_count: int
    upstream: list[tuple[str, str]] = field(default_factory=list)
    parent_task_run_id: str | None = None  # the task run this one was called inside
    malformed: str | None = None  # what in the stored row did not fit, with its raw value

    @property
    def duration_seconds(self) -> float | None:
        return _duration(self.start_time, self.end_time)

    @classmethod
    def from_row(cls, row: tuple[Any, ...], upstream: list[tuple[str, str]]) -> TaskRunView:
        notes: list[str] = []
        ident, flow_run_id, name, task_key = (
            text_of(v, k, notes) for v, k in zip(row[:4], _TASK_NAMES, strict=True)
        )
        dynamic_key, kind = row[4:6]
        if kind not in ("task", "subflow"):
            notes.append(f"kind: not 'task' or 'subflow' ({raw(kind)})")
            kind = "task"
        tags, cache_key, created, start, end, run_count, parent = row[13:20]
        return cls(
            ident,
            flow_run_id,
            name,
            task_key,
            dynamic_key or 0,
            kind,
            RunState.from_row(row[6:13], notes),
            list(tags or []),
            cache_key,
            time_of(created),
            time_of(start),
            time_of(end),
            run_count or 0,
            upstream,
            parent,
            noted(notes),
        )


@dataclass(frozen=True)
class StateEntry:
    """One step of a run's state history."""

    run_id: str
    state: RunState


@dataclass(frozen=True)
class LogLine:
    """One log line of a flow run; `task_run_name` is set when a task run logged it."""

    flow_run_id: str
    task_run_id: str | None
    task_run_name: str | None
    timestamp: datetime | None
    level: int
    logger: str
    message: str
    malformed: str | None = None  # what in the stored row did not fit, with its raw value

    @classmethod
    def from_row(cls, row: tuple[Any, ...]) -> LogLine:
        notes: list[str] = []
        flow_run_id, task_run_id, task_name, ts, level, logger, message = row[:7]
        if not isinstance(level, int):
            notes.append(f"level: not a number ({raw(level)})")
            level = 0
        return cls(
            text_of(flow_run_id, "flow_run_id", notes),
            task_run_id,
            task_name,
            time_of(ts),
            level,
            text_of(logger, "logger", notes),
            text_of(message, "message", notes),
            noted(notes),
        )


@dataclass(frozen=True)
class EventRow:
    """One stored event."""

    id: str
    occurred: float
    event: str
    resource: dict[str, str]
    related: list[dict[str, str]]
    payload: dict[str, Any]
    malformed: str | None = None  # what in the stored row did not fit, with its raw value

    def record(self) -> EventRecord:
        """The event as the daemon handles it (to be heard again, or answered)."""
        return EventRecord(
            self.id, self.occurred, self.event, self.resource, self.payload, self.related
        )

    @classmethod
    def from_row(cls, row: tuple[Any, ...]) -> EventRow:
        notes: list[str] = []
        ident, occurred, event, resource, related, payload = row
        if not isinstance(occurred, int | float):
            notes.append(f"occurred: not a time ({raw(occurred)})")
            occurred = 0.0
        return cls(
            text_of(ident, "id", notes),
            float(occurred),
            text_of(event, "event", notes),
            fitting(resource, is_labels, {}, "resource: not an object of strings", notes),
            fitting(related, is_label_list, [], "related: not a list of objects of strings", notes),
            fitting(
                payload, lambda v: isinstance(v, dict), {}, "payload: not a JSON object", notes
            ),
            noted(notes),
        )
