"""What the engine records about runs, as plain values a sink can store or ship.

The engine builds these and hands them to a `RecordSink`; the embedded store
writes them to DuckDB in columnar batches, and (with a daemon up) a worker
ships them over the socket. Run records are mutable snapshots: the engine puts
the same object again after each change and a sink keeps the latest. Times are
seconds since the epoch (float), cheap to take on the hot path.

The other records are values, never changed once built, but by convention, not
`frozen=True`: a frozen dataclass's `__init__` sets each field through
`object.__setattr__`, 3.5 times the cost of a plain one, and a task run builds
three state records. They still compare and hash by value, as frozen ones did.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from orchestrate.core.states import State

EdgeKind = Literal["data", "wait_for", "parent"]
TaskRunKind = Literal["task", "subflow"]


@dataclass(slots=True, eq=False)
class FlowRunRecord:
    """The current snapshot of one flow run."""

    id: str
    name: str
    flow_name: str
    parameters: dict[str, Any]
    state: State
    created: float
    tags: tuple[str, ...] = ()
    parent_flow_run_id: str | None = None
    parent_task_run_id: str | None = None
    deployment: str | None = None
    entrypoint: str | None = None
    flow_version: str | None = None
    expected_start_time: float | None = None
    start_time: float | None = None
    end_time: float | None = None
    run_count: int = 0

    @property
    def next_scheduled_start_time(self) -> float | None:
        """When its Scheduled state is due, if that state says (Prefect's field of this name):
        a retry keeps its run's `expected_start_time` and is due at its AwaitingRetry's time."""
        return self.state.scheduled_time

    def due_time(self) -> float | None:
        """When a Scheduled run may start: its state's time, else its expected start time."""
        due = self.state.scheduled_time
        return self.expected_start_time if due is None else due


@dataclass(slots=True, eq=False)
class TaskRunRecord:
    """The current snapshot of one task run (or the stand-in task run of a subflow)."""

    id: str
    flow_run_id: str
    name: str
    task_key: str
    dynamic_key: int
    state: State
    created: float
    kind: TaskRunKind = "task"
    tags: tuple[str, ...] = ()
    parent_task_run_id: str | None = None
    cache_key: str | None = None
    start_time: float | None = None
    end_time: float | None = None
    run_count: int = 0


@dataclass(slots=True, unsafe_hash=True)
class StateRecord:
    """One entry in a run's state history."""

    run_id: str
    flow_run_id: str
    is_task: bool
    state: State


@dataclass(slots=True, unsafe_hash=True)
class EdgeRecord:
    """Task run `task_run_id` depends on `upstream_id` (data passed in, wait_for, or nesting)."""

    flow_run_id: str
    task_run_id: str
    upstream_id: str
    kind: EdgeKind


@dataclass(slots=True, unsafe_hash=True)
class LogRecord:
    """One log line of a flow run (and of one of its task runs, if `task_run_id` is set)."""

    flow_run_id: str
    task_run_id: str | None
    ts: float
    level: int
    logger: str
    message: str


@dataclass(slots=True, unsafe_hash=True)
class EventRecord:
    """An event in Prefect's shape: a dotted name about a resource, with related resources."""

    id: str
    occurred: float
    event: str
    resource: dict[str, str]
    payload: dict[str, Any] = field(default_factory=dict)
    related: list[dict[str, str]] = field(default_factory=list)


Record = FlowRunRecord | TaskRunRecord | StateRecord | EdgeRecord | LogRecord | EventRecord


class RecordPut(Protocol):
    """Anything records can be put into: all that recording a state change needs."""

    def put(self, record: Record) -> None: ...


class RecordSink(RecordPut, Protocol):
    """Where the engine sends records. `put` must never block on I/O."""

    def put(self, record: Record) -> None: ...

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until every record put so far is durable; False if the timeout ran out."""
        ...

    def close(self) -> None: ...
