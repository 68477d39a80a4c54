"""The compact state history: plain task runs write no history rows, and every reader sees the same history.

The reference model is the list of states given to the writer: `state_history`
(the view), a run's history read by the store, and the `states` view of
`orc sql` must return exactly the rows the table held before the history was
made compact (each state's columns as `encode.state_columns` stores them), in
the order the states were given, however the records fall into batches. The
short form runs in the normal suite; `ORC_PROPERTY_LONG=1` runs many more examples.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import replace
from pathlib import Path
from typing import Any

import duckdb
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from orchestrate.core.records import FlowRunRecord, StateRecord, TaskRunRecord
from orchestrate.core.runs import transition
from orchestrate.states import State, StateType
from orchestrate.store import Store, StoreWriter, history_views, pruning
from orchestrate.store.encode import state_columns
from orchestrate.store.migrations import MIGRATIONS, migrate

LONG = os.environ.get("ORC_PROPERTY_LONG") == "1"
EXAMPLES = 1_000 if LONG else 25
BASE = 1_700_000_000.0
P, R, S, C, F, X = (
    StateType.PENDING,
    StateType.RUNNING,
    StateType.SCHEDULED,
    StateType.COMPLETED,
    StateType.FAILED,
    StateType.CRASHED,
)

#: Task run histories as (type, name, message, error) steps: plain, retried, failed, cached, ...
HISTORIES: dict[str, list[tuple[StateType, str, str | None, bool]]] = {
    "plain": [(P, "Pending", None, False), (R, "Running", None, False), (C, "Completed", None, False)],
    "pending": [(P, "Pending", None, False)],
    "running": [(P, "Pending", None, False), (R, "Running", None, False)],
    "retried": [
        (P, "Pending", None, False),
        (R, "Running", None, False),
        (S, "AwaitingRetry", "Retry 1/1 in 0s after ValueError: boom", False),
        (R, "Retrying", None, False),
        (C, "Completed", None, False),
    ],
    "failed": [(P, "Pending", None, False), (R, "Running", None, False), (F, "Failed", "boom", True)],
    "cached": [(P, "Pending", None, False), (C, "Cached", "Cache hit", False)],
    "message": [(P, "Pending", None, False), (R, "Running", None, False), (C, "Completed", "done", False)],
    "crashed": [(P, "Pending", None, False), (R, "Running", None, False), (X, "Crashed", "gone", False)],
    "odd-pending": [(P, "Pending", "waiting", False), (R, "Running", None, False), (C, "Completed", None, False)],
    "odd-running": [(P, "Pending", None, False), (R, "Running", "started", False), (C, "Completed", None, False)],
    "named": [(P, "Pending", None, False), (R, "Running", None, False), (C, "Done", None, False)],
}  # fmt: skip

COLUMNS = "run_id, flow_run_id, is_task, state_type, state_name, message, epoch_us(ts), error_type, error_message, traceback"


class _Sink:
    """Hands records to the writer as the engine does, flushing where the plan says (any split of a batch)."""

    def __init__(self, writer: StoreWriter, flushes: list[bool], copies: bool) -> None:
        self.writer, self.flushes, self.copies = writer, iter(flushes), copies
        self.given: list[StateRecord] = []

    def put(self, record: Any) -> None:
        if isinstance(record, StateRecord):
            self.given.append(record)
        # The daemon stores copies of run snapshots (`daemon.recorder`); a flow in-process, the live object.
        live = isinstance(record, TaskRunRecord | FlowRunRecord)
        self.writer.put(replace(record) if self.copies and live else record)
        if next(self.flushes, False):
            assert self.writer.flush(30)


def _expected(given: list[StateRecord]) -> list[tuple[Any, ...]]:
    """What the table of states held for `given`: one row per state, as the old writer stored it."""
    rows = []
    for record in given:
        kind, name, message, ts, error_type, error_message, traceback = state_columns(record.state)
        rows.append(
            (record.run_id, record.flow_run_id, record.is_task, kind, name, message, round(ts * 1e6),
             error_type, error_message, traceback)
        )  # fmt: skip
    return rows


def _play(
    path: Path, histories: list[str], interleave: bool, flushes: list[bool], copies: bool
) -> list[StateRecord]:
    """Run each history through `transition` into a writer; returns the states given, in order."""
    writer = StoreWriter(path)
    sink = _Sink(writer, flushes, copies)
    flow = FlowRunRecord("f1", "run", "flow", {}, State(P, timestamp=BASE), BASE)
    transition(flow, flow.state, sink, initial=True)
    transition(flow, State(R, timestamp=BASE + 0.000001), sink)
    runs = [
        TaskRunRecord(f"t{i}", "f1", f"task-{i}", "key", i, State(P, timestamp=BASE), BASE)
        for i in range(len(histories))
    ]
    steps = [(i, step) for i, name in enumerate(histories) for step in HISTORIES[name]]
    if interleave:  # submitted tasks: every run's first state, then every run's second, ...
        steps.sort(key=lambda item: HISTORIES[histories[item[0]]].index(item[1]))
    for seq, (i, (kind, name, message, error)) in enumerate(steps, start=1):
        ts = BASE + seq * 0.0000137  # microseconds apart, and not whole ones
        data = ValueError("boom") if error else None
        state = State(kind, name, message=message, data=data, timestamp=ts)
        transition(runs[i], state, sink, initial=kind is P and runs[i].state.ts == BASE)
    writer.close()
    assert writer.set_aside == []
    return sink.given


def _stored(path: Path) -> list[tuple[Any, ...]]:
    with duckdb.connect(str(path), read_only=True) as conn:
        return conn.execute(f"SELECT {COLUMNS} FROM state_history ORDER BY ts, rowid").fetchall()


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    histories=st.lists(st.sampled_from(sorted(HISTORIES)), min_size=1, max_size=8),
    interleave=st.booleans(),
    flushes=st.lists(st.booleans(), max_size=80),
    copies=st.booleans(),
)
def test_every_reader_sees_the_states_given(
    histories: list[str], interleave: bool, flushes: list[bool], copies: bool
) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "orc.duckdb"
        given = _play(path, histories, interleave, flushes, copies)
        expected = _expected(given)
        assert _stored(path) == sorted(expected, key=lambda row: row[6])  # ts are all distinct
        with Store(path) as store:
            for run_id in {row[0] for row in expected}:
                read = [
                    (e.run_id, e.state.name, e.state.message) for e in store.state_history(run_id)
                ]
                assert read == [(r[0], r[4], r[5]) for r in expected if r[0] == run_id]
        with duckdb.connect(str(path), read_only=True) as conn:
            history_views.install(conn)  # what `orc sql` reads: `states`, and the table's stand-in
            for view in ("states", "state_history"):
                got = conn.execute(f"SELECT {COLUMNS} FROM {view} ORDER BY ts").fetchall()
                assert got == sorted(expected, key=lambda row: row[6])


def test_a_plain_task_run_writes_no_history_rows(tmp_path: Path) -> None:
    path = tmp_path / "orc.duckdb"
    given = _play(path, ["plain", "plain", "failed", "plain"], False, [], False)
    with duckdb.connect(str(path), read_only=True) as conn:
        stored = conn.execute("SELECT run_id, state_name FROM state_history_rows ORDER BY rowid")
        # the failed run's row stands for its plain start; only its Failed state is a row
        assert stored.fetchall() == [("f1", "Pending"), ("f1", "Running"), ("t2", "Failed")]
    assert _stored(path) == _expected(given)


def test_ties_in_time_keep_the_order_the_states_were_given(tmp_path: Path) -> None:
    """Pending, Running and Completed in one microsecond: the rows still come in their order."""
    path = tmp_path / "orc.duckdb"
    writer = StoreWriter(path)
    run = TaskRunRecord("t1", "f1", "task", "key", 0, State(P, timestamp=BASE), BASE)
    given: list[StateRecord] = []

    class Sink:
        def put(self, record: Any) -> None:
            given.extend([record] if isinstance(record, StateRecord) else [])
            writer.put(record)

    transition(run, run.state, Sink(), initial=True)
    transition(run, State(R, timestamp=BASE), Sink())
    transition(run, State(C, timestamp=BASE), Sink())
    writer.close()
    with Store(path) as store:
        assert [e.state.name for e in store.state_history("t1")] == [
            "Pending",
            "Running",
            "Completed",
        ]
    assert _stored(path) == _expected(given)


def test_a_file_of_the_old_shape_keeps_every_row(tmp_path: Path) -> None:
    """A store written before the history was compact: after the migration every row reads the same."""
    path = tmp_path / "orc.duckdb"
    with duckdb.connect(str(path)) as conn:
        conn.execute("CREATE TABLE schema_version (version INTEGER PRIMARY KEY, applied TIMESTAMPTZ DEFAULT current_timestamp)")  # fmt: skip
        for number, sql in MIGRATIONS[:3]:  # today's DDL, as a file of version 3 has it
            conn.execute(sql)
            conn.execute("INSERT INTO schema_version (version) VALUES (?)", [number])
        conn.execute(
            "INSERT INTO task_runs (id, flow_run_id, state_type, state_name, start_time, end_time) "
            "VALUES ('t1', 'f1', 'COMPLETED', 'Completed', to_timestamp(2), to_timestamp(3))"
        )
        rows = [
            ("f1", "f1", False, "RUNNING", "Running", None, 1, None, None, None),
            ("t1", "f1", True, "PENDING", "Pending", None, 1, None, None, None),
            ("t1", "f1", True, "RUNNING", "Running", None, 2, None, None, None),
            ("t1", "f1", True, "COMPLETED", "Completed", None, 3, None, None, None),
            ("t2", "f1", True, "FAILED", "Failed", "boom", 3, "ValueError", "boom", "Traceback"),
            ("t1", "f1", True, "COMPLETED", "Completed", "twice", 3, None, None, None),
        ]
        conn.executemany(
            "INSERT INTO state_history VALUES (?, ?, ?, ?, ?, ?, to_timestamp(?), ?, ?, ?)", rows
        )
        before = conn.execute(f"SELECT {COLUMNS} FROM state_history ORDER BY ts, rowid").fetchall()
    with duckdb.connect(str(path)) as conn:
        assert migrate(conn, path) == 3
    assert len(before) == len(rows)
    assert _stored(path) == before
    with Store(path) as store:  # and the store writes and reads it as any other
        assert [e.state.message for e in store.state_history("t1")] == [None, None, None, "twice"]


def test_pruning_takes_a_compact_history_with_its_task_run(tmp_path: Path) -> None:
    path = tmp_path / "orc.duckdb"
    _play(path, ["plain", "failed"], False, [], False)
    with duckdb.connect(str(path)) as conn:
        conn.execute("UPDATE flow_runs SET state_type = 'COMPLETED', end_time = to_timestamp(1)")
        counts = pruning.prune_file(conn, BASE, None, dry_run=False)
        assert (counts.flow_runs, counts.task_runs, counts.states) == (1, 2, 8)
        assert conn.execute("SELECT count(*) FROM state_history").fetchall() == [(0,)]
        assert conn.execute("SELECT count(*) FROM task_runs").fetchall() == [(0,)]


def test_a_writer_that_does_not_know_the_run_keeps_its_history(tmp_path: Path) -> None:
    """A daemon after a restart ends a task run the last one left Running: its plain start stays."""
    path = tmp_path / "orc.duckdb"
    first = StoreWriter(path)
    run = TaskRunRecord("t1", "f1", "task", "key", 0, State(P, timestamp=BASE), BASE)
    transition(run, run.state, first, initial=True)
    transition(run, State(R, timestamp=BASE + 1), first)
    first.close()
    with Store(path) as store:  # rebuilt from the store, as recovery does
        view = store.task_runs("f1")[0]
    again = replace(run, state=State(R, timestamp=BASE + 1), start_time=view.start_time.timestamp())
    second = StoreWriter(path)
    transition(again, State(X, message="Its flow run's worker ended", timestamp=BASE + 2), second)
    second.close()
    with Store(path) as store:
        assert [e.state.name for e in store.state_history("t1")] == [
            "Pending",
            "Running",
            "Crashed",
        ]
