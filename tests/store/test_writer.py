"""The batching writer: every record type round-trips, snapshots coalesce, bad values and locks don't lose data."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import os
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import duckdb
import pydantic
import pytest

from orchestrate.core.errors import StoreError
from orchestrate.core.records import EdgeRecord, EventRecord, LogRecord, StateRecord
from orchestrate.states import Completed, Failed, Pending, Running
from orchestrate.store import Store, StoreWriter
from orchestrate.store.batch import FLOW_RUNS, Batch, EventPruning
from orchestrate.store.migrations import migrate
from tests.store.busy_writer import logging_without_pause


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / ".orc" / "orc.duckdb"


@pytest.fixture
def writer(path: Path) -> Iterator[StoreWriter]:
    writer = StoreWriter(path)
    yield writer
    writer.close()


def _failed_with_traceback() -> Failed:
    try:
        raise ValueError("bad row 7")
    except ValueError as exc:
        state = Failed(message="Flow run failed", data=exc)
        state.traceback = "Traceback: ...\nValueError: bad row 7\n"
        return state


def test_every_record_type_round_trips(
    writer: StoreWriter, path: Path, build: SimpleNamespace
) -> None:
    failed = _failed_with_traceback()
    flow_run = build.flow_run("f1", failed, parameters={"days": 3}, tags=("etl", "daily"))
    writer.put(flow_run)
    writer.put(build.task_run("t1", "f1", Completed(), tags=("io",), cache_key="k1"))
    writer.put(build.task_run("t2", "f1", Completed()))
    writer.put(StateRecord("f1", "f1", False, failed))
    writer.put(EdgeRecord("f1", "t2", "t1", "wait_for"))
    writer.put(LogRecord("f1", "t1", 1_700_000_000.5, 20, "orc.task", "hello"))
    writer.put(EventRecord("e1", 1_700_000_001.0, "orc.flow-run.Failed", {"orc.resource.id": "f1"},
                           {"n": 1}, [{"orc.resource.role": "flow"}]))  # fmt: skip
    assert writer.flush(10)

    with Store(path) as store:
        run = store.get_flow_run("f1")
        task_runs = store.task_runs("f1")
        history = store.state_history("f1")
        lines = store.logs("f1")
    assert (run.state.type, run.state.name, run.state.message) == (
        "FAILED",
        "Failed",
        "Flow run failed",
    )
    assert (run.state.error_type, run.state.error_message) == ("ValueError", "bad row 7")
    assert run.state.traceback == failed.traceback
    assert run.parameters == {"days": 3} and run.tags == ["etl", "daily"]
    assert [(t.id, t.tags, t.cache_key) for t in task_runs] == [
        ("t1", ["io"], "k1"),
        ("t2", [], None),
    ]
    assert task_runs[1].upstream == [("t1", "wait_for")]
    assert history[0].state.error_type == "ValueError"
    assert [(line.message, line.level, line.task_run_name) for line in lines] == [
        ("hello", 20, "task-t1")
    ]
    with duckdb.connect(str(path)) as conn:
        event = conn.execute("SELECT event, resource, payload, related FROM events").fetchone()
    assert event is not None
    assert event[0] == "orc.flow-run.Failed"
    assert json.loads(event[1]) == {"orc.resource.id": "f1"}
    assert json.loads(event[2]) == {"n": 1}


def test_a_snapshot_put_three_times_in_one_batch_is_one_row_with_the_last_state(
    path: Path, build: SimpleNamespace
) -> None:
    run = build.flow_run("f1", Pending())
    batch = Batch()
    for state in (Pending(), Running(), Completed(message="done")):
        run.state = state
        batch.add(run)
        batch.add(StateRecord("f1", "f1", False, state))
    with duckdb.connect(str(path.parent.mkdir() or path)) as conn:
        migrate(conn, path)
        batch.write(conn)
        rows = conn.execute("SELECT state_name, state_message FROM flow_runs").fetchall()
        history = conn.execute("SELECT state_name FROM state_history ORDER BY ts").fetchall()
    assert rows == [("Completed", "done")]
    assert history == [("Pending",), ("Running",), ("Completed",)]


def test_duckdb_does_not_keep_the_last_of_two_rows_with_one_key(
    path: Path, build: SimpleNamespace
) -> None:
    """Why the writer coalesces: one upsert statement with a repeated key does not keep the last row."""
    first, last = build.flow_run("same", Running()), build.flow_run("same", Completed())
    columns = [list(c) for c in FLOW_RUNS.columns_of([first, last])]
    with duckdb.connect(":memory:") as conn:
        migrate(conn, ":memory:")
        try:
            conn.execute(FLOW_RUNS.sql, columns)
        except duckdb.Error:
            return  # older DuckDB refuses outright, which is just as good a reason
        assert conn.execute("SELECT state_name FROM flow_runs").fetchall() != [("Completed",)]


def test_the_same_run_updated_across_flushes_keeps_the_latest(
    writer: StoreWriter, path: Path, build: SimpleNamespace
) -> None:
    run = build.flow_run("f1", Running())
    writer.put(run)
    assert writer.flush(10)
    run.state = Completed()
    writer.put(run)
    assert writer.flush(10)
    with Store(path) as store:
        assert [r.state.name for r in store.list_flow_runs()] == ["Completed"]


def test_a_run_another_writer_stored_is_updated_not_duplicated_or_lost(
    path: Path, build: SimpleNamespace
) -> None:
    """New runs take a plain INSERT; one stored by another process falls back to the upsert."""
    first = StoreWriter(path)
    first.put(build.flow_run("f1", Running()))
    assert first.flush(10)
    first.close()
    second = StoreWriter(path)
    try:
        second.put(build.flow_run("f1", Completed(message="finished elsewhere")))
        second.put(build.flow_run("f2", Completed()))
        assert second.flush(10)
    finally:
        second.close()
    with Store(path) as store:
        runs = {r.id: r.state.name for r in store.list_flow_runs()}
    assert runs == {"f1": "Completed", "f2": "Completed"}


def test_ten_thousand_log_lines_flush_in_order(
    writer: StoreWriter, path: Path, build: SimpleNamespace
) -> None:
    writer.put(build.flow_run("f1"))
    for i in range(10_000):
        writer.put(LogRecord("f1", None, 1_700_000_000 + i / 1000, 20, "orc", f"line {i}"))
    assert writer.flush(30)
    with Store(path) as store:
        lines = store.logs("f1")
    assert len(lines) == 10_000
    assert [line.message for line in lines[:3]] == ["line 0", "line 1", "line 2"]
    assert lines[-1].message == "line 9999"


class Point(pydantic.BaseModel):
    x: int
    when: dt.datetime


@dataclasses.dataclass
class Window:
    start: dt.date
    days: int


class Unprintable:
    def __repr__(self) -> str:
        raise RuntimeError("no repr for you")


def test_non_json_parameters_do_not_break_a_flush(
    writer: StoreWriter, path: Path, build: SimpleNamespace
) -> None:
    when = dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC)
    parameters = {
        "point": Point(x=1, when=when), "window": Window(dt.date(2026, 1, 1), 7), "when": when,
        "ids": {3}, "path": Path("/data"), "nan": float("nan"), "thing": object(),
        "odd": Unprintable(), ("tuple", "key"): 1,
    }  # fmt: skip
    writer.put(build.flow_run("f1", parameters=parameters))
    writer.put(EventRecord("e1", 1.0, "orc.x", {"id": "f1"}, {"when": when, "odd": Unprintable()}))
    assert writer.flush(10)
    with Store(path) as store:
        stored = store.get_flow_run("f1").parameters
    assert stored["point"] == {"x": 1, "when": "2026-01-02T03:04:05Z"}
    assert stored["window"] == {"start": "2026-01-01", "days": 7}
    assert stored["when"] == when.isoformat() and stored["ids"] == [3] and stored["nan"] == "nan"
    assert stored["path"] == "/data" and stored["thing"].startswith("<object object")
    assert "Unprintable" in stored["odd"]


def test_flush_returns_once_a_second_connection_can_read(
    writer: StoreWriter, path: Path, build: SimpleNamespace
) -> None:
    for i in range(50):
        writer.put(build.flow_run(f"run-{i:02d}"))
    assert writer.flush(10)
    with Store(path) as store:  # the writer may still hold the file: this shares it
        assert len(store.list_flow_runs(limit=100)) == 50


def test_flush_and_close_without_records_do_nothing(path: Path) -> None:
    writer = StoreWriter(path)
    assert writer.flush(1)
    writer.close()
    writer.close()
    assert not path.exists()


def test_close_stores_what_is_queued_and_is_idempotent(path: Path, build: SimpleNamespace) -> None:
    writer = StoreWriter(path)
    writer.put(build.flow_run("f1"))
    writer.close()
    writer.close()
    with Store(path) as store:
        assert [r.id for r in store.list_flow_runs()] == ["f1"]


HOLDER = textwrap.dedent(
    """
    import sys, duckdb
    conn = duckdb.connect(sys.argv[1])
    print("held", flush=True)
    sys.stdin.readline()
    conn.close()
    print("released", flush=True)
    """
)


@pytest.fixture
def holder(path: Path) -> Iterator[subprocess.Popen[str]]:
    """Another process that holds the store file open until a line arrives on its stdin."""
    path.parent.mkdir(parents=True)
    with duckdb.connect(str(path)) as conn:
        migrate(conn, path)
    command = [sys.executable, "-c", HOLDER, str(path)]
    with subprocess.Popen(
        command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    ) as proc:
        assert proc.stdout is not None and proc.stdout.readline() == "held\n"
        yield proc
        if proc.poll() is None:
            proc.kill()


def _release(proc: subprocess.Popen[str]) -> None:
    assert proc.stdin is not None and proc.stdout is not None
    proc.stdin.write("go\n")
    proc.stdin.flush()
    assert proc.stdout.readline() == "released\n"


def test_waits_for_another_process_to_release_the_file(
    holder: subprocess.Popen[str], path: Path, build: SimpleNamespace
) -> None:
    writer = StoreWriter(path)
    writer.put(build.flow_run("f1"))
    assert not writer.flush(0.3)  # still locked out
    _release(holder)
    assert writer.flush(15)
    writer.close()
    with Store(path) as store:
        assert [r.id for r in store.list_flow_runs()] == ["f1"]


def test_a_long_lock_is_reported_once_then_its_end_and_nothing_is_lost(
    holder: subprocess.Popen[str],
    path: Path,
    build: SimpleNamespace,
    capsys: pytest.CaptureFixture[str],
) -> None:
    writer = StoreWriter(path, lock_timeout=0.1)
    writer.put(build.flow_run("f1"))
    assert not writer.flush(1.0)
    writer.put(build.flow_run("f2"))
    _release(holder)
    assert writer.flush(15)
    writer.close()
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 2
    assert "locked by another process" in lines[0] and "nothing is dropped" in lines[0]
    assert "works again" in lines[1]
    with Store(path) as store:
        assert {r.id for r in store.list_flow_runs()} == {"f1", "f2"}


def test_a_corrupt_file_is_a_store_error_naming_the_path(
    path: Path, build: SimpleNamespace, capsys: pytest.CaptureFixture[str]
) -> None:
    path.parent.mkdir(parents=True)
    path.write_bytes(b"this is not a duckdb file\n" * 200)
    with (
        pytest.raises(StoreError, match=r"not a DuckDB file.*Move it aside") as caught,
        Store(path),
    ):
        pass
    assert str(path) in str(caught.value)
    writer = StoreWriter(path, lock_timeout=0.1)
    writer.put(build.flow_run("f1"))
    assert not writer.flush(0.5)
    writer.close()
    assert "not a DuckDB file" in capsys.readouterr().err


READER = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from orchestrate.store import Store
    with Store(Path(sys.argv[1]), lock_timeout=8) as store:
        print(len(store.list_flow_runs()))
    """
)


def test_another_process_can_read_while_this_one_keeps_writing(
    path: Path, build: SimpleNamespace
) -> None:
    writer = StoreWriter(path)
    writer.put(build.flow_run("busy"))
    assert writer.flush(10)
    try:
        # Paced like a chatty flow, not a tight loop.
        with logging_without_pause(writer, per_round=200, pause=0.002):
            env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
            result = subprocess.run([sys.executable, "-c", READER, str(path)], env=env,
                                    capture_output=True, text=True, timeout=30)  # fmt: skip
    finally:
        writer.close()
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "1"


def test_event_pruning_drops_only_events_older_than_the_cutoff(
    writer: StoreWriter, path: Path
) -> None:
    for i, occurred in enumerate((1_000.0, 2_000.0, 3_000.0)):
        writer.put(EventRecord(f"e{i}", occurred, "orc.x", {"orc.resource.id": f"r{i}"}))
    writer.flush()
    writer.put(EventPruning(before=2_500.0))
    writer.put(
        EventRecord("e3", 1_500.0, "orc.late", {"orc.resource.id": "r3"})
    )  # same batch: also too old
    writer.flush()
    writer.close()
    with Store(path) as store:
        assert [e.id for e in store.events()] == ["e2"]


class _Waits(threading.Event):
    """The writer's wake-up event, keeping how long each of its sleeps was allowed to last."""

    def __init__(self) -> None:
        super().__init__()
        self.timeouts: list[float | None] = []
        self.woken: list[bool] = []  # False: the sleep lasted its whole timeout

    def wait(self, timeout: float | None = None) -> bool:
        self.timeouts.append(timeout)
        woken = super().wait(timeout)
        self.woken.append(woken)
        return woken


def test_a_daemons_writer_given_records_without_pause_starts_a_write_every_interval(
    path: Path, build: SimpleNamespace
) -> None:
    """A record waits at most one `flush_interval` (≤ 50 ms) before its write starts, even while
    records keep coming and a longer gather would cost the writer less CPU."""
    path.parent.mkdir()
    with duckdb.connect(str(path)) as conn:
        migrate(conn, path)
        writer = StoreWriter(path, connection=conn)
        waits, runs = _waits_while_busy(writer, build)
        stored = conn.execute("SELECT count(*) FROM flow_runs").fetchone()
    assert writer.flush_interval <= 0.05
    assert waits and max(waits) <= writer.flush_interval
    assert stored == (runs,)


def _waits_while_busy(
    writer: StoreWriter, build: SimpleNamespace
) -> tuple[list[float | None], int]:
    """Put a run every few ms for 0.5 s, flush, then let a quiet round pass: the writer's sleeps."""
    waits = writer._wake = _Waits()
    try:
        runs, began = 0, time.monotonic()
        while time.monotonic() - began < 0.5:
            writer.put(build.flow_run(f"{id(writer)}-{runs}", Running()))
            runs += 1
            threading.Event().wait(0.002)  # a run's records every few ms, as the daemon's
        assert writer.flush(10)
        quiet = len(waits.timeouts) + 2
        deadline = time.monotonic() + 10
        while len(waits.timeouts) < quiet and time.monotonic() < deadline:
            threading.Event().wait(0.01)  # rounds that find nothing
    finally:
        writer.close()
    return [t for t in waits.timeouts if t is not None], runs


def test_a_flush_that_need_not_hurry_is_answered_by_the_next_round_and_wakes_a_sleeping_writer(
    path: Path, build: SimpleNamespace, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The daemon retiring journals only needs to know its runs are stored: no write of its own."""
    path.parent.mkdir()
    with duckdb.connect(str(path)) as conn:
        migrate(conn, path)
        writer = StoreWriter(path, connection=conn)
        waits = writer._wake = _Waits()
        try:
            writer.put(build.flow_run("f1", Running()))
            assert writer.flush(10)
            rounds = len(waits.woken)
            writer.put(build.flow_run("f2", Running()))
            assert writer.flush(10, hurry=False)
            assert conn.execute("SELECT count(*) FROM flow_runs").fetchone() == (2,)
            assert not any(waits.woken[rounds:])  # every sleep ran its course
        finally:
            writer.close()
    monkeypatch.setattr("orchestrate.store.file_hold.IDLE_CLOSE", 0.0)
    own = StoreWriter(path)  # lets go of the file when idle, then sleeps until a put
    try:
        own.put(build.flow_run("f3", Running()))
        assert own.flush(10)
        deadline = time.monotonic() + 10
        while not own._sleeping and time.monotonic() < deadline:
            threading.Event().wait(0.01)
        assert own._sleeping
        own._queue.append(build.flow_run("f4", Running()))  # queued without the put's wake-up
        assert own.flush(10, hurry=False)
    finally:
        own.close()
    with duckdb.connect(str(path)) as conn:
        assert conn.execute("SELECT count(*) FROM flow_runs").fetchone() == (4,)
