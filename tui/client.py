"""What the dashboard needs from the daemon, and how it connects to one.

`DashboardClient` is the part of `orchestrate.client.AsyncClient` the TUI
calls; writing it down lets the tests hand the app a client that serves fixed
data (for snapshots) and keeps the app honest about what it uses.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from orchestrate.errors import OrcError
from orchestrate.protocol import (
    AutomationInfo,
    DeploymentDetail,
    DeploymentInfo,
    EventInfo,
    FlowRunInfo,
    Hello,
    LogInfo,
    Notification,
    RunDetail,
    Status,
    Topic,
)


class DashboardClient(Protocol):
    """The daemon's API as the dashboard uses it (a subset of `AsyncClient`)."""

    async def hello(self) -> Hello: ...
    async def status(self) -> Status: ...
    async def deployments(self) -> list[DeploymentInfo]: ...
    async def deployment(self, name: str) -> DeploymentDetail: ...
    async def pause_deployment(self, name: str) -> Any: ...
    async def resume_deployment(self, name: str) -> Any: ...
    async def runs(
        self,
        limit: int = 50,
        state: str | None = None,
        deployment: str | None = None,
        since: float | None = None,
    ) -> list[FlowRunInfo]: ...
    async def run(self, id: str) -> RunDetail: ...
    async def logs(
        self,
        id: str,
        after: float | None = None,
        limit: int | None = None,
        level: int | None = None,
    ) -> list[LogInfo]: ...
    async def create_run(
        self, deployment: str, parameters: dict[str, Any] | None = None
    ) -> FlowRunInfo: ...
    async def cancel_run(self, id: str) -> Any: ...
    async def retry_run(self, id: str) -> Any: ...
    async def events(
        self,
        name: str | None = None,
        resource: str | None = None,
        since: float | None = None,
        limit: int = 100,
    ) -> list[EventInfo]: ...
    async def automations(self) -> list[AutomationInfo]: ...
    async def pause_automation(self, name: str) -> Any: ...
    async def resume_automation(self, name: str) -> Any: ...
    def subscribe(
        self, topics: Sequence[Topic], flow_run_id: str | None = None, event: str | None = None
    ) -> AsyncIterator[Notification]: ...
    async def close(self) -> None: ...


Connector = Callable[[], Awaitable[DashboardClient]]


@dataclass(frozen=True)
class Target:
    """Which daemon to reach: a local project folder, or a host reached over ssh."""

    project: Path | None = None
    host: str | None = None

    @property
    def label(self) -> str:
        """How the header and the no-daemon screen name it."""
        if self.host:
            return self.host
        return str(self.project) if self.project else "this project"


def daemon_connector(target: Target, timeout: float = 5.0) -> Connector:
    """A connector that opens `orchestrate.client.AsyncClient` on `target`."""

    async def connect() -> DashboardClient:
        try:
            from orchestrate.client import AsyncClient
        except ImportError as error:  # an orc without the daemon client
            raise OrcError("this orc has no daemon client; upgrade orc") from error
        client: DashboardClient = await AsyncClient.connect(
            target.project, host=target.host, timeout=timeout
        )
        return client

    return connect


#: What a failed connection or request can raise: orc's own errors and socket trouble.
CLIENT_ERRORS: tuple[type[BaseException], ...] = (OrcError, OSError, EOFError, TimeoutError)


def describe(error: BaseException) -> str:
    """A one-line message for a notification."""
    text = str(error).strip() or type(error).__name__
    return text.splitlines()[0] if len(text) > 300 else text
