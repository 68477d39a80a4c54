"""Run retention in the store: old finished runs leave with every row they left; others stay."""

from __future__ import annotations

import time
from pathlib import Path
from types import SimpleNamespace

import pytest

from orchestrate.core.records import EdgeRecord, LogRecord, StateRecord
from orchestrate.states import Completed, Failed, Running, Scheduled
from orchestrate.store import StoreWriter, pruning
from orchestrate.store.connection import connect

DAY = 86400.0
NOW = time.time()

ORPHANS = """
    SELECT (SELECT count(*) FROM task_runs WHERE flow_run_id NOT IN (SELECT id FROM flow_runs))
         + (SELECT count(*) FROM state_history WHERE flow_run_id NOT IN (SELECT id FROM flow_runs))
         + (SELECT count(*) FROM task_run_edges WHERE flow_run_id NOT IN (SELECT id FROM flow_runs))
         + (SELECT count(*) FROM logs WHERE flow_run_id NOT IN (SELECT id FROM flow_runs))
"""


@pytest.fixture
def store(tmp_path: Path, build: SimpleNamespace) -> Path:
    """Old finished runs of two deployments, an old run still Running, an old Scheduled one, a new one."""
    path = tmp_path / "orc.duckdb"
    writer = StoreWriter(path)
    runs = {
        "old-etl": (Completed(), "etl", 40), "old-fail": (Failed(), "report", 40),
        "old-running": (Running(), "etl", 40), "old-scheduled": (Scheduled(), "etl", 40),
        "new-etl": (Completed(), "etl", 1),
    }  # fmt: skip
    for run_id, (state, deployment, age) in runs.items():
        ended = NOW - age * DAY
        final = state.is_final()
        writer.put(build.flow_run(run_id, state, deployment=deployment, created=ended - 5,
                                  start_time=ended - 5, end_time=ended if final else None))  # fmt: skip
        writer.put(build.task_run(f"{run_id}-t", run_id, Completed()))
        writer.put(EdgeRecord(run_id, f"{run_id}-t", f"{run_id}-u", "data"))
        writer.put(StateRecord(run_id, run_id, False, state))
        writer.put(StateRecord(f"{run_id}-t", run_id, True, Completed()))
        writer.put(LogRecord(run_id, None, ended, 20, "orc.flow", "a line"))
    writer.close()
    return path


def _ids(path: Path) -> set[str]:
    conn = connect(path)
    with conn:
        return {row[0] for row in conn.execute("SELECT id FROM flow_runs").fetchall()}


def test_only_final_runs_past_the_cutoff_are_prunable(store: Path) -> None:
    with connect(store) as conn:
        assert set(pruning.prunable(conn, NOW - 30 * DAY)) == {"old-etl", "old-fail"}
        assert pruning.prunable(conn, NOW - 30 * DAY, deployment="etl") == ["old-etl"]
        assert pruning.prunable(conn, NOW - 30 * DAY, exclude=["etl"]) == ["old-fail"]
        assert pruning.prunable(conn, NOW - 30 * DAY, limit=1) in (["old-etl"], ["old-fail"])


def test_counts_name_every_row_a_prune_removes(store: Path) -> None:
    with connect(store) as conn:
        counts = pruning.count(conn, ["old-etl"])
    assert counts == pruning.PruneCounts(flow_runs=1, task_runs=1, states=2, edges=1, logs=1)


def test_a_prune_through_the_writer_leaves_no_orphans(store: Path) -> None:
    writer = StoreWriter(store)
    writer.put(pruning.RunPruning(("old-etl", "old-fail")))
    assert writer.flush(30)
    writer.close()
    assert _ids(store) == {"old-running", "old-scheduled", "new-etl"}
    with connect(store) as conn:
        assert conn.execute(ORPHANS).fetchall() == [(0,)]
        assert conn.execute("SELECT count(*) FROM task_runs").fetchall() == [(3,)]


def test_a_direct_delete_does_the_same(store: Path) -> None:
    with connect(store) as conn:
        pruning.delete(conn, ["old-etl"])
        assert conn.execute(ORPHANS).fetchall() == [(0,)]
    assert "old-etl" not in _ids(store)


def test_a_cutoff_before_1970_finds_nothing_rather_than_failing(store: Path) -> None:
    with connect(store) as conn:
        assert pruning.prunable(conn, -1e308) == []
