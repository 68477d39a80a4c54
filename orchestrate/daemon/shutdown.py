"""The `shutdown` method: `orc down` asks the daemon to stop as SIGTERM would.

The daemon answers first (its pid and grace, so the caller knows how long to
wait), then the same stop event the signals set ends its main loop: no new
runs, running ones get the grace, the rest are recorded as stopped.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Awaitable, Callable
from typing import Any

from orchestrate.client.protocol import Method

log = logging.getLogger("orc.daemon")


def shutdown_handlers(
    stop: asyncio.Event, grace: float
) -> dict[str, Callable[[dict[str, Any], Any], Awaitable[Any]]]:
    """The `shutdown` handler, setting `stop` once the answer is on its way."""

    async def shutdown(params: dict[str, Any], conn: Any) -> dict[str, Any]:
        log.info("stop asked for over the socket (orc down)")
        asyncio.get_running_loop().call_soon(stop.set)
        return {"pid": os.getpid(), "grace": grace}

    return {Method.SHUTDOWN: shutdown}
