"""How the dashboard connects to a daemon, and what it says when it cannot."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

from orchestrate.client import AsyncClient
from orchestrate.client.aio import connect_store
from orchestrate.core.errors import OrcError

#: The daemon's API as the dashboard uses it: the one async client, whose calls are declared
#: once in `orchestrate.client.calls`. Tests hand the app an object with the same methods.
DashboardClient = AsyncClient


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
        return await AsyncClient.connect(target.project, host=target.host, timeout=timeout)

    return connect


def store_connector(target: Target) -> Connector:
    """A connector to the project's store, read-only, through `orc store-stdio` (no daemon runs).

    The dashboard speaks the same protocol to it and never opens DuckDB itself.
    For a host, the command runs there, over the same ssh as the daemon's pipe.
    """

    async def connect() -> DashboardClient:
        return await connect_store(target.project, host=target.host)

    return connect


#: What a failed connection or request can raise: orc's own errors and socket trouble.
CLIENT_ERRORS: tuple[type[BaseException], ...] = (OrcError, OSError, EOFError, TimeoutError)


def describe(error: BaseException) -> str:
    """A one-line message for a notification."""
    text = str(error).strip() or type(error).__name__
    return text.splitlines()[0] if len(text) > 300 else text
