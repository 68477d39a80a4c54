"""The writer under faults: a full disk, I/O errors, refused records and its own failures lose nothing.

The daemon's writer writes through a connection it is given. `Faults` wraps a
real connection to a real file and makes its `execute` raise what DuckDB
raises on a full disk, on demand, so each test can choose the moment. One test
fills a real (small tmpfs) file system where this machine allows a mount.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import shutil
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import duckdb
import pytest

from orchestrate.core.records import LogRecord, StateRecord
from orchestrate.states import Completed, Running, State
from orchestrate.store import StoreWriter
from orchestrate.store.batch import RunDeletion
from orchestrate.store.file_hold import FileHold
from orchestrate.store.health import StoreHealth
from orchestrate.store.migrations import migrate
from tests.store.faulty import Faults


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "orc.duckdb"


@pytest.fixture
def faults(path: Path) -> Iterator[Faults]:
    conn = duckdb.connect(str(path))
    migrate(conn, path)
    yield Faults(conn)
    conn.close()


@pytest.fixture
def writer(path: Path, faults: Faults) -> Iterator[StoreWriter]:
    writer = StoreWriter(path, connection=faults)  # type: ignore[arg-type]
    yield writer
    writer.close()


def _rows(faults: Faults, sql: str) -> list[tuple[Any, ...]]:
    return faults.conn.execute(sql).fetchall()


def _at(state: State, ts: float) -> State:
    state.ts = ts
    return state


def _wait_for(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.01)


def test_a_full_disk_keeps_every_record_and_writes_them_in_order_once_space_is_back(
    writer: StoreWriter, faults: Faults, build: SimpleNamespace
) -> None:
    run = build.flow_run("f1", Running())
    writer.put(run)
    writer.put(StateRecord("f1", "f1", False, _at(Running(), 1.0)))
    assert writer.flush(10)
    faults.full = True
    for i in range(5):
        writer.put(LogRecord("f1", None, 2.0 + i, 20, "orc", f"line {i}"))
    assert not writer.flush(0.3)
    health = writer.health
    assert health.degraded is not None and "No space left on device" in health.degraded
    assert health.waiting >= 5 and health.since is not None
    run.state = _at(Completed(), 9.0)
    writer.put(run)
    writer.put(StateRecord("f1", "f1", False, run.state))
    faults.full = False
    assert writer.flush(15)
    assert writer.health == StoreHealth()
    assert _rows(faults, "SELECT message FROM logs ORDER BY rowid") == [
        (f"line {i}",) for i in range(5)
    ]
    assert _rows(faults, "SELECT state_name FROM state_history ORDER BY rowid") == [
        ("Running",),
        ("Completed",),
    ]
    assert _rows(faults, "SELECT state_name FROM flow_runs") == [("Completed",)]


def test_health_subscribers_hear_the_store_degrade_and_recover(
    writer: StoreWriter, faults: Faults, build: SimpleNamespace
) -> None:
    heard: list[StoreHealth] = []
    writer.on_health(heard.append)
    faults.full = True
    writer.put(build.flow_run("f1"))
    _wait_for(lambda: len(heard) == 1)
    faults.full = False
    assert writer.flush(15)
    assert [h.degraded is not None for h in heard] == [True, False]
    assert heard[0].waiting == 1 and heard[0].since is not None
    assert heard[1].waiting == 1  # what had waited, not what waits once it is written


def test_a_failing_store_is_tried_with_growing_pauses_however_often_flush_is_called(
    writer: StoreWriter, faults: Faults, build: SimpleNamespace
) -> None:
    """Readers call flush before each query: they must not turn the pauses into a spin."""
    faults.full = True
    writer.put(build.flow_run("f1"))
    started = time.monotonic()
    while time.monotonic() - started < 1.6:
        writer.flush(0.01)
    tries = list(faults.tries)
    faults.full = False
    assert writer.flush(15)
    # 0.1 + 0.2 + 0.4 + 0.8 s of pauses fit in 1.6 s: at most five tries (a busy machine: fewer).
    assert 2 <= len(tries) <= 5
    gaps = [later - earlier for earlier, later in itertools.pairwise(tries)]
    assert all(gap >= 0.1 * 2**i for i, gap in enumerate(gaps)), gaps
    assert _rows(faults, "SELECT id FROM flow_runs") == [("f1",)]


def test_closing_while_the_disk_is_full_tries_once_more_and_says_how_many_records_are_lost(
    writer: StoreWriter, faults: Faults, build: SimpleNamespace, capsys: pytest.CaptureFixture[str]
) -> None:
    faults.full = True
    writer.put(build.flow_run("f1"))
    writer.put(StateRecord("f1", "f1", False, Running()))
    writer.put(LogRecord("f1", None, 1.0, 20, "orc", "hello"))
    _wait_for(lambda: writer.health.degraded is not None)
    tries = len(faults.tries)
    writer.close()
    assert len(faults.tries) == tries + 1
    err = capsys.readouterr().err
    assert "3 records could not be written" in err and "No space left on device" in err


def test_closing_after_space_came_back_writes_everything_without_waiting_out_the_pause(
    writer: StoreWriter, faults: Faults, build: SimpleNamespace
) -> None:
    faults.full = True
    writer.put(build.flow_run("f1"))
    _wait_for(lambda: len(faults.tries) >= 4)  # the next try is 0.8 s away
    faults.full = False
    started = time.monotonic()
    writer.close()
    assert time.monotonic() - started < 0.5
    assert _rows(faults, "SELECT id FROM flow_runs") == [("f1",)]


def test_a_commit_duckdb_made_durable_before_failing_is_not_written_twice(
    writer: StoreWriter, faults: Faults, build: SimpleNamespace
) -> None:
    """DuckDB can fail a commit's checkpoint after the commit is durable: a retry would duplicate it."""
    heard: list[StoreHealth] = []
    writer.on_health(heard.append)
    faults.fatal_after_commit = True
    writer.put(build.flow_run("f1"))
    writer.put(StateRecord("f1", "f1", False, Running()))
    assert writer.flush(10)
    assert _rows(faults, "SELECT count(*) FROM state_history") == [(1,)]
    assert heard and heard[-1].reopen and "reopened" in (heard[-1].degraded or "")


def test_a_record_duckdb_refuses_is_stored_sanitised_and_costs_nothing_else(
    writer: StoreWriter, faults: Faults, build: SimpleNamespace, capsys: pytest.CaptureFixture[str]
) -> None:
    writer.put(build.flow_run("f1"))
    writer.put(LogRecord("f1", None, 1.0, 20, "orc", "before"))
    writer.put(LogRecord("f1", None, 2.0, 2**40, "orc", "a level past 32 bits"))
    writer.put(LogRecord("f1", None, float("nan"), 20, "orc", "no time"))
    writer.put(LogRecord("f1", None, 3.0, 20, "orc", "after"))
    assert writer.flush(10)
    assert _rows(faults, "SELECT message, level FROM logs ORDER BY rowid") == [
        ("before", 20),
        ("a level past 32 bits", None),
        ("no time", 20),
        ("after", 20),
    ]
    assert _rows(faults, "SELECT id FROM flow_runs") == [("f1",)]
    assert capsys.readouterr().err.count("sanitised copy") == 2


def test_a_record_that_cannot_be_stored_at_all_is_set_aside_named_by_its_run(
    writer: StoreWriter, faults: Faults, build: SimpleNamespace, capsys: pytest.CaptureFixture[str]
) -> None:
    broken = StateRecord("f-broken", "f-broken", False, "not a state")  # type: ignore[arg-type]
    writer.put(build.flow_run("f1"))
    writer.put(broken)
    writer.put(StateRecord("f1", "f1", False, Completed()))
    assert not writer.flush(10)  # not everything could be stored, and flush says so
    assert writer.set_aside == [broken] and writer.health.set_aside == 1
    assert _rows(faults, "SELECT run_id FROM state_history") == [("f1",)]
    assert "run f-broken" in capsys.readouterr().err
    writer.put(build.flow_run("f2"))
    assert writer.flush(10)  # later records are not held up by it


def test_a_failure_of_the_writer_thread_is_reported_and_the_thread_goes_on(
    writer: StoreWriter,
    faults: Faults,
    build: SimpleNamespace,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    release = FileHold.release_if_due
    failures = iter([RuntimeError("a bug in the writer")])

    def fail_once(self: FileHold, last_work: float) -> None:
        with contextlib.suppress(StopIteration):
            raise next(failures)
        release(self, last_work)

    monkeypatch.setattr(FileHold, "release_if_due", fail_once)
    heard: list[StoreHealth] = []
    writer.on_health(heard.append)
    writer.put(build.flow_run("f1"))
    assert writer.flush(15)
    _wait_for(lambda: len(heard) == 1)  # the loop failed right after that write
    assert "a bug in the writer" in (heard[0].degraded or "")
    writer.put(build.flow_run("f2"))
    assert writer.flush(15)
    assert _rows(faults, "SELECT id FROM flow_runs ORDER BY id") == [("f1",), ("f2",)]
    assert [h.degraded for h in heard][1:] == [None]
    assert "Traceback" in capsys.readouterr().err


# --- a real full disk ---------------------------------------------------------------------


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 4 MB tmpfs. Mounting needs root (or CAP_SYS_ADMIN): elsewhere the fault tests above stand in."""
    mount = tmp_path / "disk"
    mount.mkdir()
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("mounting a small tmpfs needs root")
    command = ["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(mount)]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def _fill(disk: Path, leave: int) -> Path:
    """Take all but `leave` bytes of `disk` with one file."""
    stat = os.statvfs(disk)
    filler = disk / "filler"
    filler.write_bytes(b"\0" * max(stat.f_bavail * stat.f_frsize - leave, 0))
    return filler


def test_a_real_full_disk_loses_nothing_and_the_writer_recovers_by_itself(
    small_disk: Path, build: SimpleNamespace
) -> None:
    path = small_disk / "orc.duckdb"
    writer = StoreWriter(path)
    try:
        writer.put(build.flow_run("f1"))
        assert writer.flush(10)
        filler = _fill(small_disk, leave=64 * 1024)
        for i in range(4_000):
            writer.put(LogRecord("f1", None, 1.0 + i, 20, "orc", f"line {i:05d} " + "x" * 200))
        assert not writer.flush(1.0)
        assert "No space left on device" in (writer.health.degraded or "")
        filler.unlink()
        assert writer.flush(15)
        assert writer.health.degraded is None
    finally:
        writer.close()
    with duckdb.connect(str(path), read_only=True) as conn:
        summary = conn.execute("SELECT count(*), min(message), max(message) FROM logs").fetchone()
    assert summary is not None
    count, first, last = summary
    assert (count, first[:10], last[:10]) == (4_000, "line 00000", "line 03999")


def test_threads_putting_while_the_disk_is_full_lose_nothing(
    writer: StoreWriter, faults: Faults, build: SimpleNamespace
) -> None:
    writer.put(build.flow_run("f1"))
    assert writer.flush(10)
    faults.full = True

    def log_lines(start: int) -> None:
        for i in range(start, start + 2_000):
            writer.put(LogRecord("f1", None, float(i), 20, "orc", f"line {i}"))

    threads = [threading.Thread(target=log_lines, args=(n * 2_000,)) for n in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    _wait_for(lambda: writer.health.waiting == 6_000)
    faults.full = False
    assert writer.flush(15)
    assert _rows(faults, "SELECT count(DISTINCT message) FROM logs") == [(6_000,)]


def test_a_record_too_broken_to_sort_is_set_aside_and_the_records_after_it_are_stored(
    writer: StoreWriter, faults: Faults, build: SimpleNamespace, capsys: pytest.CaptureFixture[str]
) -> None:
    """A withdrawal whose ids are not a tuple of strings must not take the drained records with it."""
    broken = RunDeletion(None)  # type: ignore[arg-type]
    writer.put(build.flow_run("f1"))
    writer.put(broken)
    writer.put(StateRecord("f1", "f1", False, Completed()))
    writer.put(build.flow_run("f2"))
    writer.flush(10)
    assert writer.set_aside == [broken]
    assert _rows(faults, "SELECT id FROM flow_runs ORDER BY id") == [("f1",), ("f2",)]
    assert _rows(faults, "SELECT run_id FROM state_history") == [("f1",)]
    assert "RunDeletion(flow_run_ids=None)" in capsys.readouterr().err


def test_after_duckdb_invalidates_the_database_a_reopened_connection_brings_the_store_back(
    path: Path, build: SimpleNamespace
) -> None:
    """Only the daemon can reopen the file it owns; `use_connection` hands the writer the new one."""
    first = Faults(duckdb.connect(str(path)))
    migrate(first.conn, path)
    writer = StoreWriter(path, connection=first)  # type: ignore[arg-type]
    try:
        first.fatal_after_commit = True
        writer.put(build.flow_run("f1"))
        assert writer.flush(10)
        assert writer.health.reopen and writer.health.degraded is not None
        first.conn.close()
        second = Faults(duckdb.connect(str(path)))
        writer.use_connection(second)  # type: ignore[arg-type]
        writer.put(build.flow_run("f2"))
        assert writer.flush(10)
        assert writer.health == StoreHealth()
        assert _rows(second, "SELECT id FROM flow_runs ORDER BY id") == [("f1",), ("f2",)]
    finally:
        writer.close()


def test_a_record_given_after_close_is_reported_not_silently_lost(
    path: Path, build: SimpleNamespace, capsys: pytest.CaptureFixture[str]
) -> None:
    writer = StoreWriter(path)
    writer.put(build.flow_run("f1"))
    writer.close()
    writer.put(build.flow_run("late"))
    writer.put(build.flow_run("later"))
    assert capsys.readouterr().err.count("given after") == 1  # said once, not once per record
    assert not writer.flush(1)
