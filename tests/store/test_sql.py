"""Read-only SQL over a store file: the user views, refusals, the row cap, the timeout, COPY."""

from __future__ import annotations

import os
from pathlib import Path
from types import SimpleNamespace

import duckdb
import pytest

from orchestrate.core.errors import QueryError
from orchestrate.core.records import EdgeRecord, LogRecord, Record, StateRecord
from orchestrate.states import Completed, Failed, Running, Scheduled
from orchestrate.store import StoreWriter
from orchestrate.store import history_sql as sql
from orchestrate.store.connection import open_for_reading

BASE = 1_700_000_000.0


@pytest.fixture
def store(tmp_path: Path, build: SimpleNamespace) -> Path:
    path = tmp_path / ".orc" / "orc.duckdb"
    records: list[Record] = [
        build.flow_run("run-1", Completed(), deployment="etl", created=BASE, start_time=BASE, end_time=BASE + 2),
        build.flow_run("run-2", Failed(), deployment="etl", created=BASE + 1),
        build.flow_run("run-3", Running(), deployment="report", created=BASE + 2, end_time=None),
        build.task_run("t-1", "run-1", Completed(), name="extract"),
        EdgeRecord("run-1", "t-1", "t-0", "data"),
        StateRecord("run-1", "run-1", False, Completed()),
        LogRecord("run-1", None, BASE, 20, "orc.flow", "hello"),
    ]  # fmt: skip
    writer = StoreWriter(path)
    for record in records:
        writer.put(record)
    writer.close()
    return path


def _run(
    path: Path, query: str, limit: int | None = None, timeout: float = 30.0
) -> sql.QueryResult:
    conn = open_for_reading(path)
    assert conn is not None
    try:
        return sql.run_query(conn, query, limit=limit, timeout=timeout)
    finally:
        conn.close()


def test_the_user_views_answer_with_todays_column_names(store: Path) -> None:
    result = _run(store, "SELECT deployment, count(*) AS n FROM flow_runs GROUP BY 1 ORDER BY 1")
    assert result.columns == ["deployment", "n"]
    assert result.rows == [["etl", 2], ["report", 1]]
    assert _run(store, "SELECT flow_run_id, name FROM task_runs").rows == [["run-1", "extract"]]
    assert _run(store, "SELECT upstream_id FROM edges").rows == [["t-0"]]
    assert _run(store, "SELECT message FROM logs").rows == [["hello"]]
    assert _run(store, "SELECT state_name FROM states").rows == [["Completed"]]
    assert _run(store, "SELECT name, flow_run_count FROM deployments ORDER BY 1").rows == [
        ["etl", 2],
        ["report", 1],
    ]


def test_the_deployments_view_tells_of_runs_that_ran_not_of_those_planned(
    store: Path, build: SimpleNamespace
) -> None:
    """A daemon plans an hour of runs ahead: they were counted, and the newest planned one
    made every deployment's last state `Scheduled`."""
    writer = StoreWriter(store)
    writer.put(build.flow_run("planned", Scheduled(), deployment="report", created=BASE + 3,
                              run_count=0, expected_start_time=BASE + 3600, start_time=None,
                              end_time=None))  # fmt: skip
    writer.close()
    rows = _run(store, "SELECT name, flow_run_count, last_state_name FROM deployments ORDER BY 1")
    assert rows.rows == [["etl", 2, "Failed"], ["report", 1, "Running"]]


def test_times_come_back_as_iso_text_and_durations_in_seconds(store: Path) -> None:
    result = _run(store, "SELECT start_time, duration_seconds FROM flow_runs WHERE id = 'run-1'")
    start, seconds = result.rows[0]
    assert start.startswith("2023-11-14T22:13:20")
    assert seconds == 2.0


@pytest.mark.parametrize(
    "statement",
    [
        "DELETE FROM flow_runs",
        "UPDATE flow_runs SET name = 'x'",
        "INSERT INTO logs VALUES ('a', NULL, now(), 1, 'l', 'm')",
        "DROP TABLE flow_runs",
        "COPY flow_runs TO '/tmp/x.csv'",
        "ATTACH '/tmp/other.duckdb'",
        "INSTALL httpfs",
        "CREATE TABLE t (x INT)",
        "SET threads = 1",
        "EXPLAIN ANALYZE DELETE FROM flow_runs",
        "CALL checkpoint()",
        "SELECT 1; DELETE FROM flow_runs",
    ],
)
def test_statements_that_write_or_reach_out_are_refused_as_read_only(
    store: Path, statement: str
) -> None:
    with pytest.raises(QueryError, match="read-only"):
        _run(store, statement)
    assert _run(store, "SELECT count(*) FROM flow_runs").rows == [[3]]


def test_a_refused_statement_is_named_as_written(store: Path) -> None:
    """DuckDB files INSTALL under LOAD: the refusal said "a LOAD statement is refused"."""
    with pytest.raises(QueryError, match="INSTALL statements are refused"):
        _run(store, "INSTALL httpfs")
    with pytest.raises(QueryError, match="DELETE statements are refused"):
        _run(store, "delete from flow_runs")


def test_a_bad_query_says_what_duckdb_said(store: Path) -> None:
    with pytest.raises(QueryError, match="no_such_column"):
        _run(store, "SELECT no_such_column FROM flow_runs")


def test_the_row_cap_cuts_and_says_so(store: Path) -> None:
    capped = _run(store, "SELECT id FROM flow_runs ORDER BY id", limit=2)
    assert capped.rows == [["run-1"], ["run-2"]]
    assert capped.truncated
    assert not _run(store, "SELECT id FROM flow_runs", limit=3).truncated


def test_a_query_past_its_timeout_is_stopped(store: Path) -> None:
    endless = "SELECT count(*) FROM range(10000000000) a, range(1000) b"
    with pytest.raises(QueryError, match=r"0\.2 s"):
        _run(store, endless, timeout=0.2)


def test_the_schema_lists_every_view_and_its_columns(store: Path) -> None:
    conn = open_for_reading(store)
    assert conn is not None
    with conn:
        schema = sql.schema(conn)
    assert {view for view, _, _ in schema} == set(sql.VIEW_NAMES)
    assert ("flow_runs", "expected_start_time", "TIMESTAMP WITH TIME ZONE") in schema


def test_a_project_without_a_store_reads_as_empty_views(tmp_path: Path) -> None:
    conn = sql.empty_store()
    with conn:
        assert sql.run_query(conn, "SELECT count(*) FROM flow_runs", None, 5).rows == [[0]]


@pytest.mark.parametrize("fmt", ["parquet", "csv", "json"])
def test_copy_writes_a_private_file_duckdb_reads_back(
    store: Path, tmp_path: Path, fmt: str
) -> None:
    out = tmp_path / f"runs.{fmt}"
    conn = open_for_reading(store)
    assert conn is not None
    with conn:
        rows = sql.copy_query(conn, "SELECT id FROM flow_runs ORDER BY id", out, fmt, 30)
    assert rows == 3
    assert os.stat(out).st_mode & 0o777 == 0o600
    reader = {"parquet": "read_parquet", "csv": "read_csv", "json": "read_json"}[fmt]
    back = duckdb.sql(f"SELECT id FROM {reader}('{out}') ORDER BY id").fetchall()
    assert back == [("run-1",), ("run-2",), ("run-3",)]


def test_copy_refuses_what_a_query_refuses(store: Path, tmp_path: Path) -> None:
    conn = open_for_reading(store)
    assert conn is not None
    with conn, pytest.raises(QueryError, match="read-only"):
        sql.copy_query(conn, "DELETE FROM flow_runs", tmp_path / "x.csv", "csv", 30)


def test_a_cap_past_any_table_means_every_row(store: Path) -> None:
    result = _run(store, "SELECT id FROM flow_runs", limit=2**63)
    assert len(result.rows) == 3
    assert not result.truncated
