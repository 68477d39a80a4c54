"""The daemon's long-lived parts (watcher, scheduler, timers), each watched so none dies unseen.

A part that raises is logged with its traceback and started again after a
delay that doubles (never a tight loop). One that keeps failing — more than
`MAX_FAILURES` times within `WINDOW` seconds — stops the daemon with a
non-zero exit, so a service manager restarts it: never a daemon that answers
on its socket but no longer schedules.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from contextlib import suppress

from orchestrate.core.errors import DaemonError

log = logging.getLogger("orc.daemon")

MAX_FAILURES = 5
WINDOW = 300.0
FIRST_DELAY = 0.5
MAX_DELAY = 30.0


class DaemonFailed(DaemonError):
    """A part of `orc up` kept failing; the daemon stopped so that it can be restarted."""


class Supervised:
    """Runs each part as a task, restarting it when it raises; `stop` is set if one gives up."""

    def __init__(self, stop: asyncio.Event) -> None:
        self.stop = stop
        self.failed: str | None = None
        self._tasks: list[asyncio.Task[None]] = []

    def start(self, name: str, part: Callable[[], Awaitable[None]]) -> None:
        self._tasks.append(asyncio.create_task(self._keep(name, part), name=f"orc-{name}"))

    async def cancel(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _keep(self, name: str, part: Callable[[], Awaitable[None]]) -> None:
        failures: list[float] = []
        delay = FIRST_DELAY
        while not self.stop.is_set():
            try:
                await part()
                return  # it ended on its own: the daemon is stopping
            except asyncio.CancelledError:
                raise
            except Exception:
                now = time.monotonic()
                failures = [t for t in failures if now - t < WINDOW] + [now]
                log.exception(
                    "the daemon's %s failed (%d time(s) in %gs)", name, len(failures), WINDOW
                )
                if len(failures) > MAX_FAILURES:
                    self.failed = name
                    self.stop.set()
                    return
            log.warning("restarting the daemon's %s in %gs", name, delay)
            with suppress(TimeoutError):
                await asyncio.wait_for(self.stop.wait(), delay)
            delay = min(delay * 2, MAX_DELAY)


__all__ = ["DaemonFailed", "Supervised"]
