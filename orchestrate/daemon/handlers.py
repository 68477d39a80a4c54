"""The daemon's answers to the socket's methods (`orchestrate.client.protocol.Method`).

Live state (scheduled and running runs, deployments) comes from memory; history
comes from the store, read in a thread through the daemon's own connection
after the writer has caught up, so a client always reads its own writes.

Params arrive checked against `orchestrate.client.protocol.PARAMS` by the server, so
a handler reads them as the protocol types them. A stored row that does not
fit its shape goes out repaired, with `malformed` saying what was wrong.
What a deployment looks like to a client is built in `deployment_info`, and
records shipped by other processes are checked in `shipped_records`.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import UTC, datetime
from functools import partial
from typing import TYPE_CHECKING, Any, TypeVar

from orchestrate.client import protocol
from orchestrate.client.protocol import Method
from orchestrate.core.causes import automations_only
from orchestrate.core.errors import RunNotFound
from orchestrate.core.records import EventRecord
from orchestrate.core.states import TERMINAL_STATES, State
from orchestrate.daemon import planner, recorder, views
from orchestrate.daemon.deployment_info import ParameterSchemas, deployment_info
from orchestrate.daemon.deployments import UnknownDeployment
from orchestrate.daemon.event_ids import GivenIds
from orchestrate.daemon.history_methods import HistoryMethods
from orchestrate.daemon.rpc_wire import RpcError
from orchestrate.daemon.shipped_records import take_records
from orchestrate.daemon.shipped_runs import ShippedRuns
from orchestrate.daemon.signature import strings_as_typed, validate_parameters
from orchestrate.schedules import next_times
from orchestrate.store.queries import Store

if TYPE_CHECKING:
    from orchestrate.daemon.service import Daemon

log = logging.getLogger("orc.daemon")
T = TypeVar("T")
Handler = Callable[[dict[str, Any], Any], Awaitable[Any]]


class Handlers:
    """One coroutine per method; `table()` is what the server dispatches on."""

    def __init__(self, daemon: Daemon, connection: Any, version: str) -> None:
        """`connection`: the daemon's open DuckDB connection (reads go through cursors of it)."""
        self.daemon = daemon
        self.connection = connection
        self.version = version
        self._schemas = ParameterSchemas(daemon.root)
        self._shipped = ShippedRuns(daemon)
        self._given_ids = GivenIds()

    def table(self) -> dict[str, Handler]:
        d = self.daemon
        return {
            Method.STATUS: self.status,
            Method.DEPLOYMENTS_LIST: self.deployments,
            Method.DEPLOYMENTS_GET: self.deployment,
            Method.DEPLOYMENTS_PAUSE: lambda p, c: self.set_paused(p, True),
            Method.DEPLOYMENTS_RESUME: lambda p, c: self.set_paused(p, False),
            Method.RUNS_LIST: self.runs,
            Method.RUNS_GET: self.run,
            Method.RUNS_LOGS: self.logs,
            Method.RUNS_LOG_PAGE: self.log_page,
            Method.RUNS_CREATE: self.create_run,
            Method.RUNS_CANCEL: self.cancel_run,
            Method.RUNS_RETRY: self.retry_run,
            Method.RUNS_RESUME: self.resume_run,
            Method.RUNS_PAUSE: self.run_pause,
            Method.EVENTS_LIST: self.events,
            Method.EVENTS_EMIT: self.emit,
            Method.EVENTS_EMIT_MANY: self.emit_many,
            Method.RECORDS: self.records,
            **HistoryMethods(self).table(),
        } | getattr(d, "extra_handlers", {})

    def hello(self) -> protocol.Hello:
        d = self.daemon
        return protocol.Hello(
            protocol=protocol.PROTOCOL_VERSION,
            version=self.version,
            pid=os.getpid(),
            project=d.table.project_name,
            project_root=str(d.root),
            started_at=d.started_at,
            topics=list(protocol.TOPICS),
        )

    # -- reading the store ---------------------------------------------------------

    async def _read(self, query: Callable[[Store], T]) -> T:
        writer, connection = self.daemon.writer, self.connection

        def work() -> T:
            # Read what was put so far; while the store is degraded, read what is there now.
            writer.flush(5.0 if writer.health.degraded is None else 0)
            cursor = connection.cursor()
            try:
                return query(Store.over(cursor, writer.path))
            finally:
                cursor.close()

        return await asyncio.to_thread(work)

    def _live(self, run_id: str) -> Any:
        return self.daemon.book.get(run_id)

    async def _read_run(self, query: Callable[[Store], T]) -> T:
        """`_read` of a query that looks a run up by id or prefix: no such run is NOT_FOUND.

        The lookup goes inside the query, so a read by id is one trip to the store.
        """
        try:
            return await self._read(query)
        except RunNotFound as exc:
            raise RpcError(protocol.NOT_FOUND, str(exc)) from None

    async def _resolve(self, id_or_prefix: str) -> str:
        return await self._read_run(lambda s: s.flow_run_id(id_or_prefix))

    # -- status and deployments ----------------------------------------------------

    async def status(self, params: dict[str, Any], conn: Any) -> dict[str, Any]:
        d = self.daemon
        now = d.clock()
        running = [d.book.get(i) for i in d.handles]
        scheduled = sorted(d.book.scheduled(), key=lambda r: r.due_time() or 0.0)
        queued = [r for r in scheduled if (r.due_time() or 0.0) <= now]
        upcoming = [r for r in scheduled if (r.due_time() or 0.0) > now]
        nxt = upcoming[0] if upcoming else None
        # Sent as the model writes it (every field, in order), so a client that reads plain
        # JSON (`orc status --json` on its quick path) prints what a validating one prints.
        answer = {
            "pid": os.getpid(),
            "version": self.version,
            "project": d.table.project_name,
            "project_root": str(d.root),
            "started_at": d.started_at,
            "uptime_seconds": now - d.started_at,
            "running": [views.flow_run_info(r, d.book.task_counts(r.id)) for r in running if r],
            "queued": len(queued),
            "next_due": _brief(nxt) if nxt else None,
            "next_due_deployment": nxt.deployment if nxt else None,
            "next_due_time": nxt.due_time() if nxt else None,
            "deployments": len(d.table),
            "automations": len(d.automations) if d.automations is not None else 0,
            "config_error": d.config_error,
            "log_file": str(d.log_file) if d.log_file is not None else None,
            **d.health(),
        }
        return protocol.Status.model_validate(answer).model_dump(mode="json")

    async def deployments(self, params: dict[str, Any], conn: Any) -> list[dict[str, Any]]:
        recent = await self._read(lambda s: s.recent_by_deployment(10))
        return [
            self._deployment_info(spec, recent.get(spec.name, [])) for spec in self.daemon.table
        ]

    async def deployments_named(self, names: set[str]) -> list[dict[str, Any]]:
        """What `deployments` says of these deployments alone (a name no longer known is left out)."""
        specs = [spec for spec in self.daemon.table if spec.name in names]
        if not specs:
            return []
        recent = await self._read(lambda s: s.recent_by_deployment(10))
        return [self._deployment_info(spec, recent.get(spec.name, [])) for spec in specs]

    def _deployment_info(self, spec: Any, recent: list[Any]) -> dict[str, Any]:
        return deployment_info(self.daemon, spec, recent, self._schemas.of(spec))

    async def deployment(self, params: dict[str, Any], conn: Any) -> dict[str, Any]:
        spec = self._spec(params)
        recent = await self._read(lambda s: s.recent_by_deployment(10))
        info = self._deployment_info(spec, recent.get(spec.name, []))
        tz = spec.timezone or "UTC"
        now = datetime.now(UTC)
        times = sorted(
            t for s in spec.schedules if s.active for t in next_times(s, now, 5, default_tz=tz)
        )[:5]
        return info | {"next_times": [t.timestamp() for t in times], "timezone": tz}

    def _spec(self, params: dict[str, Any]) -> Any:
        try:
            return self.daemon.table.get(str(params.get("name") or params.get("deployment")))
        except UnknownDeployment as exc:
            raise RpcError(protocol.NOT_FOUND, str(exc)) from None

    async def set_paused(self, params: dict[str, Any], paused: bool) -> dict[str, Any]:
        spec = self._spec(params)
        self.daemon.set_paused(spec.name, paused)
        recent = await self._read(lambda s: s.recent_by_deployment(10))
        return self._deployment_info(spec, recent.get(spec.name, []))

    # -- runs ----------------------------------------------------------------------

    async def runs(self, params: dict[str, Any], conn: Any) -> list[dict[str, Any]]:
        limit = int(params.get("limit") or 50)
        found = await self._read(
            lambda s: s.list_flow_runs(
                state=params.get("state"),
                limit=limit,
                deployment=params.get("deployment"),
                since=params.get("since"),
                upcoming=bool(params.get("upcoming")),
                flow=params.get("flow"),
                states=params.get("states") or (),
                tag=params.get("tag"),
                until=params.get("until"),
                scheduled=bool(params.get("scheduled")),
                sort=params.get("sort"),
                reverse=bool(params.get("reverse")),
            )
        )
        return [self._fresh(_marked(views.stored_flow_run_info(v), v)) for v in found]

    def _fresh(self, info: dict[str, Any]) -> dict[str, Any]:
        """Live task counts for a running run (the store lags by a flush)."""
        if info["id"] in self.daemon.book.task_runs:
            info["task_counts"] = self.daemon.book.task_counts(info["id"])
        return info

    async def run(self, params: dict[str, Any], conn: Any) -> dict[str, Any]:
        """One run with its task runs, states and subflow runs, in one read of the store."""
        detail = await self._read_run(partial(_run_detail, str(params.get("id", ""))))
        run = detail["run"]
        run["settled"] = self._settled(run["id"], run["state"])
        return detail

    def _settled(self, run_id: str, stored: dict[str, Any]) -> bool:
        """Whether the state read from the store is the run's last: no worker on it, no retry
        coming, and nothing after it. The live run is asked, once the read is back: the store
        was read in a thread while the run went on, so what it showed may be an attempt the
        daemon has retried since, even one whose retry has ended too."""
        if run_id in self.daemon.handles:
            return False
        live = self.daemon.known_run(run_id)
        if live is None:  # settled long ago: the store has it all
            return stored["type"] in _FINAL_TYPES
        return live.state.is_final() and _is_stored(live.state, stored)

    async def logs(self, params: dict[str, Any], conn: Any) -> list[dict[str, Any]]:
        wanted = str(params.get("id", ""))
        lines = await self._read_run(
            lambda s: s.logs(
                s.flow_run_id(wanted), params.get("after"), params.get("limit"), params.get("level")
            )
        )
        return [_marked(views.stored_log_info(line), line) for line in lines]

    async def log_page(self, params: dict[str, Any], conn: Any) -> dict[str, Any]:
        """One page of a run's log as compact rows: a long log streams page by page."""
        wanted, after = str(params.get("id", "")), params.get("after")
        size = int(params.get("size") or 5000)
        rows, cursor = await self._read_run(
            lambda s: s.log_page(s.flow_run_id(wanted), tuple(after) if after else None, size)
        )
        lines = [
            [t, ts, level if isinstance(level, int) else 0, str(logger), str(message)]
            for t, ts, level, logger, message in rows
        ]
        return {"lines": lines, "next": cursor}

    async def create_run(self, params: dict[str, Any], conn: Any) -> dict[str, Any]:
        spec = self._spec(params)
        parameters = params.get("parameters") or {}
        if texts := params.get("texts"):
            parameters = strings_as_typed(self._schemas.of(spec), parameters, texts)
        self.check_runnable(spec, parameters)
        caused_by = automations_only(params.get("caused_by"))  # `orc run` in an action's command
        run = self.daemon.create_manual(spec.name, parameters, caused_by)
        return views.flow_run_info(run)

    def check_runnable(self, spec: Any, parameters: dict[str, Any]) -> None:
        """Refuse a run of `spec` with `parameters` that could only fail: parameters that do
        not fit the flow, or a deployment blocked by its config."""
        problems = validate_parameters(self._schemas.of(spec), {**spec.parameters, **parameters})
        if problems:
            raise RpcError(protocol.BAD_INPUT, f"Deployment {spec.name!r}: " + "; ".join(problems))
        if (blocked := self.daemon.table.blocked(spec.name)) is not None:
            raise RpcError(protocol.CONFLICT, blocked)

    async def cancel_run(self, params: dict[str, Any], conn: Any) -> dict[str, Any]:
        run_id = await self._resolve(str(params.get("id", "")))
        run = self._live(run_id)
        if run is None:
            raise RpcError(
                protocol.CONFLICT, f"Flow run {run_id} has already finished; nothing to cancel."
            )
        await self.daemon.cancel(run)
        return views.flow_run_info(run)

    async def retry_run(self, params: dict[str, Any], conn: Any) -> dict[str, Any]:
        run_id = await self._resolve(str(params.get("id", "")))
        if self._live(run_id) is not None:
            raise RpcError(
                protocol.CONFLICT,
                f"Flow run {run_id} has not finished; only a finished run can be retried.",
            )
        view = await self._read(lambda s: s.get_flow_run(run_id))
        if view.deployment is None or view.deployment not in self.daemon.table:
            raise RpcError(
                protocol.CONFLICT,
                f"Flow run {run_id} has no deployment in flows.toml to run it again.",
            )
        if view.state.type == "COMPLETED":
            raise RpcError(
                protocol.CONFLICT,
                f"Flow run {run_id} completed; start a new one with `orc run {view.deployment}`.",
            )
        from orchestrate.daemon.stored_runs import record_of

        return views.flow_run_info(self.daemon.retry(record_of(view)))

    async def resume_run(self, params: dict[str, Any], conn: Any) -> dict[str, Any]:
        """Resume a paused or suspended run, with its input checked (see `daemon.pauses`)."""
        run_id = await self._resolve(str(params.get("id", "")))
        run = self.daemon.pauses.resume(run_id, params.get("run_input"))
        return views.flow_run_info(run)

    async def run_pause(self, params: dict[str, Any], conn: Any) -> dict[str, Any]:
        """What a paused run waits for, so a form can ask for its input (see `daemon.pauses`)."""
        run_id = await self._resolve(str(params.get("id", "")))
        return self.daemon.pauses.waiting_for(run_id)

    # -- events and records --------------------------------------------------------

    async def events(self, params: dict[str, Any], conn: Any) -> list[dict[str, Any]]:
        rows = await self._read(
            lambda s: s.events(
                params.get("name"),
                params.get("resource"),
                params.get("since"),
                int(params.get("limit") or 100),
            )
        )
        return [_marked(views.event_info(r), r) for r in rows]

    async def emit(self, params: dict[str, Any], conn: Any) -> dict[str, Any]:
        event = _event_record(params, time.time())
        if not params.get("id") or self._given_ids.first_time(event.id):
            self.daemon.emit(event)  # an id given again is the same event, sent again
        return views.event_info(event)

    async def emit_many(self, params: dict[str, Any], conn: Any) -> dict[str, Any]:
        """A batch of events (dicts checked by `rpc_emit_batch`), stored in order; one whose
        given id came lately (in this batch or before) is the same event sent again."""
        given = params["events"]
        events = event_records(given, time.time())
        fresh = [
            event
            for event, sent in zip(events, given, strict=True)
            if not sent.get("id") or self._given_ids.first_time(event.id)
        ]
        recorder.emit_many(self.daemon, fresh)
        return {"ids": [event.id for event in events]}

    async def records(self, params: dict[str, Any], conn: Any) -> None:
        """Records shipped by a flow run in another process (plain Python while the daemon is up)."""
        self._shipped.note(conn, take_records(params, conn, self.daemon.put_many))


def _event_record(params: dict[str, Any], now: float) -> Any:
    from orchestrate.core.records import EventRecord

    occurred = params.get("occurred")
    return EventRecord(
        id=params.get("id") or _uuid(),
        occurred=now if occurred is None else occurred,
        event=params["event"],
        resource=params["resource"],
        payload=params.get("payload") or {},
        related=params.get("related") or [],
    )


def event_records(given: list[dict[str, Any]], now: float) -> list[EventRecord]:
    """The records of a checked batch, in one pass: those without an id get a random one.

    Fields go by position (id, occurred, event, resource, payload, related):
    a fifth cheaper than by name, for every event of the batch.
    """
    ids = iter(random_ids(sum(1 for e in given if not e.get("id"))))
    return [
        EventRecord(
            e.get("id") or next(ids),
            now if (occurred := e.get("occurred")) is None else occurred,
            e["event"],
            e["resource"],
            e.get("payload") or {},
            e.get("related") or [],
        )
        for e in given
    ]


def random_ids(count: int) -> list[str]:
    """`count` random (version 4) UUIDs from one read of the system's random source: a
    batch of 1,000 events spent more on `uuid4()`'s read per id than on storing them."""
    raw = os.urandom(16 * count).hex()
    return [
        f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{_VARIANT[int(h[16], 16) & 3]}{h[17:20]}-{h[20:]}"
        for h in (raw[i : i + 32] for i in range(0, len(raw), 32))
    ]


_VARIANT = "89ab"


def _uuid() -> str:
    import uuid

    return str(uuid.uuid4())


_FINAL_TYPES = frozenset(t.value for t in TERMINAL_STATES)
#: seconds: two times this close are one (the store keeps times to the microsecond)
_SAME_TIME = 1e-5


def _is_stored(state: State, stored: dict[str, Any]) -> bool:
    """Whether `stored` (a state as read from the store) is `state`."""
    return state.name == stored["name"] and abs(state.ts - stored["timestamp"]) < _SAME_TIME


def _run_detail(id_or_prefix: str, store: Store) -> dict[str, Any]:
    """What `runs.get` answers, read through one cursor: the run is read once, and its task
    runs once (counted from what was read, and looked for as parents of subflow runs)."""
    run = store.get_flow_run(id_or_prefix, counted=False)
    task_runs = store.task_runs(run.id)
    counts = Counter(t.state.name for t in task_runs)
    info = views.stored_flow_run_info(replace(run, task_run_counts=dict(sorted(counts.items()))))
    return {
        "run": _marked(info, run),
        "task_runs": [_marked(views.stored_task_run_info(t), t) for t in task_runs],
        "state_history": [views.stored_state_info(e.state) for e in store.state_history(run.id)],
        "subflow_runs": [
            _marked(views.stored_flow_run_info(c), c)
            for c in store.child_flow_runs(run.id, [t.id for t in task_runs])
        ],
    }


def _marked(info: dict[str, Any], view: Any) -> dict[str, Any]:
    """`info` with the view's `malformed` note, when its stored row did not fit."""
    if getattr(view, "malformed", None):
        info["malformed"] = view.malformed
    return info


def _brief(run: Any) -> dict[str, Any]:
    return {
        "id": run.id,
        "state_type": run.state.type.value,
        "state_name": run.state.name,
        "start_time": run.start_time or run.expected_start_time,
    }


__all__ = ["Handlers", "planner"]
