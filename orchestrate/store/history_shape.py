"""The state history's stored shape: rows kept only where a task run's states were out of the ordinary.

Most task runs go Pending -> Running -> Completed with default names, no
message and no error. Their three history rows said nothing their `task_runs`
row does not (the start and end times are the Running and Completed times), yet
they were three quarters of the rows a flow wrote, and most of the writer's
cost. Such states are not stored as rows: the task run's row counts how many of
that plain sequence it stands for (`history_derived`, 0-3, always a prefix of
the run's history) and keeps the Pending time (`pending_ts`). Everything else
goes to `state_history_rows` as before.

`state_history` is a view over both that returns the rows the old table held,
plus a `rowid` column ordering a run's rows as they were written (derived rows
come first: they are always the start of a run's history).
"""

from __future__ import annotations

#: The plain sequence a task run's row may stand for, in order: (type, name).
PLAIN = (("PENDING", "Pending"), ("RUNNING", "Running"), ("COMPLETED", "Completed"))

ROWS_TABLE = "state_history_rows"

_COLUMNS = "run_id, flow_run_id, is_task, state_type, state_name, message, ts, error_type, error_message, traceback"


def history_sql(task_runs: str = "task_runs", rows: str = ROWS_TABLE, runs: str = "") -> str:
    """The state history: stored rows and the rows task runs stand for, with a `rowid` to order by.

    `runs` (a condition on `{run}`, e.g. `{run} = $1`) filters both parts on the
    run id first, so a lookup of one run reads one row of each table by its index.
    """
    stored_filter = f"WHERE {runs.format(run='run_id')}" if runs else ""
    source = f"(SELECT * FROM {task_runs} WHERE {runs.format(run='id')})" if runs else task_runs
    kinds, names = ([f"'{p[i]}'" for p in PLAIN] for i in (0, 1))
    return f"""
        SELECT {_COLUMNS}, rowid AS rowid FROM {rows} {stored_filter}
        UNION ALL
        SELECT run_id, flow_run_id, true AS is_task, [{", ".join(kinds)}][n] AS state_type,
               [{", ".join(names)}][n] AS state_name, NULL::VARCHAR AS message,
               [pending_ts, start_time, end_time][n] AS ts, NULL::VARCHAR AS error_type,
               NULL::VARCHAR AS error_message, NULL::VARCHAR AS traceback, n - 4 AS rowid
        FROM (
            SELECT id AS run_id, flow_run_id, pending_ts, start_time, end_time,
                   unnest(range(1, history_derived + 1)) AS n
            FROM {source} WHERE history_derived > 0
        )"""


def view_ddl() -> str:
    """The persistent `state_history` view (made by the migration that split the table)."""
    return f"CREATE VIEW state_history AS {history_sql()}"


__all__ = ["PLAIN", "ROWS_TABLE", "history_sql", "view_ddl"]
