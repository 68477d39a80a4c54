"""Every example query in docs/sql.md runs against a store and answers what it says."""

from __future__ import annotations

import re
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

from orchestrate.core.records import StateRecord
from orchestrate.states import Completed, Failed, Late, Running, State
from orchestrate.store import StoreWriter
from orchestrate.store import history_sql as sql
from orchestrate.store.connection import open_for_reading

DOC = Path(__file__).resolve().parents[2] / "docs" / "sql.md"
QUERIES = re.findall(r"```sql\n(.*?)```", DOC.read_text(), re.S)


def _at(state: State, ts: float) -> State:
    state.ts = ts
    return state


@pytest.fixture
def store(tmp_path: Path, build: SimpleNamespace) -> Path:
    path = tmp_path / "orc.duckdb"
    now = time.time()
    writer = StoreWriter(path)
    writer.put(build.flow_run("late-run", Completed(), deployment="etl", start_time=now - 50,
                              end_time=now - 40, expected_start_time=now - 100))  # fmt: skip
    writer.put(
        build.flow_run(
            "bad-run", Failed(), deployment="etl", start_time=now - 30, end_time=now - 29
        )
    )
    writer.put(StateRecord("late-run", "late-run", False, _at(Late(), now - 90)))
    writer.put(StateRecord("late-run", "late-run", False, _at(Running(), now - 50)))
    for i, seconds in enumerate([1.0, 2.0, 3.0]):
        writer.put(build.task_run(f"t-{i}", "late-run", Completed(), task_key="load",
                                  start_time=now - 49, end_time=now - 49 + seconds))  # fmt: skip
    writer.close()
    return path


def test_the_docs_have_the_four_examples() -> None:
    assert len(QUERIES) == 4


def _rows(path: Path, query: str) -> list[list[object]]:
    conn = open_for_reading(path)
    assert conn is not None
    with conn:
        return sql.run_query(conn, query, None, 30).rows


def test_failure_rate_per_deployment_per_day(store: Path) -> None:
    [(deployment, _day, runs, failed_pct)] = _rows(store, QUERIES[0])
    assert (deployment, runs, failed_pct) == ("etl", 2, 50.0)


def test_p95_duration_per_task(store: Path) -> None:
    assert _rows(store, QUERIES[1]) == [["load", 3, 2.9]]


def test_slowest_tasks_this_week(store: Path) -> None:
    assert [row[3] for row in _rows(store, QUERIES[2])] == [3.0, 2.0, 1.0]


def test_runs_that_were_late(store: Path) -> None:
    [(run_id, deployment, _slot, late_by)] = _rows(store, QUERIES[3])
    assert (run_id, deployment, late_by) == ("late-run", "etl", 50.0)
