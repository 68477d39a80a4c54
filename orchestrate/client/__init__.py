"""The one client of the orc daemon, for the CLI, the TUI and workers.

It speaks `orchestrate.client.protocol` (newline-delimited JSON-RPC 2.0) over the
project's socket `.orc/orc.sock`, or over `ssh host orc dial-stdio` for a
daemon on another machine. `Client` blocks and loads no event loop, so a
short command stays quick; `AsyncClient` (loaded on first use) multiplexes
requests and subscriptions on one connection for the TUI.

    with connect() as client:
        print(client.status().running)

    client = await AsyncClient.connect(host="ssh://me@box/srv/etl")
    async for change in client.subscribe(["flow_run"]):
        ...
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from orchestrate.core.errors import (
    BadInput,
    ClientError,
    Conflict,
    ConnectionLost,
    DaemonNotRunning,
    DaemonTimeout,
    NotFound,
    ProtocolMismatch,
    RemoteError,
    SshError,
)

if TYPE_CHECKING:
    from orchestrate.client.aio import AsyncClient, AsyncSubscription
    from orchestrate.client.sync import Client, Subscription, connect

__all__ = [
    "AsyncClient",
    "AsyncSubscription",
    "BadInput",
    "Client",
    "ClientError",
    "Conflict",
    "ConnectionLost",
    "DaemonNotRunning",
    "DaemonTimeout",
    "NotFound",
    "ProtocolMismatch",
    "RemoteError",
    "SshError",
    "Subscription",
    "connect",
]


_LAZY = {
    "AsyncClient": "orchestrate.client.aio",
    "AsyncSubscription": "orchestrate.client.aio",
    "Client": "orchestrate.client.sync",
    "Subscription": "orchestrate.client.sync",
    "connect": "orchestrate.client.sync",
}


def __getattr__(name: str) -> Any:
    """Load a client on first use: `orc dial-stdio` and the daemon use only the socket
    helpers here (no pydantic), and a blocking command has no use for asyncio."""
    if name not in _LAZY:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(_LAZY[name]), name)
    globals()[name] = value
    return value
