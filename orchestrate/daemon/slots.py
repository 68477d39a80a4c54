"""The schedule slots the daemon made into runs: claimed once, withdrawn, or skipped.

Each slot's key is stored with the run made for it, so planning again (or
after a restart) never makes a second run; a slot skipped by a collision
strategy keeps its key, so it is never planned again either.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import TYPE_CHECKING

from orchestrate.config.reading import is_blank
from orchestrate.core.project import CONFIG_FILE
from orchestrate.core.records import FlowRunRecord
from orchestrate.core.runs import transition
from orchestrate.core.states import State, StateType
from orchestrate.daemon import planner, state_events
from orchestrate.store.batch import RunDeletion, SlotRecord

if TYPE_CHECKING:
    from orchestrate.daemon.service import Daemon

log = logging.getLogger("orc.daemon")
#: How long a claimed slot's key is kept in memory (and how far back a restart loads them):
#: planning looks only at slots after the last one made, so an older key is never asked for.
KEY_MEMORY = 2 * 86400.0
#: How often keys older than that are let go.
FORGET_EVERY = 3600.0


def claim(daemon: Daemon, run: FlowRunRecord, slot: planner.Slot, now: float) -> None:
    """Remember, and store, that `run` was made for `slot`."""
    deployment = run.deployment or ""
    daemon.slot_keys.add(slot.key)
    daemon.slot_of[run.id] = slot.schedule_id
    daemon.slot_detail[run.id] = (slot.key, slot.schedule_id, slot.time.timestamp())
    daemon.last_slot[(deployment, slot.schedule_id)] = max(
        run.expected_start_time or 0.0,
        daemon.last_slot.get((deployment, slot.schedule_id), 0.0),
    )
    daemon.put(
        SlotRecord(slot.key, run.id, deployment, slot.schedule_id, run.expected_start_time or now)
    )


def forget_old(daemon: Daemon, now: float) -> None:
    """Let go of the keys of slots older than `KEY_MEMORY`, at most once per `FORGET_EVERY`:
    a daemon up for months with a schedule every minute would otherwise hold 1,440 more
    keys a day for good."""
    if now - daemon.keys_forgotten_at < FORGET_EVERY:
        return
    daemon.keys_forgotten_at = now
    oldest = now - KEY_MEMORY
    daemon.slot_keys = {key for key in daemon.slot_keys if _epoch(key) >= oldest}


def _epoch(key: str) -> float:
    """The slot time a key names (`planner.slot_key`); a key not of that shape is kept."""
    try:
        return float(key.rpartition("/")[2])
    except ValueError:
        return float("inf")


def withdraw(daemon: Daemon, deployment: str) -> int:
    """Withdraw the future scheduled runs of a deployment that left flows.toml."""
    runs = daemon.book.future_slots(deployment, after=daemon.clock())
    _withdraw_runs(daemon, runs)
    if runs:
        daemon.slot_keys = {k for k in daemon.slot_keys if not k.startswith(f"{deployment}/")}
        for key in [k for k in daemon.last_slot if k[0] == deployment]:
            del daemon.last_slot[key]
    return len(runs)


def _withdraw_runs(daemon: Daemon, runs: list[FlowRunRecord]) -> None:
    """Take planned runs back: out of the book and the store, their slots free again."""
    for run in runs:
        detail = daemon.slot_detail.get(run.id)
        if detail is not None:
            daemon.slot_keys.discard(detail[0])
        daemon.book.flow_runs.pop(run.id, None)
        daemon.forget(run.id)
    if runs:
        daemon.put(RunDeletion(tuple(r.id for r in runs)))


def reconcile(daemon: Daemon, names: Iterable[str] | None = None) -> None:
    """Bring the planned runs of deployments in line with flows.toml as it is now.

    What a live edit and a start after an edit made while orc up was down both
    need. Only slots the schedule made that never started are looked at: one
    whose schedule is gone, inactive or fires at other times is withdrawn if
    it is still to come, and ends Cancelled, saying why, if it was due (it
    keeps its record); one whose parameters changed takes the new ones. `plan`
    then makes the slots still missing. Runs asked for by hand, backfills,
    retries and runs that started are left as they are.
    """
    chosen = list(daemon.table) if names is None else [daemon.table.get(n) for n in names]
    now = daemon.clock()
    for spec in chosen:
        schedules = planner.active_schedules(spec)
        gone: list[FlowRunRecord] = []
        for run in _planned(daemon, spec.name):
            schedule = schedules.get(daemon.slot_of[run.id])
            if schedule is None:
                gone.append(run)
                continue
            parameters = {**spec.parameters, **schedule.parameters}
            if run.parameters != parameters:
                run.parameters = parameters
                daemon.put(run)
        _withdraw_runs(daemon, [r for r in gone if (r.expected_start_time or 0.0) > now])
        _end_unplanned(daemon, [r for r in gone if (r.expected_start_time or 0.0) <= now])
        if gone:
            log.info(
                "%s: %d planned run(s) of a schedule changed or removed in flows.toml withdrawn",
                spec.name,
                len(gone),
            )


def _planned(daemon: Daemon, deployment: str) -> list[FlowRunRecord]:
    """The deployment's slots the schedule made that never started and none is starting."""
    return [
        run
        for run in daemon.book.scheduled()
        if run.deployment == deployment
        and run.state.name in ("Scheduled", "Late")
        and daemon.from_schedule(run)
        and run.id not in daemon.handles
        and run.id not in daemon.starting
    ]


def _end_unplanned(daemon: Daemon, runs: list[FlowRunRecord]) -> None:
    message = "Not run: its schedule was changed or removed in flows.toml before it started."
    for run in runs:
        transition(run, State(StateType.CANCELLED, message=message), daemon)
        daemon.settled(run)


def abandon(daemon: Daemon, deployment: str) -> None:
    """A deployment left flows.toml: its future slots are withdrawn, and its other runs that
    have not started (a retry due later, a run asked for by hand and queued) end Cancelled,
    saying why, since none of them could ever start. A running run is never touched."""
    withdraw(daemon, deployment)
    message = f"Not run: deployment {deployment!r} is no longer in flows.toml."
    left = [run for run in daemon.book.scheduled() if run.deployment == deployment]
    for run in left:
        transition(run, State(StateType.CANCELLED, message=message), daemon)
        daemon.settled(run)
    if left:
        names = ", ".join(run.name for run in left)
        log.info(
            "%s: %d run(s) not started were cancelled (%s): %s",
            deployment,
            len(left),
            names,
            message,
        )


def abandon_gone(daemon: Daemon) -> None:
    """`abandon` each deployment that waiting runs name and flows.toml no longer does, unless
    the file is blank: that is more likely a save caught half-way than every deployment
    removed, so their runs wait for its next save."""
    gone = {run.deployment for run in daemon.book.scheduled() if run.deployment not in daemon.table}
    names = sorted(name for name in gone if name)
    if names and is_blank(daemon.root / CONFIG_FILE):
        log.warning(
            "flows.toml is blank; the runs waiting for %s wait until it names them again",
            ", ".join(names),
        )
        return
    for name in names:
        abandon(daemon, name)


def skip(daemon: Daemon, run: FlowRunRecord, message: str) -> None:
    """A slot skipped by `collision_strategy = "skip"`: an event and a count, not a run.

    The slot's key stays stored, so the slot is never planned again.
    """
    deployment = run.deployment or ""
    slot = daemon.slot_detail.get(run.id)
    daemon.book.flow_runs.pop(run.id, None)
    daemon.forget(run.id)
    with daemon.stored_together():  # the slot stays taken, or the run stays
        daemon.put(RunDeletion((run.id,)))
        if slot is not None:
            daemon.put(SlotRecord(slot[0], "", deployment, slot[1], slot[2]))
    daemon.skipped[deployment] += 1
    when = run.expected_start_time
    daemon.emit(
        state_events.daemon_event(
            "orc.deployment.slot-skipped",
            f"orc.deployment.{deployment}",
            {"slot_time": when, "reason": message},
            labels={"orc.resource.name": deployment},
        )
    )
    when_text = planner.utc(when or 0.0).isoformat(timespec="seconds")
    log.info("%s: slot %s skipped: %s", deployment, when_text, message)
