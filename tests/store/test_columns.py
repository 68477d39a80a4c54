"""Columns sent to DuckDB as text: every value stored exactly as bound lists store it, awkward ones included."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import duckdb
import pytest

from orchestrate.core.records import EdgeRecord, EventRecord, LogRecord, Record, StateRecord
from orchestrate.states import Completed, Failed, Pending, Running, State
from orchestrate.store import StoreWriter
from orchestrate.store.batch import Batch, SlotRecord, StoredRuns
from orchestrate.store.encode import NULL, ROW_SEPARATOR, SEPARATOR, column_text
from orchestrate.store.migrations import migrate

TABLES = (
    "flow_runs",
    "task_runs",
    "state_history",
    "task_run_edges",
    "logs",
    "events",
    "schedule_slots",
)


def _at(state: State, ts: float) -> State:
    state.ts = ts
    return state


def _records(build: SimpleNamespace, text: str) -> list[Record]:
    """One of every record, with `text` in every free-text field and awkward times."""
    failure = _at(
        Failed(message=text, data=ValueError(text)), 1_700_000_000.0000005
    )  # a tie at the µs
    failure.traceback = f"Traceback\n{text}"
    waiting = _at(Running(message=""), 1_700_000_000.1234565)
    flow_run = build.flow_run(
        "f1", failure, name=text, parameters={"text": text, "n": [1, None]}, tags=("a", text, ""),
        created=1_699_999_999.999999, start_time=None, end_time=1_700_000_001.25, run_count=3,
    )  # fmt: skip
    task_run = build.task_run(
        "t1", "f1", waiting, name=text, tags=(), dynamic_key=2**31 - 1, cache_key=None,
        parent_task_run_id="t0", kind="subflow", created=1_700_000_000, end_time=None,
    )  # fmt: skip
    return [
        flow_run,
        task_run,
        StateRecord("f1", "f1", False, failure),
        StateRecord("t1", "f1", True, _at(Pending(message=text), 1_700_000_000.5)),
        StateRecord("t1", "f1", True, waiting),
        EdgeRecord("f1", "t1", "t0", "data"),
        LogRecord("f1", None, 1_700_000_000.25, 40, "orc.task_runs", text),
        LogRecord("f1", "t1", 1_700_000_000.75, 20, text, ""),
        EventRecord(
            "e1", 1_700_000_002.0, "orc.flow-run.Failed", {"id": text}, {"why": text}, [{"r": text}]
        ),
        SlotRecord("k1", "f1", text, "s0", 1_700_000_060.0),
    ]


def _stored(
    records: list[Record],
    tmp_path: Path,
    as_text: bool,
    monkeypatch: pytest.MonkeyPatch,
    rows_up_to: int = 0,
) -> dict[str, list[str]]:
    if not as_text:
        monkeypatch.setattr("orchestrate.store.batch.rows_text", lambda kinds, columns: None)
        monkeypatch.setattr("orchestrate.store.batch.column_text", lambda kind, values: None)
    path = tmp_path / ("text.duckdb" if as_text else "lists.duckdb")
    with duckdb.connect(str(path)) as conn:
        migrate(conn, path)
        batch = Batch()
        for record in records:
            batch.add(record)
        batch.write(conn, StoredRuns(), rows_up_to=rows_up_to)
        monkeypatch.undo()
        return {table: _rows(conn, table) for table in TABLES}


def _rows(conn: duckdb.DuckDBPyConnection, table: str) -> list[str]:
    types = conn.execute(
        "SELECT column_name, data_type FROM information_schema.columns WHERE table_name = ? ORDER BY ordinal_position",
        [table],
    ).fetchall()
    # Times as epoch microseconds: exact, and no time zone package needed to read them.
    select = ", ".join(f"epoch_us({name})" if "TIME" in kind else name for name, kind in types)
    return sorted(map(repr, conn.execute(f"SELECT {select} FROM {table}").fetchall()))


@pytest.mark.parametrize(
    "text",
    [
        "plain",
        'it\'s "quoted" -- ; DROP TABLE logs; é 🎉\nsecond line\t\\',
        f"holds the separator {SEPARATOR} mid-value",
        f"holds the NULL mark {NULL}",
        f"holds the row separator {ROW_SEPARATOR} mid-value",
        "holds a NUL \x00 char",
        "",
    ],
    ids=["plain", "quotes-unicode", "separator", "null-mark", "row-separator", "nul", "empty"],
)
@pytest.mark.parametrize("by_rows", [64, 0], ids=["one-string", "string-per-column"])
def test_text_and_lists_store_the_same_rows(
    text: str, by_rows: int, build: SimpleNamespace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A flush's few rows go as one string, many as a string per column: both store the same."""
    records = _records(build, text)
    as_text = _stored(records, tmp_path, True, monkeypatch, by_rows)
    as_lists = _stored(records, tmp_path, False, monkeypatch, by_rows)
    assert as_text == as_lists
    assert all(as_text[table] for table in TABLES)


def test_a_time_is_stored_to_the_microsecond_as_duckdb_rounds_it(
    build: SimpleNamespace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    stamps = [
        1_700_000_000.0000005,
        1_700_000_000.0000015,
        1_700_000_000.1234565,
        0.0,
        1e-6,
        2.5e-6,
    ]
    records: list[Record] = [
        StateRecord(f"r{i}", "f1", True, _at(Completed(), ts)) for i, ts in enumerate(stamps)
    ]
    with duckdb.connect(str(tmp_path / "s.duckdb")) as conn:
        migrate(conn, tmp_path / "s.duckdb")
        batch = Batch()
        for record in records:
            batch.add(record)
        batch.write(conn)
        stored = dict(conn.execute("SELECT run_id, epoch_us(ts) FROM state_history").fetchall())
        bound = conn.execute(
            "SELECT epoch_us(to_timestamp(unnest($1::DOUBLE[])))", [stamps]
        ).fetchall()
    assert [stored[f"r{i}"] for i in range(len(stamps))] == [row[0] for row in bound]


def test_a_run_finished_in_one_flush_and_put_again_in_the_next_is_updated(
    build: SimpleNamespace, tmp_path: Path
) -> None:
    """The engine's last put of a run can reach the queue just after a flush that read its final state."""
    run = build.task_run("t1", "f1", Running())
    path = tmp_path / "s.duckdb"
    with duckdb.connect(str(path)) as conn:
        migrate(conn, path)
        stored = StoredRuns()
        first = Batch()
        first.add(run)
        run.state = Completed(message="done")  # changed before the flush read it
        first.write(conn, stored)
        second = Batch()
        second.add(run)  # the put that followed the change
        second.write(conn, stored)  # not a duplicate key: it is known as stored
        rows = conn.execute("SELECT id, state_name, state_message FROM task_runs").fetchall()
    assert rows == [("t1", "Completed", "done")]


@pytest.fixture
def writer(tmp_path: Path) -> Iterator[StoreWriter]:
    writer = StoreWriter(tmp_path / ".orc" / "orc.duckdb")
    yield writer
    writer.close()


def test_a_writer_that_let_go_of_the_file_prepares_its_statements_again(
    writer: StoreWriter, build: SimpleNamespace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("orchestrate.store.file_hold.IDLE_CLOSE", 0.0)
    writer.put(build.task_run("t1", "f1"))
    assert writer.flush(10)
    deadline = time.monotonic() + 10
    while writer._file.conn is not None and time.monotonic() < deadline:  # let go once idle
        writer._wake.wait(0.01)
    assert writer._file.conn is None
    writer.put(build.task_run("t2", "f1"))
    assert writer.flush(10)
    writer.close()
    with duckdb.connect(str(tmp_path / ".orc" / "orc.duckdb")) as conn:
        assert conn.execute("SELECT id FROM task_runs ORDER BY id").fetchall() == [("t1",), ("t2",)]


@pytest.mark.parametrize(
    ("kind", "values", "text"),
    [
        ("str", [None, None, None], f"{NULL}{SEPARATOR}{NULL}{SEPARATOR}{NULL}"),
        ("str", ["a", None], f"a{SEPARATOR}{NULL}"),
        ("tags", [(), ()], f"[]{SEPARATOR}[]"),
        ("tags", [(), ("a",)], f'[]{SEPARATOR}["a"]'),
        ("int", [1, 2**40], f"1{SEPARATOR}1099511627776"),
        ("int", [1, None], f"1{SEPARATOR}{NULL}"),
        ("int", [1, True], None),  # a bool in a number column goes as a list
    ],
)
def test_the_columns_most_flushes_hold_take_the_short_way_to_the_same_text(
    kind: str, values: list[Any], text: str | None
) -> None:
    """Empty messages and errors, no tags, counts: each column in one C-speed join, text as before."""
    assert column_text(kind, values) == text


def test_a_few_rows_go_as_one_string_and_many_as_a_string_per_column(
    build: SimpleNamespace,
) -> None:
    """The daemon's flushes hold a few runs; a flow recording in its own process, thousands."""
    from orchestrate.store.batch import BY_ROWS, FLOW_RUNS, _statement

    few = [build.flow_run(f"f{i}", Running()) for i in range(3)]
    many = [build.flow_run(f"f{i}", Running()) for i in range(BY_ROWS + 1)]
    sql, parameters, _ = _statement(FLOW_RUNS, few, upsert=False, rows_up_to=BY_ROWS)
    assert sql.startswith("EXECUTE orc_flow_runs_insert_rows(") and parameters is None
    sql, parameters, _ = _statement(FLOW_RUNS, many, upsert=False, rows_up_to=BY_ROWS)
    assert sql.startswith("EXECUTE orc_flow_runs_insert(") and parameters is None
    sql, parameters, _ = _statement(FLOW_RUNS, few, upsert=False)  # a flow's own writer
    assert sql.startswith("EXECUTE orc_flow_runs_insert(") and parameters is None
    awkward = [*few, build.flow_run("odd", Running(), name=f"a{ROW_SEPARATOR}b")]
    sql, parameters, _ = _statement(FLOW_RUNS, awkward, upsert=False, rows_up_to=BY_ROWS)
    assert parameters is not None  # as lists: the text would split the name


def test_only_the_daemons_writer_sends_rows_so_a_flows_own_prepares_one_form_a_table(
    build: SimpleNamespace, tmp_path: Path
) -> None:
    """A flow in its own process writes a few rows first and thousands later: preparing both
    forms of a table cost its 1,000-task flow ~5 µs a task. The daemon's batches are a few
    runs each, and go as rows."""
    from orchestrate.store.writer import StoreWriter

    path = tmp_path / "orc.duckdb"
    own = StoreWriter(path)
    own.put(build.flow_run("own", Running()))
    assert own.flush(10)
    own_forms = set(own._file.prepared)
    own.close()
    with duckdb.connect(str(path)) as conn:
        daemons = StoreWriter(path, connection=conn)
        daemons.put(build.flow_run("daemon", Running()))
        assert daemons.flush(10)
        daemon_forms = set(daemons._file.prepared)
        daemons.close()
        assert conn.execute("SELECT count(*) FROM flow_runs").fetchone() == (2,)
    assert own_forms and not any(name.endswith("_rows") for name in own_forms)
    assert any(name.endswith("_rows") for name in daemon_forms)
