"""A client that serves fixed protocol data, standing in for the daemon in snapshot and Pilot tests.

Snapshots need frozen data (ids, times, states) that a real daemon cannot
give: its runs get new ids and times every time. This stands in for the
daemon at the client boundary, with the same methods and results as
`orchestrate.client.AsyncClient`; `push()` delivers a notification to every
matching subscription, as the daemon does. The tests against a real daemon
are in `test_live_daemon.py`.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel

from orchestrate.client.protocol import (
    BAD_INPUT,
    CONFLICT,
    NOT_FOUND,
    AutomationInfo,
    DeploymentDetail,
    DeploymentInfo,
    EdgeInfo,
    EventInfo,
    FlowRunInfo,
    Hello,
    LogInfo,
    Notification,
    RunBrief,
    RunDetail,
    ScheduleInfo,
    StateInfo,
    Status,
    TaskRunInfo,
)
from orchestrate.core.errors import BadInput, Conflict, NotFound

NOW = 1_767_258_000.0  # 2026-01-01 09:00:00 UTC
START = NOW - 600


def state(name: str, type_: str, at: float, error: str | None = None) -> StateInfo:
    return StateInfo(type=type_, name=name, timestamp=at, error=error)


def task(
    id: str,
    name: str,
    key: str,
    at: float,
    took: float | None,
    upstream: list[tuple[str, str]] = (),  # type: ignore[assignment]
    dyn: int = 0,
    state_name: str = "Completed",
    state_type: str = "COMPLETED",
    kind: str = "task",
    run: str = "run-0001",
) -> TaskRunInfo:
    return TaskRunInfo(
        id=id, flow_run_id=run, name=name, task_key=key, dynamic_key=dyn, kind=kind,  # type: ignore[arg-type]
        state=state(state_name, state_type, at + (took or 0)), created=at, start_time=at,
        end_time=None if took is None else at + took, run_count=1,
        upstream=[EdgeInfo(upstream_id=u, kind=k) for u, k in upstream],  # type: ignore[arg-type]
    )  # fmt: skip


def fan_out_tasks() -> list[TaskRunInfo]:
    """extract → validate (wait_for) → process x12 (mapped) → load; plus a report subflow."""
    tasks = [task("t-extract", "extract-0", "extract", START + 1, 20)]
    tasks.append(task("t-schema", "check_schema-0", "check_schema", START + 2, 5))
    tasks.append(
        task(
            "t-validate",
            "validate-0",
            "validate",
            START + 22,
            8,
            [("t-extract", "data"), ("t-schema", "wait_for")],
        )
    )
    for i in range(12):
        failed = i == 7
        tasks.append(task(
            f"t-proc-{i:02d}", f"process-{i}", "process", START + 31 + i * 10, 60 + i * 3, [("t-validate", "data")], dyn=i,
            state_name="Failed" if failed else "Completed", state_type="FAILED" if failed else "COMPLETED",
        ))  # fmt: skip
    processed = [(f"t-proc-{i:02d}", "data") for i in range(12)]
    tasks.append(task("t-load", "load-0", "load", START + 260, 40, processed))
    tasks.append(
        task(
            "t-report",
            "report-0",
            "subflow:report",
            START + 302,
            90,
            [("t-load", "data")],
            kind="subflow",
        )
    )
    tasks.append(task("t-notify", "notify-0", "notify", START + 395, 3, [("t-report", "wait_for")]))
    return tasks


def flow_run(
    id: str,
    name: str,
    state_name: str,
    state_type: str,
    created: float,
    took: float | None,
    deployment: str | None = "nightly-etl",
    parameters: dict[str, Any] | None = None,
) -> FlowRunInfo:
    return FlowRunInfo(
        id=id, name=name, flow_name="etl", deployment=deployment,
        state=state(state_name, state_type, created + (took or 0)), parameters=parameters or {"days": 1},
        created=created, start_time=None if state_type == "SCHEDULED" else created,
        end_time=None if took is None else created + took, run_count=1,
    )  # fmt: skip


@dataclass
class FakeDaemon:
    """The canned dashboard: two deployments, runs, one automation, a fan-out run with logs."""

    runs: list[FlowRunInfo] = field(default_factory=list)
    task_runs: dict[str, list[TaskRunInfo]] = field(default_factory=dict)
    deployments: list[DeploymentInfo] = field(default_factory=list)
    automations: list[AutomationInfo] = field(default_factory=list)
    logs: dict[str, list[LogInfo]] = field(default_factory=dict)
    events: list[EventInfo] = field(default_factory=list)
    calls: list[tuple[str, Any]] = field(default_factory=list)
    subscriptions: list[tuple[list[str], str | None, asyncio.Queue[Notification | None]]] = field(
        default_factory=list
    )
    down: bool = False  # `make_app`'s connector refuses while set
    config_error: str | None = None  # what `status` says of flows.toml
    asked: Counter[str] = field(default_factory=Counter)  # questions the dashboard asked, by name

    @classmethod
    def canned(cls) -> FakeDaemon:
        daemon = cls()
        daemon.runs = [
            flow_run("run-0001", "brave-fox", "Completed", "COMPLETED", START, 400),
            flow_run("run-0002", "calm-owl", "Failed", "FAILED", START - 3600, 95),
            flow_run(
                "run-0003",
                "eager-yak",
                "Running",
                "RUNNING",
                NOW - 42,
                None,
                deployment="cleanup",
                parameters={},
            ),
            flow_run(
                "run-0004",
                "quiet-elk",
                "Scheduled",
                "SCHEDULED",
                NOW - 5,
                None,
                deployment="cleanup",
                parameters={},
            ),
        ]
        daemon.runs[1].state.error = "ValueError: bad row 17"
        daemon.task_runs = {
            "run-0001": fan_out_tasks(),
            "run-0002": [],
            "run-0003": [],
            "run-0004": [],
        }
        daemon.deployments = [
            DeploymentInfo(
                name="nightly-etl", entrypoint="examples/etl.py:nightly", parameters={"days": 1},
                schedules=[ScheduleInfo(id="0", kind="cron", text="every day at 02:00 (Europe/Berlin)", timezone="Europe/Berlin")],
                next_run_time=NOW + 4 * 3600,
                recent=[RunBrief(id="run-0001", state_type="COMPLETED", state_name="Completed"),
                        RunBrief(id="run-0002", state_type="FAILED", state_name="Failed")],
                parameter_schema={"type": "object", "properties": {"days": {"type": "integer", "minimum": 1}, "source": {"type": "string"}}, "required": ["days"]},
            ),
            DeploymentInfo(name="cleanup", entrypoint="examples/etl.py:cleanup", paused=True, running=1,
                           recent=[RunBrief(id="run-0003", state_type="RUNNING", state_name="Running")]),
        ]  # fmt: skip
        daemon.automations = [
            AutomationInfo(
                name="cleanup-after-failure", enabled=True,
                trigger_text="when orc.flow-run.Failed for nightly-etl, 1 time within 10m",
                actions=["run deployment cleanup", "call webhook http://127.0.0.1:9000/hook"],
                last_fired=NOW - 3500, fired_count=1,
            )
        ]  # fmt: skip
        daemon.logs = {"run-0001": _logs("run-0001")}
        daemon.events = [
            EventInfo(id="ev-1", occurred=START - 3505, event="orc.flow-run.Failed",
                      resource={"orc.resource.id": "orc.flow-run.run-0002", "orc.resource.name": "calm-owl"},
                      related=[{"orc.resource.id": "orc.deployment.nightly-etl", "orc.resource.name": "nightly-etl"}]),
            EventInfo(id="ev-2", occurred=START + 400, event="orc.flow-run.Completed",
                      resource={"orc.resource.id": "orc.flow-run.run-0001", "orc.resource.name": "brave-fox"},
                      related=[{"orc.resource.id": "orc.deployment.nightly-etl", "orc.resource.name": "nightly-etl"}]),
        ]  # fmt: skip
        return daemon

    def client(self) -> FakeClient:
        return FakeClient(self)

    def status(self) -> Status:
        """What `status` answers now (and what the daemon pushes when it changes)."""
        running = [r for r in self.runs if r.state.type == "RUNNING"]
        return Status(
            pid=4242,
            version="0.1.0",
            project="demo",
            project_root="/srv/demo",
            started_at=NOW - 7380,
            uptime_seconds=7380,
            running=running,
            queued=1,
            deployments=len(self.deployments),
            automations=1,
            config_error=self.config_error,
        )

    def push(self, topic: str, data: BaseModel | dict[str, Any]) -> None:
        """Deliver a change to every subscription that asked for `topic` (and its run)."""
        payload = data.model_dump() if isinstance(data, BaseModel) else data
        for topics, flow_run_id, queue in self.subscriptions:
            if topic not in topics:
                continue
            if flow_run_id is not None and payload.get("flow_run_id", flow_run_id) != flow_run_id:
                continue
            queue.put_nowait(Notification(subscription=1, topic=topic, data=payload))

    def hang_up(self) -> None:
        """End every subscription, as a daemon that stops does."""
        for _, _, queue in self.subscriptions:
            queue.put_nowait(None)


def _logs(run_id: str) -> list[LogInfo]:
    lines = [
        (1, 20, None, "Beginning flow run 'brave-fox' for flow 'etl'"),
        (2, 20, "t-extract", "extracting 12 batches from s3://bucket/2026-01-01"),
        (21, 20, "t-extract", "extracted 120,000 rows"),
        (25, 30, "t-validate", "3 rows have no customer id; they are skipped"),
        (110, 40, "t-proc-07", "batch 7 failed: ValueError: bad row 17"),
        (300, 20, "t-load", "loaded 119,997 rows into warehouse.orders"),
        (400, 20, None, "Finished in state Completed()"),
    ]
    return [
        LogInfo(
            flow_run_id=run_id,
            task_run_id=t,
            ts=START + at,
            level=level,
            logger="orc.flow_runs",
            message=message,
        )
        for at, level, t, message in lines
    ]


def _not_due(run: FlowRunInfo) -> bool:
    return run.state.type == "SCHEDULED" and (run.expected_start_time or 0.0) > NOW


class FakeClient:
    """The `DashboardClient` methods over a `FakeDaemon`."""

    def __init__(self, daemon: FakeDaemon) -> None:
        self.daemon = daemon
        self.closed = False

    async def hello(self) -> Hello:
        self.daemon.asked["hello"] += 1
        return Hello(
            protocol=1,
            version="0.1.0",
            pid=4242,
            project="demo",
            project_root="/srv/demo",
            started_at=NOW - 7380,
        )

    async def status(self) -> Status:
        self.daemon.asked["status"] += 1
        return self.daemon.status()

    async def deployments(self) -> list[DeploymentInfo]:
        return list(self.daemon.deployments)

    async def deployment(self, name: str) -> DeploymentDetail:
        found = self._deployment(name)
        return DeploymentDetail(**found.model_dump())

    async def pause_deployment(self, name: str) -> DeploymentInfo:
        return self._set_paused(name, True)

    async def resume_deployment(self, name: str) -> DeploymentInfo:
        return self._set_paused(name, False)

    async def runs(
        self,
        limit: int = 50,
        state: str | None = None,
        deployment: str | None = None,
        since: float | None = None,
        *,
        scheduled: bool | None = None,
    ) -> list[FlowRunInfo]:
        runs = self.daemon.runs
        if scheduled:  # only scheduled runs not due yet, the next due first, as the daemon's
            due = sorted((r for r in runs if _not_due(r)), key=lambda r: r.expected_start_time or 0)
            return due[:limit]
        if state is not None:  # a state filter brings runs not due yet too, as the daemon's does
            runs = [
                r for r in runs if state.lower() in (r.state.name.lower(), r.state.type.lower())
            ]
        else:  # scheduled runs not due yet are left out, as the daemon leaves them out
            runs = [r for r in runs if not _not_due(r)]
        return sorted(runs, key=lambda r: -r.created)[:limit]

    async def run(self, id: str) -> RunDetail:
        found = self._run(id)
        return RunDetail(run=found, task_runs=self.daemon.task_runs.get(id, []),
                         state_history=[found.state])  # fmt: skip

    async def logs(
        self,
        id: str,
        after: float | None = None,
        limit: int | None = None,
        level: int | None = None,
    ) -> list[LogInfo]:
        return list(self.daemon.logs.get(id, []))

    async def create_run(
        self, deployment: str, parameters: dict[str, Any] | None = None
    ) -> FlowRunInfo:
        self.daemon.calls.append(("create_run", (deployment, parameters)))
        found = self._deployment(deployment)
        if parameters and not isinstance(parameters.get("days", 1), int):
            raise BadInput(
                BAD_INPUT, "parameter 'days' of nightly: input should be a valid integer"
            )
        run = flow_run(
            f"run-new-{len(self.daemon.runs):02d}",
            "new-run",
            "Scheduled",
            "SCHEDULED",
            NOW,
            None,
            found.name,
            parameters,
        )
        self.daemon.runs.append(run)
        return run

    async def cancel_run(self, id: str) -> FlowRunInfo:
        self.daemon.calls.append(("cancel_run", id))
        found = self._run(id)
        if found.state.type in {"COMPLETED", "FAILED", "CANCELLED", "CRASHED"}:
            raise Conflict(CONFLICT, f"run {id} already finished")
        return found.model_copy(update={"state": state("Cancelling", "CANCELLING", NOW)})

    async def retry_run(self, id: str) -> FlowRunInfo:
        self.daemon.calls.append(("retry_run", id))
        return self._run(id).model_copy(
            update={"id": "run-retry", "state": state("Scheduled", "SCHEDULED", NOW)}
        )

    async def events(
        self,
        name: str | None = None,
        resource: str | None = None,
        since: float | None = None,
        limit: int = 100,
    ) -> list[EventInfo]:
        return list(self.daemon.events)

    async def automations(self) -> list[AutomationInfo]:
        return list(self.daemon.automations)

    async def pause_automation(self, name: str) -> AutomationInfo:
        self.daemon.calls.append(("pause_automation", name))
        return self.daemon.automations[0].model_copy(update={"enabled": False})

    async def resume_automation(self, name: str) -> AutomationInfo:
        self.daemon.calls.append(("resume_automation", name))
        return self.daemon.automations[0].model_copy(update={"enabled": True})

    def subscribe(
        self, topics: list[str], flow_run_id: str | None = None, event: str | None = None
    ) -> AsyncIterator[Notification]:
        """Subscribed from the call on (as `await client.subscribe(...)` is), read with `async for`."""
        queue: asyncio.Queue[Notification | None] = asyncio.Queue()
        self.daemon.subscriptions.append((list(topics), flow_run_id, queue))

        async def notes() -> AsyncIterator[Notification]:
            while (note := await queue.get()) is not None:
                yield note

        return notes()

    async def close(self) -> None:
        self.closed = True

    def _run(self, id: str) -> FlowRunInfo:
        for run in self.daemon.runs:
            if run.id == id:
                return run
        raise NotFound(NOT_FOUND, f"no run {id}")

    def _deployment(self, name: str) -> DeploymentInfo:
        for found in self.daemon.deployments:
            if found.name == name:
                return found
        raise NotFound(NOT_FOUND, f"no deployment {name}")

    def _set_paused(self, name: str, paused: bool) -> DeploymentInfo:
        self.daemon.calls.append(("pause_deployment" if paused else "resume_deployment", name))
        return self._deployment(name).model_copy(update={"paused": paused})
