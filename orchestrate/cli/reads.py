"""Where read commands get their answers: the daemon when one runs, else the store file.

While `orc up` runs it holds the DuckDB file (DuckDB admits one process), so
`orc runs ls` asks it over the socket; with no daemon the command opens the
file itself. Both read alike (the daemon's answers as `orchestrate.cli.rows`, the file's
as the store's views), so rendering has one code path.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

from orchestrate.cli.rows import FlowRunRow, LogLineRow, StateEntryRow, StateRow, TaskRunRow
from orchestrate.store.lenient import time_of

if TYPE_CHECKING:
    from orchestrate.client import Client
    from orchestrate.client.plain import PlainClient
    from orchestrate.client.protocol import FlowRunInfo, LogInfo, StateInfo, TaskRunInfo
    from orchestrate.store.queries import Store


def daemon_client(root: Path, timeout: float = 5.0) -> Client | None:
    """A client of the project's daemon, or None when none is running."""
    from orchestrate.client import DaemonNotRunning, connect

    if not (root / ".orc" / "orc.sock").exists():
        return None
    try:
        return connect(root, timeout=timeout)
    except DaemonNotRunning:
        return None


def open_reads(root: Path) -> Store | DaemonReads:
    client = daemon_client(root)
    if client is not None:
        return DaemonReads(client)
    from orchestrate.core.project import store_path
    from orchestrate.store.queries import Store

    store = Store(store_path(root))
    store.open()
    return store


def _state(info: StateInfo) -> StateRow:
    error_type, _, error_message = (info.error or "").partition(": ")
    return StateRow(
        info.type,
        info.name,
        info.message,
        time_of(info.timestamp),
        error_type or None,
        error_message or None,
        None,
    )


def flow_run_view(info: FlowRunInfo, state: StateRow | None = None) -> FlowRunRow:
    """The run as the daemon sent it; `state` in place of its short one when given."""
    return FlowRunRow(
        info.id,
        info.name,
        info.flow_name,
        state or _state(info.state),
        info.parameters,
        info.tags,
        info.parent_flow_run_id,
        None,
        info.deployment,
        None,
        time_of(info.created),
        time_of(info.start_time),
        time_of(info.end_time),
        info.run_count,
        info.task_counts,
        time_of(info.expected_start_time),
        info.malformed,
        time_of(info.next_scheduled_start_time),
    )


def task_run_view(info: TaskRunInfo, state: StateRow | None = None) -> TaskRunRow:
    """The task run as the daemon sent it; `state` in place of its short one when given."""
    return TaskRunRow(
        info.id,
        info.flow_run_id,
        info.name,
        info.task_key,
        info.dynamic_key,
        info.kind,
        state or _state(info.state),
        info.tags,
        None,
        time_of(info.created),
        time_of(info.start_time),
        time_of(info.end_time),
        info.run_count,
        [(u.upstream_id, u.kind) for u in info.upstream],
        None,
        getattr(info, "malformed", None),
    )


def log_line(info: LogInfo, names: dict[str, str]) -> LogLineRow:
    return LogLineRow(
        info.flow_run_id,
        info.task_run_id,
        names.get(info.task_run_id or ""),
        time_of(info.ts),
        info.level,
        info.logger,
        info.message,
        info.malformed,
    )


class DaemonReads:
    """The `Store` read API, answered by the daemon (through either client: their results read
    alike, field by field)."""

    def __init__(self, client: Client | PlainClient) -> None:
        self.client = client
        self._details: dict[str, Any] = {}

    def __enter__(self) -> DaemonReads:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.client.close()

    def _detail(self, run_id: str) -> Any:
        if run_id not in self._details:
            self._details[run_id] = self.client.run(run_id)
        return self._details[run_id]

    def list_flow_runs(
        self,
        state: str | None = None,
        flow: str | None = None,
        limit: int = 50,
        deployment: str | None = None,
        *,
        states: Sequence[str] = (),
        tag: str | None = None,
        since: float | None = None,
        until: float | None = None,
        scheduled: bool = False,
        sort: str | None = None,
        reverse: bool = False,
    ) -> list[FlowRunRow]:
        runs = self.client.runs(
            limit=limit,
            state=state,
            deployment=deployment,
            since=since,
            flow=flow,
            states=states,
            tag=tag,
            until=until,
            scheduled=scheduled,
            sort=sort,
            reverse=reverse,
        )
        return [flow_run_view(r) for r in runs]

    def get_flow_run(self, id_or_prefix: str) -> FlowRunRow:
        from orchestrate.client import NotFound
        from orchestrate.core.errors import RunNotFound

        try:
            detail = self._detail(id_or_prefix)
        except NotFound as exc:
            raise RunNotFound(str(exc)) from None
        self._details[detail.run.id] = detail
        return flow_run_view(detail.run)

    def state_history(self, run_id: str) -> list[StateEntryRow]:
        return [StateEntryRow(run_id, _state(s)) for s in self._detail(run_id).state_history]

    def task_runs(self, flow_run_id: str) -> list[TaskRunRow]:
        return [task_run_view(t) for t in self._detail(flow_run_id).task_runs]

    def child_flow_runs(self, flow_run_id: str) -> list[FlowRunRow]:
        return [flow_run_view(r) for r in self._detail(flow_run_id).subflow_runs]

    def logs(self, flow_run_id: str, after: float | None = None) -> list[LogLineRow]:
        names = {t.id: t.name for t in self._detail(flow_run_id).task_runs}
        return [log_line(line, names) for line in self.client.logs(flow_run_id, after=after)]
