"""Which schedule slots already have a run: what a backfill asks before making one."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import duckdb


def runs_of_slots(conn: duckdb.DuckDBPyConnection, keys: Sequence[str]) -> dict[str, str]:
    """slot key -> the flow run made for it, for each of `keys` the store has."""
    if not keys:
        return {}
    rows = conn.execute(
        "SELECT key, flow_run_id FROM schedule_slots WHERE list_contains(?, key)", [list(keys)]
    ).fetchall()
    return {str(key): str(run_id) for key, run_id in rows}
