"""Spending one attempt of a flow run: count it, journal it, start its worker, watch it end.

The attempt is counted, and journalled durably, before any worker exists:
however the run ends from here (a worker that never starts or dies, a daemon
killed mid-dispatch), this attempt is spent exactly once. Its journals are
removed only once the store holds all they say.
"""

from __future__ import annotations

import asyncio
import logging
from contextlib import suppress
from typing import TYPE_CHECKING, Any

from orchestrate.core.records import FlowRunRecord
from orchestrate.core.runs import transition
from orchestrate.core.states import State, StateType
from orchestrate.daemon import retries
from orchestrate.daemon.outcome import Outcome
from orchestrate.recording.journal import SUFFIX as JOURNAL_SUFFIX
from orchestrate.recording.journal import journal_path

if TYPE_CHECKING:
    from orchestrate.daemon.service import Daemon

log = logging.getLogger("orc.daemon")


async def start(daemon: Daemon, run: FlowRunRecord) -> None:
    """Spend one attempt of `run` and start its worker (see the module docstring)."""
    spec = daemon.table.get(run.deployment or "")
    run.run_count += 1
    blocked = daemon.table.blocked(spec.name)
    if blocked is not None:
        retries.fail_for_good(daemon, run, blocked)
        return
    journal = _journal(daemon, run)
    if journal is None:  # it stays Scheduled, its attempt unspent, until the disk takes it
        run.run_count -= 1
        return
    transition(
        run,
        State(StateType.PENDING, "Pending", message=f"starting a worker (attempt {run.run_count})"),
        daemon,
    )
    starting: Outcome[Any] = Outcome()
    daemon.starting[run.id] = starting
    handle = None
    try:
        handle = await _spawn(daemon, run, spec, journal)
    finally:
        del daemon.starting[run.id]
        starting.set(handle)  # a cancel that came meanwhile stops this worker now
    if handle is None:
        return
    daemon.handles[run.id] = handle
    daemon.run_files.started(run.id, handle.pid)
    log.info("started %s (%s) pid %s, attempt %d", run.name, spec.name, handle.pid, run.run_count)
    daemon.background(_supervise(daemon, run.id, handle))


async def _spawn(daemon: Daemon, run: FlowRunRecord, spec: Any, journal: str | None) -> Any:
    """The worker's handle, or None: it could not even spawn, so the run crashed, not the daemon."""
    try:
        return await daemon.supervisor.start(_run_spec(daemon, run, spec, journal))
    except Exception as exc:
        log.exception("could not start a worker for %s", run.id)
        if run.state.type is StateType.CANCELLING:  # cancelled meanwhile: never retried
            ended = State(
                StateType.CANCELLED,
                message=f"Cancelled by request before its worker started (it could not start: {exc}).",
            )
        else:
            ended = State(StateType.CRASHED, message=f"Could not start a worker: {exc}")
        transition(run, ended, daemon)
        retries.after_exit(daemon, run)
        return None


def _journal(daemon: Daemon, run: FlowRunRecord) -> str | None:
    """Create this attempt's journal (see `worker.journal`); None if the disk refuses.

    Then no run starts for `JOURNAL_RETRY` seconds (`Daemon.hold_starts`): a run started
    without its journal could, after a kill of orc up, run again or be recorded as never
    run, since only the journal tells recovery that the attempt began.
    """
    path = journal_path(daemon.journals_dir, run.id, run.run_count)
    slot = daemon.slot_detail.get(run.id)  # the schedule slot it was made for, if one
    try:
        daemon.run_files.journals.create(path, run, slot)
    except OSError as exc:
        daemon.hold_starts(
            f"cannot write run journals in {daemon.journals_dir} ({exc.strerror or exc}); "
            f"no run starts until it can (free space or fix the folder), "
            f"trying again every {JOURNAL_RETRY:g}s"
        )
        return None
    daemon.release_starts()
    return str(path)


#: Seconds between tries to write a journal the disk refused.
JOURNAL_RETRY = 5.0


def _run_spec(daemon: Daemon, run: FlowRunRecord, spec: Any, journal: str | None) -> Any:
    from orchestrate.worker.spec import RunSpec

    env, _ = daemon.table.env(spec.name)
    return RunSpec(
        flow_run_id=run.id,
        flow_run_name=run.name,
        deployment=spec.name,
        entrypoint=spec.entrypoint,
        parameters=run.parameters,
        project_root=str(daemon.root),
        working_dir=str(spec.working_dir),
        env=env,
        secrets=daemon.table.secret_values(),
        timeout_seconds=spec.timeout_seconds,
        tags=list(run.tags),
        expected_start_time=run.expected_start_time,
        run_count=run.run_count,
        task_runner=spec.task_runner.model_dump() if spec.task_runner else None,
        flow_name=run.flow_name,
        created=run.created,
        journal=journal,
        preload=list(spec.preload),
        resumed=daemon.pauses.resumed(run.id),
        python=spec.python,
        pending_recorded=True,  # `start` made this attempt Pending
        retried_until=retries.retried_until(daemon, run),
    )


async def _supervise(daemon: Daemon, run_id: str, handle: Any) -> None:
    needs_a_fix = False
    try:
        result = await handle.wait()
        needs_a_fix = result.needs_a_fix
        log.info("run %s ended %s", run_id[:8], result.final_state.name)
    except Exception:
        log.exception("supervising %s failed", run_id)
    finally:
        daemon.handles.pop(run_id, None)
        daemon.run_files.ended(run_id)
        run = daemon.known_run(run_id)
        if run is not None:
            retries.after_exit(daemon, run, retryable=not needs_a_fix)
        daemon.wake()
    daemon.run_files.retire(run_id, handle.spec.run_count)


async def _cancel_once_started(starting: Outcome[Any]) -> None:
    """Stop the worker of a run cancelled while it was being started, once it exists."""
    handle = await starting.wait()
    if handle is not None:  # else it never started, and the run ended as that says
        await handle.cancel("cancelled by request")


async def retire_journals(daemon: Daemon, run_id: str, attempt: int) -> None:
    """Remove a run's journals up to `attempt` once the store holds all they say."""
    stored = await asyncio.to_thread(daemon.writer.flush, 60.0)
    if not stored:
        return  # kept: the next orc up replays them
    for path in daemon.journals_dir.glob(f"{run_id}.*{JOURNAL_SUFFIX}"):
        number = path.name[len(run_id) + 1 : -len(JOURNAL_SUFFIX)]
        if number.isdigit() and int(number) <= attempt:
            with suppress(OSError):
                path.unlink()


async def cancel(daemon: Daemon, run: FlowRunRecord) -> FlowRunRecord:
    """Cancel by request: at once if no worker runs it, else Cancelling while its worker stops.
    A run whose worker then ends otherwise (it could not start, or failed) is not retried."""
    daemon.cancel_asked.add(run.id)
    handle = daemon.handles.get(run.id)
    starting = daemon.starting.get(run.id)
    if handle is None and starting is not None:
        # Its worker is being started: ending the run now would let that worker run the flow.
        if run.state.type is not StateType.CANCELLING:
            transition(run, State(StateType.CANCELLING, message="Cancelling by request."), daemon)
        daemon.background(_cancel_once_started(starting))
        return run
    if handle is None:
        transition(run, State(StateType.CANCELLED, message="Cancelled by request."), daemon)
        daemon.settled(run)
        return run
    if run.state.type is not StateType.CANCELLING:
        transition(run, State(StateType.CANCELLING, message="Cancelling by request."), daemon)
    # Answer at Cancelling: stopping takes up to the kill grace, and the caller can
    # follow the run to its final state (`orc cancel --wait`).
    daemon.background(handle.cancel("cancelled by request"))
    return run
