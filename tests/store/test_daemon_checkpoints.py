"""The daemon's WAL stays near DuckDB's checkpoint threshold on a store that already holds data.

The daemon opens the file once (`connection.open_owned`) and writes through a
cursor of that connection for months. DuckDB checkpoints in the commit that
takes the WAL past its threshold, but skips it while another transaction is
open, and a result left unfetched on any cursor keeps one open. These tests
use the real file, the daemon's own way of opening it and the real writer,
with a small threshold so that a few megabytes of records cross it many times.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import duckdb
import pytest

from orchestrate.core.records import LogRecord
from orchestrate.states import Completed, Running
from orchestrate.store import StoreWriter, checkpoints, connection
from orchestrate.store.checkpoints import wal_size
from orchestrate.store.notices import report_through_logging

_MB = 2**20
_LINE = "x" * 400  # a run's writes stay under `auto_checkpoint_skip_wal_threshold`, as the daemon's
_THRESHOLD = 256 * 2**10


@pytest.fixture
def path(tmp_path: Path, build: SimpleNamespace) -> Path:
    """A store that already holds runs, closed as a daemon stopped yesterday left it."""
    path = tmp_path / ".orc" / "orc.duckdb"
    path.parent.mkdir()
    with connection.open_owned(path) as conn:
        writer = StoreWriter(path, connection=conn)
        _write(writer, build, 1, "old")
        writer.close()
    return path


@pytest.fixture
def daemon_log(monkeypatch: pytest.MonkeyPatch) -> None:
    """The writer's troubles go to the log, as in `orc up`."""
    from orchestrate.store import notices

    monkeypatch.setattr(notices, "_THROUGH_LOGGING", False)
    report_through_logging()


@pytest.fixture
def owned(path: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    """The daemon's connection to the store, as `orc up` opens it."""
    conn = connection.open_owned(path)
    yield conn
    conn.close()


def _threshold(conn: duckdb.DuckDBPyConnection, size: str) -> None:
    """DuckDB's automatic checkpoint threshold, set on a cursor of its own (closed at once)."""
    with conn.cursor() as cursor:
        cursor.execute(f"SET checkpoint_threshold = '{size}'")


def _write(writer: StoreWriter, build: SimpleNamespace, runs: int, prefix: str = "r") -> list[int]:
    """`runs` runs of 50 tasks, each run in two writes (Running, then Completed: upserts, as
    in the daemon) with a log line a task; the WAL's size after each run."""
    sizes = []
    for number in range(runs):
        run_id = f"{prefix}{number}"
        task_ids = [f"{run_id}-{i}" for i in range(50)]
        writer.put(build.flow_run(run_id, Running()))
        for task_id in task_ids:
            writer.put(build.task_run(task_id, run_id, Running()))
        assert writer.flush(30)
        for task_id in task_ids:
            writer.put(build.task_run(task_id, run_id, Completed()))
            writer.put(LogRecord(run_id, task_id, 1.0, 20, "orc.task", _LINE))
        writer.put(build.flow_run(run_id, Completed()))
        assert writer.flush(30)
        sizes.append(wal_size(writer.path))
    return sizes


def test_the_wal_stays_near_the_threshold_on_a_store_that_already_holds_data(
    path: Path, owned: duckdb.DuckDBPyConnection, build: SimpleNamespace
) -> None:
    _threshold(owned, "256KB")
    writer = StoreWriter(path, connection=owned)
    try:
        sizes = _write(writer, build, 80)
    finally:
        writer.close()
    assert max(sizes) < 3 * _THRESHOLD, (
        f"the WAL reached {max(sizes) / _MB:.1f} MB past a 0.25 MB threshold: DuckDB never "
        f"checkpointed ({[round(s / _MB, 2) for s in sizes]})"
    )


def test_the_writer_checkpoints_itself_when_duckdb_does_not(
    path: Path,
    owned: duckdb.DuckDBPyConnection,
    build: SimpleNamespace,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """DuckDB skips its own checkpoints without a word; past `WAL_BOUND` the writer runs one."""
    _threshold(owned, "1TB")  # DuckDB's own never come
    monkeypatch.setattr(checkpoints, "WAL_BOUND", _THRESHOLD)
    monkeypatch.setattr(checkpoints, "RETRY", 0.0)
    writer = StoreWriter(path, connection=owned)
    try:
        sizes = _write(writer, build, 40)
    finally:
        writer.close()
    assert max(sizes) < 3 * _THRESHOLD, [round(s / _MB, 2) for s in sizes]


def test_a_checkpoint_that_fails_is_said_once_with_what_to_do_and_its_recovery_too(
    path: Path,
    owned: duckdb.DuckDBPyConnection,
    build: SimpleNamespace,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    daemon_log: None,
) -> None:
    _threshold(owned, "1TB")
    monkeypatch.setattr(checkpoints, "WAL_BOUND", _THRESHOLD)
    monkeypatch.setattr(checkpoints, "RETRY", 0.0)
    reader = owned.cursor()
    # Unfetched, its transaction stays open, and it reads the store as before the writes.
    reader.execute("SELECT count(*) FROM logs").fetchone()
    writer = StoreWriter(path, connection=owned)
    try:
        with caplog.at_level(logging.INFO, logger="orc.store"):
            _write(writer, build, 20)
            said = [r.getMessage() for r in caplog.records if "checkpoint" in r.getMessage()]
            assert len(said) == 1, said
            assert "Could not checkpoint" in said[0] and "orc down" in said[0]
            assert wal_size(path) > 3 * _THRESHOLD
            reader.close()
            _write(writer, build, 1, "later")
        assert "checkpointed again" in caplog.records[-1].getMessage()
        assert wal_size(path) < _THRESHOLD
    finally:
        writer.close()


def test_closing_the_daemons_writer_leaves_a_checkpointed_store(
    path: Path, owned: duckdb.DuckDBPyConnection, build: SimpleNamespace
) -> None:
    """The connection outlives the writer; DuckDB's own checkpoint at its close says nothing
    when it fails, so the writer's close is the one that counts."""
    _threshold(owned, "1TB")
    writer = StoreWriter(path, connection=owned)
    _write(writer, build, 10)
    assert wal_size(path) > _THRESHOLD
    writer.close()
    assert wal_size(path) == 0


def test_a_close_that_cannot_checkpoint_says_why_and_what_to_do(
    path: Path,
    owned: duckdb.DuckDBPyConnection,
    build: SimpleNamespace,
    caplog: pytest.LogCaptureFixture,
    daemon_log: None,
) -> None:
    _threshold(owned, "1TB")
    reader = owned.cursor()
    reader.execute("SELECT count(*) FROM logs").fetchone()  # from before the writes
    writer = StoreWriter(path, connection=owned)
    _write(writer, build, 2)
    with caplog.at_level(logging.WARNING, logger="orc.store"):
        writer.close()
    reader.close()
    [said] = [r.getMessage() for r in caplog.records]
    assert "Could not checkpoint" in said and "replays" in said and "orc.duckdb.wal" in said
