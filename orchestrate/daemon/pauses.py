"""Paused and suspended flow runs: holding them, resuming them, failing them at their timeout.

A worker announces a pause with an `orc.flow-run.pause-requested` event (key,
timeout, input schema, whether it is a suspend) just before the Paused or
Suspended state. Resuming (`runs.resume`) checks the input against that schema
and records an `orc.flow-run.resume-requested` event; then a paused run's
worker is told to go on, and a suspended run (or a paused one whose worker is
gone, after `orc up` stopped) is Scheduled again as `Resuming` and runs from
the top, where each pause already resumed passes at once with its input.

Both events are records of the run, so they are in its journal and the store:
after a restart (`restore`) every paused run is held again, and one whose
timeout passed meanwhile fails then, as a timer fails it while the daemon runs.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from orchestrate.core.records import EventRecord, FlowRunRecord
from orchestrate.core.runs import new_id, transition
from orchestrate.core.states import State, StateType
from orchestrate.daemon import retries
from orchestrate.daemon.rpc_wire import RpcError
from orchestrate.daemon.run_input import problems
from orchestrate.engine.pauses import PAUSE_EVENT, RESUME_EVENT

if TYPE_CHECKING:
    from orchestrate.daemon.service import Daemon
    from orchestrate.store.queries import Store

log = logging.getLogger("orc.daemon")


@dataclass(slots=True)
class Pause:
    """One pause of a run, as its `pause-requested` event told it."""

    key: str
    expires: float | None
    reschedule: bool
    input_schema: dict[str, Any] | None

    @classmethod
    def from_payload(cls, payload: dict[str, Any]) -> Pause:
        expires = payload.get("expires")
        schema = payload.get("input_schema")
        return cls(
            key=str(payload.get("key")),
            expires=float(expires) if isinstance(expires, int | float) else None,
            reschedule=bool(payload.get("reschedule")),
            input_schema=schema if isinstance(schema, dict) else None,
        )


@dataclass(slots=True)
class RunPauses:
    """A run's current pause, and the pauses it was resumed from, with their input."""

    current: Pause | None = None
    resumed: dict[str, Any] = field(default_factory=dict)
    #: Attempts that were a resume running the flow again, not a retry.
    reruns: int = 0


class Pauses:
    """The daemon's paused runs; built with the daemon, so replayed journals reach it too."""

    def __init__(self, daemon: Daemon) -> None:
        self.daemon = daemon
        self.runs: dict[str, RunPauses] = {}
        self._timers: dict[str, asyncio.TimerHandle] = {}
        daemon.event_listeners.append(self.heard)

    # -- what the runs say ------------------------------------------------------------

    def heard(self, event: EventRecord) -> None:
        """Follow pause and resume events (a worker's, a journal's, the daemon's own)."""
        if event.event not in (PAUSE_EVENT, RESUME_EVENT):
            return
        run_id = event.resource.get("orc.resource.id", "").removeprefix("orc.flow-run.")
        pauses = self.runs.setdefault(run_id, RunPauses())
        if event.event == PAUSE_EVENT:
            pauses.current = Pause.from_payload(event.payload)
            self._arm(run_id, pauses.current)
        else:
            key = str(event.payload.get("key"))
            pauses.resumed[key] = {"run_input": event.payload.get("run_input")}
            if pauses.current is not None and pauses.current.key == key:
                pauses.current = None
                self._disarm(run_id)

    def reruns(self, run_id: str) -> int:
        """How many of `run_id`'s attempts were resumes: they do not spend its `retries`."""
        pauses = self.runs.get(run_id)
        return pauses.reruns if pauses else 0

    def forget(self, run_id: str) -> None:
        """The run is settled: nothing of its pauses is needed again."""
        self._disarm(run_id)
        self.runs.pop(run_id, None)

    def resumed(self, run_id: str) -> dict[str, Any]:
        """The pauses of `run_id` resumed so far, by key: its next worker passes them."""
        pauses = self.runs.get(run_id)
        return dict(pauses.resumed) if pauses else {}

    def restore(self, store: Store) -> None:
        """After a restart: hold again each paused run the store or its journal tells of."""
        for run in list(self.daemon.book.flow_runs.values()):
            if run.state.type is not StateType.PAUSED:
                continue
            rows = store.events("orc.flow-run.*-requested", f"orc.flow-run.{run.id}", limit=10_000)
            for row in sorted(rows, key=lambda r: r.occurred):
                self.heard(row.record())
            if self.runs.get(run.id, RunPauses()).current is None:
                retries.fail_for_good(
                    self.daemon, run, "This run was paused, but what it waits for was not kept."
                )

    # -- resuming ---------------------------------------------------------------------

    def worker_ended(self, run: FlowRunRecord) -> None:
        """A paused run's worker is gone. Resumed already (the notice came too late for it):
        run it again now. Else it waits for its resume (or its timeout) as a suspended run."""
        pauses = self.runs.get(run.id)
        if pauses is not None and pauses.current is None and pauses.resumed:
            self._run_again(run)

    def waiting_for(self, run_id: str) -> dict[str, Any]:
        """What the paused run `run_id` waits for (a `PauseInfo`), or refuse: it is not paused."""
        from orchestrate.client import protocol

        run = self.daemon.book.get(run_id)
        pause = self.runs.get(run_id, RunPauses()).current
        if run is None or run.state.type is not StateType.PAUSED or pause is None:
            raise _not_paused(run_id, run)
        info = protocol.PauseInfo(
            key=pause.key,
            input_schema=pause.input_schema,
            expires=pause.expires,
            suspended=pause.reschedule,
        )
        return info.model_dump()

    def resume(self, run_id: str, run_input: dict[str, Any] | None) -> FlowRunRecord:
        """Resume the paused run `run_id` with `run_input`, or refuse with why (an `RpcError`)."""
        from orchestrate.client import protocol

        run = self.daemon.book.get(run_id)
        pause = self.runs.get(run_id, RunPauses()).current
        if run is None or run.state.type is not StateType.PAUSED or pause is None:
            raise _not_paused(run_id, run)
        if self._expire_if_due(run, pause):
            raise RpcError(
                protocol.CONFLICT,
                f"Flow run {run_id}: its {_word(pause)} timed out, so it can no longer resume "
                "(it has ended Failed).",
                {"reason": "expired"},
            )
        self._check_input(run_id, pause, run_input)
        self.daemon.emit(self._resume_event(run, pause.key, run_input))
        handle = self.daemon.handles.get(run_id)
        if pause.reschedule or handle is None:
            self._run_again(run)
        else:
            handle.resume(pause.key, run_input)
        return run

    def _check_input(self, run_id: str, pause: Pause, run_input: dict[str, Any] | None) -> None:
        from orchestrate.client import protocol

        if pause.input_schema is None:
            if run_input:
                raise RpcError(
                    protocol.BAD_INPUT,
                    f"Flow run {run_id} waits for no input; resume it without --input.",
                )
            return
        found = problems(run_input or {}, pause.input_schema)
        if found:
            fields = ", ".join(pause.input_schema.get("properties", {})) or "none"
            raise RpcError(
                protocol.BAD_INPUT,
                f"Flow run {run_id}: the input does not fit {pause.input_schema.get('title')!r} "
                f"(fields: {fields}): {'; '.join(found)}. Give it as --input '{{...}}' or -i key=value.",
            )

    def _resume_event(self, run: FlowRunRecord, key: str, run_input: Any) -> EventRecord:
        resource = {"orc.resource.id": f"orc.flow-run.{run.id}", "orc.resource.name": run.name}
        payload = {"key": key, "run_input": run_input}
        return EventRecord(new_id(), self.daemon.clock(), RESUME_EVENT, resource, payload)

    def _run_again(self, run: FlowRunRecord) -> None:
        """A suspended run (or a paused one whose worker is gone) starts again from the top."""
        self.runs.setdefault(run.id, RunPauses()).reruns += 1
        run.expected_start_time = self.daemon.clock()
        run.end_time = None
        transition(
            run,
            State(StateType.SCHEDULED, "Resuming", message="Resumed; it runs again from the top."),
            self.daemon,
        )
        self.daemon.dispatch_again(run)

    # -- timeouts ---------------------------------------------------------------------

    def _arm(self, run_id: str, pause: Pause) -> None:
        self._disarm(run_id)
        if pause.expires is None:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return  # no loop (a test of the daemon's parts): `resume` still checks the time
        delay = max(0.0, pause.expires - self.daemon.clock())
        self._timers[run_id] = loop.call_later(delay, self._on_timer, run_id, pause.key)

    def _disarm(self, run_id: str) -> None:
        timer = self._timers.pop(run_id, None)
        if timer is not None:
            timer.cancel()

    def _on_timer(self, run_id: str, key: str) -> None:
        self._timers.pop(run_id, None)
        run = self.daemon.book.get(run_id)
        pause = self.runs.get(run_id, RunPauses()).current
        if run is not None and pause is not None and pause.key == key:
            self._expire_if_due(run, pause)

    def _expire_if_due(self, run: FlowRunRecord, pause: Pause) -> bool:
        """Fail a run paused past its timeout (as Prefect: Failed, never resumed); whether it was.

        A worker still waiting in `pause_flow_run` fails its run itself at the same
        time (`FlowPauseTimeout`), so its run is left to it."""
        if pause.expires is None or self.daemon.clock() < pause.expires:
            return False
        if run.state.type is StateType.PAUSED and run.id not in self.daemon.handles:
            message = f"The flow was {_word(pause)} and never resumed."
            log.info("flow run %s: %s", run.id[:8], message)
            retries.fail_for_good(self.daemon, run, message)
        self.runs.pop(run.id, None)
        return True


def _not_paused(run_id: str, run: FlowRunRecord | None) -> RpcError:
    from orchestrate.client import protocol

    state = "finished" if run is None else f"in state {run.state.name}"
    return RpcError(
        protocol.CONFLICT,
        f"Flow run {run_id} is {state}, not paused; only a paused run can be resumed.",
        {"reason": "not-paused"},
    )


def _word(pause: Pause) -> str:
    return "suspended" if pause.reschedule else "paused"


__all__ = ["Pause", "Pauses"]
