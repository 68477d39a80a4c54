"""The store's schema as numbered migrations, applied in order and recorded in `schema_version`.

A file written by an older orc is upgraded on open; a file written by a newer
orc is refused rather than misread. Add a migration by appending to
`MIGRATIONS`; never edit one that has shipped.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from orchestrate.core.errors import StoreError
from orchestrate.store import history_shape

if TYPE_CHECKING:
    from pathlib import Path

    import duckdb

_STATE_COLUMNS = """
    state_type VARCHAR,
    state_name VARCHAR,
    state_message VARCHAR,
    state_ts TIMESTAMPTZ,
    error_type VARCHAR,
    error_message VARCHAR,
    traceback VARCHAR"""

_V1 = f"""
CREATE TABLE flow_runs (
    id VARCHAR PRIMARY KEY,
    name VARCHAR,
    flow_name VARCHAR,{_STATE_COLUMNS},
    parameters JSON,
    tags VARCHAR[],
    parent_flow_run_id VARCHAR,
    parent_task_run_id VARCHAR,
    deployment VARCHAR,
    entrypoint VARCHAR,
    flow_version VARCHAR,
    created TIMESTAMPTZ,
    expected_start_time TIMESTAMPTZ,
    start_time TIMESTAMPTZ,
    end_time TIMESTAMPTZ,
    run_count INTEGER
);
CREATE TABLE task_runs (
    id VARCHAR PRIMARY KEY,
    flow_run_id VARCHAR,
    name VARCHAR,
    task_key VARCHAR,
    dynamic_key INTEGER,
    kind VARCHAR,{_STATE_COLUMNS},
    tags VARCHAR[],
    parent_task_run_id VARCHAR,
    cache_key VARCHAR,
    created TIMESTAMPTZ,
    start_time TIMESTAMPTZ,
    end_time TIMESTAMPTZ,
    run_count INTEGER
);
CREATE TABLE task_run_edges (
    flow_run_id VARCHAR,
    task_run_id VARCHAR,
    upstream_id VARCHAR,
    kind VARCHAR
);
CREATE TABLE state_history (
    run_id VARCHAR,
    flow_run_id VARCHAR,
    is_task BOOLEAN,
    state_type VARCHAR,
    state_name VARCHAR,
    message VARCHAR,
    ts TIMESTAMPTZ,
    error_type VARCHAR,
    error_message VARCHAR,
    traceback VARCHAR
);
CREATE TABLE logs (
    flow_run_id VARCHAR,
    task_run_id VARCHAR,
    ts TIMESTAMPTZ,
    level INTEGER,
    logger VARCHAR,
    message VARCHAR
);
CREATE TABLE events (
    id VARCHAR,
    occurred TIMESTAMPTZ,
    event VARCHAR,
    resource JSON,
    related JSON,
    payload JSON
);
CREATE INDEX task_runs_by_flow_run ON task_runs (flow_run_id);
CREATE INDEX edges_by_flow_run ON task_run_edges (flow_run_id);
CREATE INDEX history_by_run ON state_history (run_id);
CREATE INDEX logs_by_flow_run ON logs (flow_run_id);
CREATE INDEX events_by_time ON events (occurred);
"""

# The daemon's plan: one row per schedule slot it materialised, so a slot becomes a run once.
_V2 = """
CREATE TABLE schedule_slots (
    key VARCHAR PRIMARY KEY,
    flow_run_id VARCHAR,
    deployment VARCHAR,
    schedule_id VARCHAR,
    slot_time TIMESTAMPTZ
);
"""

# `orc runs show` finds a run's subflow runs by these: a lookup, not a scan of every run.
_V3 = """
CREATE INDEX flow_runs_by_parent_flow_run ON flow_runs (parent_flow_run_id);
CREATE INDEX flow_runs_by_parent_task_run ON flow_runs (parent_task_run_id);
"""

# A task run's plain Pending -> Running -> Completed states live in its row (`history_shape`):
# the stored states move to a table of their own, in their order, and `state_history`
# becomes the view that gives the same rows. Copied, not renamed: DuckDB 2.0 cannot
# replay a write-ahead log holding the rename of a table (the file would not open again
# after a crash before the next checkpoint).
_V4 = f"""
ALTER TABLE task_runs ADD COLUMN pending_ts TIMESTAMPTZ;
ALTER TABLE task_runs ADD COLUMN history_derived UTINYINT DEFAULT 0;
CREATE TABLE {history_shape.ROWS_TABLE} AS SELECT * FROM state_history ORDER BY rowid;
DROP INDEX history_by_run;
DROP TABLE state_history;
CREATE INDEX history_rows_by_run ON {history_shape.ROWS_TABLE} (run_id);
{history_shape.view_ddl()};
"""

# When a Scheduled flow run is due, if its state says (an AwaitingRetry's time): a retry
# keeps the run's `expected_start_time`, and a restart must still know when it is due.
_V5 = "ALTER TABLE flow_runs ADD COLUMN next_scheduled_start_time TIMESTAMPTZ;"

#: (version, SQL) in the order they apply. The version after all of them is the file's.
MIGRATIONS: list[tuple[int, str]] = [(1, _V1), (2, _V2), (3, _V3), (4, _V4), (5, _V5)]

LATEST_VERSION = MIGRATIONS[-1][0]


def current_version(conn: duckdb.DuckDBPyConnection) -> int:
    """The schema version a file is at; 0 for a file orc has not set up yet.

    The result is fetched to its end: one fetched with `fetchone` keeps its query's
    transaction open until the connection runs another statement, and the daemon's
    connection runs none after this. DuckDB skips every automatic checkpoint while
    another transaction is open (the writer's upserts are updates), so its WAL grew
    without bound on a store that was already at this version.
    """
    import duckdb

    try:
        rows = conn.execute("SELECT max(version) FROM schema_version").fetchall()
    except duckdb.CatalogException:
        return 0  # (asking the catalog first costs ~10 ms; this costs ~1 ms)
    return int(rows[0][0]) if rows and rows[0][0] is not None else 0


def check_not_newer(version: int, path: Path | str) -> None:
    """Refuse a file written by a newer orc: reading it with an old schema would mislead."""
    if version > LATEST_VERSION:
        raise StoreError(
            f"{path} has store schema version {version}, but this orc knows only up to "
            f"{LATEST_VERSION}. Upgrade orc (pip install -U from its checkout or wheel) to read it."
        )


def migrate(conn: duckdb.DuckDBPyConnection, path: Path | str) -> int:
    """Bring the file up to `LATEST_VERSION` in one transaction; returns the version it was at."""
    version = current_version(conn)
    check_not_newer(version, path)
    if version == LATEST_VERSION:
        return version
    conn.execute("BEGIN TRANSACTION")
    try:
        conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_version "
            "(version INTEGER PRIMARY KEY, applied TIMESTAMPTZ DEFAULT current_timestamp)"
        )
        for number, sql in MIGRATIONS:
            if number > version:
                conn.execute(sql)
                conn.execute("INSERT INTO schema_version (version) VALUES (?)", [number])
        conn.execute("COMMIT")
    except Exception:
        conn.execute("ROLLBACK")
        raise
    return version
