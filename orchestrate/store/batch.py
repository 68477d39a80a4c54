"""One flush's worth of records, grouped per table and written as columnar bulk statements.

Run snapshots (and schedule slots) are coalesced by key (last put wins) because the engine re-puts
the same mutable object after each change, and because DuckDB's upsert keeps
the first of two rows with one key in a single statement. Each table then
gets one `INSERT … SELECT unnest(…), …` (see `columns`): hundreds of thousands
of rows a second, where row-by-row inserts manage a few hundred. Its columns
go as text to a statement prepared once per connection, or, when a value
won't go as text, as bound lists.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Sized
from dataclasses import dataclass, field
from operator import attrgetter
from typing import TYPE_CHECKING, Any

from orchestrate.core.records import (
    EdgeRecord,
    EventRecord,
    FlowRunRecord,
    LogRecord,
    StateRecord,
    TaskRunRecord,
)
from orchestrate.core.states import TERMINAL_STATES
from orchestrate.store import plain_states, pruning
from orchestrate.store.columns import (
    EDGES,
    EVENTS,
    FLOW_RUNS,
    HISTORY,
    LOGS,
    SLOTS,
    TASK_RUNS,
    Table,
    bound_column,
)
from orchestrate.store.encode import column_text, rows_text
from orchestrate.store.plain_states import Shape
from orchestrate.store.pruning import RunPruning

if TYPE_CHECKING:
    import duckdb

__all__ = [
    "FLOW_RUNS",
    "TASK_RUNS",
    "Batch",
    "EventPruning",
    "RunDeletion",
    "SlotRecord",
    "StoredRuns",
    "StoredTogether",
]


@dataclass(slots=True, frozen=True)
class SlotRecord:
    """The daemon materialised schedule slot `key` as flow run `flow_run_id`."""

    key: str
    flow_run_id: str
    deployment: str
    schedule_id: str
    slot_time: float


@dataclass(slots=True, frozen=True)
class StoredTogether:
    """Records stored in one transaction or not at all: the writer never splits them.

    A scheduled run and the slot it was made for are one such group: stored
    apart, a kill between the two writes left a run whose slot the next
    `orc up` did not know was taken, so it made a second run for that slot.
    """

    records: tuple[Any, ...]


@dataclass(slots=True, frozen=True)
class RunDeletion:
    """Scheduled flow runs the daemon withdrew (a changed schedule, a removed deployment)."""

    flow_run_ids: tuple[str, ...]


@dataclass(slots=True, frozen=True)
class EventPruning:
    """Events that occurred before `before` (epoch seconds) leave the store: the retention setting."""

    before: float


class StoredRuns:
    """The runs a writer has stored and may be given again, so their next rows upsert.

    A finished run leaves after one more write: the put that recorded its final
    state may reach the queue just after the write that already read that state.
    `derived` says, for task runs still here, how many plain states their stored
    row stands for (`plain_states`).
    """

    __slots__ = ("_finished", "_open", "derived")

    def __init__(self) -> None:
        self._open: set[str] = set()
        self._finished: set[str] = set()
        self.derived: dict[str, int] = {}

    def __contains__(self, run_id: str) -> bool:
        return run_id in self._open or run_id in self._finished

    def among(self, run_ids: Iterable[str]) -> set[str]:
        """Which of `run_ids` this writer stored: two set intersections, no call per id."""
        ids = run_ids if isinstance(run_ids, set) else set(run_ids)
        return (ids & self._open) | (ids & self._finished)

    def update(
        self, runs: Iterable[FlowRunRecord | TaskRunRecord], shape: Shape | None = None
    ) -> None:
        left, finished = self._finished, set()
        for run_id, state in map(_ID_AND_STATE, runs):
            if state.type in TERMINAL_STATES:
                finished.add(run_id)
            else:
                self._open.add(run_id)
        self._open -= finished
        self._finished = finished
        if shape is not None:
            self._derive(shape, left)

    def deleted(self, run_ids: set[str]) -> None:
        """Runs deleted from the store (withdrawn or skipped slots): none comes again."""
        self._open -= run_ids
        self._finished -= run_ids

    def _derive(self, shape: Shape, left: set[str]) -> None:
        """Note what the rows just written stand for; forget runs that left and rows that are whole."""
        derived = self.derived
        if not derived and all(map(_WHOLE.__eq__, shape.counts.values())):
            return  # the usual flush: every row it wrote stands for a whole plain history
        for run_id in shape.broken:
            derived.pop(run_id, None)
        for run_id, count in shape.counts.items():
            if count < 3:
                derived[run_id] = count
            else:
                derived.pop(run_id, None)
        if derived:
            for run_id in left:
                if run_id not in self:
                    derived.pop(run_id, None)

    def forget(self, run_ids: Iterable[str]) -> None:
        """Runs whose states were stored as rows by a write that did not shape them."""
        for run_id in run_ids:
            self.derived.pop(run_id, None)


@dataclass
class Batch:
    """Records drained from the queue, sorted by table; run snapshots keyed by id."""

    flow_runs: dict[str, FlowRunRecord] = field(default_factory=dict)
    task_runs: dict[str, TaskRunRecord] = field(default_factory=dict)
    states: list[StateRecord] = field(default_factory=list)
    edges: list[EdgeRecord] = field(default_factory=list)
    logs: list[LogRecord] = field(default_factory=list)
    events: list[EventRecord] = field(default_factory=list)
    slots: dict[str, SlotRecord] = field(default_factory=dict)
    deletions: set[str] = field(default_factory=set)
    #: Slots whose put a deletion withdrew: their keys' stored rows go too (the put replaced them).
    withdrawn_slots: set[str] = field(default_factory=set)
    #: Finished runs retention removes, after this batch's own rows (late ones for them go too).
    pruned: set[str] = field(default_factory=set)
    pruned_tasks: set[str] = field(default_factory=set)
    prune_events_before: float | None = None
    #: Records `add_all` could not sort into a table; the writer sets them aside, loudly.
    unreadable: list[Any] = field(default_factory=list)

    def add(self, record: object) -> None:
        if isinstance(record, StateRecord):  # the three a task run sends most, first
            self.states.append(record)
        elif isinstance(record, TaskRunRecord):
            self.task_runs[record.id] = record
        elif isinstance(record, LogRecord):
            self.logs.append(record)
        elif isinstance(record, FlowRunRecord):
            self.flow_runs[record.id] = record
        elif isinstance(record, EdgeRecord):
            self.edges.append(record)
        elif isinstance(record, EventRecord):
            self.events.append(record)
        elif isinstance(record, SlotRecord):
            self.slots[record.key] = record
        else:
            self._add_change(record)

    def _add_change(self, record: object) -> None:
        """The daemon's records that change what is stored: deletions, prunes, groups."""
        if isinstance(record, RunDeletion):
            self._delete(record.flow_run_ids)
        elif isinstance(record, RunPruning):
            self.pruned.update(record.flow_run_ids)
            self.pruned_tasks.update(record.task_run_ids)
        elif isinstance(record, EventPruning):
            self.prune_events_before = max(self.prune_events_before or 0.0, record.before)
        elif isinstance(record, StoredTogether):
            for part in record.records:
                self.add(part)

    def add_all(self, records: list[Any]) -> list[Any]:
        """`add` each record; returns those that are not records (a writer's markers), in order.

        The writer's hot loop: a task run sends six records, and this takes them
        at a fraction of the cost of six `add` calls. A record that cannot even
        be sorted (an id that is not hashable) goes to `unreadable`, and the
        loop resumes after it: the iterator knows where, at no cost per record.
        """
        states, task_runs = self.states.append, self.task_runs
        others: list[Any] = []
        remaining = iter(records)
        record: Any = None
        while True:
            try:
                for record in remaining:
                    kind = type(record)
                    if kind is StateRecord:
                        states(record)
                    elif kind is TaskRunRecord:
                        task_runs[record.id] = record
                    elif isinstance(record, _RECORD_TYPES):
                        self.add(record)
                    else:
                        others.append(record)
                return others
            except Exception:
                self.unreadable.append(record)

    def _delete(self, ids: tuple[str, ...]) -> None:
        """Withdraw runs: drop what is pending for them and delete what is stored.

        The lists change in place: `add_all` holds their bound methods while it
        runs, and a rebound list would leave every later record in a list no
        write reads.
        """
        for run_id in ids:
            self.flow_runs.pop(run_id, None)
        gone = set(ids)
        self.states[:] = [s for s in self.states if s.run_id not in gone]
        for key in [key for key, slot in self.slots.items() if slot.flow_run_id in gone]:
            del self.slots[key]
            self.withdrawn_slots.add(key)
        self.deletions |= gone

    def refused(
        self, conn: duckdb.DuckDBPyConnection, prepared: set[str], is_data_error: ErrorTest
    ) -> list[Any]:
        """The records DuckDB will not take, found by trial writes (rolled back) of ever smaller halves.

        A write fails as a whole, so one odd value would cost every record
        beside it. An error that is not about data (the disk, the file) raises:
        nothing is known about the records then.
        """
        refused: list[Any] = []
        pieces = [part for part in self._tables() if part]
        while pieces:
            piece = pieces.pop()
            try:
                Batch.of(piece).write(conn, None, prepared, commit=False)
            except Exception as exc:
                if not is_data_error(exc):
                    raise
                if len(piece) == 1:
                    refused += piece
                else:
                    pieces += [piece[len(piece) // 2 :], piece[: len(piece) // 2]]
        return refused

    @classmethod
    def of(cls, records: list[Any]) -> Batch:
        batch = cls()
        batch.add_all(records)
        return batch

    def swap(self, record: Any, replacement: Any | None) -> None:
        """Put `replacement` where `record` (this very object) is, or remove `record` when None."""
        for part in (self.states, self.edges, self.logs, self.events):
            for i, item in enumerate(part):
                if item is record:
                    part[i : i + 1] = [] if replacement is None else [replacement]
                    return
        for keyed in (self.flow_runs, self.task_runs, self.slots):
            for key, item in keyed.items():
                if item is record:
                    if replacement is None:
                        del keyed[key]
                    else:
                        keyed[key] = replacement
                    return

    def _tables(self) -> list[list[Any]]:
        """Each table's records, in the order a write stores them."""
        return [
            list(self.flow_runs.values()),
            list(self.task_runs.values()),
            self.states,
            self.edges,
            self.logs,
            self.events,
            list(self.slots.values()),
        ]

    def __len__(self) -> int:
        return sum(len(part) for part in self._parts()) + (self.prune_events_before is not None)

    def _parts(self) -> list[Sized]:
        return [
            self.flow_runs,
            self.task_runs,
            self.states,
            self.edges,
            self.logs,
            self.events,
            self.slots,
            self.deletions,
            self.withdrawn_slots,
            self.pruned,
            self.pruned_tasks,
        ]

    def write(
        self,
        conn: duckdb.DuckDBPyConnection,
        stored: StoredRuns | None = None,
        prepared: set[str] | None = None,
        commit: bool = True,
        rows_up_to: int = 0,
    ) -> None:
        """Every table's rows in one transaction: all of this batch is stored, or none of it.

        `stored` knows the runs this writer has stored and may see again: other
        runs are new and take the cheaper plain INSERT. It is updated after a
        successful write. Without it, every run is upserted. `prepared` names the
        statements prepared on `conn` already (kept by a writer across flushes).
        With `commit` False the transaction is rolled back: a trial write.
        A table's rows go as one string of rows up to `rows_up_to` of them
        (`_statement`; 0: never).
        """
        flow_runs, task_runs = list(self.flow_runs.values()), list(self.task_runs.values())
        known = None if stored is None else stored.among(self.task_runs.keys() | self.flow_runs)
        shaped = (
            plain_states.no_shape(self.states)
            if stored is None or known is None
            else plain_states.shape(self.states, self.task_runs, known, stored.derived)
        )
        statements = self._deletion_statements()
        statements += _run_statements(FLOW_RUNS, flow_runs, known, rows_up_to)
        statements += _run_statements(TASK_RUNS, task_runs, known, rows_up_to, shaped.computed)
        statements += self._append_statements(shaped.kept, rows_up_to)
        _execute_all(conn, statements, set() if prepared is None else prepared, commit)
        if stored is not None and commit:
            stored.update([*flow_runs, *task_runs], shaped)
            if self.deletions:
                stored.deleted(self.deletions)

    def _append_statements(self, states: list[StateRecord], rows_up_to: int) -> list[Statement]:
        """The tables only ever added to, then the event pruning (old events in this batch go too)."""
        appends: list[tuple[Table, list[Any]]] = [
            (HISTORY, states),
            (EDGES, self.edges),
            (LOGS, self.logs),
            (EVENTS, self.events),
            (SLOTS, list(self.slots.values())),
        ]
        statements = [
            statement
            for table, items in appends
            if items
            for statement in _statements(table, items, table.upsert, rows_up_to)
        ]
        if self.prune_events_before is not None:
            prune = "DELETE FROM events WHERE occurred < to_timestamp($1)"
            statements.append((prune, [self.prune_events_before], None))
        statements += [
            (sql, params, None)
            for sql, params in pruning.statements(self.pruned, self.pruned_tasks)
        ]
        return statements

    def _deletion_statements(self) -> list[Statement]:
        statements: list[Statement] = []
        if self.withdrawn_slots:
            statements.append((SLOTS.delete_sql, [sorted(self.withdrawn_slots)], None))
        if not self.deletions:
            return statements
        ids = [sorted(self.deletions)]
        return statements + [
            (f"DELETE FROM {table} WHERE list_contains($1::VARCHAR[], {column})", ids, None)
            for table, column in (
                ("flow_runs", "id"),
                (HISTORY.name, "run_id"),
                ("schedule_slots", "flow_run_id"),
            )
        ]


_ID_AND_STATE = attrgetter("id", "state")
#: The plain states a task run's row stands for when it stands for all of them.
_WHOLE = 3

_RECORD_TYPES = (
    StateRecord,
    TaskRunRecord,
    LogRecord,
    FlowRunRecord,
    EdgeRecord,
    EventRecord,
    SlotRecord,
    RunDeletion,
    EventPruning,
    RunPruning,
    StoredTogether,
)

#: True when an exception says the data was wrong (not the disk, the file or the lock).
ErrorTest = Callable[[BaseException], bool]

#: A statement, its parameters, and the prepared statement it executes (name, SQL), if any.
Statement = tuple[str, list[Any] | None, tuple[str, str] | None]


#: The computed columns of a table's rows (`Table.computed`), from its records in order.
Computed = Callable[[list[Any]], list[list[Any]]]


def _run_statements(
    table: Table,
    items: list[Any],
    stored: set[str] | None,
    rows_up_to: int,
    computed: Computed | None = None,
) -> list[Statement]:
    """A run table's rows: plain INSERTs for runs known to be new, the table's upsert for the rest.

    `stored` holds those of the batch's runs the writer stored before (None: it
    knows nothing, so every run is upserted). A replacing table (`Table.replaces`)
    deletes the known runs' keys, then inserts new and known runs in one INSERT:
    a statement of their own cost the new runs ~1 ms a batch whatever it held.
    A table that upserts with ON CONFLICT keeps its new runs apart: that upsert
    costs DuckDB more per row than an INSERT, and a flow recording in its own
    process writes thousands of new task runs a batch beside a few known ones.
    """
    if stored is None:  # nothing is known to be new: upsert everything
        new, known = [], items
    elif not stored:  # the usual flush: every run in it is new
        new, known = items, []
    else:
        new = [r for r in items if r.id not in stored]
        known = [r for r in items if r.id in stored]
    if known and table.replaces:
        extra = computed(items) if computed is not None else []
        return [_delete(table, known), _statement(table, items, False, rows_up_to, extra)]
    statements = []
    for runs, upsert in ((new, False), (known, table.upsert)):
        if runs:
            extra = computed(runs) if computed is not None else []
            statements += _statements(table, runs, upsert, rows_up_to, extra)
    return statements


def _statements(
    table: Table,
    items: list[Any],
    upsert: bool,
    rows_up_to: int,
    computed: list[list[Any]] | None = None,
) -> list[Statement]:
    """One table's rows, as an insert or, for rows that may exist, as the table upserts them.

    A replacing upsert (`Table.replaces`) deletes the rows' keys and inserts in
    the same transaction; the batch holds each key once (coalesced by key), so
    the insert meets no duplicate.
    """
    if not (upsert and table.replaces):
        return [_statement(table, items, upsert, rows_up_to, computed)]
    return [_delete(table, items), _statement(table, items, False, rows_up_to, computed)]


def _delete(table: Table, items: list[Any]) -> Statement:
    """The DELETE of `items`' keys: prepared, the keys as one string, or bound as a list."""
    keys = list(map(attrgetter(table.key), items))
    text = column_text("str", keys)
    if text is None:
        return table.delete_sql, [keys], None
    name = f"orc_{table.name}_delete"
    return f"EXECUTE {name}('{text.replace(_QUOTE, _QUOTES)}')", None, (name, table.delete_text_sql)


def _statement(
    table: Table,
    items: list[Any],
    upsert: bool,
    rows_up_to: int = 0,
    computed: list[list[Any]] | None = None,
) -> Statement:
    """One table's rows as text, or each column as a list if a value won't go as text.

    Up to `rows_up_to` rows go as one string of rows (`encode.rows_text`), more
    as one string per column (`encode.column_text`): DuckDB splits and unnests a
    string per column for a fixed ~0.3 ms more (25 of them for flow runs), but
    for fewer per row, and Python joins a column in one call where rows take
    one each. Only the daemon's writer, whose batches are a few runs each, sends
    rows (`BY_ROWS`): a flow recording in its own process writes a few rows
    first and thousands later, and preparing both forms of a table cost its
    1,000-task flow ~5 µs a task. Text goes to a prepared statement, its strings given as literals:
    planning these wide statements costs DuckDB milliseconds, paid once per
    connection this way instead of once per flush, and DuckDB takes no
    parameters for EXECUTE from Python.
    """
    columns = table.columns_of(items) + (computed or [])
    kinds = [kind for _, kind in table.all_columns]
    by_rows = len(items) <= rows_up_to
    texts: list[str | None] = (
        [rows_text(kinds, columns)]
        if by_rows
        else [column_text(kind, column) for kind, column in zip(kinds, columns, strict=True)]
    )
    if None in texts:
        bound = [bound_column(kind, column) for kind, column in zip(kinds, columns, strict=True)]
        return table.bound_sql(upsert), bound, None
    name = f"orc_{table.name}_{'upsert' if upsert else 'insert'}{'_rows' if by_rows else ''}"
    literals = ", ".join([f"'{text.replace(_QUOTE, _QUOTES)}'" for text in texts])  # type: ignore[union-attr]
    return f"EXECUTE {name}({literals})", None, (name, table.text_sql(upsert, by_rows))


#: The most rows a statement of the daemon's writer sends as one string of rows (`_statement`).
BY_ROWS = 64
_QUOTE, _QUOTES = "'", "''"


def _execute_all(
    conn: duckdb.DuckDBPyConnection, statements: list[Statement], prepared: set[str], commit: bool
) -> None:
    """The transaction: its statements sent as text go to DuckDB together, in one call each run.

    Each `execute` call costs ~0.1 ms of DuckDB's and the binding's own work
    (a result made and fetched, the GIL let go and taken back) beside the
    statement's: a batch makes ten. Bound statements take a call of their own.
    """
    try:
        for sql, parameters in _calls(statements, prepared, commit):
            conn.execute(sql, parameters)
    except BaseException:
        prepared.clear()  # prepare again next time rather than trust what a failure left
        with contextlib.suppress(Exception):
            conn.execute("ROLLBACK")
        raise


def _calls(
    statements: list[Statement], prepared: set[str], commit: bool
) -> list[tuple[str, list[Any] | None]]:
    """`statements` between BEGIN and the end, each run of them without parameters joined in one."""
    calls: list[tuple[str, list[Any] | None]] = []
    texts = ["BEGIN TRANSACTION"]
    for sql, parameters, prepare in statements:
        if prepare is not None and prepare[0] not in prepared:
            texts.append(f"PREPARE {prepare[0]} AS {prepare[1]}")
            prepared.add(prepare[0])
        if parameters is None:
            texts.append(sql)
            continue
        if texts:
            calls.append((";\n".join(texts), None))
            texts = []
        calls.append((sql, parameters))
    texts.append("COMMIT" if commit else "ROLLBACK")
    calls.append((";\n".join(texts), None))
    return calls
