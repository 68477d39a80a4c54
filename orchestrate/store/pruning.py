"""Run retention: which finished flow runs are old enough to go, and deleting them with all they left.

A flow run leaves with its task runs, states, edges, logs and persisted
results, so nothing is left pointing at nothing. Only final runs go (Completed, Failed, Crashed,
Cancelled): a run that may still change is never touched. Deletes come in
bounded batches, each one short, so the writer that runs them is not held up
for long. Schedule slots stay: they are what keeps a past slot from being
planned again.

A task run called outside any flow (stored with the flow run id `""`) belongs
to no deployment: the project's retention takes it with its states, logs and
results, as it takes a flow run.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from orchestrate.store import result_files
from orchestrate.store.history_shape import ROWS_TABLE

if TYPE_CHECKING:
    from pathlib import Path

    import duckdb

#: Flow runs deleted per transaction.
BATCH = 500
FINAL_TYPES = ("COMPLETED", "FAILED", "CRASHED", "CANCELLED")

#: (table, the column naming the flow run), children first.
_TABLES = (
    ("logs", "flow_run_id"),
    ("task_run_edges", "flow_run_id"),
    ("state_history", "flow_run_id"),
    ("task_runs", "flow_run_id"),
    ("flow_runs", "id"),
)
_COUNTED = ("logs", "edges", "states", "task_runs", "flow_runs")
#: What a task run of no flow run left, children first: (table, the column naming it).
_STANDALONE_TABLES = (("logs", "task_run_id"), ("state_history", "run_id"), ("task_runs", "id"))
_STANDALONE_COUNTED = ("logs", "states", "task_runs")
#: Deletes go to the table under a view: a task run's plain states leave with its row.
_STORED = {"state_history": ROWS_TABLE}
#: The flow run id a task run called outside any flow is stored with.
STANDALONE = ""


@dataclass(slots=True, frozen=True)
class RunPruning:
    """Finished flow runs that leave the store with their task runs, states, edges and logs.

    `task_run_ids` are finished task runs of no flow run, which leave with their states and logs.
    """

    flow_run_ids: tuple[str, ...]
    task_run_ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class PruneCounts:
    """Rows removed (or, in a dry run, that would be), per kind."""

    flow_runs: int = 0
    task_runs: int = 0
    states: int = 0
    edges: int = 0
    logs: int = 0
    #: persisted result files (flow and task results, cache entries no kept run uses)
    results: int = 0

    def __add__(self, other: PruneCounts) -> PruneCounts:
        mine, theirs = asdict(self), asdict(other)
        return PruneCounts(**{k: mine[k] + theirs[k] for k in mine})

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


def prunable(
    conn: duckdb.DuckDBPyConnection,
    before: float,
    limit: int | None = BATCH,
    deployment: str | None = None,
    exclude: Sequence[str] = (),
) -> list[str]:
    """Final flow runs that ended before `before` (epoch s): of `deployment`, or of any but `exclude`."""
    if before <= 0:
        return []  # nothing ended before 1970, and DuckDB refuses times far before it
    sql = (
        "SELECT id FROM flow_runs WHERE list_contains($1::VARCHAR[], state_type) "
        "AND coalesce(end_time, state_ts, created) < to_timestamp($2)"
    )
    params: list[Any] = [list(FINAL_TYPES), before]
    if deployment is not None:
        sql += " AND deployment = $3"
        params.append(deployment)
    elif exclude:
        sql += " AND (deployment IS NULL OR NOT list_contains($3::VARCHAR[], deployment))"
        params.append(list(exclude))
    sql += " ORDER BY coalesce(end_time, state_ts, created)"
    if limit is not None:
        sql += f" LIMIT {int(limit)}"
    return [str(row[0]) for row in conn.execute(sql, params).fetchall()]


def prunable_task_runs(
    conn: duckdb.DuckDBPyConnection, before: float, limit: int | None = BATCH
) -> list[str]:
    """Final task runs of no flow run (called outside any flow) that ended before `before`."""
    if before <= 0:
        return []
    sql = (
        "SELECT id FROM task_runs WHERE flow_run_id = $1 AND list_contains($2::VARCHAR[], "
        "state_type) AND coalesce(end_time, state_ts, created) < to_timestamp($3) "
        "ORDER BY coalesce(end_time, state_ts, created)"
    )
    if limit is not None:
        sql += f" LIMIT {int(limit)}"
    params = [STANDALONE, list(FINAL_TYPES), before]
    return [str(row[0]) for row in conn.execute(sql, params).fetchall()]


def count(
    conn: duckdb.DuckDBPyConnection, ids: Sequence[str], task_ids: Sequence[str] = ()
) -> PruneCounts:
    """The rows that deleting flow runs `ids` and task runs of no flow run `task_ids` removes."""
    total = PruneCounts()
    for listed, tables, kinds in (
        (ids, _TABLES, _COUNTED),
        (task_ids, _STANDALONE_TABLES, _STANDALONE_COUNTED),
    ):
        if not listed:
            continue
        parts = ", ".join(
            f"(SELECT count(*) FROM {table} WHERE list_contains($1::VARCHAR[], {column}))"
            for table, column in tables
        )
        row = conn.execute(f"SELECT {parts}", [list(listed)]).fetchone() or ()
        total += PruneCounts(**dict(zip(kinds, (int(n) for n in row), strict=True)))
    return total


def statements(ids: Collection[str], task_ids: Collection[str] = ()) -> list[tuple[str, list[Any]]]:
    """The deletes that remove flow runs `ids`, task runs of no flow run `task_ids`, and every
    row they left, children first."""
    found = []
    for listed, tables in ((ids, _TABLES), (task_ids, _STANDALONE_TABLES)):
        if listed:
            found += [
                (
                    f"DELETE FROM {_STORED.get(table, table)} "
                    f"WHERE list_contains($1::VARCHAR[], {column})",
                    [sorted(listed)],
                )
                for table, column in tables
            ]
    return found


def delete(
    conn: duckdb.DuckDBPyConnection, ids: Sequence[str], task_ids: Sequence[str] = ()
) -> None:
    """Delete `ids` (and `task_ids`) and what they left in one transaction (no daemon)."""
    conn.execute("BEGIN TRANSACTION")
    try:
        for sql, params in statements(ids, task_ids):
            conn.execute(sql, params)
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise


def prune_file(
    conn: duckdb.DuckDBPyConnection,
    before: float,
    deployment: str | None,
    dry_run: bool,
    results: Path | None = None,
) -> PruneCounts:
    """Remove (or count) final runs that ended before `before`, a batch per transaction.

    Without a `deployment`, task runs of no flow run go too. Their result files
    in the folder `results` go once their rows are gone.
    """
    total = _prune_batches(
        conn, lambda limit: (prunable(conn, before, limit, deployment), []), dry_run, results
    )
    if deployment is None:
        total += _prune_batches(
            conn, lambda limit: ([], prunable_task_runs(conn, before, limit)), dry_run, results
        )
    return total


def _prune_batches(
    conn: duckdb.DuckDBPyConnection,
    chosen: Callable[[int | None], tuple[list[str], list[str]]],
    dry_run: bool,
    results: Path | None,
) -> PruneCounts:
    """Delete what `chosen(limit)` names, (flow run ids, task run ids), until it names nothing."""
    total = PruneCounts()
    while True:
        ids, task_ids = chosen(None if dry_run else BATCH)
        keys = result_files.result_keys(conn, ids, task_ids)
        files = result_files.existing(results, keys)
        total += count(conn, ids, task_ids)
        if dry_run:
            return total + PruneCounts(results=len(files))
        if not ids and not task_ids:
            return total
        delete(conn, ids, task_ids)
        total += PruneCounts(results=result_files.remove(files))
        if len(ids) + len(task_ids) < BATCH:
            return total
