"""One flush's batch: a withdrawal in the middle of a batch keeps everything put after it."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import duckdb
import pytest

from orchestrate.core.records import StateRecord
from orchestrate.states import Completed, Running, Scheduled
from orchestrate.store.batch import Batch, RunDeletion, SlotRecord
from orchestrate.store.migrations import migrate


@pytest.fixture
def conn(tmp_path: Path) -> duckdb.DuckDBPyConnection:
    path = tmp_path / "orc.duckdb"
    connection = duckdb.connect(str(path))
    migrate(connection, path)
    return connection


def _history(conn: duckdb.DuckDBPyConnection) -> list[tuple[str, str]]:
    return conn.execute("SELECT run_id, state_name FROM state_history ORDER BY ts").fetchall()


def test_states_after_a_withdrawal_in_the_same_batch_are_stored(
    conn: duckdb.DuckDBPyConnection, build: SimpleNamespace
) -> None:
    """The daemon withdraws a planned run while other runs change state: their history stays."""
    planned = build.flow_run("planned", Scheduled(timestamp=1.0))
    running = Running(timestamp=2.0)
    done = Completed(timestamp=3.0)
    batch = Batch()
    batch.add_all([planned, StateRecord("planned", "planned", False, planned.state)])
    batch.add_all(
        [
            RunDeletion(("planned",)),
            StateRecord("other", "other", False, running),
            StateRecord("other", "other", False, done),
        ]
    )
    batch.write(conn)
    assert _history(conn) == [("other", "Running"), ("other", "Completed")]
    assert conn.execute("SELECT count(*) FROM flow_runs").fetchone() == (0,)


def test_a_slot_given_twice_in_one_batch_keeps_the_last_run(
    conn: duckdb.DuckDBPyConnection,
) -> None:
    """One upsert statement with a repeated key does not keep the last row: slots coalesce by key."""
    batch = Batch()
    batch.add(SlotRecord("d/s/1", "first", "d", "s", 1.0))
    batch.add(SlotRecord("d/s/1", "second", "d", "s", 1.0))
    batch.write(conn)
    assert conn.execute("SELECT key, flow_run_id FROM schedule_slots").fetchall() == [
        ("d/s/1", "second")
    ]
