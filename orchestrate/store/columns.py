"""The store's tables as columns: records turned into one list per column, and the SQL that loads them.

A flush writes each table with one `INSERT … SELECT unnest(…)`. The columns
come from one `attrgetter` pass over the records (state fields included),
transposed by `zip`: this runs in the writer thread and holds the GIL the
flow's task runs need, so it stays at C speed. A column goes to DuckDB as
one string when it can (`encode.column_text`), or as a list.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from operator import attrgetter
from typing import Any

from orchestrate.core.records import (
    EdgeRecord,
    EventRecord,
    FlowRunRecord,
    LogRecord,
    StateRecord,
    TaskRunRecord,
)
from orchestrate.store.encode import NULL, SEPARATOR, TYPE_TEXT, state_columns, to_json

# Column kinds: how a Python list binds, and how text or a bound value becomes the stored type.
_BIND = {
    "str": "VARCHAR[]",
    "int": "BIGINT[]",
    "bool": "BOOLEAN[]",
    "time": "DOUBLE[]",
    "json": "VARCHAR[]",
    "tags": "VARCHAR[][]",
}
_STORE = {"time": "to_timestamp({})", "json": "{}::JSON"}
_FROM_TEXT = {
    "str": "{}",
    "int": "{}::BIGINT",
    "bool": "{}::BOOLEAN",
    "time": "to_timestamp({}::BIGINT / 1000000)",
    "json": "{}::JSON",
    "tags": "{}::JSON::VARCHAR[]",
}

Columns = list[Sequence[Any]]


@dataclass(frozen=True)
class Table:
    """A table: its columns in the order `columns_of` builds them from records."""

    name: str
    columns: Sequence[tuple[str, str]]
    columns_of: Callable[[list[Any]], Columns]
    upsert: bool = False

    @property
    def insert_sql(self) -> str:
        """Plain INSERT: ~40% cheaper than the upsert for rows known to be new."""
        return self.sql.replace("INSERT OR REPLACE", "INSERT", 1)

    @property
    def sql(self) -> str:
        """The statement for columns bound as lists, one parameter per column."""
        inner = ", ".join(
            f"unnest(${i}::{_BIND[kind]}) AS c{i}" for i, (_, kind) in enumerate(self.columns, 1)
        )
        outer = ", ".join(
            _STORE.get(kind, "{}").format(f"c{i}") for i, (_, kind) in enumerate(self.columns, 1)
        )
        return f"{self._verb(self.upsert)} INTO {self.name} ({self._names}) SELECT {outer} FROM (SELECT {inner})"

    def text_sql(self, upsert: bool) -> str:
        """The statement for columns sent as text (`encode.column_text`), one string per column."""
        inner = ", ".join(
            f"unnest(string_split(${i}, chr({ord(SEPARATOR)}))) AS c{i}"
            for i in range(1, len(self.columns) + 1)
        )
        outer = ", ".join(
            _FROM_TEXT[kind].format(f"nullif(c{i}, chr({ord(NULL)}))")
            for i, (_, kind) in enumerate(self.columns, 1)
        )
        return f"{self._verb(upsert)} INTO {self.name} ({self._names}) SELECT {outer} FROM (SELECT {inner})"

    @staticmethod
    def _verb(upsert: bool) -> str:
        return "INSERT OR REPLACE" if upsert else "INSERT"

    @property
    def _names(self) -> str:
        return ", ".join(name for name, _ in self.columns)


def _gather(records: list[Any], *fields: str) -> Columns:
    """Each of `fields` (dotted paths) of every record: one column per field, in one pass."""
    return list(zip(*map(attrgetter(*fields), records), strict=True))


#: The fields of a record's state that its state columns come from, for `_gather`.
_STATE_FIELDS = (
    "state.type",
    "state.name",
    "state.message",
    "state.ts",
    "state.traceback",
    "state.data",
    "state",
)


def _state_columns(gathered: Columns) -> Columns:
    """(type, name, message, ts, error_type, error_message, traceback) columns, from `_STATE_FIELDS`."""
    types, names, messages, stamps, tracebacks, data, states = gathered
    if any(issubclass(kind, BaseException) for kind in set(map(type, data))):
        # Rare: the error columns, one state at a time.
        return list(zip(*map(state_columns, states), strict=True))
    nothing = [None] * len(states)
    return [
        list(map(TYPE_TEXT.__getitem__, types)),
        names,
        messages,
        stamps,
        nothing,
        nothing,
        tracebacks,
    ]


def flow_run_columns(runs: list[FlowRunRecord]) -> Columns:
    (
        ids,
        names,
        flows,
        parameters,
        tags,
        parent_flow_runs,
        parent_task_runs,
        deployments,
        entrypoints,
        versions,
        created,
        expected,
        starts,
        ends,
        counts,
        *state,
    ) = _gather(
        runs,
        "id",
        "name",
        "flow_name",
        "parameters",
        "tags",
        "parent_flow_run_id",
        "parent_task_run_id",
        "deployment",
        "entrypoint",
        "flow_version",
        "created",
        "expected_start_time",
        "start_time",
        "end_time",
        "run_count",
        *_STATE_FIELDS,
    )
    return [
        ids,
        names,
        flows,
        *_state_columns(state),
        list(map(to_json, parameters)),
        list(map(list, tags)),
        parent_flow_runs,
        parent_task_runs,
        deployments,
        entrypoints,
        versions,
        created,
        expected,
        starts,
        ends,
        counts,
    ]


def task_run_columns(runs: list[TaskRunRecord]) -> Columns:
    (
        ids,
        flow_runs,
        names,
        keys,
        dynamic_keys,
        kinds,
        tags,
        parents,
        cache_keys,
        created,
        starts,
        ends,
        counts,
        *state,
    ) = _gather(
        runs,
        "id",
        "flow_run_id",
        "name",
        "task_key",
        "dynamic_key",
        "kind",
        "tags",
        "parent_task_run_id",
        "cache_key",
        "created",
        "start_time",
        "end_time",
        "run_count",
        *_STATE_FIELDS,
    )
    return [
        ids,
        flow_runs,
        names,
        keys,
        dynamic_keys,
        kinds,
        *_state_columns(state),
        list(map(list, tags)),
        parents,
        cache_keys,
        created,
        starts,
        ends,
        counts,
    ]


def history_columns(records: list[StateRecord]) -> Columns:
    run_ids, flow_runs, is_task, *state = _gather(
        records, "run_id", "flow_run_id", "is_task", *_STATE_FIELDS
    )
    return [run_ids, flow_runs, is_task, *_state_columns(state)]


def edge_columns(edges: list[EdgeRecord]) -> Columns:
    return _gather(edges, "flow_run_id", "task_run_id", "upstream_id", "kind")


def log_columns(logs: list[LogRecord]) -> Columns:
    return _gather(logs, "flow_run_id", "task_run_id", "ts", "level", "logger", "message")


def event_columns(events: list[EventRecord]) -> Columns:
    ids, occurred, names, *documents = _gather(
        events, "id", "occurred", "event", "resource", "related", "payload"
    )
    return [ids, occurred, names, *(list(map(to_json, document)) for document in documents)]


def slot_columns(slots: list[Any]) -> Columns:
    return _gather(slots, "key", "flow_run_id", "deployment", "schedule_id", "slot_time")


_STATE = [
    ("state_type", "str"),
    ("state_name", "str"),
    ("state_message", "str"),
    ("state_ts", "time"),
    ("error_type", "str"),
    ("error_message", "str"),
    ("traceback", "str"),
]

FLOW_RUNS = Table(
    "flow_runs",
    [
        ("id", "str"),
        ("name", "str"),
        ("flow_name", "str"),
        *_STATE,
        ("parameters", "json"),
        ("tags", "tags"),
        ("parent_flow_run_id", "str"),
        ("parent_task_run_id", "str"),
        ("deployment", "str"),
        ("entrypoint", "str"),
        ("flow_version", "str"),
        ("created", "time"),
        ("expected_start_time", "time"),
        ("start_time", "time"),
        ("end_time", "time"),
        ("run_count", "int"),
    ],
    flow_run_columns,
    upsert=True,
)
TASK_RUNS = Table(
    "task_runs",
    [
        ("id", "str"),
        ("flow_run_id", "str"),
        ("name", "str"),
        ("task_key", "str"),
        ("dynamic_key", "int"),
        ("kind", "str"),
        *_STATE,
        ("tags", "tags"),
        ("parent_task_run_id", "str"),
        ("cache_key", "str"),
        ("created", "time"),
        ("start_time", "time"),
        ("end_time", "time"),
        ("run_count", "int"),
    ],
    task_run_columns,
    upsert=True,
)
EDGES = Table(
    "task_run_edges",
    [("flow_run_id", "str"), ("task_run_id", "str"), ("upstream_id", "str"), ("kind", "str")],
    edge_columns,
)
HISTORY = Table(
    "state_history",
    [
        ("run_id", "str"),
        ("flow_run_id", "str"),
        ("is_task", "bool"),
        ("state_type", "str"),
        ("state_name", "str"),
        ("message", "str"),
        ("ts", "time"),
        ("error_type", "str"),
        ("error_message", "str"),
        ("traceback", "str"),
    ],
    history_columns,
)
LOGS = Table(
    "logs",
    [
        ("flow_run_id", "str"),
        ("task_run_id", "str"),
        ("ts", "time"),
        ("level", "int"),
        ("logger", "str"),
        ("message", "str"),
    ],
    log_columns,
)
EVENTS = Table(
    "events",
    [
        ("id", "str"),
        ("occurred", "time"),
        ("event", "str"),
        ("resource", "json"),
        ("related", "json"),
        ("payload", "json"),
    ],
    event_columns,
)
SLOTS = Table(
    "schedule_slots",
    [
        ("key", "str"),
        ("flow_run_id", "str"),
        ("deployment", "str"),
        ("schedule_id", "str"),
        ("slot_time", "time"),
    ],
    slot_columns,
    upsert=True,
)
