"""A writer's WAL may outgrow DuckDB's 16 MB default before a checkpoint; a kill -9 then loses nothing.

The writer holding its own file checkpoints when it lets go of the file, not
in the middle of a long flow's writes (`file_hold.CHECKPOINT_THRESHOLD`). So a
crash can leave a larger WAL than DuckDB's default would: it must replay,
upserts (DELETE then INSERT) and ON CONFLICT updates included, with every
committed row there.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import duckdb

from orchestrate.store import Store

_WRITER = textwrap.dedent(
    """
    import os, sys
    from orchestrate.core.records import FlowRunRecord, LogRecord, TaskRunRecord
    from orchestrate.states import Completed, Running
    from orchestrate.store import StoreWriter, file_hold

    # Hold the file throughout: letting go checkpoints, which on a loaded machine (a pause
    # past IDLE_CLOSE between batches, or a run past UNASKED_HOLD) kept the WAL small.
    file_hold.IDLE_CLOSE = file_hold.UNASKED_HOLD = 3600.0
    path = sys.argv[1]
    writer = StoreWriter(path)
    flow_run = FlowRunRecord(id="f", name="f", flow_name="etl", parameters={}, state=Running(),
                             created=0.0)
    line = "x" * 4000
    for generation in range(1, 400):
        flow_run.run_count = generation
        writer.put(flow_run)  # stored already from the second batch on: an upsert
        for i in range(20):
            run_id = f"t{generation}-{i}"
            writer.put(TaskRunRecord(id=run_id, flow_run_id="f", name=run_id, task_key="k",
                                     dynamic_key=i, state=Running(), created=0.0))
            writer.put(TaskRunRecord(id=run_id, flow_run_id="f", name=run_id, task_key="k",
                                     dynamic_key=i, state=Completed(), created=0.0))
            writer.put(LogRecord("f", run_id, 1.0, 20, "orc.task", line))
        assert writer.flush(30)
        print(generation, os.stat(path + ".wal").st_size, flush=True)
    """
)


def test_a_kill_9_with_a_wal_past_duckdbs_default_threshold_reopens_with_every_committed_row(
    tmp_path: Path,
) -> None:
    path = tmp_path / "orc.duckdb"
    script = tmp_path / "writer.py"
    script.write_text(_WRITER)
    env = {**os.environ, "ORC_LOGGING_TO_CONSOLE": "0"}
    committed, wal = 0, 0
    with subprocess.Popen(
        [sys.executable, str(script), str(path)], stdout=subprocess.PIPE, text=True, env=env
    ) as proc:
        assert proc.stdout is not None
        for line in proc.stdout:  # ends when the child exits: it never reached the size
            committed, wal = map(int, line.split())
            if wal > 24_000_000:
                proc.send_signal(signal.SIGKILL)
                break
        proc.kill()
    assert wal > 24_000_000, f"the WAL stayed at {wal:,} bytes: checkpointed on the way"
    with Store(path) as store:  # replays the WAL
        assert store is not None
    with duckdb.connect(str(path), read_only=True) as conn:
        logs, tasks = conn.execute(
            "SELECT (SELECT count(*) FROM logs), (SELECT count(*) FROM task_runs "
            "WHERE state_name = 'Completed')"
        ).fetchone() or (0, 0)
        flow_runs = conn.execute("SELECT count(*), max(run_count) FROM flow_runs").fetchall()
    assert logs >= committed * 20 and tasks >= committed * 20
    assert flow_runs[0][0] == 1 and flow_runs[0][1] >= committed
