"""The reads of a `Store` besides flow runs: task runs, state history, logs, events, schedule slots.

What a run leaves behind as it goes, and what the daemon keeps of its
schedules: each read in the order its reader needs it.
"""

from __future__ import annotations

from typing import Any

from orchestrate.store.history_shape import history_sql
from orchestrate.store.reader import Reader, row_limit
from orchestrate.store.views import (
    TASK_RUN_COLUMNS,
    EventRow,
    LogLine,
    RunState,
    StateEntry,
    TaskRunView,
)

#: One run's history, oldest first: through both its tables' indexes, not the whole view.
_ONE_RUN_HISTORY = (
    "SELECT run_id, state_type, state_name, message, epoch(ts), error_type, error_message, "
    f"traceback FROM ({history_sql(runs='{run} = $1')}) ORDER BY ts, rowid"
)


class RecordReads(Reader):
    """Reads of `task_runs`, `task_run_edges`, `state_history`, `logs`, `events`, `schedule_slots`."""

    def state_history(self, run_id: str) -> list[StateEntry]:
        """Every state a flow or task run went through, oldest first."""
        rows = self._rows(_ONE_RUN_HISTORY, [run_id])
        return [StateEntry(r[0], RunState.from_row(r[1:])) for r in rows]

    def task_runs(self, flow_run_id: str) -> list[TaskRunView]:
        """The task runs of one flow run in the order they started, with their upstreams."""
        upstream: dict[str, list[tuple[str, str]]] = {}
        for task_run_id, upstream_id, kind in self._rows(
            "SELECT DISTINCT task_run_id, upstream_id, kind FROM task_run_edges "
            "WHERE flow_run_id = ? ORDER BY ALL",
            [flow_run_id],
        ):
            upstream.setdefault(task_run_id, []).append((upstream_id, kind))
        rows = self._rows(
            f"SELECT {TASK_RUN_COLUMNS} FROM task_runs WHERE flow_run_id = ? "
            "ORDER BY start_time NULLS LAST, created, id",
            [flow_run_id],
        )
        return [TaskRunView.from_row(r, upstream.get(r[0], [])) for r in rows]

    def logs(
        self,
        flow_run_id: str,
        after: float | None = None,
        limit: int | None = None,
        level: int | None = None,
    ) -> list[LogLine]:
        """A flow run's log lines in time order (ties in the order they were written).

        `after` keeps lines strictly later than that time (for following a log);
        `limit` keeps the last lines; `level` the lines at or above it.
        """
        where: list[str] = ["l.flow_run_id = ?"]
        params: list[Any] = [flow_run_id]
        if after is not None:
            where.append("l.ts > to_timestamp(?)")
            params.append(after)
        if level is not None:
            where.append("l.level >= ?")
            params.append(level)
        sql = (
            "SELECT l.flow_run_id, l.task_run_id, t.name, epoch(l.ts), l.level, l.logger, "
            "l.message, l.rowid AS rid FROM logs l "
            "LEFT JOIN task_runs t ON t.id = l.task_run_id "
            f"WHERE {' AND '.join(where)} ORDER BY l.ts DESC, l.rowid DESC"
        )
        if limit is not None:
            sql += f" LIMIT {row_limit(limit)}"
        rows = self._rows(f"SELECT * FROM ({sql}) ORDER BY 4, rid", params)
        return [LogLine.from_row(r) for r in rows]

    def log_page(
        self, flow_run_id: str, after: tuple[int, int] | None, size: int
    ) -> tuple[list[tuple[Any, ...]], tuple[int, int] | None]:
        """Up to `size` log lines of a flow run after the `after` cursor, in `logs` order, as rows
        (task_run_id, ts, level, logger, message); and the cursor of the next page (None: no more).

        The cursor is (ts in µs, rowid) of the last line sent: paging on it costs the same at
        the end of a 200,000-line log as at the start, where an offset would not.
        """
        where, params = "flow_run_id = ?", list[Any]([flow_run_id])
        if after is not None:
            where += " AND (epoch_us(ts) > ? OR (epoch_us(ts) = ? AND rowid > ?))"
            params += [after[0], after[0], after[1]]
        rows = self._rows(
            "SELECT task_run_id, coalesce(epoch(ts), 0), level, logger, message, epoch_us(ts), rowid "
            f"FROM logs WHERE {where} ORDER BY epoch_us(ts), rowid LIMIT {row_limit(size)}",
            params,
        )
        cursor = (rows[-1][5], rows[-1][6]) if len(rows) == size else None
        return [row[:5] for row in rows], cursor

    def events(
        self,
        name: str | None = None,
        resource: str | None = None,
        since: float | None = None,
        limit: int = 100,
    ) -> list[EventRow]:
        """Events newest first; `name` and `resource` (its `orc.resource.id`) are globs."""
        where: list[str] = ["TRUE"]
        params: list[Any] = []
        if name:
            where.append("event GLOB ?")
            params.append(name)
        if resource:
            where.append("json_extract_string(resource, '$.\"orc.resource.id\"') GLOB ?")
            params.append(resource)
        if since is not None:
            where.append("occurred >= to_timestamp(?)")
            params.append(since)
        rows = self._rows(
            "SELECT id, epoch(occurred), event, resource, related, payload FROM events "
            f"WHERE {' AND '.join(where)} ORDER BY occurred DESC, rowid DESC LIMIT ?",
            [*params, row_limit(limit)],
        )
        return [EventRow.from_row(r) for r in rows]

    def unanswered(
        self, asked: str, answers: tuple[str, ...], key: str, count: str, look_back: int
    ) -> list[tuple[EventRow, list[int]]]:
        """Of the latest `look_back` `asked` events, those with fewer `answers` events than
        their payload's `count` list has items, matched by the payload's `key`; each with the
        `action_index` of the answers it has (a firing and its actions' outcomes)."""
        rows = self._rows(
            f"""
            WITH asked AS (
                SELECT rowid AS at, id, occurred, event, resource, related, payload FROM events
                WHERE event = $1 ORDER BY occurred DESC LIMIT $2
            ), told AS (
                SELECT payload->>'{key}' AS key,
                       list(TRY_CAST(payload->>'action_index' AS INTEGER)) AS indexes
                FROM events
                WHERE list_contains($3::VARCHAR[], event)
                  AND occurred >= (SELECT min(occurred) FROM asked)
                GROUP BY ALL
            )
            SELECT a.id, epoch(a.occurred), a.event, a.resource, a.related, a.payload,
                   coalesce(t.indexes, [])
            FROM asked a LEFT JOIN told t ON t.key = a.payload->>'{key}'
            WHERE json_array_length(a.payload->'{count}') > len(coalesce(t.indexes, []))
            ORDER BY a.occurred, a.at
            """,
            [asked, look_back, list(answers)],
        )
        return [(EventRow.from_row(r[:6]), list(r[6])) for r in rows]

    def related_by_role(
        self, resource_ids: list[str], role: str, name: str, since: float
    ) -> dict[str, tuple[str, ...]]:
        """The related resources with `role` that the `name` events (a glob) of each of
        `resource_ids` name, from `since` on: one scan of that time's events, one row per
        resource and related id. Resources whose events name none are left out."""
        if not resource_ids:
            return {}
        rows = self._rows(
            "SELECT DISTINCT resource_id, related ->> '$.\"orc.resource.id\"' FROM ("
            "SELECT resource ->> '$.\"orc.resource.id\"' AS resource_id, "
            "unnest(json_extract(events.related, '$[*]')) AS related FROM events "
            "WHERE occurred >= to_timestamp(?) AND event GLOB ? "
            "AND list_contains(?::VARCHAR[], resource ->> '$.\"orc.resource.id\"')) "
            "WHERE related ->> '$.\"orc.resource.role\"' = ? "
            "AND related ->> '$.\"orc.resource.id\"' IS NOT NULL ORDER BY ALL",
            [since, name, resource_ids, role],
        )
        found: dict[str, tuple[str, ...]] = {}
        for resource_id, related_id in rows:
            found[resource_id] = (*found.get(resource_id, ()), related_id)
        return found

    def schedule_slots(
        self, since: float
    ) -> tuple[dict[str, str], dict[tuple[str, str], float], dict[str, str]]:
        """Slots from `since` on and those of every unfinished run, however old (key -> run
        id), the latest slot time per (deployment, schedule), and the schedule id of each of
        those runs: a run still waiting is told from one made by hand by its slot."""
        rows = self._rows(
            "SELECT key, flow_run_id, schedule_id FROM schedule_slots "
            "WHERE slot_time >= to_timestamp(?) OR flow_run_id IN (SELECT id FROM flow_runs "
            "WHERE state_type NOT IN ('COMPLETED', 'FAILED', 'CRASHED', 'CANCELLED'))",
            [since],
        )
        keys = {r[0]: r[1] for r in rows}
        schedule_of = {r[1]: r[2] for r in rows}
        latest = {
            (r[0], r[1]): float(r[2])
            for r in self._rows(
                "SELECT deployment, schedule_id, max(epoch(slot_time)) "
                "FROM schedule_slots GROUP BY ALL"
            )
        }
        return keys, latest, schedule_of
