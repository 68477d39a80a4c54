"""A flow recording in its own process keeps its writer close behind it (`pace_at`).

The writer's Python needs the GIL the flow's thread holds, so without pacing
a 100,000-task flow ended with most of its records still to write, and the
process spent another second writing them. A paced `put` waits for the writer
to take the queue; the daemon's writer is never paced (its loop must not wait).
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time
from pathlib import Path

import duckdb
import pytest

from orchestrate.core.records import LogRecord
from orchestrate.store import StoreWriter
from orchestrate.store.migrations import migrate
from tests.store.faulty import Faults

PACE = 500


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "orc.duckdb"


def _line(i: int) -> LogRecord:
    return LogRecord("f1", None, float(i), 20, "orc", f"line {i}")


def test_a_paced_writer_takes_the_queue_before_it_grows_much_past_its_pace(path: Path) -> None:
    writer = StoreWriter(path, pace_at=PACE)
    most = 0
    try:
        for i in range(30 * PACE):
            writer.put(_line(i))
            most = max(most, writer.health.waiting)
        assert writer.flush(30)
    finally:
        writer.close()
    # Waiting counts the queue (under PACE once taken) and the batch being written.
    assert most <= 3 * PACE, f"{most} records waited at once with a pace of {PACE}"
    with duckdb.connect(str(path), read_only=True) as conn:
        assert conn.execute("SELECT count(*) FROM logs").fetchone() == (30 * PACE,)


def test_paced_puts_while_the_disk_is_full_lose_no_record_and_keep_their_order(path: Path) -> None:
    conn = duckdb.connect(str(path))
    migrate(conn, path)
    faults = Faults(conn)
    writer = StoreWriter(path, connection=faults, pace_at=PACE)  # type: ignore[arg-type]
    try:
        faults.full = True
        writer.put(_line(0))
        assert not writer.flush(0.3)
        assert writer.health.degraded is not None
        for i in range(1, 10 * PACE):
            writer.put(_line(i))
        # counted as queued or as the batch being tried; a record on its way from one to the
        # other, as the writer tries again, is in neither for that moment
        deadline = time.monotonic() + 10
        while writer.health.waiting != 10 * PACE and time.monotonic() < deadline:
            time.sleep(0.01)
        assert writer.health.waiting == 10 * PACE
        faults.full = False
        assert writer.flush(30)
        rows = conn.execute("SELECT message FROM logs ORDER BY rowid").fetchall()
        assert rows == [(f"line {i}",) for i in range(10 * PACE)]
    finally:
        writer.close()
        conn.close()


def test_a_flow_in_its_own_process_ends_with_little_left_to_write(tmp_path: Path) -> None:
    """The default sink of a flow run outside the daemon is paced: its backlog stays small."""
    script = textwrap.dedent(
        """
        import json
        from orchestrate import flow, task
        from orchestrate.recording import current, get_sink

        current.PACE_AT = 2_000

        @task
        def noop(i: int) -> int:
            return i

        @flow
        def many() -> int:
            most = 0
            for i in range(20_000):
                noop(i)
                if i % 50 == 0:
                    most = max(most, get_sink().health.waiting)
            return most

        most = many()
        print(json.dumps({"most": most, "stored": get_sink().flush(60)}))
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", script],
        cwd=tmp_path,
        env={"ORC_HOME": str(tmp_path), "ORC_LOGGING_TO_CONSOLE": "0", "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    figures = out.stdout.strip().splitlines()[-1]
    assert '"stored": true' in figures
    most = int(figures.split('"most": ')[1].split(",")[0])
    # 20,000 tasks put ~120,000 records; paced at 2,000 the writer is never far behind.
    assert most <= 6_000, f"{most} records waited at once"
