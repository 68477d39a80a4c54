"""Pushing `status` and `deployment` to subscribers when they change, so no client polls them.

It listens to the daemon's own events: a flow run that changes state moves
the status (running, queued, next due) and its deployment (running count,
next run, last outcomes); a pause, a resume or a flows.toml edit moves the
deployments and the status; a store that degrades or recovers moves the
status, and so do runs held for a journal the disk refused, or let go,
though no event says so (`status_changed`). Changes within `DELAY` of the
first are pushed together, and nothing is built while nobody subscribes to
the topic. The deployments a burst of runs moved wait `RUN_DELAY`, so a
daemon running a hundred runs a second reads their recent runs from the
store a few times a second, not a hundred.
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
#: seconds the deployments moved by runs wait for the rest of the burst (one store read for all)
RUN_DELAY = 0.3
_STATUS_EVENTS = ("orc.flow-run.", "orc.deployment.", "orc.config.", "orc.store.")
_DEPLOYMENT_PREFIX = "orc.deployment."
_RUN_PREFIX = "orc.flow-run."


class StatePush:
    """An event listener of the daemon that pushes the status and the deployments it changed."""

    def __init__(
        self,
        handlers: Handlers,
        server: RpcServer,
        delay: float = DELAY,
        run_delay: float = RUN_DELAY,
    ) -> None:
        self._handlers, self._server = handlers, server
        self._delay, self._run_delay = delay, run_delay
        self._status_due = False
        self._deployments: set[str] = set()
        self._removed: set[str] = set()
        self._ran: set[str] = set()  # deployments whose runs changed state
        self._known = {spec.name for spec in handlers.daemon.table}
        self._task: asyncio.Task[None] | None = None
        self._runs_task: asyncio.Task[None] | None = None

    def __call__(self, event: EventRecord) -> None:
        """Called for every event the daemon raises or a worker reports (on the loop)."""
        name = event.event
        if not name.startswith(_STATUS_EVENTS):
            return
        self._status_due = self._status_due or self._server.listening("status")
        if name.startswith(_RUN_PREFIX):
            self._run_changed(event)
        elif name.startswith(_DEPLOYMENT_PREFIX) or name == "orc.config.reloaded":
            self._deployments_changed(event)
        self._push_if_due()

    def status_changed(self) -> None:
        """The daemon's condition moved without an event (runs held for a journal): push the status."""
        self._status_due = self._status_due or self._server.listening("status")
        self._push_if_due()

    def _push_if_due(self) -> None:
        if (self._status_due or self._deployments or self._removed) and self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._push_soon())

    def _run_changed(self, event: EventRecord) -> None:
        """Note the deployment of a flow run that changed state, for a push after `RUN_DELAY`."""
        for related in event.related:
            if related.get("orc.resource.role") == "deployment":
                if self._server.listening("deployment"):
                    self._ran.add(related.get("orc.resource.name", ""))
                    if self._runs_task is None:
                        loop = asyncio.get_running_loop()
                        self._runs_task = loop.create_task(self._push_ran_soon())
                return

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
        if self._status_due or self._deployments or self._removed:  # came during the reads
            self._task = asyncio.get_running_loop().create_task(self._push_soon())

    async def _push_ran_soon(self) -> None:
        try:
            await asyncio.sleep(self._run_delay)  # the rest of the burst joins this push
            names, self._ran = self._ran, set()
            await self._push_deployments(names, set())
        except Exception:  # a push that fails must not stop the next one
            log.exception("pushing the deployments of changed runs failed")
        finally:
            self._runs_task = None
        if self._ran:  # changed during the store's read: their push is the next one
            self._runs_task = asyncio.get_running_loop().create_task(self._push_ran_soon())

    async def _push_deployments(self, names: set[str], removed: set[str]) -> None:
        if names:  # one read of the store's recent runs serves them all
            for info in await self._handlers.deployments_named(names):
                self._server.publish("deployment", info)
        for name in sorted(removed):
            self._server.publish("deployment", {"name": name, "entrypoint": "", "removed": True})

    def close(self) -> None:
        """Drop a push still waiting (the daemon is stopping)."""
        for task in (self._task, self._runs_task):
            if task is not None:
                task.cancel()
