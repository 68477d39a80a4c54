"""Run retention: which finished flow runs are old enough to go, and deleting them with all they left.

A flow run leaves with its task runs, states, edges, logs and persisted
results, so nothing is left pointing at nothing. Only final runs go (Completed, Failed, Crashed,
Cancelled): a run that may still change is never touched. Deletes come in
bounded batches, each one short, so the writer that runs them is not held up
for long. Schedule slots stay: they are what keeps a past slot from being
planned again.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from orchestrate.store import result_files

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


@dataclass(slots=True, frozen=True)
class RunPruning:
    """Finished flow runs that leave the store with their task runs, states, edges and logs."""

    flow_run_ids: tuple[str, ...]


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


def count(conn: duckdb.DuckDBPyConnection, ids: Sequence[str]) -> PruneCounts:
    """The rows that deleting `ids` removes."""
    if not ids:
        return PruneCounts()
    parts = ", ".join(
        f"(SELECT count(*) FROM {table} WHERE list_contains($1::VARCHAR[], {column}))"
        for table, column in _TABLES
    )
    row = conn.execute(f"SELECT {parts}", [list(ids)]).fetchone() or ()
    return PruneCounts(**dict(zip(_COUNTED, (int(n) for n in row), strict=True)))


def statements(ids: Collection[str]) -> list[tuple[str, list[Any]]]:
    """The deletes that remove flow runs `ids` and every row they left, children first."""
    if not ids:
        return []
    listed = [sorted(ids)]
    return [
        (f"DELETE FROM {table} WHERE list_contains($1::VARCHAR[], {column})", listed)
        for table, column in _TABLES
    ]


def delete(conn: duckdb.DuckDBPyConnection, ids: Sequence[str]) -> None:
    """Delete `ids` and what they left in one transaction (the file's own writer, no daemon)."""
    conn.execute("BEGIN TRANSACTION")
    try:
        for sql, params in statements(ids):
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

    Their result files in the folder `results` go once their rows are gone.
    """
    total = PruneCounts()
    while True:
        ids = prunable(conn, before, None if dry_run else BATCH, deployment)
        files = result_files.existing(results, result_files.result_keys(conn, ids))
        total += count(conn, ids)
        if dry_run:
            return total + PruneCounts(results=len(files))
        if not ids:
            return total
        delete(conn, ids)
        total += PruneCounts(results=result_files.remove(files))
        if len(ids) < BATCH:
            return total
