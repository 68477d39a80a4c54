"""How an attempt's end is settled: the run made final, then retried within `retries`, or settled.

A retry is the same flow run Scheduled again as `AwaitingRetry` (Prefect's
word), so it keeps its id and its attempts count on; a pause does not hold it.
A reason no retry can fix (a blocked deployment, a worker that says its run
needs a fix) ends the run without one.

As in Prefect, `orc.flow-run.Failed` (or `Crashed`) tells of a run that ended for
good: an attempt that will be retried tells of itself as `orc.flow-run.AwaitingRetry`,
whose message says why. The failure's event waits in `Daemon.held_failures` until
the daemon decides (`may_retry` says when it must wait), so an automation on
`Failed` never fires while a retry is still coming. A kill of orc up before the
decision loses the held event with it; the next start decides the run then
(`recovery`), by the same rules.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from orchestrate.core.records import FlowRunRecord
from orchestrate.core.runs import transition
from orchestrate.core.states import State, StateType

if TYPE_CHECKING:
    from orchestrate.daemon.service import Daemon

log = logging.getLogger("orc.daemon")


def after_exit(daemon: Daemon, run: FlowRunRecord, retryable: bool = True) -> None:
    """A worker is gone: make sure its run is final, then retry it if its deployment allows."""
    if run.state.type is StateType.PAUSED:  # suspended, or its worker stopped while paused
        daemon.pauses.worker_ended(run)  # it waits for a resume, which runs it again
        return
    if not run.state.is_final():
        transition(
            run,
            State(StateType.CRASHED, message="The worker exited without a final state."),
            daemon,
        )
    daemon.remember(run)
    if run.id in daemon.cancel_asked and retryable:
        retryable = False
        log.info("%s %s: not retried: its cancel was asked for", run.deployment, run.name)
    elif not retryable:
        log.warning(
            "%s %s: not retried, no retry can fix this: %s",
            run.deployment,
            run.name,
            run.state.message,
        )
    if not (retryable and maybe_retry(daemon, run)):
        daemon.settled(run)


def fail_for_good(daemon: Daemon, run: FlowRunRecord, message: str) -> None:
    """End a run Failed with a reason no retry can fix: it is not retried."""
    transition(run, State(StateType.FAILED, message=message), daemon)
    log.warning("%s %s failed and is not retried: %s", run.deployment, run.name, message)
    daemon.remember(run)
    daemon.settled(run)


def may_retry(daemon: Daemon, run: FlowRunRecord) -> bool:
    """Whether a failed or crashed attempt of `run` may still be retried by the daemon.

    Only a top-level run of a deployment, with an attempt left and no cancel asked for.
    """
    return run.run_count <= retried_until(daemon, run)


def retried_until(daemon: Daemon, run: FlowRunRecord) -> int:
    """The last attempt number whose failure the daemon would retry (0: none), as its
    worker learns it: counted as `maybe_retry` counts, a resume not being a retry."""
    if run.parent_flow_run_id or run.parent_task_run_id or run.id in daemon.cancel_asked:
        return 0
    if run.deployment not in daemon.table:
        return 0
    return daemon.table.get(run.deployment or "").retries + daemon.pauses.reruns(run.id)


def _attempts(daemon: Daemon, run: FlowRunRecord) -> int:
    return run.run_count - daemon.pauses.reruns(run.id)  # a resume is not a retry


def maybe_retry(daemon: Daemon, run: FlowRunRecord) -> bool:
    """Schedule the run's next attempt if it failed or crashed and its `retries` allow one.

    While orc up stops, the retry is stored Scheduled and the next start runs it: a run
    cut off by the stop is retried like one cut off by a kill of orc up.
    """
    if run.deployment not in daemon.table:
        return False
    spec = daemon.table.get(run.deployment or "")
    if run.state.type not in (StateType.FAILED, StateType.CRASHED):
        return False
    attempts = _attempts(daemon, run)
    if attempts > spec.retries:
        return False
    delay = float(spec.retry_delay_seconds or 0)
    message = f"Retry {attempts} of {spec.retries} in {delay:g}s after: {run.state.message}"
    schedule_again(daemon, run, daemon.clock() + delay, message)
    daemon.wake()
    return True


def schedule_again(daemon: Daemon, run: FlowRunRecord, at: float, message: str) -> None:
    """The same run Scheduled again at `at` as AwaitingRetry, for its next attempt.

    As in Prefect, `at` is the state's `scheduled_time`: the run's expected start
    time stays when it was first due, and the flow's `scheduled_start_time` with it.
    """
    retry = State(StateType.SCHEDULED, "AwaitingRetry", message=message, scheduled_time=at)
    daemon.held_failures.pop(run.id, None)  # the attempt's failure is told as AwaitingRetry
    run.end_time = None
    transition(run, retry, daemon)
