"""The flow-run reads of a `Store`: listings, one run by id or prefix, what a daemon picks up.

A listing comes with each run's task runs counted by state name, read in one
query for the whole page.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from orchestrate.core.errors import RunNotFound
from orchestrate.store import windows
from orchestrate.store.lenient import raw
from orchestrate.store.reader import Reader, row_limit
from orchestrate.store.views import FLOW_RUN_COLUMNS, FlowRunView

_AMBIGUITY_SHOWN = 10
#: What names a run in an error: the first columns of every row a lookup by id reads.
_NAMING = "id, name, flow_name"
#: Where a flow run's creation time is in a row read with FLOW_RUN_COLUMNS.
_CREATED = [c.strip() for c in FLOW_RUN_COLUMNS.split(",")].index("epoch(created)")
#: What `orc runs ls --sort` orders by; "slot" (when a run was due) is the default.
SORTS = {
    "slot": "coalesce(expected_start_time, created)",
    "start": "start_time",
    "end": "end_time",
    "created": "created",
    "duration": "end_time - start_time",
}

#: When a Scheduled run is due: its state's time (a retry's), else when it was first due.
_DUE = "coalesce(next_scheduled_start_time, expected_start_time, created)"
#: A Scheduled run not due yet.
_NOT_DUE = f"state_type = 'SCHEDULED' AND coalesce({_DUE} > now(), FALSE)"

#: When a run was last active: its end, now while it runs, else when it is (was) due.
_ACTIVE_UNTIL = (
    "coalesce(end_time, CASE WHEN start_time IS NOT NULL THEN now() END, "
    "expected_start_time, created)"
)
#: When a run became active: its start, else when it is (was) due.
_ACTIVE_FROM = "coalesce(start_time, expected_start_time, created)"


class FlowRunReads(Reader):
    """Reads of the `flow_runs` table."""

    def list_flow_runs(
        self,
        state: str | None = None,
        flow: str | None = None,
        limit: int = 50,
        deployment: str | None = None,
        since: float | None = None,
        upcoming: bool = False,
        *,
        states: Sequence[str] = (),
        tag: str | None = None,
        until: float | None = None,
        scheduled: bool = False,
        sort: str | None = None,
        reverse: bool = False,
    ) -> list[FlowRunView]:
        """Flow runs, newest first; `state` and `states` match state names or types, any case.

        `sort` orders by another of `SORTS` (latest or largest first, `reverse`
        for the other way; runs without that time come last either way).

        Scheduled runs not due yet that never ran are left out unless `upcoming` (or a state
        filter) asks for them: a daemon keeps an hour of them, and they would hide what ran.
        `scheduled` lists only those, the next due first. `since` and `until` keep the runs
        active in that window: ended, running, or due at or after `since`; started (or due)
        before `until`. A daemon creates scheduled runs an hour ahead, so their creation
        says nothing of when they ran.
        """
        wanted = [s.lower() for s in (*states, *([state] if state else []))]
        where: list[str] = ["TRUE"]
        params: list[Any] = []
        if wanted:
            where.append(
                "(list_contains(?, lower(state_name)) OR list_contains(?, lower(state_type)))"
            )
            params += [wanted, wanted]
        for column, value in (("flow_name", flow), ("deployment", deployment)):
            if value:
                where.append(f"{column} = ?")
                params.append(value)
        if tag:
            where.append("list_contains(tags, ?)")
            params.append(tag)
        for clause, moment in ((f"{_ACTIVE_UNTIL} >= to_timestamp(?)", since),
                               (f"{_ACTIVE_FROM} < to_timestamp(?)", until)):  # fmt: skip
            if moment is not None:
                where.append(clause)
                params.append(moment)
        if scheduled:
            where.append(_NOT_DUE)
        elif not upcoming and not wanted:  # a run awaiting its retry has run: it is listed
            where.append(f"NOT ({_NOT_DUE} AND coalesce(run_count, 0) = 0)")
        if sort is not None and sort not in SORTS:
            raise ValueError(f"unknown sort {sort!r}; one of {', '.join(SORTS)}")
        wanted_rows = row_limit(limit)
        query = f"SELECT {FLOW_RUN_COLUMNS} FROM flow_runs WHERE {' AND '.join(where)}"
        upcoming_first = scheduled and sort is None  # the next due first
        ascending = reverse != upcoming_first
        by = _DUE if upcoming_first else SORTS[sort or "slot"]
        order = f" ORDER BY {by} {'ASC' if ascending else 'DESC'} NULLS LAST, id"
        if sort is not None or ascending:  # an order a time window cannot bound: read it all
            rows = self._rows(f"{query}{order} LIMIT ?", [*params, wanted_rows])
        else:
            rows = windows.newest(
                self._rows,
                (query, params),
                (f"{order} LIMIT ?", [wanted_rows]),
                windows.SLOT_WINDOW,
                windows.SLOT_COLUMNS,
                lambda found: len(found) >= wanted_rows,
            )
        return self._with_counts([FlowRunView.from_row(r) for r in rows])

    def _with_counts(self, runs: list[FlowRunView]) -> list[FlowRunView]:
        if not runs:
            return runs
        counts: dict[str, dict[str, int]] = {}
        for run_id, name, n in self._rows(
            # an IN list of values probes the flow_run_id index; list_contains scans every row
            "SELECT flow_run_id, state_name, count(*) FROM task_runs "
            f"WHERE flow_run_id IN ({', '.join('?' * len(runs))}) GROUP BY ALL ORDER BY ALL",
            [r.id for r in runs],
        ):
            counts.setdefault(run_id, {})[name] = n
        for run in runs:  # each view's own empty dict, made by `from_row`: filled, not replaced
            run.task_run_counts.update(counts.get(run.id, ()))
        return runs

    def get_flow_run(self, id_or_prefix: str, counted: bool = True) -> FlowRunView:
        """The flow run whose id is, or uniquely starts with, `id_or_prefix`.

        The row comes with the lookup: one query for a full id, two for a prefix.
        `counted=False` leaves its task runs uncounted, for a caller that reads them all.
        """
        run = FlowRunView.from_row(self._find(id_or_prefix, FLOW_RUN_COLUMNS))
        return self._with_counts([run])[0] if counted else run

    def flow_run_id(self, id_or_prefix: str) -> str:
        """The id of the flow run `id_or_prefix` names, without reading the run itself."""
        return str(self._find(id_or_prefix, _NAMING)[0])

    def _find(self, prefix: str, columns: str) -> tuple[Any, ...]:
        """The row (`columns`, which start with `_NAMING`) of the run whose id is `prefix`,
        else of the one run whose id starts with it; RunNotFound names what to do otherwise.

        DuckDB 2.0 serves neither `starts_with(id, ?)` nor a range on `id` from the
        primary key's ART index (EXPLAIN shows a sequential scan for both, and for `=`
        on small tables), so the exact lookup comes first and the scan only on a miss.
        Ids are lowercase hex: a prefix copied in capitals, or with blanks around it, matches.
        """
        prefix = prefix.strip()
        if not prefix:
            raise RunNotFound("No run id given. Run `orc runs ls` to see run ids.")
        exact = self._rows(f"SELECT {columns} FROM flow_runs WHERE id = ?", [prefix])
        if exact:
            return exact[0]
        # Unordered: a unique prefix (the usual case) needs no sort; an ambiguous one is ordered below.
        matches = self._rows(
            f"SELECT {columns}, epoch(created) FROM flow_runs WHERE starts_with(id, ?) LIMIT ?",
            [prefix.lower(), _AMBIGUITY_SHOWN + 1],
        )
        if len(matches) == 1:
            return matches[0][:-1]
        if not matches:
            raise RunNotFound(
                f"No flow run matches {raw(repr(prefix))}. Run `orc runs ls` to see run ids."
            )
        raise RunNotFound(self._ambiguous(prefix, matches))

    def _ambiguous(self, prefix: str, matches: list[tuple[Any, ...]]) -> str:
        """What an ambiguous prefix matches: the newest runs first, as many as are shown."""
        if len(matches) > _AMBIGUITY_SHOWN:  # more than are shown: show the newest
            matches = self._rows(
                f"SELECT {_NAMING}, epoch(created) FROM flow_runs WHERE starts_with(id, ?) "
                "ORDER BY created DESC NULLS LAST, id LIMIT ?",
                [prefix, _AMBIGUITY_SHOWN + 1],
            )
        else:
            matches = sorted(matches, key=lambda m: (-(m[-1] or 0.0), m[0]))
        shown = ", ".join(f"{m[0]} ({m[2]}/{m[1]})" for m in matches[:_AMBIGUITY_SHOWN])
        more = " and more" if len(matches) > _AMBIGUITY_SHOWN else ""
        return (
            f"{raw(repr(prefix))} matches more than one flow run: {shown}{more}. "
            "Give more characters of the id."
        )

    def unfinished_flow_runs(self) -> list[FlowRunView]:
        """Flow runs not in a final state: what a starting daemon picks up again."""
        rows = self._rows(
            f"SELECT {FLOW_RUN_COLUMNS} FROM flow_runs WHERE state_type NOT IN "
            "('COMPLETED', 'FAILED', 'CRASHED', 'CANCELLED') ORDER BY created, id"
        )
        return [FlowRunView.from_row(r) for r in rows]

    def recent_by_deployment(self, per_deployment: int = 10) -> dict[str, list[FlowRunView]]:
        """The latest finished or running flow runs of every deployment, newest first.

        The window widens until every deployment has `per_deployment` runs in it
        (or it is the whole table: a deployment with fewer runs reads everything).
        """
        shown = "deployment IS NOT NULL AND state_type <> 'SCHEDULED'"
        deployments = {
            d for (d,) in self._rows(f"SELECT DISTINCT deployment FROM flow_runs WHERE {shown}")
        }
        rows = windows.newest(
            self._rows,
            (f"SELECT {FLOW_RUN_COLUMNS} FROM flow_runs WHERE {shown}", []),
            (
                " QUALIFY row_number() OVER (PARTITION BY deployment ORDER BY created DESC) <= ? "
                "ORDER BY deployment, created DESC",
                [per_deployment],
            ),
            windows.CREATED_WINDOW,
            ("created",),
            lambda found: _each_has(_by_deployment(found), deployments, per_deployment),
        )
        return _by_deployment(rows)

    def child_flow_runs(
        self, flow_run_id: str, task_run_ids: Sequence[str] | None = None
    ) -> list[FlowRunView]:
        """Subflow runs started from inside this flow run, oldest first.

        `task_run_ids` are the ids of its task runs, when the caller has read them already.
        """
        # two index lookups: an OR of the two, or an IN over a subquery, scans every run
        tasks = (
            list(task_run_ids)
            if task_run_ids is not None
            else [
                r[0]
                for r in self._rows("SELECT id FROM task_runs WHERE flow_run_id = ?", [flow_run_id])
            ]
        )
        rows = self._rows(
            f"SELECT {FLOW_RUN_COLUMNS} FROM flow_runs WHERE parent_flow_run_id = ?",
            [flow_run_id],
        )
        if tasks:
            rows += self._rows(
                f"SELECT {FLOW_RUN_COLUMNS} FROM flow_runs WHERE parent_task_run_id IN "
                f"({', '.join('?' * len(tasks))})",
                tasks,
            )
        unique = {row[0]: row for row in rows}
        rows = sorted(unique.values(), key=lambda row: (row[_CREATED] or 0.0, row[0]))
        return self._with_counts([FlowRunView.from_row(r) for r in rows])


def _by_deployment(rows: list[tuple[Any, ...]]) -> dict[str, list[FlowRunView]]:
    grouped: dict[str, list[FlowRunView]] = {}
    for row in rows:
        view = FlowRunView.from_row(row)
        grouped.setdefault(view.deployment or "", []).append(view)
    return grouped


def _each_has(grouped: dict[str, list[FlowRunView]], deployments: set[str], count: int) -> bool:
    return all(len(grouped.get(d, ())) >= count for d in deployments)
