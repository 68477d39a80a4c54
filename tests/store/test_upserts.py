"""Rows that may exist already: the writer deletes them and inserts the new ones in one transaction.

DuckDB's `INSERT OR REPLACE` cost the daemon's writer 8 ms a batch whatever
the batch held; a DELETE of the ids then a plain INSERT costs 3. These tests
pin what that form relies on (DuckDB takes a deleted key again in the same
transaction, indexes included) and what a user sees: one row per run, the
last put, found by its new indexed values, and, after a kill -9 mid-write, a
file that opens with the old row or the new one.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import duckdb
import pytest

from orchestrate.states import Completed, Pending, Running
from orchestrate.store import Store, StoreWriter
from orchestrate.store.batch import Batch, RunDeletion, SlotRecord, StoredRuns
from orchestrate.store.migrations import migrate


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "orc.duckdb"


@pytest.fixture
def conn(path: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    with duckdb.connect(str(path)) as conn:
        migrate(conn, path)
        yield conn


def _flow_runs(conn: duckdb.DuckDBPyConnection) -> list[tuple[Any, ...]]:
    return conn.execute(
        "SELECT id, state_name, parent_flow_run_id FROM flow_runs ORDER BY id"
    ).fetchall()


def test_duckdb_takes_deleted_keys_again_in_one_transaction(
    conn: duckdb.DuckDBPyConnection,
) -> None:
    """What the upsert relies on, in the store's own schema (primary key and two indexes)."""
    conn.execute(
        "INSERT INTO flow_runs (id, state_name, parent_flow_run_id) "
        "VALUES ('a', 'Running', 'p1'), ('b', 'Running', NULL)"
    )
    conn.execute("BEGIN TRANSACTION")
    for name in ("Cancelling", "Completed"):  # twice: a key deleted and inserted twice
        conn.execute("DELETE FROM flow_runs WHERE id IN ('a', 'b')")
        conn.execute(
            "INSERT INTO flow_runs (id, state_name, parent_flow_run_id) "
            f"VALUES ('a', '{name}', 'p2'), ('b', '{name}', 'p1')"
        )
    conn.execute("COMMIT")
    assert _flow_runs(conn) == [("a", "Completed", "p2"), ("b", "Completed", "p1")]
    by_parent = "SELECT id FROM flow_runs WHERE parent_flow_run_id = $1"
    assert conn.execute(by_parent, ["p1"]).fetchall() == [("b",)]


def test_a_known_run_put_twice_in_one_batch_is_one_row_with_the_last_put(
    path: Path, build: SimpleNamespace
) -> None:
    writer = StoreWriter(path)
    try:
        writer.put(build.flow_run("f1", Running()))
        assert writer.flush(10)
        writer.put(build.flow_run("f1", Running(message="first")))
        writer.put(build.flow_run("f1", Completed(message="last")))
        assert writer.flush(10)
    finally:
        writer.close()
    with Store(path) as store:
        runs = [(r.id, r.state.name, r.state.message) for r in store.list_flow_runs()]
    assert runs == [("f1", "Completed", "last")]


def test_a_run_whose_indexed_columns_change_is_found_by_the_new_values_only(
    path: Path, build: SimpleNamespace
) -> None:
    """`orc runs show` finds subflow runs by their parent through an index: the old parent loses them."""
    writer = StoreWriter(path)
    try:
        writer.put(build.flow_run("child", Running(), parent_flow_run_id="p1"))
        assert writer.flush(10)
        writer.put(build.flow_run("child", Completed(), parent_flow_run_id="p2"))
        assert writer.flush(10)
    finally:
        writer.close()
    with duckdb.connect(str(path)) as conn:
        by_parent = "SELECT id, state_name FROM flow_runs WHERE parent_flow_run_id = $1"
        assert conn.execute(by_parent, ["p1"]).fetchall() == []
        assert conn.execute(by_parent, ["p2"]).fetchall() == [("child", "Completed")]
        assert conn.execute("SELECT count(*) FROM flow_runs").fetchall() == [(1,)]


def test_a_writer_that_knows_nothing_replaces_stored_runs_and_slots(
    conn: duckdb.DuckDBPyConnection, build: SimpleNamespace
) -> None:
    """`Batch.write` without `stored` (replays, trial writes) treats every row as one that may exist."""
    first = Batch.of([build.flow_run("f1", Pending()), _slot("k1", "f1")])
    first.write(conn)
    again = Batch.of([build.flow_run("f1", Completed()), _slot("k1", "f2")])
    again.write(conn)
    again.write(conn)
    assert _flow_runs(conn) == [("f1", "Completed", None)]
    slots = conn.execute("SELECT key, flow_run_id FROM schedule_slots").fetchall()
    assert slots == [("k1", "f2")]


def test_rows_that_may_exist_are_deleted_then_inserted_not_replaced(
    conn: duckdb.DuckDBPyConnection, build: SimpleNamespace
) -> None:
    """The cheap form: `INSERT OR REPLACE` cost 8 ms a batch, DELETE then INSERT 3 (daemon_rates.md)."""
    Batch.of([build.flow_run("f1", Pending()), _slot("k1", "f1")]).write(conn)
    seen: list[str] = []

    class Recording:
        def execute(self, sql: str, parameters: Any = None) -> Any:
            seen.append(sql)
            return conn.execute(sql, parameters)

    Batch.of([build.flow_run("f1", Completed()), _slot("k1", "f1")]).write(Recording())  # type: ignore[arg-type]
    prepared = " ".join(seen)
    assert "INSERT OR REPLACE" not in prepared
    assert "DELETE FROM flow_runs" in prepared
    assert "DELETE FROM schedule_slots" in prepared


def test_a_slot_given_a_new_run_that_is_then_withdrawn_is_free_again(
    path: Path,
) -> None:
    """The new slot row replaced the stored one; withdrawing its run leaves no row for the key."""
    writer = StoreWriter(path)
    try:
        writer.put(_slot("k0", "f0"))
        assert writer.flush(10)
        writer.put(_slot("k0", "f1"))
        writer.put(RunDeletion(("f1",)))
        assert writer.flush(10)
    finally:
        writer.close()
    with duckdb.connect(str(path)) as conn:
        assert conn.execute("SELECT key, flow_run_id FROM schedule_slots").fetchall() == []


def _slot(key: str, flow_run_id: str) -> SlotRecord:
    return SlotRecord(key, flow_run_id, "etl/daily", "0", 1_700_000_000.0)


_REWRITER = textwrap.dedent(
    """
    import sys
    from orchestrate.core.records import FlowRunRecord
    from orchestrate.states import Completed
    from orchestrate.store import StoreWriter

    writer = StoreWriter(sys.argv[1])
    runs = [
        FlowRunRecord(id=f"run-{i:03d}", name=f"run-{i}", flow_name="etl", state=Completed(), created=0.0,
                      parameters={"payload": "x" * 200}, parent_flow_run_id=f"p{i % 7}")
        for i in range(300)
    ]
    generation = 0
    while True:
        generation += 1
        for run in runs:
            run.run_count = generation
            run.parent_flow_run_id = f"p{(generation + int(run.id[4:])) % 7}"
            writer.put(run)
        assert writer.flush(30)
        print(generation, flush=True)
    """
)


def test_a_kill_9_while_rows_are_replaced_leaves_the_old_rows_or_the_new(
    path: Path, tmp_path: Path
) -> None:
    """Every batch rewrites the same 300 runs; a kill at any point leaves one whole generation."""
    script = tmp_path / "rewriter.py"
    script.write_text(_REWRITER)
    env = {**os.environ, "ORC_LOGGING_TO_CONSOLE": "0"}
    proc = subprocess.Popen(
        [sys.executable, str(script), str(path)], stdout=subprocess.PIPE, text=True, env=env
    )
    assert proc.stdout is not None
    committed = 0
    try:
        for line in proc.stdout:  # ends if the child dies: the wait below then fails the test
            committed = int(line)
            if committed >= 8:
                break
        proc.send_signal(signal.SIGKILL)  # while it writes the next generations
    finally:
        proc.kill()
        proc.wait(timeout=30)
        proc.stdout.close()
    assert committed >= 8, "the rewriting process stopped before it was killed"
    with duckdb.connect(str(path)) as conn:
        rows = conn.execute(
            "SELECT count(*), count(DISTINCT id), min(run_count), max(run_count) FROM flow_runs"
        ).fetchone()
        assert rows is not None
        count, ids, oldest, newest = rows
        assert (count, ids) == (300, 300)
        assert oldest == newest >= committed
        parents = conn.execute(
            "SELECT count(*) FROM flow_runs WHERE parent_flow_run_id = "
            "'p' || ((run_count + CAST(substr(id, 5) AS INTEGER)) % 7)"
        ).fetchall()
        assert parents == [(300,)]


class _Sent:
    """A real connection that keeps the SQL of each call a write makes to DuckDB."""

    def __init__(self, conn: duckdb.DuckDBPyConnection) -> None:
        self.conn = conn
        self.calls: list[str] = []

    def execute(self, sql: str, parameters: Any = None) -> Any:
        self.calls.append(sql)
        return self.conn.execute(sql, parameters)

    def statements(self, name: str) -> int:
        """How many times the writes executed a prepared statement named `name` or `name_…`."""
        return sum(call.count(f"EXECUTE {name}") for call in self.calls)


def test_a_batch_of_new_and_known_flow_runs_inserts_them_in_one_statement(
    conn: duckdb.DuckDBPyConnection, build: SimpleNamespace
) -> None:
    """The daemon's usual batch: runs it stored before end while new ones start.

    Each table statement costs DuckDB ~1 ms whatever it holds: the known flow
    runs' old rows go in one DELETE, and the new and known rows in one INSERT.
    """
    stored, prepared = StoredRuns(), set[str]()
    first = [build.flow_run("a", Running()), build.task_run("t1", "a", Running())]
    Batch.of(first).write(conn, stored, prepared)
    sent = _Sent(conn)
    second = [
        build.flow_run("a", Completed()),
        build.flow_run("b", Running()),
        build.task_run("t1", "a", Completed()),
        build.task_run("t2", "b", Running()),
    ]
    Batch.of(second).write(sent, stored, prepared)  # type: ignore[arg-type]
    assert sent.statements("orc_flow_runs_delete") == 1
    assert sent.statements("orc_flow_runs_insert") == 1
    assert _flow_runs(conn) == [("a", "Completed", None), ("b", "Running", None)]
    task_runs = "SELECT id, state_name FROM task_runs ORDER BY id"
    assert conn.execute(task_runs).fetchall() == [("t1", "Completed"), ("t2", "Running")]


def test_a_batch_goes_to_duckdb_in_one_call_and_a_failed_one_leaves_nothing(
    conn: duckdb.DuckDBPyConnection, build: SimpleNamespace
) -> None:
    """Each call costs ~0.1 ms beside its statements' work, so a batch's statements go together.

    A statement that fails in the middle of that call still takes the whole
    batch back: nothing of it is stored, and the next write stores it all.
    """
    stored, prepared = StoredRuns(), set[str]()
    Batch.of([build.flow_run("a", Running())]).write(conn, stored, prepared)
    sent = _Sent(conn)
    records = [
        build.flow_run("a", Completed()),
        build.flow_run("b", Running()),
        build.task_run("t1", "b", Running()),
    ]
    Batch.of(records).write(sent, stored, prepared)  # type: ignore[arg-type]
    assert len(sent.calls) == 1
    assert _flow_runs(conn) == [("a", "Completed", None), ("b", "Running", None)]
    refused = [build.flow_run("b", Completed()), build.flow_run("c", Running(), run_count=2**40)]
    with pytest.raises(duckdb.Error):
        Batch.of(refused).write(conn, stored, prepared)
    assert _flow_runs(conn) == [("a", "Completed", None), ("b", "Running", None)]
    Batch.of(refused[:1]).write(conn, stored, prepared)
    assert _flow_runs(conn) == [("a", "Completed", None), ("b", "Completed", None)]


def test_a_writer_forgets_the_scheduled_runs_it_deleted(
    conn: duckdb.DuckDBPyConnection, build: SimpleNamespace
) -> None:
    """A scheduled run withdrawn or skipped never comes again: the daemon's writer, up for
    months, must not keep its id among the runs it may see again."""
    stored, prepared = StoredRuns(), set[str]()
    Batch.of([build.flow_run(f"s{i}", Pending()) for i in range(50)]).write(conn, stored, prepared)
    assert len(stored.among(f"s{i}" for i in range(50))) == 50
    Batch.of([RunDeletion(tuple(f"s{i}" for i in range(50)))]).write(conn, stored, prepared)
    assert stored.among(f"s{i}" for i in range(50)) == set()
    assert _flow_runs(conn) == []
