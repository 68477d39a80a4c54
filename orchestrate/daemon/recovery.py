"""Starting again after a stop or a crash: pick up what the last daemon left behind.

Scheduled runs come back into the run book; runs that were Pending or Running
have no worker any more (a worker left over is stopped), so they become
Crashed and are retried where their deployment allows; slots missed while
nobody ran follow each deployment's catch-up policy. No slot ever runs twice:
its key is stored once, and a run is only ever dispatched from the book.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from orchestrate.daemon import planner
from orchestrate.daemon.leftovers import end_leftovers
from orchestrate.daemon.service import kill_orphan
from orchestrate.engine.runs import transition
from orchestrate.records import FlowRunRecord, TaskRunRecord
from orchestrate.states import State, StateType
from orchestrate.store.batch import RunDeletion
from orchestrate.store.queries import FlowRunView, RunState, Store, TaskRunView

if TYPE_CHECKING:
    from orchestrate.daemon.service import Daemon

log = logging.getLogger("orc.daemon")
#: How far back slot keys are loaded: a slot older than this cannot be planned again.
KEY_MEMORY = 2 * 86400.0


def _state(s: RunState) -> State:
    return State(StateType(s.type), s.name, message=s.message,
                 timestamp=s.timestamp.timestamp() if s.timestamp else None)  # fmt: skip


def record_of(view: FlowRunView) -> FlowRunRecord:
    """A stored flow run back as the live record the daemon works on."""
    return FlowRunRecord(
        id=view.id, name=view.name, flow_name=view.flow_name, parameters=view.parameters,
        state=_state(view.state), created=view.created.timestamp() if view.created else 0.0,
        tags=tuple(view.tags), parent_flow_run_id=view.parent_flow_run_id,
        parent_task_run_id=view.parent_task_run_id, deployment=view.deployment,
        entrypoint=view.entrypoint,
        expected_start_time=view.expected_start_time.timestamp() if view.expected_start_time else None,
        start_time=view.start_time.timestamp() if view.start_time else None,
        run_count=view.run_count,
    )  # fmt: skip


def task_record_of(view: TaskRunView) -> TaskRunRecord:
    """A stored task run back as a record, to give it a final state."""
    return TaskRunRecord(
        id=view.id, flow_run_id=view.flow_run_id, name=view.name, task_key=view.task_key,
        dynamic_key=view.dynamic_key, state=_state(view.state),
        created=view.created.timestamp() if view.created else 0.0, kind=view.kind,  # type: ignore[arg-type]
        tags=tuple(view.tags), parent_task_run_id=view.parent_task_run_id, cache_key=view.cache_key,
        start_time=view.start_time.timestamp() if view.start_time else None,
        end_time=view.end_time.timestamp() if view.end_time else None, run_count=view.run_count,
    )  # fmt: skip


def recover(daemon: Daemon, store: Store) -> None:
    """Load the last daemon's runs and slots, crash what was left running, catch up."""
    for pid_file in (daemon.root / ".orc" / "workers").glob("*.pid"):
        kill_orphan(pid_file)
        pid_file.unlink(missing_ok=True)
    now = daemon.clock()
    keys, daemon.last_slot, daemon.slot_of = store.schedule_slots(since=now - KEY_MEMORY)
    daemon.slot_keys = set(keys)
    crashed: list[FlowRunRecord] = []
    for view in store.unfinished_flow_runs():
        run = record_of(view)
        daemon.book.put_flow_run(run)
        if run.state.type is not StateType.SCHEDULED:
            crashed.append(run)
    for run in crashed:
        message = "orc up stopped while this run was in progress; its worker is gone."
        state = transition(run, State(StateType.CRASHED, message=message), daemon)
        open_tasks = [task_record_of(t) for t in store.task_runs(run.id)]  # end_leftovers skips final ones
        end_leftovers(open_tasks, state, daemon)
        if run.parent_flow_run_id is None and run.parent_task_run_id is None:
            daemon.maybe_retry(run)
    if crashed:
        log.info("recovered %d run(s) left in progress as Crashed", len(crashed))
    catch_up(daemon, now)


def catch_up(daemon: Daemon, now: float, names: list[str] | None = None) -> None:
    """Apply each deployment's catch-up policy to slots that fell due while nobody ran them."""
    now_dt = planner.utc(now)
    for spec in daemon.table.active(names):
        stored = [r for r in daemon.book.scheduled()
                  if r.deployment == spec.name and r.state.name in ("Scheduled", "Late")
                  and (r.expected_start_time or now) < now and r.id not in daemon._manual]  # fmt: skip
        overdue = [planner.Overdue(daemon.slot_of.get(r.id, "0"), planner.utc(r.expected_start_time or now), run_id=r.id)
                   for r in stored]  # fmt: skip
        last = {
            sid: planner.utc(t) for (dep, sid), t in daemon.last_slot.items() if dep == spec.name
        }
        overdue += [planner.Overdue(s.schedule_id, s.time, slot=s)
                    for s in planner.missed(spec, last, now_dt) if s.key not in daemon.slot_keys]  # fmt: skip
        keep, drop = planner.catch_up(spec.catchup, overdue)
        for item in keep:
            if item.slot is not None:
                daemon.new_run(spec.name, slot=item.slot)
        dropped = [item.run_id for item in drop if item.run_id]
        for run_id in dropped:
            daemon.book.flow_runs.pop(run_id, None)
        if dropped:
            daemon.put(RunDeletion(tuple(dropped)))
        if drop:
            log.info(
                "%s: %d missed slot(s) dropped (catchup = %s)", spec.name, len(drop), spec.catchup
            )
