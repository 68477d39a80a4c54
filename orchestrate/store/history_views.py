"""The views users query with `orc sql`: a stable face over tables whose columns may change.

They are temporary views, made on the connection that runs a query (a
read-only file admits nothing else), named like the tables they cover; each
reads its table by its full name (`<database>.main.<table>`) so a view never
finds itself. Changing a column here breaks users' saved queries: add, never
rename or drop.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from orchestrate.store.history_shape import ROWS_TABLE, history_sql

if TYPE_CHECKING:
    import duckdb

_STATE = "state_type, state_name, state_message, error_type, error_message"
_DURATION = "epoch(end_time) - epoch(start_time) AS duration_seconds"
#: The store's `state_history` view, reading its tables by their full names: the view
#: itself would read this connection's `task_runs` view (a temporary view shadows a table).
_HISTORY = history_sql("{db}.main.task_runs", "{db}.main." + ROWS_TABLE)

#: view name -> its SELECT, with `{db}` for the store's catalog.
VIEWS: dict[str, str] = {
    "flow_runs": f"""
        SELECT id, name, flow_name, deployment, {_STATE}, parameters, tags,
               parent_flow_run_id, parent_task_run_id, entrypoint, flow_version, created,
               expected_start_time, start_time, end_time, run_count, {_DURATION}
        FROM {{db}}.main.flow_runs""",
    "task_runs": f"""
        SELECT id, flow_run_id, name, task_key, dynamic_key, kind, {_STATE}, tags,
               parent_task_run_id, cache_key, created, start_time, end_time, run_count,
               {_DURATION}
        FROM {{db}}.main.task_runs""",
    "states": f"""
        SELECT run_id, flow_run_id, is_task, state_type, state_name, message, ts,
               error_type, error_message, traceback
        FROM ({_HISTORY})""",
    "logs": """
        SELECT flow_run_id, task_run_id, ts, level, logger, message
        FROM {db}.main.logs""",
    "events": """
        SELECT id, occurred, event, resource, related, payload
        FROM {db}.main.events""",
    "edges": """
        SELECT flow_run_id, task_run_id, upstream_id, kind
        FROM {db}.main.task_run_edges""",
    "deployments": """
        SELECT deployment AS name,
               count(*) FILTER (WHERE NOT planned) AS flow_run_count,
               min(expected_start_time) AS first_expected_start_time,
               max(start_time) AS last_start_time,
               arg_max(state_name, start_time) FILTER (WHERE start_time IS NOT NULL)
                   AS last_state_name
        FROM (
            SELECT *, state_type = 'SCHEDULED' AND coalesce(run_count, 0) = 0 AS planned
            FROM {db}.main.flow_runs
        ) WHERE deployment IS NOT NULL GROUP BY deployment""",
}

VIEW_NAMES: tuple[str, ...] = tuple(VIEWS)


def install(conn: duckdb.DuckDBPyConnection) -> None:
    """Make the user views on `conn` (temporary: they live as long as the connection).

    The store's own `state_history` view gets a stand-in too, for the same reason as `states`.
    """
    row = conn.execute("SELECT current_database()").fetchone()
    db = _quoted(str(row[0])) if row else "main"
    for name, body in (*VIEWS.items(), ("state_history", _HISTORY)):
        conn.execute(f"CREATE OR REPLACE TEMP VIEW {name} AS {body.format(db=db)}")


def describe(conn: duckdb.DuckDBPyConnection) -> list[tuple[str, str, str]]:
    """(view, column, type) of every user view, in the documented order."""
    install(conn)
    rows = conn.execute(
        "SELECT table_name, column_name, data_type FROM duckdb_columns() "
        "WHERE database_name = 'temp' ORDER BY table_name, column_index"
    ).fetchall()
    order = {name: i for i, name in enumerate(VIEW_NAMES)}
    found = [(str(v), str(c), str(t)) for v, c, t in rows if v in order]
    return sorted(found, key=lambda r: order[r[0]])


def _quoted(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'
