"""What workers report to the app, as past-tense facts; only their handlers touch widgets.

Messages about the dashboard's data stay on the screen that posts them; the
ones about the connection bubble up to the app, which owns it.

Changes pushed by the daemon arrive in batches (one message per topic per
batch), so a burst of a thousand task-run updates costs one handler call and
one repaint, not a thousand.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from textual.message import Message

from orchestrate.client.protocol import (
    AutomationInfo,
    DeploymentInfo,
    EventInfo,
    FlowRunInfo,
    LogInfo,
    RunDetail,
    Status,
    TaskRunInfo,
)
from tui.client import DashboardClient


@dataclass
class DaemonConnected(Message):
    client: DashboardClient
    latency_ms: float = 0.0


@dataclass
class DaemonUnreachable(Message):
    reason: str
    over_ssh: bool = False  # ssh itself failed (refused, unknown host), not the daemon


@dataclass
class StoreOpened(Message):
    """No daemon answers: a read-only client of the project's store is open instead."""

    client: DashboardClient
    down_since: float


@dataclass
class DaemonLost(Message):
    """A connection stopped answering; `client` says which (a late report of an old one is ignored)."""

    reason: str
    client: object = None


@dataclass
class DashboardLoaded(Message, bubble=False):
    """The first picture after connecting: status and the three lists."""

    status: Status
    deployments: list[DeploymentInfo]
    runs: list[FlowRunInfo]
    automations: list[AutomationInfo]


@dataclass
class StatusChanged(Message, bubble=False):
    status: Status


@dataclass
class RunsChanged(Message, bubble=False):
    runs: list[FlowRunInfo]


@dataclass
class RunsRemoved(Message, bubble=False):
    """Runs the daemon deleted from its store: id -> why ("withdrawn", "pruned")."""

    removed: dict[str, str]


@dataclass
class DeploymentsChanged(Message, bubble=False):
    deployments: list[DeploymentInfo]


@dataclass
class AutomationsChanged(Message, bubble=False):
    automations: list[AutomationInfo]


@dataclass
class ListsReloaded(Message, bubble=False):
    """Deployments or automations asked for again after an event said they changed (None: not asked)."""

    deployments: list[DeploymentInfo] | None
    automations: list[AutomationInfo] | None


@dataclass
class EventsArrived(Message, bubble=False):
    events: list[EventInfo]


@dataclass
class RunDetailLoaded(Message, bubble=False):
    detail: RunDetail
    logs: list[LogInfo]
    dask_dashboards: tuple[str, ...] = ()  # links to the Dask dashboards the run used


@dataclass
class SubflowLoaded(Message, bubble=False):
    """A subflow's child run, fetched when its stand-in row was expanded."""

    stand_in_id: str
    detail: RunDetail


@dataclass
class TaskRunsChanged(Message, bubble=False):
    task_runs: list[TaskRunInfo]
    edges: list[dict[str, str]] = field(default_factory=list)


@dataclass
class LogsArrived(Message, bubble=False):
    lines: list[LogInfo]


@dataclass
class ActionSucceeded(Message, bubble=False):
    """A verb (run, cancel, retry, pause, resume) the daemon accepted."""

    summary: str


@dataclass
class ActionFailed(Message, bubble=False):
    summary: str
    reason: str
