"""Every typed daemon call, written once: its method, its params, its result and what it does.

Each function below builds the `Call` of one daemon method, and its
docstring is the method's; `Calls` turns each into a method, and `Client`
and `AsyncClient` both inherit it, so the two clients are one behaviour with
two ways of waiting. A new daemon method is one function and one line of
`Calls`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from orchestrate.client.codes import check_protocol
from orchestrate.client.protocol import (
    PROTOCOL_VERSION,
    AutomationInfo,
    DeploymentDetail,
    DeploymentInfo,
    EventInfo,
    FlowRunInfo,
    Hello,
    LogInfo,
    LogPage,
    Method,
    PauseInfo,
    RunDetail,
    SqlResult,
    SqlSpooled,
    Status,
    Stopping,
)
from orchestrate.client.rpc import Call, Rpc, given, many
from orchestrate.core.causes import chain_from_env, chain_related


def client_name() -> str:
    """How a client introduces itself when it gives no name: `orc/<version>`."""
    from orchestrate._version import __version__

    return f"orc/{__version__}"


def check_hello(hello: Hello, address: object) -> Hello:
    """The daemon's hello, if it speaks our protocol (it refuses first when it does not)."""
    check_protocol(hello.protocol, address)
    return hello


def handshake(client: str) -> Call[Hello]:
    """The first request on a connection: our protocol and who we are."""
    params = {"protocol": PROTOCOL_VERSION, "client": client}
    return Call(Method.HELLO, params, Hello.model_validate)


def request(method: str, **params: Any) -> Call[Any]:
    """Send any request and return its raw (JSON) result."""
    return Call(method, params, lambda raw: raw)


def hello() -> Call[Hello]:
    """The daemon's identity: version, pid, project and start time."""
    return handshake(client_name())


def status() -> Call[Status]:
    """What the daemon is doing: running runs, the queue, what is due next."""
    return Call(Method.STATUS, {}, Status.model_validate)


def deployments() -> Call[list[DeploymentInfo]]:
    """Every deployment, with its schedules, next run and latest runs."""
    return Call(Method.DEPLOYMENTS_LIST, {}, many(DeploymentInfo))


def deployment(name: str) -> Call[DeploymentDetail]:
    """One deployment, with its next scheduled times."""
    return Call(Method.DEPLOYMENTS_GET, {"name": name}, DeploymentDetail.model_validate)


def pause_deployment(name: str) -> Call[DeploymentInfo]:
    """Stop scheduling runs of a deployment (runs already started go on)."""
    return Call(Method.DEPLOYMENTS_PAUSE, {"name": name}, DeploymentInfo.model_validate)


def resume_deployment(name: str) -> Call[DeploymentInfo]:
    """Schedule runs of a paused deployment again."""
    return Call(Method.DEPLOYMENTS_RESUME, {"name": name}, DeploymentInfo.model_validate)


def runs(
    limit: int = 50,
    state: str | None = None,
    deployment: str | None = None,
    since: float | None = None,
    *,
    flow: str | None = None,
    states: Sequence[str] | None = None,
    tag: str | None = None,
    until: float | None = None,
    scheduled: bool | None = None,
    sort: str | None = None,
    reverse: bool | None = None,
    upcoming: bool | None = None,
) -> Call[list[FlowRunInfo]]:
    """Flow runs, newest first (or by `sort`: start, end, created, duration), filtered by states
    (types or names), deployment, flow, tag and time; `upcoming` adds scheduled runs not due yet."""
    params = given(
        limit=limit,
        state=state,
        deployment=deployment,
        since=since,
        flow=flow,
        states=list(states) if states else None,
        tag=tag,
        until=until,
        scheduled=scheduled or None,
        sort=sort,
        reverse=reverse or None,
        upcoming=upcoming or None,
    )
    return Call(Method.RUNS_LIST, params, many(FlowRunInfo))


def run(id: str) -> Call[RunDetail]:
    """One flow run (full id or unique prefix) with its task runs and state history."""
    return Call(Method.RUNS_GET, {"id": id}, RunDetail.model_validate)


def logs(
    id: str, after: float | None = None, limit: int | None = None, level: int | None = None
) -> Call[list[LogInfo]]:
    """The log lines of a flow run, after a timestamp and at or above a level."""
    params = given(id=id, after=after, limit=limit, level=level)
    return Call(Method.RUNS_LOGS, params, many(LogInfo))


def log_page(id: str, after: Sequence[int] | None = None, size: int = 5000) -> Call[LogPage]:
    """One page of a flow run's log lines, oldest first: start with no `after`, then pass the
    page's `next` until it is None (`orc logs` prints each page as it comes)."""
    params = given(id=id, after=list(after) if after is not None else None, size=size)
    return Call(Method.RUNS_LOG_PAGE, params, LogPage.model_validate)


def create_run(
    deployment: str,
    parameters: dict[str, Any] | None = None,
    texts: dict[str, str] | None = None,
) -> Call[FlowRunInfo]:
    """Start a run of a deployment now (it is Scheduled, due at once); `texts` are `-p` values
    as typed, used where the flow takes a string."""
    params = given(
        deployment=deployment,
        parameters=parameters,
        texts=texts or None,
        caused_by=list(chain_from_env()) or None,  # started by an automation's command
    )
    return Call(Method.RUNS_CREATE, params, FlowRunInfo.model_validate)


def cancel_run(id: str) -> Call[FlowRunInfo]:
    """Cancel a scheduled or running flow run."""
    return Call(Method.RUNS_CANCEL, {"id": id}, FlowRunInfo.model_validate)


def retry_run(id: str) -> Call[FlowRunInfo]:
    """Run a finished flow run again with the same parameters; returns the new run."""
    return Call(Method.RUNS_RETRY, {"id": id}, FlowRunInfo.model_validate)


def resume_run(id: str, run_input: dict[str, Any] | None = None) -> Call[FlowRunInfo]:
    """Resume a paused or suspended flow run, with the input it waits for."""
    return Call(Method.RUNS_RESUME, given(id=id, run_input=run_input), FlowRunInfo.model_validate)


def run_pause(id: str) -> Call[PauseInfo]:
    """What a paused or suspended flow run waits for: the schema its resume input must fit."""
    return Call(Method.RUNS_PAUSE, {"id": id}, PauseInfo.model_validate)


def events(
    name: str | None = None,
    resource: str | None = None,
    since: float | None = None,
    limit: int = 100,
) -> Call[list[EventInfo]]:
    """Events, newest first, by name glob, resource id glob and time."""
    params = given(name=name, resource=resource, since=since, limit=limit)
    return Call(Method.EVENTS_LIST, params, many(EventInfo))


def emit_event(
    event: str,
    resource: dict[str, str],
    payload: dict[str, Any] | None = None,
    related: list[dict[str, str]] | None = None,
) -> Call[EventInfo]:
    """Record an event (automations see it like any other)."""
    related = (related or []) + chain_related(chain_from_env()) or None
    params = given(event=event, resource=resource, payload=payload, related=related)
    return Call(Method.EVENTS_EMIT, params, EventInfo.model_validate)


def emit_events(events: list[dict[str, Any]]) -> Call[list[str]]:
    """Record many events in one request, in order; returns their ids.

    Each event is what `emit_event` takes, as a dict (`event`, `resource`, and
    optionally `payload`, `related`, `id`, `occurred`). One round trip for up
    to `protocol.MAX_EMIT_BATCH` events is what makes a feed of thousands per
    second cheap for both ends.
    """
    if chain := chain_related(chain_from_env()):  # started by an automation's command
        events = [{**e, "related": [*(e.get("related") or []), *chain]} for e in events]
    return Call(Method.EVENTS_EMIT_MANY, {"events": events}, _ids)


def _ids(result: Any) -> list[str]:
    return [str(i) for i in result["ids"]]


def automations() -> Call[list[AutomationInfo]]:
    """Every automation, with its trigger and actions in words."""
    return Call(Method.AUTOMATIONS_LIST, {}, many(AutomationInfo))


def automation(name: str) -> Call[AutomationInfo]:
    """One automation."""
    return Call(Method.AUTOMATIONS_GET, {"name": name}, AutomationInfo.model_validate)


def pause_automation(name: str) -> Call[AutomationInfo]:
    """Stop an automation from firing."""
    return Call(Method.AUTOMATIONS_PAUSE, {"name": name}, AutomationInfo.model_validate)


def resume_automation(name: str) -> Call[AutomationInfo]:
    """Let a paused automation fire again."""
    return Call(Method.AUTOMATIONS_RESUME, {"name": name}, AutomationInfo.model_validate)


def shutdown() -> Call[Stopping]:
    """Stop the daemon gracefully: no new runs, running ones get its grace, then it exits."""
    return Call(Method.SHUTDOWN, {}, Stopping.model_validate)


def sql_query(sql: str, limit: int | None = None, timeout: float = 30.0) -> Call[SqlResult]:
    """Run one read-only SQL statement over the history views; at most `limit` rows."""
    params = given(sql=sql, limit=limit, timeout=timeout)
    return Call(Method.SQL_QUERY, params, SqlResult.model_validate)


def sql_copy(sql: str, path: str, format: str, timeout: float = 30.0) -> Call[dict[str, Any]]:
    """Write what one read-only statement returns to a file (0600) on the daemon's host."""
    params = given(sql=sql, path=path, format=format, timeout=timeout)
    return Call(Method.SQL_COPY, params, lambda raw: dict(raw))


def sql_spool(sql: str, timeout: float = 30.0) -> Call[SqlSpooled]:
    """Write every row of one read-only statement to a file under .orc/ for the caller to read."""
    return Call(Method.SQL_SPOOL, given(sql=sql, timeout=timeout), SqlSpooled.model_validate)


def sql_schema() -> Call[list[tuple[str, str, str]]]:
    """(view, column, type) of every view `sql_query` offers."""
    return Call(Method.SQL_SCHEMA, {}, lambda raw: [(v, c, t) for v, c, t in raw])


def backup_store(path: str) -> Call[dict[str, Any]]:
    """Copy the whole store, consistently, to a new file (0600) on the daemon's host."""
    return Call(Method.STORE_BACKUP, {"path": path}, lambda raw: dict(raw))


def prune_runs(
    older_than: float, deployment: str | None = None, dry_run: bool = False
) -> Call[dict[str, int]]:
    """Remove finished flow runs that ended over `older_than` seconds ago, with all they left."""
    params = given(older_than=older_than, deployment=deployment, dry_run=dry_run)
    return Call(Method.RUNS_PRUNE, params, lambda raw: {k: int(v) for k, v in raw.items()})


def backfill(
    deployment: str,
    start: float,
    end: float,
    dry_run: bool = False,
    rerun: bool = False,
    parameters: dict[str, Any] | None = None,
) -> Call[dict[str, Any]]:
    """One run per schedule slot of `deployment` in `[start, end)` that has none yet."""
    params = given(
        deployment=deployment,
        start=start,
        end=end,
        dry_run=dry_run,
        rerun=rerun,
        parameters=parameters,
    )
    return Call(Method.RUNS_BACKFILL, params, lambda raw: dict(raw))


def subscribe(
    topics: Sequence[str], flow_run_id: str | None = None, event: str | None = None
) -> Call[int]:
    params = given(topics=list(topics), flow_run_id=flow_run_id, event=event)
    return Call(Method.SUBSCRIBE, params, lambda raw: int(raw["subscription"]))


def unsubscribe(subscription: int) -> Call[None]:
    return Call(Method.UNSUBSCRIBE, {"subscription": subscription}, lambda _raw: None)


class Calls:
    """The daemon's calls as methods: what `Client` returns, `AsyncClient` returns awaited.

    Subscriptions are not here: each client keeps them its own way.
    """

    call = Rpc(request)
    hello = Rpc(hello)
    status = Rpc(status)
    deployments = Rpc(deployments)
    deployment = Rpc(deployment)
    pause_deployment = Rpc(pause_deployment)
    resume_deployment = Rpc(resume_deployment)
    runs = Rpc(runs)
    run = Rpc(run)
    logs = Rpc(logs)
    log_page = Rpc(log_page)
    create_run = Rpc(create_run)
    cancel_run = Rpc(cancel_run)
    shutdown = Rpc(shutdown)
    retry_run = Rpc(retry_run)
    resume_run = Rpc(resume_run)
    run_pause = Rpc(run_pause)
    events = Rpc(events)
    emit_event = Rpc(emit_event)
    emit_events = Rpc(emit_events)
    automations = Rpc(automations)
    automation = Rpc(automation)
    pause_automation = Rpc(pause_automation)
    resume_automation = Rpc(resume_automation)
    sql_query = Rpc(sql_query)
    sql_copy = Rpc(sql_copy)
    sql_schema = Rpc(sql_schema)
    sql_spool = Rpc(sql_spool)
    backup_store = Rpc(backup_store)
    prune_runs = Rpc(prune_runs)
    backfill = Rpc(backfill)
