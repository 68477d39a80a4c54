"""Automations inside the daemon: every event goes to the engine, firings become actions.

The engine is pure (`orchestrate.automations`); this module is its edge. It
listens to the daemon's event stream, records `orc.automation.triggered`, runs
each firing's actions as their own task (a webhook retrying must not hold up
the loop), sleeps on a timer until the next proactive deadline, and is the
`ActionContext` through which actions reach deployments and runs. With a state
file, what the engine remembers (pauses, counts, windows, deadlines) outlives
a restart: restored on start, saved after changes and on shutdown.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from contextlib import suppress
from pathlib import Path
from typing import TYPE_CHECKING, Any

from orchestrate.automations import AutomationEngine, Firing, carry_out, cut_short, triggered_event
from orchestrate.automations.outcomes import EXECUTED, FAILED, TRIGGERED, cut_off_outcome
from orchestrate.automations.statefile import StateKeeper
from orchestrate.automations.webhook import Webhooks
from orchestrate.client import protocol
from orchestrate.client.protocol import Method
from orchestrate.core.errors import ActionFailed, AutomationError
from orchestrate.core.records import EventRecord
from orchestrate.core.runs import transition
from orchestrate.core.states import STATE_NAMES, State
from orchestrate.daemon.rpc_wire import RpcError
from orchestrate.daemon.signature import parameter_schema, validate_parameters

if TYPE_CHECKING:
    from orchestrate.daemon.service import Daemon
    from orchestrate.store.queries import Store

log = logging.getLogger("orc.daemon")

#: How many of the latest firings a start looks at for actions a kill cut off.
TRIGGERED_LOOK_BACK = 1000


class Automations:
    """The daemon's automations: engine, timer, actions and their socket methods."""

    def __init__(self, daemon: Daemon, specs: Any, state_file: Path | None = None) -> None:
        self.daemon = daemon
        self.engine = AutomationEngine(specs, clock=daemon.clock)
        self.state: StateKeeper | None = None
        if state_file is not None:
            self.state = StateKeeper(self.engine, state_file, log=log)
            self.state.restore()
        self._wake = asyncio.Event()
        self._tasks: set[asyncio.Task[Any]] = set()
        self._schemas: dict[str, tuple[float, dict[str, Any] | None]] = {}
        self._webhooks = Webhooks()  # one pool and one in-flight cap for every firing
        daemon.event_listeners.append(self.on_event)
        daemon.extra_handlers.update(self.handlers())

    def __len__(self) -> int:
        return len(self.engine.names)

    # -- events in, firings out ----------------------------------------------------

    def on_event(self, event: EventRecord) -> None:
        revision = self.engine.revision
        for firing in self.engine.on_event(event):
            self._fire(firing)
        if self.engine.revision == revision:
            return  # no automation looks at it: no window opened, nothing new to save
        self._wake.set()  # it may have opened a proactive window
        if self.state is not None:
            self.state.changed()

    def _changed(self, *, soon: bool = False) -> None:
        if self.state is not None:
            self.state.changed(soon=soon)

    def _fire(self, firing: Firing) -> None:
        spec = self.engine.spec(firing.automation)
        self.daemon.emit(triggered_event(firing, spec))
        log.info("automation %s fired", firing.automation)
        task = asyncio.get_running_loop().create_task(self._act(firing, spec))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _act(self, firing: Firing, spec: Any) -> None:
        done, begun = 0, False
        try:
            # A kill after an action began must neither undo the firing (its counts) nor
            # lose it: the next start tells each action it cut off from the stored firing.
            saves = [self._stored()] + ([self.state.saved()] if self.state is not None else [])
            await asyncio.gather(*saves)
            begun = True
            actions = carry_out(
                firing, spec, self, clock=self.daemon.clock, webhooks=self._webhooks
            )
            async for outcome in actions:  # a failed action was logged where it failed
                self.daemon.emit(outcome)
                done += 1
        except asyncio.CancelledError:  # a stop outlasted its grace: say what was cut short
            for outcome in cut_short(firing, spec, done, begun=begun, at=self.daemon.clock()):
                self.daemon.emit(outcome)
            log.warning("automation %s: orc up stopped before its actions ended", firing.automation)
            raise
        except Exception:
            log.exception("automation %s: actions failed unexpectedly", firing.automation)

    def account_for_cut_off(self, store: Store) -> None:
        """On start: each action a kill of `orc up` cut off gets an outcome saying so.

        A firing's event is stored before its actions begin, and each action's outcome when
        it ends, so a firing with fewer outcomes than actions was cut off. Only the latest
        firings are looked at: every start accounts for those before it.
        """
        found = store.unanswered(
            TRIGGERED, (EXECUTED, FAILED), "firing_id", "actions", TRIGGERED_LOOK_BACK
        )
        for row, told in found:
            triggered = row.record()
            missing = [i for i in range(len(triggered.payload["actions"])) if i not in told]
            log.warning(
                "automation %s: a kill of orc up cut off %d action(s) of its firing %s; "
                "recorded as failed, not run again",
                triggered.resource.get("orc.resource.name", "?"),
                len(missing),
                triggered.payload["firing_id"],
            )
            for index in missing:
                self.daemon.emit(cut_off_outcome(triggered, index, self.daemon.clock()))

    async def _stored(self) -> None:
        """Return once the store has every record put before (the firing's own event)."""
        loop = asyncio.get_running_loop()
        stored: asyncio.Future[None] = loop.create_future()

        def settle() -> None:
            if not stored.done():
                stored.set_result(None)

        self.daemon.writer.when_stored(lambda: loop.call_soon_threadsafe(settle), hurry=True)
        await stored

    async def watch_deadlines(self) -> None:
        """Fire proactive triggers when their deadline passes: a timer, never a poll."""
        while not self.daemon.stopping:
            deadline = self.engine.next_deadline()
            timeout = None if deadline is None else max(0.0, deadline - self.daemon.clock())
            self._wake.clear()
            with suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout)
            for firing in self.engine.due(self.daemon.clock()):
                self._fire(firing)
            self._changed()

    def reload(self, specs: Any) -> None:
        result = self.engine.reload(specs)
        self._wake.set()
        self._changed(soon=True)
        log.info("automations reloaded: %s", result.words())

    async def close(self, grace: float | None = None) -> None:
        """Let running actions finish (within `grace` seconds, then they are ended and their
        outcomes say so), then save what the engine remembers."""
        if self._tasks:
            running = list(self._tasks)
            _, late = await asyncio.wait(running, timeout=grace)
            for task in late:
                task.cancel()
            await asyncio.gather(*running, return_exceptions=True)
        await self._webhooks.close()
        if self.state is not None:
            await self.state.close()

    # -- ActionContext: what actions may do ----------------------------------------

    async def run_deployment(
        self, name: str, parameters: dict[str, Any], caused_by: Sequence[str] = ()
    ) -> str:
        """A run of `name`, unless the rendered parameters do not fit its flow (then no run)."""
        spec = self.daemon.table.get(name)
        problems = validate_parameters(
            self._schema(spec.entrypoint), {**spec.parameters, **parameters}
        )
        if problems:
            raise ActionFailed(
                f"run-deployment {name!r}: the parameters do not fit flow {spec.entrypoint} "
                f"({'; '.join(problems)}), so no run was created; fix the action's parameters "
                "or the values the event carries",
                {"deployment": name, "parameters": parameters},
            )
        return self.daemon.create_manual(name, parameters, caused_by).id

    def _schema(self, entrypoint: str) -> dict[str, Any] | None:
        """The flow's parameter schema read from its source (`ast`, never imported); cached by mtime."""
        file, _, function = entrypoint.rpartition(":")
        path = self.daemon.root / file
        try:
            mtime = path.stat().st_mtime
        except OSError:
            return None  # the worker reports a missing entrypoint
        cached = self._schemas.get(entrypoint)
        if cached is None or cached[0] != mtime:
            cached = (mtime, parameter_schema(path, function))
            self._schemas[entrypoint] = cached
        return cached[1]

    async def pause_deployment(self, name: str) -> None:
        self.daemon.set_paused(name, True)

    async def resume_deployment(self, name: str) -> None:
        self.daemon.set_paused(name, False)

    async def cancel_flow_run(self, flow_run_id: str) -> None:
        run = self.daemon.book.get(flow_run_id)
        if run is None:
            raise AutomationError(f"flow run {flow_run_id} is not running or scheduled")
        await self.daemon.cancel(run)

    async def set_flow_run_state(self, flow_run_id: str, name: str, message: str | None) -> None:
        run = self.daemon.book.get(flow_run_id)
        if run is None:
            raise AutomationError(f"flow run {flow_run_id} is not running or scheduled")
        transition(run, State(STATE_NAMES[name], name, message=message), self.daemon)
        daemon = self.daemon
        if run.state.is_final() and run.id not in daemon.handles and run.id not in daemon.starting:
            daemon.remember(run)
            daemon.settled(run)  # no worker will: the run is done with

    async def pause_automation(self, name: str) -> None:
        self.engine.pause(name)
        self._changed(soon=True)

    async def resume_automation(self, name: str) -> None:
        self.engine.resume(name)
        self._changed(soon=True)

    async def emit(self, event: EventRecord) -> None:
        self.daemon.emit(event)

    # -- socket methods ------------------------------------------------------------

    def handlers(self) -> dict[str, Any]:
        return {
            Method.AUTOMATIONS_LIST: self._list,
            Method.AUTOMATIONS_GET: lambda p, c: self._call(self.engine.describe, p),
            Method.AUTOMATIONS_PAUSE: lambda p, c: self._call(self.engine.pause, p),
            Method.AUTOMATIONS_RESUME: lambda p, c: self._call(self.engine.resume, p),
        }

    async def _list(self, params: dict[str, Any], conn: Any) -> list[dict[str, Any]]:
        return [info.model_dump() for info in self.engine.describe_all()]

    async def _call(self, method: Any, params: dict[str, Any]) -> dict[str, Any]:
        try:
            info = method(str(params.get("name", "")))
        except AutomationError as exc:
            raise RpcError(protocol.NOT_FOUND, str(exc)) from None
        self._changed(soon=True)
        self.daemon.publish("automation", info.model_dump())
        return info.model_dump()
