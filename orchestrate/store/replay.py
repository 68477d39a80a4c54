"""What the store already holds of a journalled run, so a replay adds each row exactly once.

A worker journals every record before it reports it (`orchestrate.recording.journal`);
a daemon killed before its writer flushed leaves the store short of some of
them. Replaying the journal must add what is missing and nothing twice:
history, logs, edges and events are appended rows, so they are matched here
by what identifies them; run snapshots are upserts and are matched by id and
state.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import duckdb

    #: The connection (or cursor) the daemon reads its store through.
    Connection = duckdb.DuckDBPyConnection

#: Timestamps go through a float and DuckDB's microseconds: equal within this (µs).
_TOLERANCE_US = 2


@dataclass
class StoredRun:
    state_type: str
    state_name: str
    run_count: int


@dataclass
class StoredKeys:
    """The rows one flow run (and its task runs and subflows) already has in the store."""

    runs: dict[str, StoredRun] = field(default_factory=dict)
    states: dict[tuple[str, str], list[int]] = field(default_factory=lambda: defaultdict(list))
    logs: dict[tuple[str, str, str], list[int]] = field(default_factory=lambda: defaultdict(list))
    edges: set[tuple[str, str, str]] = field(default_factory=set)
    events: set[str] = field(default_factory=set)

    def add_state(self, run_id: str, name: str, ts: float) -> bool:
        """Note a history row; False if the store (or an earlier add) has it already."""
        return _add(self.states[(run_id, name)], ts)

    def add_log(self, flow_run_id: str, task_run_id: str | None, message: str, ts: float) -> bool:
        return _add(self.logs[(flow_run_id, task_run_id or "", message)], ts)

    def add_edge(self, task_run_id: str, upstream_id: str, kind: str) -> bool:
        return _add_key(self.edges, (task_run_id, upstream_id, kind))

    def add_event(self, event_id: str) -> bool:
        return _add_key(self.events, event_id)


def _add(stamps: list[int], ts: float) -> bool:
    us = round(ts * 1_000_000)
    if any(abs(us - s) <= _TOLERANCE_US for s in stamps):
        return False
    stamps.append(us)
    return True


def _add_key(keys: set[Any], key: Any) -> bool:
    if key in keys:
        return False
    keys.add(key)
    return True


def stored_keys(
    conn: duckdb.DuckDBPyConnection,
    run_ids: list[str],
    event_ids: list[str],
) -> StoredKeys:
    """The rows the store holds for the runs `run_ids` (a flow run, its task runs, subflows)."""
    keys = StoredKeys()
    for table in ("flow_runs", "task_runs"):
        for run_id, state_type, state_name, run_count in conn.execute(
            f"SELECT id, state_type, state_name, run_count FROM {table} "
            "WHERE list_contains($1::VARCHAR[], id)",
            [run_ids],
        ).fetchall():
            keys.runs[run_id] = StoredRun(state_type or "", state_name or "", run_count or 0)
    for run_id, name, us in conn.execute(
        "SELECT run_id, state_name, epoch_us(ts) FROM state_history "
        "WHERE list_contains($1::VARCHAR[], run_id)",
        [run_ids],
    ).fetchall():
        keys.states[(run_id, name)].append(us)
    for run_id, task_run_id, message, us in conn.execute(
        "SELECT flow_run_id, coalesce(task_run_id, ''), message, epoch_us(ts) FROM logs "
        "WHERE list_contains($1::VARCHAR[], flow_run_id)",
        [run_ids],
    ).fetchall():
        keys.logs[(run_id, task_run_id, message)].append(us)
    keys.edges = {
        (t, u, k)
        for t, u, k in conn.execute(
            "SELECT task_run_id, upstream_id, kind FROM task_run_edges "
            "WHERE list_contains($1::VARCHAR[], flow_run_id)",
            [run_ids],
        ).fetchall()
    }
    if event_ids:
        keys.events = {
            row[0]
            for row in conn.execute(
                "SELECT id FROM events WHERE list_contains($1::VARCHAR[], id)", [event_ids]
            ).fetchall()
        }
    return keys


__all__ = ["StoredKeys", "StoredRun", "stored_keys"]
