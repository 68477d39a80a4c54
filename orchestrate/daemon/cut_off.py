"""What a run the last orc up left in progress becomes: its final state, then a retry or not.

A run cut off (Pending, Running or Cancelling with no worker left, or a
failed attempt whose worker's exit was never handled) ends as the exit would
have ended it: Crashed (Cancelled if it was being cancelled) at the last moment
anything was heard of it, its open task runs with it, then retried within
`retries` or settled, its failure told once.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from orchestrate.core.errors import RunNotFound
from orchestrate.core.records import FlowRunRecord, TaskRunRecord
from orchestrate.core.runs import transition
from orchestrate.core.states import State, StateType
from orchestrate.daemon import state_events
from orchestrate.daemon.leftovers import end_leftovers
from orchestrate.daemon.stored_runs import record_of, task_record_of
from orchestrate.recording.journal import Journal
from orchestrate.store.queries import Store
from orchestrate.worker import exit_codes

if TYPE_CHECKING:
    from orchestrate.daemon.service import Daemon

#: The end states of an attempt whose event waits for the daemon's decision to retry.
_RETRIED = (StateType.FAILED, StateType.CRASHED)


def undecided_failure(daemon: Daemon, store: Store, found: Journal) -> FlowRunRecord | None:
    """The run, if its attempt `found` is stored Failed or Crashed but the last daemon was
    killed before it handled the worker's exit (the journal is retired only after that).

    The event telling of that end waited for the daemon's decision (see `daemon.retries`)
    and was lost with it. It is held again here, so `end_cut_off` decides the run as the
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


def end_cut_off(
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
