"""Pushing `status` and `deployment` to subscribers when they change, so no client polls them.

It listens to the daemon's own events: a flow run that changes state moves
the status (running, queued, next due); a pause, a resume or a flows.toml
edit moves the deployments and the status; a store that degrades or recovers
moves the status. Changes within `DELAY` of the first are pushed together, and
nothing is built while nobody subscribes to the topic.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from orchestrate.core.records import EventRecord

if TYPE_CHECKING:
    from orchestrate.daemon.handlers import Handlers
    from orchestrate.daemon.server import RpcServer

log = logging.getLogger("orc.daemon.server")

DELAY = 0.1  # seconds: a burst of run changes costs one status, and a person sees no lag
_STATUS_EVENTS = ("orc.flow-run.", "orc.deployment.", "orc.config.", "orc.store.")
_DEPLOYMENT_PREFIX = "orc.deployment."


class StatePush:
    """An event listener of the daemon that pushes the status and the deployments it changed."""

    def __init__(self, handlers: Handlers, server: RpcServer, delay: float = DELAY) -> None:
        self._handlers, self._server, self._delay = handlers, server, delay
        self._status_due = False
        self._deployments: set[str] = set()
        self._removed: set[str] = set()
        self._known = {spec.name for spec in handlers.daemon.table}
        self._task: asyncio.Task[None] | None = None

    def __call__(self, event: EventRecord) -> None:
        """Called for every event the daemon raises or a worker reports (on the loop)."""
        name = event.event
        if not name.startswith(_STATUS_EVENTS):
            return
        self._status_due = self._status_due or self._server.listening("status")
        if name.startswith(_DEPLOYMENT_PREFIX) or name == "orc.config.reloaded":
            self._deployments_changed(event)
        if (self._status_due or self._deployments or self._removed) and self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._push_soon())

    def _deployments_changed(self, event: EventRecord) -> None:
        """Note the deployments an event is about (every one, and the ones gone, for a reload)."""
        listening = self._server.listening("deployment")
        if event.event == "orc.config.reloaded":
            current = {spec.name for spec in self._handlers.daemon.table}
            if listening:
                self._deployments |= current
                self._removed |= self._known - current
            self._known = current
        elif listening:
            resource = event.resource.get("orc.resource.id", "")
            self._deployments.add(resource.removeprefix(_DEPLOYMENT_PREFIX))

    async def _push_soon(self) -> None:
        try:
            await asyncio.sleep(self._delay)  # the rest of the burst joins this push
            status_due, names, removed = self._status_due, self._deployments, self._removed
            self._status_due, self._deployments, self._removed = False, set(), set()
            if names or removed:
                await self._push_deployments(names - removed, removed)
            if status_due:
                self._server.publish("status", await self._handlers.status({}, None))
        except Exception:  # a push that fails must not stop the next one
            log.exception("pushing the status or deployments failed")
        finally:
            self._task = None

    async def _push_deployments(self, names: set[str], removed: set[str]) -> None:
        if names:  # one read of the store's recent runs serves them all
            for info in await self._handlers.deployments({}, None):
                if info["name"] in names:
                    self._server.publish("deployment", info)
        for name in sorted(removed):
            self._server.publish("deployment", {"name": name, "entrypoint": "", "removed": True})

    def close(self) -> None:
        """Drop a push still waiting (the daemon is stopping)."""
        if self._task is not None:
            self._task.cancel()
