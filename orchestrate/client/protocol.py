"""The wire contract between the daemon, its workers and its clients.

JSON-RPC 2.0, one JSON object per line, over the Unix socket `.orc/orc.sock`
(or `ssh host orc dial-stdio`, which pipes the same lines). A connection
opens with `hello`, which checks `PROTOCOL_VERSION`. Requests carry an `id`;
notifications (no `id`) are fire-and-forget: workers and plain-Python flow
runs ship their records as `records` notifications, and the daemon pushes
subscribed changes as `notify` notifications. Times are seconds since the
epoch (float), the same as in `orchestrate.core.records`.

The models here are what results look like; clients validate with them and
the daemon builds them. Adding a field is compatible; removing or renaming
one bumps `PROTOCOL_VERSION`.

Params are checked too: `PARAMS` holds a model per method, and the daemon
answers a request whose params do not fit with `INVALID_PARAMS` naming the
field, what it expects and what came, before any handler runs. JSON types are
taken as they are (no "5" for 5); names a method does not know are ignored, so
a newer client stays compatible. Records a flow ships are checked the same way
(`RECORD_FIELDS`), one by one: one that could not be stored is left out.
A stored row that no longer fits its result model is sent repaired, with
`malformed` saying what was wrong, so a listing never fails on one row.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, field_validator

# The version and error codes live in `codes` (no pydantic there); every name stays here too.
from orchestrate.client.codes import BAD_INPUT as BAD_INPUT
from orchestrate.client.codes import CONFLICT as CONFLICT
from orchestrate.client.codes import INTERNAL_ERROR as INTERNAL_ERROR
from orchestrate.client.codes import INVALID_PARAMS as INVALID_PARAMS
from orchestrate.client.codes import INVALID_REQUEST as INVALID_REQUEST
from orchestrate.client.codes import METHOD_NOT_FOUND as METHOD_NOT_FOUND
from orchestrate.client.codes import NOT_FOUND as NOT_FOUND
from orchestrate.client.codes import NOT_HANDSHAKEN as NOT_HANDSHAKEN
from orchestrate.client.codes import PARSE_ERROR as PARSE_ERROR
from orchestrate.client.codes import PROTOCOL_VERSION as PROTOCOL_VERSION
from orchestrate.client.codes import VERSION_MISMATCH as VERSION_MISMATCH


class Method(StrEnum):
    """Every method the daemon answers. Params and results are documented per member."""

    #: {protocol: int, client: str} -> Hello
    HELLO = "hello"
    #: {} -> Status
    STATUS = "status"
    #: {} -> list[DeploymentInfo]
    DEPLOYMENTS_LIST = "deployments.list"
    #: {name} -> DeploymentDetail
    DEPLOYMENTS_GET = "deployments.get"
    #: {name} -> DeploymentInfo
    DEPLOYMENTS_PAUSE = "deployments.pause"
    #: {name} -> DeploymentInfo
    DEPLOYMENTS_RESUME = "deployments.resume"
    #: {limit?: int, state?: str (type or name), deployment?: str, since?: float, flow?: str,
    #:  states?: list[str], tag?: str, until?: float, scheduled?: bool} -> list[FlowRunInfo]
    RUNS_LIST = "runs.list"
    #: {id: str (full id or unique prefix)} -> RunDetail
    RUNS_GET = "runs.get"
    #: {id, after?: float (ts), limit?: int, level?: int} -> list[LogInfo]
    RUNS_LOGS = "runs.logs"
    #: {id, after?: [ts_us, row], size?: int} -> LogPage: one page of a run's log, oldest first
    RUNS_LOG_PAGE = "runs.log_page"
    #: {deployment, parameters?: dict} -> FlowRunInfo (state Scheduled, due now)
    RUNS_CREATE = "runs.create"
    #: {id} -> FlowRunInfo
    RUNS_CANCEL = "runs.cancel"
    #: {id} -> FlowRunInfo (the new run)
    RUNS_RETRY = "runs.retry"
    #: {id, run_input?: dict} -> FlowRunInfo (a paused run resumed; Running, or Scheduled
    #: "Resuming" for a suspended one)
    RUNS_RESUME = "runs.resume"
    #: {id} -> PauseInfo: what a paused or suspended run waits for (its input's schema)
    RUNS_PAUSE = "runs.pause"
    #: {name?: glob, resource?: glob, since?: float, limit?: int} -> list[EventInfo]
    EVENTS_LIST = "events.list"
    #: {event, resource: dict (with "orc.resource.id"), payload?: dict, related?: list[dict],
    #:  id?: str, occurred?: float} -> EventInfo
    EVENTS_EMIT = "events.emit"
    #: {events: list[events.emit params] (1 to 10,000)} -> {ids: list[str]}, stored in order
    EVENTS_EMIT_MANY = "events.emit_many"
    #: {} -> list[AutomationInfo]
    AUTOMATIONS_LIST = "automations.list"
    #: {name} -> AutomationInfo
    AUTOMATIONS_GET = "automations.get"
    #: {name} -> AutomationInfo
    AUTOMATIONS_PAUSE = "automations.pause"
    #: {name} -> AutomationInfo
    AUTOMATIONS_RESUME = "automations.resume"
    #: {} -> Stopping: stop dispatching, let running runs finish within the grace, exit
    SHUTDOWN = "shutdown"
    #: {topics: list[Topic], flow_run_id?: str, event?: glob} -> {subscription: int}
    SUBSCRIBE = "subscribe"
    #: {subscription: int} -> {}
    UNSUBSCRIBE = "unsubscribe"
    #: notification {records: list[[kind, fields]]}: a worker's or flow's records
    RECORDS = "records"
    #: {sql: str, limit?: int (rows; none: all), timeout?: float (s)} -> SqlResult (read-only)
    SQL_QUERY = "sql.query"
    #: {sql: str, path: str (absolute, on the daemon's host), format: parquet|csv|json,
    #:  timeout?: float} -> {rows: int, path: str} (the file written 0600)
    SQL_COPY = "sql.copy"
    #: {} -> list[[view, column, type]]: the views `sql.query` offers
    SQL_SCHEMA = "sql.schema"
    #: {sql: str, timeout?: float} -> SqlSpooled: every row in a 0600 file under .orc/, one
    #:  JSON array a line, for a result too large for one reply (the reader deletes it)
    SQL_SPOOL = "sql.spool"
    #: {path: str (absolute, on the daemon's host)} -> {path: str, bytes: int}: a consistent copy
    STORE_BACKUP = "store.backup"
    #: {older_than: float (s), deployment?: str, dry_run?: bool}
    #:  -> {flow_runs, task_runs, states, edges, logs: int} removed (or that would be)
    RUNS_PRUNE = "runs.prune"
    #: {deployment, start: float, end: float, dry_run?: bool, rerun?: bool, parameters?: dict}
    #:  -> {id: str, slots: list[{time, key, existing?: run id, created?: run id}]}
    RUNS_BACKFILL = "runs.backfill"
    #: notification pushed by the daemon: Notification
    NOTIFY = "notify"


#: What a subscription can ask for; `notify` carries the topic with its data. `status` (a
#: Status) comes after runs, deployments, the config or the store changed, a burst as one;
#: `deployment` (a DeploymentInfo, `removed` when a flows.toml edit took it away) after a
#: pause, a resume or a reload; `flow_runs_removed` (a FlowRunsRemoved) once the store no
#: longer has runs the daemon deleted. A daemon names the topics it knows in its `Hello`
#: (`topics`): a subscription naming one it does not know is refused as a whole, so a client
#: asks for a topic added after protocol 1 only where it is announced.
Topic = Literal[
    "flow_run",
    "task_run",
    "edge",
    "log",
    "event",
    "deployment",
    "automation",
    "status",
    "flow_runs_removed",
]
#: Every topic, as a daemon announces them in its `Hello`.
TOPICS: tuple[str, ...] = get_args(Topic)
#: The topics every daemon of protocol 1 knows, whether it announces them or not.
BASE_TOPICS: tuple[str, ...] = TOPICS[:8]


class Wire(BaseModel):
    """Base of every wire model: extra fields from a newer daemon are kept, not refused."""

    model_config = ConfigDict(extra="allow", defer_build=True)  # a model is built when first used


class Hello(Wire):
    protocol: int
    version: str
    pid: int
    project: str
    project_root: str
    started_at: float
    #: a read-only view of the store (`orc store-stdio`, no daemon): `started_at` is its last write
    readonly: bool = False
    #: the topics a subscription may name here; empty from a daemon older than this field,
    #: which knows the first eight (`BASE_TOPICS`)
    topics: list[str] = Field(default_factory=list)


class StateInfo(Wire):
    type: str
    name: str
    message: str | None = None
    timestamp: float
    error: str | None = None  # "ValueError: bad row" for failures
    error_type: str | None = None  # the exception's full type name
    error_message: str | None = None
    traceback: str | None = None  # the whole traceback, as Python printed it


class FlowRunInfo(Wire):
    id: str
    name: str
    flow_name: str
    deployment: str | None = None
    state: StateInfo
    parameters: dict[str, Any] = Field(default_factory=dict)
    tags: list[str] = Field(default_factory=list)
    created: float
    expected_start_time: float | None = None
    #: when a Scheduled run is due, if its state says (an AwaitingRetry's time); the
    #: expected start time stays when the run was first due
    next_scheduled_start_time: float | None = None
    start_time: float | None = None
    end_time: float | None = None
    run_count: int = 0
    parent_flow_run_id: str | None = None
    #: the stand-in task run of a subflow's run in its parent run (None for a top-level run)
    parent_task_run_id: str | None = None
    #: task runs by state name, e.g. {"Completed": 3, "Failed": 1}
    task_counts: dict[str, int] = Field(default_factory=dict)
    #: set when the stored row does not fit this shape: what is wrong, with the raw value
    malformed: str | None = None
    #: in `runs.get` and pushes: whether this state is the run's last (no worker on it, no
    #: retry coming); None where the sender does not say
    settled: bool | None = None


class EdgeInfo(Wire):
    upstream_id: str
    kind: Literal["data", "wait_for", "parent"]


class TaskRunInfo(Wire):
    id: str
    flow_run_id: str
    name: str
    task_key: str
    dynamic_key: int
    kind: Literal["task", "subflow"] = "task"
    state: StateInfo
    tags: list[str] = Field(default_factory=list)
    created: float
    start_time: float | None = None
    end_time: float | None = None
    run_count: int = 0
    upstream: list[EdgeInfo] = Field(default_factory=list)


class LogInfo(Wire):
    flow_run_id: str
    task_run_id: str | None = None
    ts: float
    level: int
    logger: str
    message: str
    #: set when the stored row does not fit this shape: what is wrong, with the raw value
    malformed: str | None = None


class PauseInfo(Wire):
    """What a paused run waits for: the pause's key, its input's JSON schema, its deadline."""

    key: str
    input_schema: dict[str, Any] | None = None
    expires: float | None = None
    suspended: bool = False


class RunDetail(Wire):
    run: FlowRunInfo
    task_runs: list[TaskRunInfo] = Field(default_factory=list)
    state_history: list[StateInfo] = Field(default_factory=list)
    subflow_runs: list[FlowRunInfo] = Field(default_factory=list)


class EventInfo(Wire):
    id: str
    occurred: float
    event: str
    resource: dict[str, str]
    related: list[dict[str, str]] = Field(default_factory=list)
    payload: dict[str, Any] = Field(default_factory=dict)
    #: set when the stored row does not fit this shape: what is wrong, with the raw value
    malformed: str | None = None


class ScheduleInfo(Wire):
    id: str  # stable within a deployment: "0", "1", … in config order
    kind: Literal["cron", "interval", "rrule"]
    text: str  # in words: "every day at 02:00 (Europe/Berlin)"
    timezone: str
    active: bool = True


class RunBrief(Wire):
    id: str
    state_type: str
    state_name: str
    start_time: float | None = None


class DeploymentInfo(Wire):
    name: str
    entrypoint: str
    description: str | None = None
    paused: bool = False
    schedules: list[ScheduleInfo] = Field(default_factory=list)
    next_run_time: float | None = None
    #: the latest runs, newest first (at most 10)
    recent: list[RunBrief] = Field(default_factory=list)
    tags: list[str] = Field(default_factory=list)
    parameters: dict[str, Any] = Field(default_factory=dict)
    #: JSON Schema of the flow's parameters, when the entrypoint could be read
    parameter_schema: dict[str, Any] | None = None
    concurrency_limit: int | None = None
    collision_strategy: str = "enqueue"
    running: int = 0
    #: why no run of it can start (an unset `from_env` variable), or None
    blocked: str | None = None
    #: slots skipped by `collision_strategy = "skip"` since orc up started
    skipped_slots: int = 0
    #: pushed once when a flows.toml edit took the deployment away (only its name is then true)
    removed: bool = False


class DeploymentDetail(DeploymentInfo):
    #: the next scheduled times (up to 5), in `timezone` when shown
    next_times: list[float] = Field(default_factory=list)
    timezone: str = "UTC"


class Stopping(Wire):
    """The answer to `shutdown`: which daemon is stopping and how long its runs may take."""

    pid: int
    grace: float


class ZygoteInfo(Wire):
    """One warm fork server: per interpreter, project folder and preload list."""

    python: str
    folder: str
    preload: list[str] = Field(default_factory=list)
    state: str  # "ready", "starting" or "down" (it failed; runs start cold until it is retried)
    pid: int | None = None
    up_since: float | None = None
    forks: int = 0  # workers it has forked
    last_cold_reason: str | None = None  # why a run of its kind last started cold instead
    spare: bool = False  # a worker forked ahead waits for its next run


class StoreHealthInfo(Wire):
    """Why the daemon cannot write its store now, and what waits for it (kept in memory, retried)."""

    reason: str
    waiting: int = 0  # records given to the writer and not stored yet
    since: float | None = None  # when this spell of failed writes began
    set_aside: int = 0  # records the store refused even sanitised


class Status(Wire):
    pid: int
    version: str
    project: str
    project_root: str
    started_at: float
    uptime_seconds: float
    running: list[FlowRunInfo] = Field(default_factory=list)
    queued: int = 0  # due but waiting for a slot
    next_due: RunBrief | None = None
    next_due_deployment: str | None = None
    next_due_time: float | None = None
    deployments: int = 0
    automations: int = 0
    config_error: str | None = None  # the last invalid flows.toml edit, while it stands
    process_scope: str | None = None  # how every process of a run is found and stopped
    blocked_deployments: dict[str, str] = Field(default_factory=dict)  # name -> why it cannot run
    store_degraded: str | None = None  # why the store cannot be written now, while that lasts
    store_health: StoreHealthInfo | None = None  # the same, as fields (None while writes succeed)
    starts_held: str | None = None  # why no run starts now (a run journal the disk refused)
    runs_paused: str | None = None  # running workers not read while the store is degraded
    zygotes: list[ZygoteInfo] = Field(default_factory=list)  # none when workers start cold
    log_file: str | None = None  # where this daemon writes its log; None: its stderr only


class AutomationInfo(Wire):
    name: str
    enabled: bool
    description: str | None = None
    trigger_text: str  # in words
    actions: list[str] = Field(default_factory=list)  # in words
    last_fired: float | None = None
    fired_count: int = 0
    next_deadline: float | None = None  # proactive triggers: when absence would fire


class FlowRunsRemoved(Wire):
    """Flow runs the store no longer has: a push of `flow_runs_removed`, sent once they are gone.

    `reason` is "withdrawn" (planned runs of a schedule changed or removed in
    flows.toml, or a slot skipped) or "pruned" (`orc prune`, run retention); a
    newer daemon may add reasons. Many runs go as one push, or a few.
    """

    ids: list[str]
    reason: str


class Notification(Wire):
    subscription: int
    topic: str
    data: dict[str, Any]


# -- request params: what each method accepts, checked by the daemon before it acts ---------

#: 0001-01-01 and 9999-12-31 23:59:59 UTC: the times the store can hold.
EARLIEST = -62135596800.0
LATEST = 253402300799.0

Epoch = Annotated[float, Field(ge=EARLIEST, le=LATEST, allow_inf_nan=False)]
Name = Annotated[str, Field(min_length=1, max_length=1024)]
#: A record's flow run id; "" for a task run called outside any flow (Prefect records those too).
FlowRunOf = Annotated[str, Field(max_length=1024)]
Limit = Annotated[int, Field(ge=1)]  # past a table's size means all of it


class Params(BaseModel):
    """Base of request params: JSON types as they are (no "5" for 5), unknown names ignored.

    A newer client may send a name this daemon does not know; that is compatible.
    """

    model_config = ConfigDict(extra="ignore", strict=True, defer_build=True)


class NoParams(Params):
    pass


class HelloParams(Params):
    protocol: int
    client: Annotated[str, Field(max_length=1024)] | None = None


class NameParams(Params):
    name: Name


class RunsListParams(Params):
    limit: Limit = 50
    state: Name | None = None
    deployment: Name | None = None
    since: Epoch | None = None
    upcoming: bool = False
    flow: Name | None = None
    states: list[Name] = Field(default_factory=list)
    tag: Name | None = None
    until: Epoch | None = None
    scheduled: bool = False


class RunIdParams(Params):
    id: Name


class RunsResumeParams(RunIdParams):
    run_input: dict[str, Any] | None = None


class RunsLogsParams(RunIdParams):
    after: Epoch | None = None
    limit: Annotated[int, Field(ge=0)] | None = None
    level: Annotated[int, Field(ge=0, le=1000)] | None = None


#: The most log lines one `runs.log_page` answers with.
MAX_LOG_PAGE = 20_000


class RunsLogPageParams(RunIdParams):
    after: Annotated[tuple[int, int], Field(strict=False)] | None = None
    size: Annotated[int, Field(ge=1, le=MAX_LOG_PAGE)] = 5000


class LogPage(Wire):
    """One page of a run's log: rows of [task_run_id, ts, level, logger, message], and the
    cursor to ask for the next page with (None when this page is the last)."""

    lines: list[tuple[str | None, float, int, str, str]]
    next: tuple[int, int] | None = None


class SqlQueryParams(Params):
    sql: Annotated[str, Field(min_length=1)]
    limit: Annotated[int, Field(ge=0)] | None = None
    timeout: Annotated[float, Field(gt=0, le=24 * 3600, strict=False)] = 30.0


class SqlCopyParams(SqlQueryParams):
    path: Name
    format: Literal["parquet", "csv", "json"]


class RunsPruneParams(Params):
    older_than: Annotated[float, Field(gt=0, strict=False)]
    deployment: Name | None = None
    dry_run: bool = False


class RunsBackfillParams(Params):
    deployment: Name
    start: Epoch
    end: Epoch
    dry_run: bool = False
    rerun: bool = False
    parameters: dict[str, Any] = Field(default_factory=dict)


class PathParams(Params):
    path: Name


class SqlResult(Wire):
    """A read-only query's answer: columns, their DuckDB types, rows as JSON values."""

    columns: list[str]
    types: list[str]
    rows: list[list[Any]]
    truncated: bool = False


class SqlSpooled(Wire):
    """Where the daemon wrote a query's rows (same host), and their columns and count."""

    path: str
    columns: list[str]
    types: list[str]
    rows: int


class RunsCreateParams(Params):
    deployment: Name
    parameters: dict[str, Any] = Field(default_factory=dict)
    #: `-p` values as typed, used where the flow takes a string (`day=20261201`)
    texts: dict[str, str] = Field(default_factory=dict)


class EventsListParams(Params):
    name: Name | None = None
    resource: Name | None = None
    since: Epoch | None = None
    limit: Limit = 100


class EventsEmitParams(Params):
    event: Name
    resource: dict[str, str]
    payload: dict[str, Any] = Field(default_factory=dict)
    related: list[dict[str, str]] = Field(default_factory=list)
    id: Name | None = None
    occurred: Epoch | None = None

    @field_validator("resource")
    @classmethod
    def _names_the_resource(cls, value: dict[str, str]) -> dict[str, str]:
        if not value.get("orc.resource.id"):
            raise ValueError('must name its resource: {"orc.resource.id": "acme.bucket.raw"}')
        return value


class SubscribeParams(Params):
    topics: Annotated[list[Topic], Field(min_length=1)]
    flow_run_id: Name | None = None
    event: Name | None = None


class UnsubscribeParams(Params):
    subscription: int


Text = str  # a log line or a traceback may be long: the store takes any length
Count = Annotated[int, Field(ge=0, le=2**31 - 1)]
Int32 = Annotated[int, Field(ge=-(2**31), le=2**31 - 1)]
StateTypeName = Literal[
    "SCHEDULED",
    "PENDING",
    "RUNNING",
    "COMPLETED",
    "FAILED",
    "CRASHED",
    "CANCELLING",
    "CANCELLED",
    "PAUSED",
]


class StateFields(Params):
    type: StateTypeName
    name: Name
    message: Text | None = None
    timestamp: Epoch
    scheduled_time: Epoch | None = None
    error_type: Text | None = None
    error_message: Text | None = None
    traceback: Text | None = None


class FlowRunFields(Params):
    id: Name
    name: Text
    flow_name: Text
    parameters: dict[str, Any] = Field(default_factory=dict)
    state: StateFields
    created: Epoch
    tags: list[Text] = Field(default_factory=list)
    parent_flow_run_id: Name | None = None
    parent_task_run_id: Name | None = None
    deployment: Text | None = None
    entrypoint: Text | None = None
    flow_version: Text | None = None
    expected_start_time: Epoch | None = None
    start_time: Epoch | None = None
    end_time: Epoch | None = None
    run_count: Count = 0


class TaskRunFields(Params):
    id: Name
    flow_run_id: FlowRunOf
    name: Text
    task_key: Text
    dynamic_key: Int32
    state: StateFields
    created: Epoch
    kind: Name = "task"  # "task" or "subflow"; a newer orc may add kinds
    tags: list[Text] = Field(default_factory=list)
    parent_task_run_id: Name | None = None
    cache_key: Text | None = None
    start_time: Epoch | None = None
    end_time: Epoch | None = None
    run_count: Count = 0


class StateRecordFields(Params):
    run_id: Name
    flow_run_id: FlowRunOf
    is_task: bool
    state: StateFields


class EdgeFields(Params):
    flow_run_id: FlowRunOf
    task_run_id: Name
    upstream_id: Name
    kind: Name  # "data", "wait_for" or "parent"; a newer orc may add kinds


class LogFields(Params):
    flow_run_id: FlowRunOf
    task_run_id: Name | None = None
    ts: Epoch
    level: Int32
    logger: Text
    message: Text


class EventFields(Params):
    id: Name
    occurred: Epoch
    event: Name
    resource: dict[str, str]
    payload: dict[str, Any] = Field(default_factory=dict)
    related: list[dict[str, str]] = Field(default_factory=list)


#: What each kind of shipped record must hold to be stored (`orchestrate.core.record_codec`).
RECORD_FIELDS: dict[str, type[Params]] = {
    "flow_run": FlowRunFields,
    "task_run": TaskRunFields,
    "state": StateRecordFields,
    "edge": EdgeFields,
    "log": LogFields,
    "event": EventFields,
}


#: The most events one `events.emit_many` takes: a batch stays a bounded request.
MAX_EMIT_BATCH = 10_000


class EventsEmitManyParams(Params):
    events: list[EventsEmitParams] = Field(min_length=1, max_length=MAX_EMIT_BATCH)


class RecordsParams(Params):
    #: `[kind, fields]` pairs (`orchestrate.core.record_codec`); the fields are checked when decoded
    records: list[Annotated[tuple[str, dict[str, Any]], Field(strict=False)]]


#: The params model of every method; the daemon refuses a request whose params do not fit.
PARAMS: dict[str, type[Params]] = {
    Method.HELLO: HelloParams,
    Method.STATUS: NoParams,
    Method.DEPLOYMENTS_LIST: NoParams,
    Method.DEPLOYMENTS_GET: NameParams,
    Method.DEPLOYMENTS_PAUSE: NameParams,
    Method.DEPLOYMENTS_RESUME: NameParams,
    Method.RUNS_LIST: RunsListParams,
    Method.RUNS_GET: RunIdParams,
    Method.RUNS_LOGS: RunsLogsParams,
    Method.RUNS_LOG_PAGE: RunsLogPageParams,
    Method.RUNS_CREATE: RunsCreateParams,
    Method.RUNS_CANCEL: RunIdParams,
    Method.RUNS_RETRY: RunIdParams,
    Method.RUNS_RESUME: RunsResumeParams,
    Method.RUNS_PAUSE: RunIdParams,
    Method.EVENTS_LIST: EventsListParams,
    Method.EVENTS_EMIT: EventsEmitParams,
    Method.EVENTS_EMIT_MANY: EventsEmitManyParams,
    Method.AUTOMATIONS_LIST: NoParams,
    Method.AUTOMATIONS_GET: NameParams,
    Method.AUTOMATIONS_PAUSE: NameParams,
    Method.AUTOMATIONS_RESUME: NameParams,
    Method.SHUTDOWN: NoParams,
    Method.SUBSCRIBE: SubscribeParams,
    Method.UNSUBSCRIBE: UnsubscribeParams,
    Method.RECORDS: RecordsParams,
    Method.SQL_QUERY: SqlQueryParams,
    Method.SQL_COPY: SqlCopyParams,
    Method.SQL_SCHEMA: NoParams,
    Method.SQL_SPOOL: SqlQueryParams,
    Method.STORE_BACKUP: PathParams,
    Method.RUNS_PRUNE: RunsPruneParams,
    Method.RUNS_BACKFILL: RunsBackfillParams,
}


def checked_params(method: str, params: dict[str, Any]) -> dict[str, Any]:
    """`params` with the method's fields checked and normalised (names it does not know kept).

    Raises:
        pydantic.ValidationError: a field is missing, of the wrong type or out of range.
    """
    model = PARAMS.get(method)
    if model is None:
        return params
    checked = model.model_validate(params)
    return {**params, **{name: getattr(checked, name) for name in checked.model_fields_set}}
