"""The daemon's one asyncio loop: plan schedules, start due runs, supervise workers, record.

Everything that changes a run goes through `put` (store + subscribers +
events), so the socket, the store and the run book never disagree. The loop
sleeps on a timer until the next due time, or until something wakes it (a
worker exit, a new run, a config reload): no polling.

The `Daemon` holds the state and decides when; each policy lives in its own
module and is handed the daemon: `recorder` (where records go), `slots`
(schedule slots made into runs), `attempts` (starting and supervising a
worker), `retries` (settling an attempt's end), `reconfigure` (pause, resume,
reload) and `status` (the daemon's own condition).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from collections.abc import Callable, Coroutine, Iterable, Iterator, Sequence
from contextlib import contextmanager, suppress
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from orchestrate.core.errors import DaemonError
from orchestrate.core.names import random_name
from orchestrate.core.records import EventRecord, FlowRunRecord, Record
from orchestrate.core.runs import new_id, transition
from orchestrate.core.states import State, StateType
from orchestrate.daemon import (
    attempts,
    backfill,
    planner,
    reconfigure,
    recorder,
    retries,
    slots,
    status,
    views,
)
from orchestrate.daemon.book import RunBook
from orchestrate.daemon.deployments import DeploymentTable
from orchestrate.daemon.dispatch import Decision, decide
from orchestrate.daemon.outcome import Outcome
from orchestrate.daemon.pauses import Pauses
from orchestrate.daemon.removals import Removals
from orchestrate.daemon.run_files import RunFiles
from orchestrate.daemon.signature import flow_name
from orchestrate.daemon.watch import Signature
from orchestrate.store.batch import RunDeletion, SlotRecord, StoredTogether
from orchestrate.worker import start_trace

log = logging.getLogger("orc.daemon")

#: How long a stopping daemon lets running flow runs finish before it stops them.
SHUTDOWN_GRACE = 10.0


class Daemon:
    """Schedules, dispatches and supervises the flow runs of one project."""

    def __init__(
        self,
        root: Path,
        deployments: DeploymentTable,
        writer: Any,
        supervisor_factory: Callable[[Callable[[list[Record]], None]], Any],
        *,
        clock: Callable[[], float] = time.time,
        publish: Callable[..., object] | None = None,
    ) -> None:
        self.root = root
        self.table = deployments
        self.writer = writer
        self.clock = clock
        self.publish = publish or (lambda *a, **k: None)
        self.book = RunBook()
        self.handles: dict[str, Any] = {}
        #: runs whose worker is being started: their handle, or None if none started, to come
        self.starting: dict[str, Outcome[Any]] = {}
        #: Runs whose cancel was asked for: however their worker ends, they are not retried.
        self.cancel_asked: set[str] = set()
        #: The automations whose actions made a run, by run id: its events name them, and an
        #: automation never reacts to an event naming it (`automations.engine.causal_chain`).
        self.caused_by: dict[str, tuple[str, ...]] = {}
        #: The `Failed`/`Crashed` event of an attempt that may yet be retried, by run id:
        #: emitted when the run settles, dropped when it is retried (see `daemon.retries`).
        self.held_failures: dict[str, EventRecord] = {}
        self.slot_keys: set[str] = set()
        #: when `slots.forget_old` last let old keys go
        self.keys_forgotten_at = 0.0
        self.last_slot: dict[tuple[str, str], float] = {}
        #: the schedule each slot-made run came from (run id -> schedule id)
        self.slot_of: dict[str, str] = {}
        #: the slot each slot-made run of this daemon's life came from: (key, schedule id, time)
        self.slot_detail: dict[str, tuple[str, str, float]] = {}
        #: slots skipped by a collision strategy, per deployment, since this daemon started
        self.skipped: Counter[str] = Counter()
        self.supervisor = supervisor_factory(self.put_many)
        self.started_at = clock()
        self.stopping = False
        self.config_error: str | None = None
        #: The file this daemon logs to (`orc up --detach`), None when it logs to stderr only.
        self.log_file: Path | None = None
        #: The signature of flows.toml as last read (`watch.signature`), kept across restarts
        #: of the watcher so that one does not read an unchanged file again.
        self.config_seen: Signature | None = None
        self.event_listeners: list[Callable[[EventRecord], None]] = []
        #: socket methods added by parts plugged in later (automations)
        self.extra_handlers: dict[str, Any] = {}
        self.automations: Any = None
        #: runs that just finished, so their final state still gets its event and retry
        self._recent: dict[str, FlowRunRecord] = {}
        #: records kept back by `stored_together`, for the writer as one group
        self.held: list[Any] | None = None
        self._wake = asyncio.Event()
        #: held while a tick dispatches: `stop()` waits for a start under way to have its worker
        self._dispatching = asyncio.Lock()
        self._tasks: set[asyncio.Task[Any]] = set()
        #: one pid file per running worker, so the next orc up can stop what this one left
        self.workers_dir = root / ".orc" / "workers"
        self.workers_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        #: each attempt's journal, from dispatch until the store has all of it
        self.journals_dir = root / ".orc" / "runs"
        #: no run starts before this (a journal the disk refused), and why
        self.starts_held_until = 0.0
        self.starts_held_because: str | None = None
        self.journals_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        #: those files written and removed off the loop (see `daemon.run_files`)
        self.run_files = RunFiles(
            self.workers_dir,
            self.journals_dir,
            self._stored_for_journals,
            self.background,
        )
        #: how the processes of a run are found and stopped (see `daemon.scope`)
        self.scopes: Any = None
        #: opens the store again after DuckDB invalidated it (set by `orc up`)
        self.reopen_store: Callable[[], None] | None = None
        #: pushes the status to subscribers after a change no event announces (set by `orc up`)
        self.status_moved: Callable[[], None] | None = None
        #: runs paused in `pause_flow_run` or `suspend_flow_run` (see `daemon.pauses`)
        self.pauses = Pauses(self)
        #: runs deleted from the store, pushed to subscribers once written (see `daemon.removals`)
        self.removals = Removals(self)

    # -- recording ---------------------------------------------------------------

    def put(self, record: Record | SlotRecord | RunDeletion) -> None:
        """The engine's sink interface: the daemon's own transitions come through here too."""
        self.put_many([record])  # type: ignore[list-item]

    def put_many(self, records: list[Record]) -> None:
        """Store, remember and publish a batch of records (see `recorder.record_batch`)."""
        recorder.record_batch(self, records)

    def emit(self, event: EventRecord) -> None:
        """Store and publish an event the daemon raises itself."""
        recorder.emit(self, event)

    def known_run(self, run_id: str) -> FlowRunRecord | None:
        """A live run, or one that finished lately (its final state may still need handling)."""
        return self.book.get(run_id) or self._recent.get(run_id)

    def remember(self, run: FlowRunRecord) -> None:
        """Keep a finished run at hand for a while (see `known_run`)."""
        self._recent[run.id] = run
        if len(self._recent) > 1000:
            self._recent.pop(next(iter(self._recent)))

    # -- creating runs -----------------------------------------------------------

    def new_run(
        self,
        deployment: str,
        parameters: dict[str, Any] | None = None,
        *,
        at: float | None = None,
        slot: planner.Slot | None = None,
        tags: tuple[str, ...] = (),
        caused_by: tuple[str, ...] = (),
    ) -> FlowRunRecord:
        """A Scheduled flow run of `deployment`, due at `at` (now by default); `caused_by`
        names the automations that made it (`create_manual`)."""
        spec = self.table.get(deployment)
        now = self.clock()
        run = FlowRunRecord(
            id=new_id(),
            name=random_name(),
            flow_name=_flow_name(self.root, spec.entrypoint),
            parameters={
                **spec.parameters,
                **(slot.parameters if slot else {}),
                **(parameters or {}),
            },
            state=State(StateType.SCHEDULED, "Scheduled", timestamp=now),
            created=now,
            tags=(*spec.tags, *tags),
            deployment=deployment,
            entrypoint=spec.entrypoint,
            expected_start_time=slot.time.timestamp() if slot else (at or now),
        )
        if caused_by:
            self.caused_by[run.id] = caused_by  # before its first event, which names them
        with self.stored_together():  # a run stored without its slot would be made again
            transition(run, run.state, self, initial=True)
            if slot is not None:
                slots.claim(self, run, slot, now)
        self.wake()
        return run

    @contextmanager
    def stored_together(self) -> Iterator[None]:
        """The records put inside reach the writer as one group, stored in one transaction."""
        held: list[Any] = []
        self.held = held
        try:
            yield
        finally:
            self.held = None
            if held:
                self.writer.put(StoredTogether(tuple(held)))

    def plan(self, names: Iterable[str] | None = None) -> int:
        """Materialise each deployment's upcoming slots that do not exist yet."""
        slots.forget_old(self, self.clock())
        now = datetime.fromtimestamp(self.clock(), UTC)
        made = 0
        for spec in self.table.active(names):
            for slot in planner.upcoming(spec, now):
                if slot.key not in self.slot_keys:
                    self.new_run(spec.name, slot=slot)
                    made += 1
        return made

    # -- the loop ----------------------------------------------------------------

    def wake(self) -> None:
        self._wake.set()

    async def serve(self) -> None:
        """Run until `stop()`: dispatch what is due, then sleep until the next due time."""
        while not self.stopping:
            self._wake.clear()  # before the round: a wake that comes during it is kept
            timeout = await self.tick()
            with suppress(TimeoutError):
                async with asyncio.timeout(timeout):  # not wait_for: no task of its own a wake-up
                    await self._wake.wait()

    async def tick(self) -> float | None:
        """One round of dispatching; returns how long to sleep (None: until woken)."""
        async with self._dispatching:
            return await self._tick()

    def _stored_for_journals(self, timeout: float) -> bool:
        """Whether the store holds all records given so far, so journals may go. A degraded
        store is not waited for: they stay for the next orc up to replay, and a stop on a
        full disk does not wait a minute for each batch of them."""
        health = getattr(self.writer, "health", None)
        if health is not None and health.degraded is not None:
            return False
        return bool(self.writer.flush(timeout, hurry=False))

    def hold_starts(self, reason: str) -> None:
        """Start no run for `attempts.JOURNAL_RETRY` seconds, saying why once per spell."""
        first = self.starts_held_because is None
        if first:
            log.error("%s", reason)
        self.starts_held_because = reason
        self.starts_held_until = self.clock() + attempts.JOURNAL_RETRY
        if first:
            self._status_moved()

    def release_starts(self) -> None:
        """A journal was written: runs start again (said once, after a hold)."""
        if self.starts_held_because is not None:
            log.warning("run journals can be written again; runs start again")
            self.starts_held_because = None
            self._status_moved()

    def _status_moved(self) -> None:
        """Runs held or let go raise no event, so the dashboard hears of it through the status."""
        if self.status_moved is not None:
            self.status_moved()

    async def _tick(self) -> float | None:
        now = self.clock()
        if now < self.starts_held_until:  # the disk refused a journal (see `hold_starts`)
            return self.starts_held_until - now
        due = [r for r in self.book.scheduled() if self._dispatchable(r, now)]
        running = [self.book.get(i) for i in self.handles]
        decision = decide(due, [r for r in running if r], self.table.limits(), now)
        consumed = await self._apply(decision)
        if consumed:
            self.plan(consumed)
        return self._sleep_for(now)

    def _dispatchable(self, run: FlowRunRecord, now: float) -> bool:
        return (run.due_time() or 0.0) <= now and self._may_start(run)

    def _may_start(self, run: FlowRunRecord) -> bool:
        """Would the run start once due? A pause holds scheduled runs, not retries or manual ones."""
        if run.id in self.handles or run.deployment not in self.table:
            return False
        return not (self.table.is_paused(run.deployment or "") and self.from_schedule(run))

    def from_schedule(self, run: FlowRunRecord) -> bool:
        """Is the run a slot the schedule made, not started yet? Only such a run is held by a
        pause, withdrawn by a schedule edit or dropped by catch-up; a run asked for by hand
        (CLI, TUI, automation, backfill), a retry or a resumed run always runs. Told from
        what is stored (the run's slot, its tags, its attempts), so a restart keeps it."""
        return (
            run.id in self.slot_of
            and run.run_count == 0
            and run.state.name != "AwaitingRetry"
            and not backfill.is_backfill(run)
        )

    async def _apply(self, decision: Decision) -> set[str]:
        consumed: set[str] = set()
        for run, strategy, message in decision.refuse:
            if strategy == "skip" and self.from_schedule(run):
                slots.skip(self, run, message)
            else:
                transition(run, State(StateType.CANCELLED, message=message), self)
                log.info("%s %s: %s", run.deployment, run.name, message)
                self.settled(run)
            consumed.add(run.deployment or "")
        for run, name in decision.wait:
            if run.state.name != name:
                waiting = State(
                    StateType.SCHEDULED,
                    name,
                    message=run.state.message,
                    scheduled_time=run.state.scheduled_time,  # still due when it was
                )
                transition(run, waiting, self)
        for run in decision.start:
            if self.stopping:
                break  # still Scheduled: the next orc up starts it
            if run.state.type is not StateType.SCHEDULED or run.deployment not in self.table:
                continue  # cancelled, or its deployment left, while an earlier one started
            consumed.add(run.deployment or "")
            start_trace.mark("daemon: due run taken")
            await attempts.start(self, run)
        return consumed

    def _sleep_for(self, now: float) -> float | None:
        times = [r.due_time() or now for r in self.book.scheduled() if self._may_start(r)]
        waiting_late = [
            (r.due_time() or now) + 15.0
            for r in self.book.scheduled()
            if r.state.name == "AwaitingConcurrencySlot"
        ]
        held = [self.starts_held_until]  # a due run the disk held back is tried again then
        future = [t for t in (*times, *waiting_late, *held) if t > now]
        return max(0.0, min(future) - self.clock()) if future else None

    # -- attempts and their ends ---------------------------------------------------

    def background(self, work: Coroutine[Any, Any, Any]) -> None:
        """Run `work` as a task of the daemon's own, which `stop()` waits for."""
        task = asyncio.create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def retire_journals_soon(self, run_id: str, attempt: int) -> None:
        """`attempts.retire_journals` in the background (recovery calls it for what it replayed)."""
        self.background(attempts.retire_journals(self, run_id, attempt))

    def settled(self, run: FlowRunRecord) -> None:
        """Say the run's final state is final: no worker left, no retry coming.

        What the daemon noted of the run goes with it: a daemon up for months
        must not hold ~90 bytes for every run it ever settled.
        """
        failure = self.held_failures.pop(run.id, None)
        if failure is not None:
            self.emit(failure)
        self.forget(run.id)
        info = views.flow_run_info(run, self.book.task_counts(run.id)) | {"settled": True}
        self.publish("flow_run", info, flow_run_id=run.id)
        self.book.settled(run.id)

    def forget(self, run_id: str) -> None:
        """Let go of what the daemon noted of a run it is done with: settled, or a scheduled
        run that left (a skipped or withdrawn slot)."""
        self.slot_detail.pop(run_id, None)
        self.slot_of.pop(run_id, None)
        self.cancel_asked.discard(run_id)
        self.caused_by.pop(run_id, None)
        self.pauses.forget(run_id)

    def maybe_retry(self, run: FlowRunRecord) -> bool:
        """Schedule the run's next attempt if its deployment's `retries` allow one."""
        return retries.maybe_retry(self, run)

    # -- the daemon's condition ----------------------------------------------------

    def health(self) -> dict[str, Any]:
        """What `orc status` adds about the daemon's own condition."""
        return status.report(self)

    def store_health_changed(self, health: Any) -> None:
        """The writer's word on the store (on the loop): say it, as a log line and an event."""
        status.store_health_changed(self, health)

    # -- commands ------------------------------------------------------------------

    def set_paused(self, name: str, paused: bool) -> None:
        """Pause: scheduled runs of the deployment wait. Resume: catch up and plan again."""
        reconfigure.set_paused(self, name, paused)

    def reload(self, config: Any) -> None:
        """Apply a new, valid config as a diff; running runs are never touched."""
        reconfigure.reload(self, config)

    def config_invalid(self, error: Exception) -> None:
        """Keep the last good config; say what is wrong, where."""
        reconfigure.config_invalid(self, error)

    def create_manual(
        self, deployment: str, parameters: dict[str, Any] | None, caused_by: Sequence[str] = ()
    ) -> FlowRunRecord:
        """A run asked for by hand (CLI, TUI, automation): a pause does not hold it. One an
        automation made names it (and its chain) in every event it causes, so that the
        automation never reacts to it (see `automations.engine.causal_chain`)."""
        return self.new_run(deployment, parameters, caused_by=tuple(caused_by))

    async def cancel(self, run: FlowRunRecord) -> FlowRunRecord:
        """Cancel by request; answers at Cancelling while a worker stops (see `attempts.cancel`)."""
        return await attempts.cancel(self, run)

    def dispatch_again(self, run: FlowRunRecord) -> None:
        """A run Scheduled again by request (a resume): a pause of its deployment does not hold it."""
        self.wake()

    def retry(self, run: FlowRunRecord) -> FlowRunRecord:
        """Run a finished run again now, by request: a pause does not hold it."""
        retries.schedule_again(self, run, self.clock(), "Retried by request.")
        self.wake()
        return run

    async def stop(self, grace: float = SHUTDOWN_GRACE) -> None:
        """Stop dispatching, let running runs and actions finish for `grace`, then stop the rest."""
        ends = time.monotonic() + grace
        self.stopping = True
        self.wake()
        async with self._dispatching:  # a start under way gets its worker (and its handle) first
            pass
        for run_id, handle in list(self.handles.items()):  # a paused run would only hold us up
            paused = self.book.get(run_id)
            if paused is not None and paused.state.type is StateType.PAUSED:
                self.background(handle.abandon("orc up stopped while this run was paused."))
        if self.handles:
            log.info("waiting up to %gs for %d running run(s)", grace, len(self.handles))
            waits = [asyncio.shield(t) for t in self._tasks]
            with suppress(TimeoutError):
                await asyncio.wait_for(asyncio.gather(*waits, return_exceptions=True), grace)
        reason = "orc up stopped before this run finished."
        await asyncio.gather(*(h.abandon(reason) for h in list(self.handles.values())))
        if self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)
        await self.run_files.drained()  # the journals of the last runs wait for no interval
        for run_id in list(self.held_failures):  # undecided at the stop: the event is kept
            self.emit(self.held_failures.pop(run_id))
        if self.automations is not None:
            await self.automations.close(max(0.0, ends - time.monotonic()))


def _flow_name(root: Path, entrypoint: str) -> str:
    """The name the flow's runs record (`@flow`'s `name=`, or its function's with `-` for
    `_`), read from its source as it is now, without importing it."""
    file, _, function = entrypoint.rpartition(":")
    return flow_name(root / file, function)


__all__ = ["Daemon", "DaemonError"]
