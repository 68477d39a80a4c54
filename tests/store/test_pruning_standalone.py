"""Task runs called outside any flow leave with the project's run retention, like flow runs.

Prefect (and orc) record a task called from plain Python as a task run of no
flow run. Nothing ever pruned those, so a script calling a task every minute
grew the store for good. They belong to no deployment: the project's
`run_retention` takes them, a deployment's own retention never does.
"""

from __future__ import annotations

import time
from pathlib import Path
from types import SimpleNamespace

import pytest

from orchestrate.core.records import LogRecord, StateRecord
from orchestrate.engine.results import ResultStore
from orchestrate.states import Completed, Failed, Running
from orchestrate.store import StoreWriter, pruning
from orchestrate.store.connection import connect

DAY = 86400.0
NOW = time.time()
STANDALONE = ""  # the flow run id a task run called outside any flow is stored with


@pytest.fixture
def project(tmp_path: Path, build: SimpleNamespace) -> tuple[Path, Path]:
    """Old and new task runs of no flow run, one still Running, and an old flow run of `etl`."""
    path, results = tmp_path / "orc.duckdb", tmp_path / "results"
    writer = StoreWriter(path)
    tasks = {
        "old-done": (Completed(), 40), "old-failed": (Failed(), 40),
        "old-running": (Running(), 40), "new-done": (Completed(), 1),
    }  # fmt: skip
    for task_id, (state, age) in tasks.items():
        ended = NOW - age * DAY
        final = state.is_final()
        writer.put(build.task_run(task_id, STANDALONE, state, created=ended - 1,
                                  start_time=ended - 1, end_time=ended if final else None))  # fmt: skip
        writer.put(StateRecord(task_id, STANDALONE, True, state))
        writer.put(LogRecord(STANDALONE, task_id, ended, 20, "orc.task_runs", "a line"))
    ended = NOW - 40 * DAY
    writer.put(build.flow_run("old-etl", Completed(), deployment="etl", created=ended - 5,
                              start_time=ended - 5, end_time=ended))  # fmt: skip
    writer.put(build.task_run("old-etl-t", "old-etl", Completed()))
    writer.close()
    store = ResultStore(results)
    for key in ("old-done", "new-done"):
        store.write(key, key)
    return path, results


def _task_ids(path: Path) -> set[str]:
    with connect(path) as conn:
        return {str(row[0]) for row in conn.execute("SELECT id FROM task_runs").fetchall()}


def _left_behind(path: Path) -> int:
    """States and logs of task runs that are gone."""
    with connect(path) as conn:
        row = conn.execute(
            "SELECT (SELECT count(*) FROM state_history WHERE is_task "
            "        AND run_id NOT IN (SELECT id FROM task_runs))"
            "     + (SELECT count(*) FROM logs WHERE task_run_id IS NOT NULL "
            "        AND task_run_id NOT IN (SELECT id FROM task_runs))"
        ).fetchone()
    return int(row[0]) if row else -1


def test_old_final_standalone_task_runs_go_with_their_states_logs_and_results(
    project: tuple[Path, Path],
) -> None:
    path, results = project
    with connect(path) as conn:
        counts = pruning.prune_file(conn, NOW - 30 * DAY, None, dry_run=False, results=results)
    assert _task_ids(path) == {"old-running", "new-done"}
    assert _left_behind(path) == 0
    assert (counts.flow_runs, counts.task_runs) == (1, 3)  # old-etl and its task, two standalone
    assert counts.states == 2 and counts.logs == 2
    assert ResultStore(results).read("old-done") is None
    kept = ResultStore(results).read("new-done")
    assert kept is not None and kept.value == "new-done"


def test_a_dry_run_counts_standalone_task_runs_and_removes_none(
    project: tuple[Path, Path],
) -> None:
    path, results = project
    with connect(path) as conn:
        counts = pruning.prune_file(conn, NOW - 30 * DAY, None, dry_run=True, results=results)
    assert counts.task_runs == 3 and counts.results == 1
    assert len(_task_ids(path)) == 5


def test_a_deployments_own_retention_leaves_standalone_task_runs(
    project: tuple[Path, Path],
) -> None:
    path, results = project
    with connect(path) as conn:
        counts = pruning.prune_file(conn, NOW - 30 * DAY, "etl", dry_run=False, results=results)
    assert counts.flow_runs == 1
    assert {"old-done", "old-failed", "old-running", "new-done"} <= _task_ids(path)


def test_the_daemons_writer_prunes_standalone_task_runs_too(project: tuple[Path, Path]) -> None:
    path, _ = project
    with connect(path) as conn:
        ids = pruning.prunable_task_runs(conn, NOW - 30 * DAY)
    assert sorted(ids) == ["old-done", "old-failed"]
    writer = StoreWriter(path)
    writer.put(pruning.RunPruning((), tuple(ids)))
    writer.close()
    assert _task_ids(path) == {"old-running", "new-done", "old-etl-t"}
    assert _left_behind(path) == 0
