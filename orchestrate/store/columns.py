"""The store's tables as columns: records turned into one list per column, and the SQL that loads them.

A flush writes each table with one `INSERT … SELECT unnest(…)`. A table is
declared by its columns alone: each is read from the record field of its
name (JSON and tags converted by kind), and the seven state columns from the
record's `state`. The columns come from one `attrgetter` pass per field over the
records (state fields included): this runs in the writer
thread and holds the GIL the flow's task runs need, so it stays at C speed.
A column goes to DuckDB as one string when it can (`encode.column_text`), or
as a list.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cached_property
from operator import attrgetter
from typing import Any

from orchestrate.store.encode import (
    NULL,
    ROW_SEPARATOR,
    SEPARATOR,
    TYPE_TEXT,
    state_columns,
    to_json,
)
from orchestrate.store.history_shape import ROWS_TABLE

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
#: What a record field of a kind becomes in its column (other kinds go as they are).
_CONVERT: dict[str, Callable[[Any], Any]] = {"json": to_json}
#: Tags stay tuples (their text is the same); only columns bound as lists need lists.
_BOUND: dict[str, Callable[[Any], Any]] = {"tags": list}

Columns = list[Sequence[Any]]

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
_STATE_KINDS = ("str", "str", "str", "time", "str", "str", "str")


@dataclass(frozen=True)
class Table:
    """A table: its columns, in order, each as (name, kind).

    A column holds the record field of its name; the seven columns from
    `state_type` on (`state_columns`) hold the record's state instead. The
    `computed` columns follow them: the writer works them out per batch, no
    record field holds them. An upsert of rows that may exist deletes them by
    `key`, then inserts (`replaces`): in DuckDB 2.0 that costs 3 ms where
    `INSERT OR REPLACE` costs 8 whatever the batch holds. `conflict` makes it an
    `INSERT … ON CONFLICT` instead, for an upsert that must keep some of a row's
    stored values.
    """

    name: str
    columns: Sequence[tuple[str, str]]
    upsert: bool = False
    computed: Sequence[tuple[str, str]] = ()
    conflict: str | None = None
    key: str = "id"

    def columns_of(self, records: list[Any]) -> Columns:
        """Every column of `records`, in the table's order, gathered field by field (at C speed)."""
        fields, kinds, state_at = self._plan
        gathered = _gather(records, *fields)
        plain = zip(kinds, gathered[: len(kinds)], strict=True)
        columns = [_converted(kind, column) for kind, column in plain]
        if state_at is not None:
            columns[state_at:state_at] = _state_columns(gathered[len(kinds) :])
        return columns

    @cached_property
    def _plan(self) -> tuple[tuple[str, ...], tuple[str, ...], int | None]:
        """The fields `columns_of` gathers, the kinds of those not from the state, and where the state goes."""
        names = [name for name, _ in self.columns]
        state_at = names.index("state_type") if "state_type" in names else None
        plain = [c for i, c in enumerate(self.columns) if not _in_state(i, state_at)]
        state_fields = _STATE_FIELDS if state_at is not None else ()
        return (*(n for n, _ in plain), *state_fields), tuple(k for _, k in plain), state_at

    @property
    def all_columns(self) -> tuple[tuple[str, str], ...]:
        """The record's columns, then the computed ones: what a statement writes."""
        return (*self.columns, *self.computed)

    @property
    def insert_sql(self) -> str:
        """Plain INSERT: ~40% cheaper than the upsert for rows known to be new."""
        return self.bound_sql(upsert=False)

    @property
    def sql(self) -> str:
        """The statement for columns bound as lists, one parameter per column."""
        return self.bound_sql(self.upsert)

    def bound_sql(self, upsert: bool) -> str:
        """The statement for columns bound as lists, one parameter per column."""
        columns = self.all_columns
        inner = ", ".join(
            f"unnest(${i}::{_BIND[kind]}) AS c{i}" for i, (_, kind) in enumerate(columns, 1)
        )
        outer = ", ".join(
            _STORE.get(kind, "{}").format(f"c{i}") for i, (_, kind) in enumerate(columns, 1)
        )
        return self._insert(upsert, outer, inner)

    def text_sql(self, upsert: bool, by_rows: bool = False) -> str:
        """The statement for columns sent as text (`encode.column_text`), one string per column,
        or `by_rows`, for rows sent as one string (`encode.rows_text`)."""
        return self._text_sqls[upsert, by_rows]

    @cached_property
    def _text_sqls(self) -> dict[tuple[bool, bool], str]:
        """`text_sql` of each form, built once: a flush asks for one for every table it writes."""
        return {
            (upsert, by_rows): self._insert(upsert, *self._text_select(by_rows))
            for upsert in (False, True)
            for by_rows in (False, True)
        }

    def _text_select(self, by_rows: bool) -> tuple[str, str]:
        """The outer select's columns, and the inner one's."""
        columns = self.all_columns
        if by_rows:
            rows = f"unnest(string_split($1, chr({ord(ROW_SEPARATOR)})))"
            values = [f"r[{i}]" for i in range(1, len(columns) + 1)]
            inner = f"string_split({rows}, chr({ord(SEPARATOR)})) AS r"
        else:
            values = [f"c{i}" for i in range(1, len(columns) + 1)]
            inner = ", ".join(
                f"unnest(string_split(${i}, chr({ord(SEPARATOR)}))) AS c{i}"
                for i in range(1, len(columns) + 1)
            )
        outer = ", ".join(
            _FROM_TEXT[kind].format(f"nullif({value}, chr({ord(NULL)}))")
            for value, (_, kind) in zip(values, columns, strict=True)
        )
        return outer, inner

    @property
    def replaces(self) -> bool:
        """True when an upsert is a DELETE of the keys (`delete_sql`) then a plain INSERT."""
        return self.upsert and self.conflict is None

    @property
    def delete_sql(self) -> str:
        """The DELETE of the rows whose keys are bound as one list."""
        return f"DELETE FROM {self.name} WHERE list_contains($1::VARCHAR[], {self.key})"

    @property
    def delete_text_sql(self) -> str:
        """The DELETE of the rows whose keys are sent as text (`encode.column_text`)."""
        keys = f"string_split($1, chr({ord(SEPARATOR)}))"
        return f"DELETE FROM {self.name} WHERE list_contains({keys}, {self.key})"

    def _insert(self, upsert: bool, outer: str, inner: str) -> str:
        names = ", ".join(name for name, _ in self.all_columns)
        select = f"({names}) SELECT {outer} FROM (SELECT {inner})"
        if upsert and self.conflict is not None:
            return f"INSERT INTO {self.name} {select} {self.conflict}"
        verb = "INSERT OR REPLACE" if upsert else "INSERT"
        return f"{verb} INTO {self.name} {select}"


def _in_state(index: int, state_at: int | None) -> bool:
    return state_at is not None and state_at <= index < state_at + len(_STATE_KINDS)


def bound_column(kind: str, column: Sequence[Any]) -> list[Any]:
    """A column as the list DuckDB binds for `Table.sql` (tags as lists, not tuples)."""
    convert = _BOUND.get(kind)
    return list(column) if convert is None else list(map(convert, column))


def _converted(kind: str, column: Sequence[Any]) -> Sequence[Any]:
    convert = _CONVERT.get(kind)
    return column if convert is None else list(map(convert, column))


def _gather(records: list[Any], *fields: str) -> Columns:
    """Each of `fields` (dotted paths) of every record: one column per field.

    One `map` per field, not one tuple per record transposed by `zip`: the
    tuples cost a record's worth of garbage-collected objects each, and that
    took four times as long on a 150,000-row flush.
    """
    return [list(map(attrgetter(name), records)) for name in fields]


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


def _state(*names: str) -> list[tuple[str, str]]:
    """The seven state columns under `names`, with their kinds."""
    return list(zip(names, _STATE_KINDS, strict=True))


_STATE = _state(
    "state_type",
    "state_name",
    "state_message",
    "state_ts",
    "error_type",
    "error_message",
    "traceback",
)

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
        ("next_scheduled_start_time", "time"),
    ],
    upsert=True,
)
#: A task run's row stands for the start of its history (`history_shape`): the writer
#: knows how much for the runs it writes; an upsert by a writer that does not keeps what is stored.
_TASK_RUN_HISTORY = (("pending_ts", "time"), ("history_derived", "int"))


def _keeping_history(columns: Sequence[tuple[str, str]]) -> str:
    """An upsert's clause: every column from the new row, but the history a row stands for only grows."""
    sets = [f"{name} = excluded.{name}" for name, _ in columns if name != "id"]
    sets.append("pending_ts = coalesce(excluded.pending_ts, pending_ts)")
    sets.append("history_derived = greatest(excluded.history_derived, history_derived)")
    return f"ON CONFLICT (id) DO UPDATE SET {', '.join(sets)}"


_TASK_RUN_COLUMNS = [
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
]
TASK_RUNS = Table(
    "task_runs",
    _TASK_RUN_COLUMNS,
    upsert=True,
    computed=_TASK_RUN_HISTORY,
    conflict=_keeping_history(_TASK_RUN_COLUMNS),
)
EDGES = Table(
    "task_run_edges",
    [("flow_run_id", "str"), ("task_run_id", "str"), ("upstream_id", "str"), ("kind", "str")],
)
HISTORY = Table(
    ROWS_TABLE,
    [
        ("run_id", "str"),
        ("flow_run_id", "str"),
        ("is_task", "bool"),
        *_state(
            "state_type", "state_name", "message", "ts", "error_type", "error_message", "traceback"
        ),
    ],
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
    upsert=True,
    key="key",
)
