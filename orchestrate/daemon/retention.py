"""Event retention: events older than `[project] event_retention` leave the store.

On start, and then on a timer (hourly, or every retention/24 when that is
shorter), the loop puts an `EventPruning` into the daemon's one writer, so the
delete goes through the same queue and transaction as every other write. A
reload of flows.toml that changes the setting wakes the loop at once; between
prunes it sleeps, it never polls.
"""

from __future__ import annotations

import asyncio
import logging
from contextlib import suppress
from typing import TYPE_CHECKING

from orchestrate.core.durations import format_duration
from orchestrate.core.records import EventRecord
from orchestrate.store.batch import EventPruning

if TYPE_CHECKING:
    from datetime import timedelta

    from orchestrate.daemon.service import Daemon

log = logging.getLogger("orc.daemon")

#: The longest the loop sleeps between two prunes.
PRUNE_EVERY = 3600.0
#: What the daemon emits after applying an edit of flows.toml.
_RELOADED = "orc.config.reloaded"


def prune_interval(retention: float) -> float:
    """Seconds between prunes: hourly, or 1/24 of the window when that is shorter."""
    return min(PRUNE_EVERY, retention / 24)


class Retention:
    """Prunes the daemon's store of events older than the configured window."""

    def __init__(self, daemon: Daemon) -> None:
        self.daemon = daemon
        self.window = self._configured()
        self._wake = asyncio.Event()
        daemon.event_listeners.append(self._on_event)

    def _configured(self) -> timedelta:
        return self.daemon.table.config.project.event_retention

    def _on_event(self, event: EventRecord) -> None:
        if event.event == _RELOADED and self._configured() != self.window:
            self._wake.set()

    def prune(self) -> float:
        """Ask the writer to delete the events older than the window; returns the cut-off."""
        configured = self._configured()
        if configured != self.window:
            log.info("event retention is now %s", format_duration(configured))
            self.window = configured
        before = self.daemon.clock() - self.window.total_seconds()
        self.daemon.writer.put(EventPruning(before=before))
        return before

    async def run(self) -> None:
        """Prune now, then again each interval, or sooner when the setting changes."""
        log.info("events older than %s are deleted", format_duration(self.window))
        while not self.daemon.stopping:
            self.prune()
            self._wake.clear()
            with suppress(TimeoutError):
                await asyncio.wait_for(
                    self._wake.wait(), prune_interval(self.window.total_seconds())
                )
