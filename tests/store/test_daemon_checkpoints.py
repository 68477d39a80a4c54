"""The daemon's WAL stays near DuckDB's checkpoint threshold on a store that already holds data.

The daemon opens the file once (`connection.open_owned`) and writes through a
cursor of that connection for months. DuckDB checkpoints in the commit that
takes the WAL past its threshold, but skips it while another transaction is
open, and a result left unfetched on any cursor keeps one open. These tests
use the real file, the daemon's own way of opening it and the real writer,
with a small threshold so that a few megabytes of records cross it many times.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import duckdb
import pytest

from orchestrate.core.records import LogRecord
from orchestrate.states import Completed, Running
from orchestrate.store import StoreWriter, connection

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
def owned(path: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    """The daemon's connection to the store, as `orc up` opens it."""
    conn = connection.open_owned(path)
    yield conn
    conn.close()


def wal_size(path: Path) -> int:
    try:
        return os.stat(path.with_name(path.name + ".wal")).st_size
    except OSError:
        return 0


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
