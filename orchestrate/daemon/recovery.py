"""Starting again after a stop or a crash: pick up what the last daemon left behind.

Scheduled runs come back into the run book; runs that were Pending or Running
have no worker any more (a worker left over is stopped), so they become
Crashed and are retried where their deployment allows, as is a run that had
failed but whose worker's exit was not handled yet; slots missed while
nobody ran follow each deployment's catch-up policy. No slot ever runs twice:
its key is stored once, and a run is only ever dispatched from the book. A run
an automation made still names it (read back from the run's stored events),
so the automation does not react to it after the restart either.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from orchestrate.core.errors import RunNotFound
from orchestrate.core.records import (
    EdgeRecord,
    EventRecord,
    FlowRunRecord,
    LogRecord,
    StateRecord,
    TaskRunRecord,
)
from orchestrate.core.runs import transition
from orchestrate.core.states import State, StateType
from orchestrate.daemon import planner, slots, state_events
from orchestrate.daemon.leftovers import end_leftovers
from orchestrate.daemon.scope import kill_orphan
from orchestrate.recording import journal
from orchestrate.recording.journal import Journal
from orchestrate.store.batch import SlotRecord
from orchestrate.store.queries import Store
from orchestrate.store.replay import StoredKeys, StoredRun, stored_keys
from orchestrate.store.views import FlowRunView, RunState, TaskRunView
from orchestrate.worker import exit_codes

if TYPE_CHECKING:
    from orchestrate.daemon.service import Daemon
    from orchestrate.store.replay import Connection

log = logging.getLogger("orc.daemon")


def _state(s: RunState) -> State:
    return State(
        StateType(s.type),
        s.name,
        message=s.message,
        timestamp=s.timestamp.timestamp() if s.timestamp else None,
    )


def record_of(view: FlowRunView) -> FlowRunRecord:
    """A stored flow run back as the live record the daemon works on (a retry's state
    with the time it is due: its run's expected start time is when it was first due)."""
    state = _state(view.state)
    if view.next_scheduled_start_time is not None and state.type is StateType.SCHEDULED:
        state.scheduled_time = view.next_scheduled_start_time.timestamp()
    return FlowRunRecord(
        id=view.id,
        name=view.name,
        flow_name=view.flow_name,
        parameters=view.parameters,
        state=state,
        created=view.created.timestamp() if view.created else 0.0,
        tags=tuple(view.tags),
        parent_flow_run_id=view.parent_flow_run_id,
        parent_task_run_id=view.parent_task_run_id,
        deployment=view.deployment,
        entrypoint=view.entrypoint,
        expected_start_time=view.expected_start_time.timestamp()
        if view.expected_start_time
        else None,
        start_time=view.start_time.timestamp() if view.start_time else None,
        run_count=view.run_count,
    )


def task_record_of(view: TaskRunView) -> TaskRunRecord:
    """A stored task run back as a record, to give it a final state."""
    return TaskRunRecord(
        id=view.id,
        flow_run_id=view.flow_run_id,
        name=view.name,
        task_key=view.task_key,
        dynamic_key=view.dynamic_key,
        state=_state(view.state),
        created=view.created.timestamp() if view.created else 0.0,
        kind=view.kind,  # type: ignore[arg-type]
        tags=tuple(view.tags),
        parent_task_run_id=view.parent_task_run_id,
        cache_key=view.cache_key,
        start_time=view.start_time.timestamp() if view.start_time else None,
        end_time=view.end_time.timestamp() if view.end_time else None,
        run_count=view.run_count,
    )


def recover(daemon: Daemon, store: Store, conn: Connection) -> None:
    """Load the last daemon's runs and slots, replay their journals, end what was cut off, catch up.

    Order matters: first every process the last daemon's runs left is stopped
    (so no journal grows while it is read), then each journal is replayed into
    the store, and only then is anything decided, from the journal's word: a
    body that finished is final, not run again; an attempt that was cut off
    is Crashed and spent, and retried only within `retries`.
    """
    _stop_leftovers(daemon)
    now = daemon.clock()
    keys, daemon.last_slot, daemon.slot_of = store.schedule_slots(since=now - slots.KEY_MEMORY)
    daemon.slot_keys = set(keys)
    keys = _read_legacy_ids(daemon, keys)
    journals = _journals(daemon)
    last_attempt = {found.flow_run_id: found.attempt for found in journals}  # sorted: last wins
    cut_off: list[tuple[FlowRunRecord, Journal | None, list[TaskRunRecord]]] = []
    for view in store.unfinished_flow_runs():
        run = record_of(view)
        daemon.book.put_flow_run(run)
        if run.id not in last_attempt and run.state.type is not StateType.SCHEDULED:
            cut_off.append((run, None, []))
    _remember_slots(daemon, keys)
    chains = _restore_chains(daemon, store, journals)  # before any event of theirs is told
    for found in journals:  # each run's attempts in order: only its last can be cut off
        latest = found.attempt == last_attempt[found.flow_run_id]
        replayed, open_tasks = _replay(daemon, conn, found, latest)
        if replayed is None and latest:
            replayed = _undecided_failure(daemon, store, found)
        if replayed is not None:
            cut_off.append((replayed, found, open_tasks))
    for run, found_or_none, open_tasks in cut_off:
        _end_cut_off(daemon, store, run, found_or_none, open_tasks)
    for run_id in chains:  # not live after all: its journal was of an attempt already over
        if daemon.book.get(run_id) is None:
            daemon.caused_by.pop(run_id, None)
    if cut_off:
        log.info("recovered %d run(s) the last orc up left in progress", len(cut_off))
    slots.reconcile(daemon)  # flows.toml may have been edited while orc up was down
    catch_up(daemon, now)
    slots.abandon_gone(daemon)  # taken out of flows.toml while orc up was down


def _read_legacy_ids(daemon: Daemon, keys: dict[str, str]) -> dict[str, str]:
    """Slots stored before schedules were named by when they fire (`planner.schedule_id`) name
    one by its place in the list: read each as the schedule at that place now, and claim its
    key under the new id too, so none is planned twice. Returns `keys` with the new ids."""
    legacy = {spec.name: planner.legacy_ids(spec) for spec in daemon.table}
    for (deployment, old), when in list(daemon.last_slot.items()):
        new = legacy.get(deployment, {}).get(old)
        if new is not None:
            del daemon.last_slot[(deployment, old)]
            daemon.last_slot[(deployment, new)] = max(
                when, daemon.last_slot.get((deployment, new), 0.0)
            )
    read: dict[str, str] = {}
    for key, run_id in keys.items():
        deployment, old, epoch = ["", "", "", *key.rsplit("/", 2)][-3:]
        new = legacy.get(deployment, {}).get(old)
        if new is not None:
            key = f"{deployment}/{new}/{epoch}"  # `planner.slot_key`'s shape
            daemon.slot_keys.add(key)
            if run_id:
                daemon.slot_of[run_id] = new
        read[key] = run_id
    return read


def _stop_leftovers(daemon: Daemon) -> None:
    for pid_file in (daemon.root / ".orc" / "workers").glob("*.pid"):
        kill_orphan(pid_file)
        pid_file.unlink(missing_ok=True)
    if daemon.scopes is not None:
        left = daemon.scopes.leftovers()
        if left:
            log.warning("stopped %d process(es) that runs of the last orc up left running", left)


def _remember_slots(daemon: Daemon, keys: dict[str, str]) -> None:
    """The slot of each waiting run, so a skip can keep its key (see `slots.skip`)."""
    by_run = {run_id: key for key, run_id in keys.items()}
    for waiting in daemon.book.scheduled():
        if waiting.id in by_run:
            schedule_id = daemon.slot_of.get(waiting.id, "")
            detail = (by_run[waiting.id], schedule_id, waiting.expected_start_time or 0.0)
            daemon.slot_detail[waiting.id] = detail


def _restore_chains(daemon: Daemon, store: Store, journals: list[Journal]) -> list[str]:
    """The automations that made each run picked up again, as its stored state events name
    them (`Daemon.caused_by` died with the last orc up): its events name them still, so none
    of them reacts to it. Only runs asked for by hand can have been made by one: a top-level
    run of a deployment, not from a schedule slot. Returns the runs found made."""
    created: dict[str, float] = {}  # its events are no older than the run
    for run in daemon.book.flow_runs.values():
        top_level = run.parent_flow_run_id is None and run.parent_task_run_id is None
        if run.deployment and top_level and run.id not in daemon.slot_of:
            created[run.id] = run.created
    for found in journals:  # a run the store lacks, or holds finished at an earlier attempt
        if found.run is not None and found.slot is None and found.run.id not in daemon.slot_of:
            created.setdefault(found.run.id, found.run.created)
    if not created:
        return []
    prefix = "orc.flow-run."
    named = store.related_by_role(
        [prefix + run_id for run_id in created],
        "automation",
        name=f"{prefix}*",
        since=min(created.values()) - 1.0,  # a second's slack for the timestamps' rounding
    )
    chains = {resource_id.removeprefix(prefix): chain for resource_id, chain in named.items()}
    daemon.caused_by.update(chains)
    return list(chains)


def _journals(daemon: Daemon) -> list[Journal]:
    """Every readable journal, each run's attempts in order (a journal is removed only once
    the store holds it, so an older attempt's may still hold rows the store lacks)."""
    found = []
    for path in daemon.journals_dir.glob(f"*{journal.SUFFIX}"):
        read = journal.read(path)
        if read is None:
            log.warning("%s is not a run journal; left as it is", path)
            continue
        found.append(read)
    return sorted(found, key=lambda j: (j.flow_run_id, j.attempt))


def _replay(
    daemon: Daemon, conn: Connection, found: Journal, latest: bool
) -> tuple[FlowRunRecord | None, list[TaskRunRecord]]:
    """Store what the journal holds and the store lacks.

    Returns the run if this attempt was cut off (its end was never handled),
    and the task runs the journal leaves open. Only a run's `latest` attempt
    can be cut off; an older one's open task runs end here, since that attempt
    is over whatever came after it.
    """
    run_ids = sorted(
        {found.flow_run_id}
        | {r.id for r in found.records if isinstance(r, FlowRunRecord | TaskRunRecord)}
    )
    event_ids = [r.id for r in found.records if isinstance(r, EventRecord)]
    stored = stored_keys(conn, run_ids, event_ids)
    current = latest and _is_current(stored.runs.get(found.flow_run_id), found.attempt)
    missing = _unstored(found, stored, current)
    run = _latest_run(found, daemon.book.get(found.flow_run_id), current)
    if current and run is not None:
        run.run_count = max(run.run_count, found.attempt)
        head: list[Any] = []
        if found.slot is not None and found.slot[0] not in daemon.slot_keys:
            key, schedule_id, when = found.slot
            daemon.slot_keys.add(key)
            daemon.slot_of[run.id] = schedule_id
            head.append(SlotRecord(key, run.id, run.deployment or "", schedule_id, when))
        missing = head + _with_history([run], stored) + missing
    if missing:
        daemon.put_many(missing)
        log.info(
            "run %s: %d record(s) replayed from its journal", found.flow_run_id[:8], len(missing)
        )
    daemon.retire_journals_soon(found.flow_run_id, found.attempt)
    open_tasks = [r for r in missing if isinstance(r, TaskRunRecord) and not r.state.is_final()]
    if not current or run is None:
        ended = State(StateType.CRASHED, message=f"attempt {found.attempt} of its flow run ended")
        end_leftovers(open_tasks, ended, daemon)
        return None, []
    daemon.book.put_flow_run(run)
    return run, open_tasks


def _is_current(stored: StoredRun | None, attempt: int) -> bool:
    """Does the journal's attempt hold the run's latest word (rather than the store)?"""
    if stored is None:
        return True  # the run's rows never reached the store
    if stored.run_count > attempt:
        return False
    if stored.state_type in _FINAL:
        # An earlier attempt's end is older than this one's dispatch: with no retry delay the
        # next attempt can be journalled before the store has its AwaitingRetry.
        return stored.run_count < attempt
    # Scheduled again after this attempt (AwaitingRetry) is newer; Scheduled before it is not.
    return not (stored.state_type == "SCHEDULED" and stored.run_count >= attempt)


def _unstored(found: Journal, stored: StoredKeys, current: bool) -> list[Any]:
    """The journal's records the store does not hold, each once (a line may be journalled
    twice: a task start at once, then in its batch); the flow run itself is left to the caller."""
    missing: list[Any] = []
    for record in found.records:
        if isinstance(record, StateRecord):
            new = stored.add_state(record.run_id, record.state.name, record.state.ts)
        elif isinstance(record, LogRecord):
            new = stored.add_log(record.flow_run_id, record.task_run_id, record.message, record.ts)
        elif isinstance(record, EdgeRecord):
            new = stored.add_edge(record.task_run_id, record.upstream_id, record.kind)
        elif isinstance(record, EventRecord):
            new = stored.add_event(record.id)
        elif record.id != found.flow_run_id:  # a task run or subflow: never over a final row
            known = stored.runs.get(record.id)
            new = known is None or known.state_type not in _FINAL
        else:
            new = False
        if new:
            missing.append(record)
    return _with_history(_last_snapshots(missing), stored)


def _with_history(records: list[Any], stored: StoredKeys) -> list[Any]:
    """Each replayed snapshot's state in the history too: a worker encodes a snapshot when it
    sends it, so its state can be newer than the last state line it had written."""
    out: list[Any] = []
    for record in records:
        if isinstance(record, TaskRunRecord) and stored.add_state(
            record.id, record.state.name, record.state.ts
        ):
            out.append(StateRecord(record.id, record.flow_run_id, True, record.state))
        elif isinstance(record, FlowRunRecord) and stored.add_state(
            record.id, record.state.name, record.state.ts
        ):
            out.append(StateRecord(record.id, record.id, False, record.state))
        out.append(record)
    return out


def _last_snapshots(records: list[Any]) -> list[Any]:
    """Each run snapshot once, at its last place: the journal has every version of it."""
    last = {r.id: i for i, r in enumerate(records) if isinstance(r, FlowRunRecord | TaskRunRecord)}
    return [
        r
        for i, r in enumerate(records)
        if not isinstance(r, FlowRunRecord | TaskRunRecord) or last[r.id] == i
    ]


def _latest_run(found: Journal, known: FlowRunRecord | None, current: bool) -> FlowRunRecord | None:
    """The run's newest version: the worker's last snapshot, else the dispatched one."""
    if not current:
        return None
    snapshots = [
        r for r in found.records if isinstance(r, FlowRunRecord) and r.id == found.flow_run_id
    ]
    run = snapshots[-1] if snapshots else (known or found.run)
    if run is None:
        return None
    if snapshots and known is not None:
        run.deployment = run.deployment or known.deployment
        run.expected_start_time = run.expected_start_time or known.expected_start_time
    return run


def _undecided_failure(daemon: Daemon, store: Store, found: Journal) -> FlowRunRecord | None:
    """The run, if its attempt `found` is stored Failed or Crashed but the last daemon was
    killed before it handled the worker's exit (the journal is retired only after that).

    The event telling of that end waited for the daemon's decision (see `daemon.retries`)
    and was lost with it. It is held again here, so `_end_cut_off` decides the run as the
    exit would have: retried within `retries`, else settled and its failure told. An exit
    handled already left the run Scheduled again, or that event in the store: nothing to do.
    """
    try:
        run = record_of(store.get_flow_run(found.flow_run_id, counted=False))
    except RunNotFound:
        return None
    if run.state.type not in _RETRIED or run.run_count != found.attempt:
        return None
    told = store.events(
        f"orc.flow-run.{run.state.name}",
        f"orc.flow-run.{run.id}",
        since=found.dispatched - 1.0,  # the state came after the dispatch; a second's slack
    )
    if any(event.payload.get("run_count") == found.attempt for event in told):
        return None
    event = state_events.flow_run_event(run, run.state, None, daemon.caused_by.get(run.id, ()))
    daemon.held_failures[run.id] = event
    return run


def _end_cut_off(
    daemon: Daemon,
    store: Store,
    run: FlowRunRecord,
    found: Journal | None,
    replayed: list[TaskRunRecord],
) -> None:
    """Give a run whose attempt the last daemon never saw end its final state; retry if allowed.

    Its open task runs are those the store holds and those just replayed (not
    in the file yet), the replayed snapshot winning.
    """
    retryable = found is None or found.exit_code != exit_codes.NEEDS_A_FIX
    paused = run.state.type is StateType.PAUSED  # a pause outlives orc up (`daemon.pauses`)
    if not run.state.is_final() and not paused:
        state = _cut_off_state(run, found, _last_heard(run, found, daemon.clock()))
        transition(run, state, daemon)
    tasks = {t.id: task_record_of(t) for t in store.task_runs(run.id)}
    tasks.update((t.id, t) for t in replayed)
    end_leftovers(tasks.values(), run.state, daemon)  # it skips the final ones
    daemon.book.put_flow_run(run)
    if paused:
        return
    top_level = run.parent_flow_run_id is None and run.parent_task_run_id is None
    if not (top_level and retryable and daemon.maybe_retry(run)):
        daemon.settled(run)


def _cut_off_state(run: FlowRunRecord, found: Journal | None, heard: float) -> State:
    """How a run cut off ends: at the last moment anything was heard of it, not at this
    start (a run killed with orc up and found an hour later did not run for an hour)."""
    if run.state.type is StateType.CANCELLING:
        return State(
            StateType.CANCELLED,
            message="Cancelled: orc up stopped while the run was being cancelled.",
            timestamp=heard,
        )
    attempt = f" (attempt {run.run_count})" if run.run_count else ""
    if found is None and run.deployment is None:  # a flow run from plain Python, no worker
        message = (
            f"The process that ran this flow run{attempt} ended before it finished; "
            "orc up found it unfinished as it started."
        )
    else:
        message = f"orc up stopped while this run was in progress{attempt}; its worker is gone."
    return State(StateType.CRASHED, message=message, timestamp=heard)


def _last_heard(run: FlowRunRecord, found: Journal | None, now: float) -> float:
    """The latest time in the run's records: its journal's (its dispatch, if it holds none),
    and its own state's and start."""
    times = [run.state.ts, run.start_time or 0.0]
    for record in found.records if found else ():
        state = getattr(record, "state", None)
        times.append(getattr(record, "ts", None) or (state.ts if state is not None else 0.0))
    if found is not None and not found.records:
        times.append(found.dispatched)
    return min(max(times), now)


_FINAL = ("COMPLETED", "FAILED", "CRASHED", "CANCELLED")
#: The end states of an attempt whose event waits for the daemon's decision to retry.
_RETRIED = (StateType.FAILED, StateType.CRASHED)
#: Slots not started yet, whatever they waited for: the catch-up policy applies to all.
_WAITING = ("Scheduled", "Late", "AwaitingConcurrencySlot")


def _missed(daemon: Daemon, run: FlowRunRecord, policy: str) -> None:
    message = (
        f"Not run: its slot passed while orc up was not running, and catchup = "
        f"{policy!r} runs {'only the latest missed slot' if policy == 'latest' else 'no missed slot'}."
    )
    transition(run, State(StateType.CANCELLED, message=message), daemon)
    daemon.settled(run)


#: How many missed slots never planned catch-up looks at per schedule, by policy.
_KEEP = {"none": 0, "latest": 1, "all": planner.MAX_RUNS}


def catch_up(daemon: Daemon, now: float, names: list[str] | None = None) -> None:
    """Apply each deployment's catch-up policy to slots that fell due while nobody ran them."""
    now_dt = planner.utc(now)
    for spec in daemon.table.active(names):
        overdue = [
            planner.Overdue(
                daemon.slot_of[r.id], planner.utc(r.expected_start_time or now), run_id=r.id
            )
            for r in daemon.book.scheduled()
            if r.deployment == spec.name
            and r.state.name in _WAITING
            and (r.expected_start_time or now) < now
            and daemon.from_schedule(r)
        ]
        last = {
            sid: planner.utc(t) for (dep, sid), t in daemon.last_slot.items() if dep == spec.name
        }
        found = planner.missed(spec, last, now_dt, keep=_KEEP.get(spec.catchup, 1))
        overdue += [
            planner.Overdue(s.schedule_id, s.time, slot=s)
            for s in found.slots
            if s.key not in daemon.slot_keys
        ]
        keep, drop = planner.catch_up(spec.catchup, overdue)
        for item in keep:
            if item.slot is not None:
                daemon.new_run(spec.name, slot=item.slot)
        for item in drop:
            run = daemon.book.get(item.run_id) if item.run_id else None
            if run is not None:  # it was listed already: it ends, with why, rather than vanish
                _missed(daemon, run, spec.catchup)
        _say_dropped(spec.name, spec.catchup, len(drop) + found.left_out, found.more)


def _say_dropped(deployment: str, policy: str, count: int, more: bool) -> None:
    """One log line for the missed slots that will not run: how many, and why."""
    if not count:
        return
    cap = (
        f"; it runs at most the {planner.MAX_RUNS} latest missed slots of a schedule"
        if policy == "all"
        else ""
    )
    log.info(
        "%s: %s%d missed slot(s) not run (catchup = %r%s); `orc backfill` runs past slots",
        deployment,
        "more than " if more else "",
        count,
        policy,
        cap,
    )
