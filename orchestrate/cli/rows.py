"""Runs, task runs, states and log lines as the daemon answers them, read without `dataclasses`.

The store's views (`orchestrate.store.views`) are dataclasses, and `dataclasses`
loads `inspect` (with `ast`, `dis` and `tokenize`): ~5 ms of CPU before a quick
read command printed its first byte, for values it only reads. A reply is read
into these plain classes instead, with the views' fields in the views' order,
and rendering reads either kind by the same names (`AnyFlowRun` and its kin).
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from typing import TypeAlias

    from orchestrate.store import views

    #: What rendering reads: a view of the store file, or a row of the daemon's answer.
    AnyState: TypeAlias = "views.RunState | StateRow"
    AnyFlowRun: TypeAlias = "views.FlowRunView | FlowRunRow"
    AnyTaskRun: TypeAlias = "views.TaskRunView | TaskRunRow"
    AnyStateEntry: TypeAlias = "views.StateEntry | StateEntryRow"
    AnyLogLine: TypeAlias = "views.LogLine | LogLineRow"


class _Row:
    """Fields (`_fields`, also the slots) given in their order; compared and shown as a
    dataclass is."""

    _fields: tuple[str, ...] = ()
    __slots__ = ()

    def __init__(self, *values: Any) -> None:
        for name, value in zip(self._fields, values, strict=True):
            setattr(self, name, value)

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        return all(getattr(self, n) == getattr(other, n) for n in self._fields)

    __hash__ = None  # type: ignore[assignment]  # mutable, as its lists and dicts are

    def __repr__(self) -> str:
        fields = ", ".join(f"{n}={getattr(self, n)!r}" for n in self._fields)
        return f"{self.__class__.__name__}({fields})"


def _duration(start: datetime | None, end: datetime | None) -> float | None:
    return None if start is None or end is None else (end - start).total_seconds()


class StateRow(_Row):
    """`views.RunState`: a run's state, with the error it failed with (if it did)."""

    _fields = ("type", "name", "message", "timestamp", "error_type", "error_message", "traceback")
    __slots__ = _fields
    type: str
    name: str
    message: str | None
    timestamp: datetime | None
    error_type: str | None
    error_message: str | None
    traceback: str | None


class FlowRunRow(_Row):
    """`views.FlowRunView`: one flow run, with its task runs counted by state name."""

    _fields = (
        "id",
        "name",
        "flow_name",
        "state",
        "parameters",
        "tags",
        "parent_flow_run_id",
        "parent_task_run_id",
        "deployment",
        "entrypoint",
        "created",
        "start_time",
        "end_time",
        "run_count",
        "task_run_counts",
        "expected_start_time",
        "malformed",
        "next_scheduled_start_time",
    )
    __slots__ = _fields
    id: str
    name: str
    flow_name: str
    state: StateRow
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
    task_run_counts: dict[str, int]
    expected_start_time: datetime | None
    malformed: str | None
    next_scheduled_start_time: datetime | None

    @property
    def duration_seconds(self) -> float | None:
        return _duration(self.start_time, self.end_time)


class TaskRunRow(_Row):
    """`views.TaskRunView`: one task run, with the task runs it waited on (id, edge kind)."""

    _fields = (
        "id",
        "flow_run_id",
        "name",
        "task_key",
        "dynamic_key",
        "kind",
        "state",
        "tags",
        "cache_key",
        "created",
        "start_time",
        "end_time",
        "run_count",
        "upstream",
        "parent_task_run_id",
        "malformed",
    )
    __slots__ = _fields
    id: str
    flow_run_id: str
    name: str
    task_key: str
    dynamic_key: int
    kind: str
    state: StateRow
    tags: list[str]
    cache_key: str | None
    created: datetime | None
    start_time: datetime | None
    end_time: datetime | None
    run_count: int
    upstream: list[tuple[str, str]]
    parent_task_run_id: str | None
    malformed: str | None

    @property
    def duration_seconds(self) -> float | None:
        return _duration(self.start_time, self.end_time)


class StateEntryRow(_Row):
    """`views.StateEntry`: one step of a run's state history."""

    _fields = ("run_id", "state")
    __slots__ = _fields
    run_id: str
    state: StateRow


class LogLineRow(_Row):
    """`views.LogLine`: one log line; `task_run_name` is set when a task run logged it."""

    _fields = (
        "flow_run_id",
        "task_run_id",
        "task_run_name",
        "timestamp",
        "level",
        "logger",
        "message",
        "malformed",
    )
    __slots__ = _fields
    flow_run_id: str
    task_run_id: str | None
    task_run_name: str | None
    timestamp: datetime | None
    level: int
    logger: str
    message: str
    malformed: str | None
