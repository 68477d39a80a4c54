"""Reading the store: runs, their task runs, state history and logs, as plain dataclasses.

Reads open the file read-only and hold it only for the life of a `Store`
(DuckDB admits one process at a time). A project that has not recorded
anything yet has no file, and reads as empty rather than as an error.

A row that does not fit its view (written by an older orc, or by hand) is
read anyway: each unfit value is replaced by an empty one and the view's
`malformed` says what was wrong, with the raw value, so one bad row never
fails a whole listing.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

from orchestrate.core.errors import RunNotFound, StoreError

if TYPE_CHECKING:
    import duckdb

_STATE_COLUMNS = (
    "state_type, state_name, state_message, epoch(state_ts), error_type, error_message, traceback"
)
_FLOW_RUN_COLUMNS = (
    f"id, name, flow_name, {_STATE_COLUMNS}, parameters, tags, parent_flow_run_id, "
    "parent_task_run_id, deployment, entrypoint, epoch(created), epoch(start_time), "
    "epoch(end_time), run_count, epoch(expected_start_time)"
)
_TASK_RUN_COLUMNS = (
    f"id, flow_run_id, name, task_key, dynamic_key, kind, {_STATE_COLUMNS}, tags, cache_key, "
    "epoch(created), epoch(start_time), epoch(end_time), run_count, parent_task_run_id"
)
_AMBIGUITY_SHOWN = 10


def _time(epoch: float | None) -> datetime | None:
    """A stored time; one out of Python's range (DuckDB allows `infinity`) reads as unknown."""
    if epoch is None:
        return None
    try:
        return datetime.fromtimestamp(epoch, UTC)
    except (OverflowError, ValueError, OSError):
        return None


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
        kind = _text(kind, "state type", notes)
        name = _text(name, "state name", notes)
        return cls(kind, name, message, _time(ts), error_type, error_message, tb)


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

    @property
    def duration_seconds(self) -> float | None:
        return _duration(self.start_time, self.end_time)

    @classmethod
    def from_row(cls, row: tuple[Any, ...]) -> FlowRunView:
        notes: list[str] = []
        ident, name, flow_name = (
            _text(v, k, notes) for v, k in zip(row[:3], _RUN_NAMES, strict=True)
        )
        params, tags, parent_flow, parent_task, deployment, entrypoint = row[10:16]
        created, start, end, run_count = row[16:20]
        return cls(
            ident,
            name,
            flow_name,
            RunState.from_row(row[3:10], notes),
            _params(params, notes),
            list(tags or []),
            parent_flow,
            parent_task,
            deployment,
            entrypoint,
            _time(created),
            _time(start),
            _time(end),
            run_count or 0,
            {},
            _time(row[20]),
            _noted(notes),
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
            _text(v, k, notes) for v, k in zip(row[:4], _TASK_NAMES, strict=True)
        )
        dynamic_key, kind = row[4:6]
        if kind not in ("task", "subflow"):
            notes.append(f"kind: not 'task' or 'subflow' ({_raw(kind)})")
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
            _time(created),
            _time(start),
            _time(end),
            run_count or 0,
            upstream,
            parent,
            _noted(notes),
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
            notes.append(f"level: not a number ({_raw(level)})")
            level = 0
        return cls(
            _text(flow_run_id, "flow_run_id", notes),
            task_run_id,
            task_name,
            _time(ts),
            level,
            _text(logger, "logger", notes),
            _text(message, "message", notes),
            _noted(notes),
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

    @classmethod
    def from_row(cls, row: tuple[Any, ...]) -> EventRow:
        notes: list[str] = []
        ident, occurred, event, resource, related, payload = row
        if not isinstance(occurred, int | float):
            notes.append(f"occurred: not a time ({_raw(occurred)})")
            occurred = 0.0
        return cls(
            _text(ident, "id", notes),
            float(occurred),
            _text(event, "event", notes),
            _fitting(resource, _is_labels, {}, "resource: not an object of strings", notes),
            _fitting(
                related, _is_label_list, [], "related: not a list of objects of strings", notes
            ),
            _fitting(
                payload, lambda v: isinstance(v, dict), {}, "payload: not a JSON object", notes
            ),
            _noted(notes),
        )


_RUN_NAMES = ("id", "name", "flow_name")
_TASK_NAMES = ("id", "flow_run_id", "name", "task_key")
_RAW_SHOWN = 200


def _raw(value: Any) -> str:
    """A stored value as it reads in the file, cut short."""
    text = value if isinstance(value, str) else repr(value)
    return text if len(text) <= _RAW_SHOWN else text[: _RAW_SHOWN - 1] + "…"


def _limit(limit: int) -> int:
    """A row limit DuckDB takes: a limit past any table's size means all rows, not an error."""
    return max(0, min(int(limit), _MOST_ROWS))


_MOST_ROWS = 2**62


def _noted(notes: list[str]) -> str | None:
    return "; ".join(notes) if notes else None


def _text(value: Any, name: str, notes: list[str]) -> str:
    """A text column that must hold text: empty (and noted) when it does not."""
    if isinstance(value, str):
        return value
    notes.append(f"{name}: missing" if value is None else f"{name}: not text ({_raw(value)})")
    return "" if value is None else str(value)


def _is_labels(value: Any) -> bool:
    return isinstance(value, dict) and all(isinstance(v, str) for v in value.values())


def _is_label_list(value: Any) -> bool:
    return isinstance(value, list) and all(_is_labels(item) for item in value)


def _fitting(text: Any, fits: Any, empty: Any, problem: str, notes: list[str]) -> Any:
    """The JSON in `text` if `fits(value)`; else `empty`, and the problem noted with the raw text."""
    if text is None or text == "":
        return empty
    try:
        value = json.loads(text)
    except (TypeError, ValueError, RecursionError):
        value = _UNREADABLE
    if value is not _UNREADABLE and fits(value):
        return value
    notes.append(f"{problem} ({_raw(text)})")
    return empty


_UNREADABLE = object()


def _params(text: str | None, notes: list[str] | None = None) -> dict[str, Any]:
    if not text:
        return {}
    try:
        value = json.loads(text)
    except (ValueError, RecursionError):
        value = _UNREADABLE
    if isinstance(value, dict):
        return value
    if notes is not None:
        notes.append(f"parameters: not a JSON object ({_raw(text)})")
    return {} if value is _UNREADABLE else {"value": value}


class Store:
    """Read access to one store file; use as a context manager.

    Args:
        path: the store file (`.orc/orc.duckdb`). A missing file reads as empty.
        lock_timeout: how long to wait for a writer in another process to let go.
    """

    def __init__(self, path: Path, lock_timeout: float = 10.0) -> None:
        self.path = Path(path)
        self.lock_timeout = lock_timeout
        self._conn: duckdb.DuckDBPyConnection | None = None

    @classmethod
    def over(cls, connection: duckdb.DuckDBPyConnection) -> Store:
        """A store reading through an open connection (the daemon's); closing it closes that one."""
        row = connection.execute("PRAGMA database_list").fetchone()
        store = cls(Path((row[2] if row else None) or ""))
        store._conn = connection
        return store

    def __enter__(self) -> Store:
        self.open()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def open(self) -> None:
        """Open the file if it exists; a missing file leaves the store empty."""
        from orchestrate.store.connection import open_for_reading

        if self._conn is None:
            self._conn = open_for_reading(self.path, self.lock_timeout)

    def close(self) -> None:
        if self._conn is not None:
            conn, self._conn = self._conn, None
            conn.close()

    def _rows(self, sql: str, params: list[Any] | None = None) -> list[tuple[Any, ...]]:
        if self._conn is None:
            return []
        import duckdb

        try:
            return self._conn.execute(sql, params or []).fetchall()
        except duckdb.Error as exc:
            raise StoreError(f"Reading {self.path} failed: {exc}") from exc

    def list_flow_runs(
        self,
        state: str | None = None,
        flow: str | None = None,
        limit: int = 50,
        deployment: str | None = None,
        since: float | None = None,
        upcoming: bool = False,
    ) -> list[FlowRunView]:
        """Flow runs, newest first; `state` matches a state name or type, case-insensitively.

        Scheduled runs not due yet are left out unless `upcoming` (or a `state` filter)
        asks for them: a daemon keeps an hour of them, and they would hide what ran.
        """
        where: list[str] = ["TRUE"]
        params: list[Any] = []
        if state:
            where.append("(lower(state_name) = lower(?) OR lower(state_type) = lower(?))")
            params += [state, state]
        for column, value in (("flow_name", flow), ("deployment", deployment)):
            if value:
                where.append(f"{column} = ?")
                params.append(value)
        if since is not None:
            where.append("created >= to_timestamp(?)")
            params.append(since)
        if not upcoming and not state:
            where.append(
                "NOT (state_type = 'SCHEDULED' AND coalesce(expected_start_time > now(), FALSE))"
            )
        rows = self._rows(
            f"SELECT {_FLOW_RUN_COLUMNS} FROM flow_runs WHERE {' AND '.join(where)} "
            "ORDER BY coalesce(expected_start_time, created) DESC NULLS LAST, id LIMIT ?",
            [*params, _limit(limit)],
        )
        return self._with_counts([FlowRunView.from_row(r) for r in rows])

    def _with_counts(self, runs: list[FlowRunView]) -> list[FlowRunView]:
        if not runs:
            return runs
        counts: dict[str, dict[str, int]] = {}
        for run_id, name, n in self._rows(
            "SELECT flow_run_id, state_name, count(*) FROM task_runs "
            "WHERE list_contains(?, flow_run_id) GROUP BY ALL ORDER BY ALL",
            [[r.id for r in runs]],
        ):
            counts.setdefault(run_id, {})[name] = n
        return [_replace_counts(r, counts.get(r.id, {})) for r in runs]

    def get_flow_run(self, id_or_prefix: str) -> FlowRunView:
        """The flow run whose id is, or uniquely starts with, `id_or_prefix`."""
        run_id = self._resolve(id_or_prefix)
        rows = self._rows(f"SELECT {_FLOW_RUN_COLUMNS} FROM flow_runs WHERE id = ?", [run_id])
        return self._with_counts([FlowRunView.from_row(rows[0])])[0]

    def _resolve(self, prefix: str) -> str:
        if not prefix:
            raise RunNotFound("No run id given. Run `orc runs ls` to see run ids.")
        exact = self._rows("SELECT id FROM flow_runs WHERE id = ?", [prefix])
        if exact:
            return str(exact[0][0])
        matches = self._rows(
            "SELECT id, name, flow_name FROM flow_runs WHERE starts_with(id, ?) "
            "ORDER BY created DESC LIMIT ?",
            [prefix, _AMBIGUITY_SHOWN + 1],
        )
        if not matches:
            raise RunNotFound(
                f"No flow run matches {_raw(repr(prefix))}. Run `orc runs ls` to see run ids."
            )
        if len(matches) > 1:
            shown = ", ".join(f"{i} ({f}/{n})" for i, n, f in matches[:_AMBIGUITY_SHOWN])
            more = " and more" if len(matches) > _AMBIGUITY_SHOWN else ""
            raise RunNotFound(
                f"{_raw(repr(prefix))} matches more than one flow run: {shown}{more}. "
                "Give more characters of the id."
            )
        return str(matches[0][0])

    def state_history(self, run_id: str) -> list[StateEntry]:
        """Every state a flow or task run went through, oldest first."""
        rows = self._rows(
            "SELECT run_id, state_type, state_name, message, epoch(ts), error_type, "
            "error_message, traceback FROM state_history WHERE run_id = ? ORDER BY ts, rowid",
            [run_id],
        )
        return [StateEntry(r[0], RunState.from_row(r[1:])) for r in rows]

    def task_runs(self, flow_run_id: str) -> list[TaskRunView]:
        """The task runs of one flow run in the order they started, with their upstreams."""
        upstream: dict[str, list[tuple[str, str]]] = {}
        for task_run_id, upstream_id, kind in self._rows(
            "SELECT DISTINCT task_run_id, upstream_id, kind FROM task_run_edges "
            "WHERE flow_run_id = ? ORDER BY ALL",
            [flow_run_id],
        ):
            upstream.setdefault(task_run_id, []).append((upstream_id, kind))
        rows = self._rows(
            f"SELECT {_TASK_RUN_COLUMNS} FROM task_runs WHERE flow_run_id = ? "
            "ORDER BY start_time NULLS LAST, created, id",
            [flow_run_id],
        )
        return [TaskRunView.from_row(r, upstream.get(r[0], [])) for r in rows]

    def logs(
        self,
        flow_run_id: str,
        after: float | None = None,
        limit: int | None = None,
        level: int | None = None,
    ) -> list[LogLine]:
        """A flow run's log lines in time order (ties in the order they were written).

        `after` keeps lines strictly later than that time (for following a log);
        `limit` keeps the last lines; `level` the lines at or above it.
        """
        where: list[str] = ["l.flow_run_id = ?"]
        params: list[Any] = [flow_run_id]
        if after is not None:
            where.append("l.ts > to_timestamp(?)")
            params.append(after)
        if level is not None:
            where.append("l.level >= ?")
            params.append(level)
        sql = (
            "SELECT l.flow_run_id, l.task_run_id, t.name, epoch(l.ts), l.level, l.logger, "
            "l.message, l.rowid AS rid FROM logs l "
            "LEFT JOIN task_runs t ON t.id = l.task_run_id "
            f"WHERE {' AND '.join(where)} ORDER BY l.ts DESC, l.rowid DESC"
        )
        if limit is not None:
            sql += f" LIMIT {_limit(limit)}"
        rows = self._rows(f"SELECT * FROM ({sql}) ORDER BY 4, rid", params)
        return [LogLine.from_row(r) for r in rows]

    def events(
        self,
        name: str | None = None,
        resource: str | None = None,
        since: float | None = None,
        limit: int = 100,
    ) -> list[EventRow]:
        """Events newest first; `name` and `resource` (its `orc.resource.id`) are globs."""
        where: list[str] = ["TRUE"]
        params: list[Any] = []
        if name:
            where.append("event GLOB ?")
            params.append(name)
        if resource:
            where.append("json_extract_string(resource, '$.\"orc.resource.id\"') GLOB ?")
            params.append(resource)
        if since is not None:
            where.append("occurred >= to_timestamp(?)")
            params.append(since)
        rows = self._rows(
            "SELECT id, epoch(occurred), event, resource, related, payload FROM events "
            f"WHERE {' AND '.join(where)} ORDER BY occurred DESC, rowid DESC LIMIT ?",
            [*params, _limit(limit)],
        )
        return [EventRow.from_row(r) for r in rows]

    def unfinished_flow_runs(self) -> list[FlowRunView]:
        """Flow runs not in a final state: what a starting daemon picks up again."""
        rows = self._rows(
            f"SELECT {_FLOW_RUN_COLUMNS} FROM flow_runs WHERE state_type NOT IN "
            "('COMPLETED', 'FAILED', 'CRASHED', 'CANCELLED') ORDER BY created, id"
        )
        return [FlowRunView.from_row(r) for r in rows]

    def schedule_slots(
        self, since: float
    ) -> tuple[dict[str, str], dict[tuple[str, str], float], dict[str, str]]:
        """Slots from `since` on (key -> run id), the latest slot time per (deployment,
        schedule), and the schedule id of each of those runs."""
        rows = self._rows(
            "SELECT key, flow_run_id, schedule_id FROM schedule_slots "
            "WHERE slot_time >= to_timestamp(?)",
            [since],
        )
        keys = {r[0]: r[1] for r in rows}
        schedule_of = {r[1]: r[2] for r in rows}
        latest = {
            (r[0], r[1]): float(r[2])
            for r in self._rows(
                "SELECT deployment, schedule_id, max(epoch(slot_time)) "
                "FROM schedule_slots GROUP BY ALL"
            )
        }
        return keys, latest, schedule_of

    def recent_by_deployment(self, per_deployment: int = 10) -> dict[str, list[FlowRunView]]:
        """The latest finished or running flow runs of every deployment, newest first."""
        rows = self._rows(
            f"SELECT {_FLOW_RUN_COLUMNS} FROM flow_runs WHERE deployment IS NOT NULL "
            "AND state_type <> 'SCHEDULED' "
            "QUALIFY row_number() OVER (PARTITION BY deployment ORDER BY created DESC) <= ? "
            "ORDER BY deployment, created DESC",
            [per_deployment],
        )
        grouped: dict[str, list[FlowRunView]] = {}
        for row in rows:
            view = FlowRunView.from_row(row)
            grouped.setdefault(view.deployment or "", []).append(view)
        return grouped

    def child_flow_runs(self, flow_run_id: str) -> list[FlowRunView]:
        """Subflow runs started from inside this flow run, oldest first."""
        rows = self._rows(
            f"SELECT {_FLOW_RUN_COLUMNS} FROM flow_runs WHERE parent_flow_run_id = ? "
            "OR parent_task_run_id IN (SELECT id FROM task_runs WHERE flow_run_id = ?) "
            "ORDER BY created, id",
            [flow_run_id, flow_run_id],
        )
        return self._with_counts([FlowRunView.from_row(r) for r in rows])


def _replace_counts(run: FlowRunView, counts: dict[str, int]) -> FlowRunView:
    from dataclasses import replace

    return replace(run, task_run_counts=counts)
