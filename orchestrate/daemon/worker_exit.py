"""How a worker ended, and the final state its flow run ends in.

The worker's own final state stands when it recorded one. Otherwise the
supervisor decides it from why the worker stopped (TimedOut for a timeout,
Cancelled for a cancel, Crashed when the daemon stopped) or, when nobody
stopped it, says how it died (Crashed, with the signal or exit code and the
last lines of its stderr), and records that state for it. Kept apart from the
process handling so the decision is a plain function of what was seen.
"""

from __future__ import annotations

import dataclasses
import logging
import signal
from collections.abc import Iterable
from dataclasses import dataclass

from orchestrate.core.errors import InvalidStateTransition
from orchestrate.core.records import FlowRunRecord, Record
from orchestrate.core.runs import transition
from orchestrate.core.states import Cancelled, Crashed, State, TimedOut
from orchestrate.daemon.worker_records import RecordBatch, note
from orchestrate.worker import exit_codes

log = logging.getLogger("orc.daemon.supervisor")

#: Exits after which the worker had sent all it recorded (see `worker.exit_codes`).
ORDERLY_EXITS = (exit_codes.COMPLETED, exit_codes.NOT_COMPLETED, exit_codes.NEEDS_A_FIX)


@dataclass(frozen=True, slots=True)
class WorkerExit:
    """How a worker ended and the flow run's final state.

    Args:
        returncode: the exit code (negative: killed by that signal); None if it never started.
        signal: the signal that killed it, if one did.
        timed_out: the supervisor stopped it at `timeout_seconds`.
        cancelled: the supervisor stopped it because `cancel()` was called.
        final_state: the worker's own final state if it recorded one, else TimedOut,
            Cancelled or Crashed as recorded by the supervisor.
        needs_a_fix: the run failed in a way no retry can fix (its flow did not load, its
            parameters do not fit), so it must not be retried.
    """

    returncode: int | None
    signal: int | None
    timed_out: bool
    cancelled: bool
    final_state: State
    needs_a_fix: bool = False


def decide_exit(
    returncode: int | None,
    state: State | None,
    stop: tuple[str, str] | None,
    recorded: State | None,
    stderr_tail: Iterable[str],
) -> WorkerExit:
    """How it ended.

    Args:
        returncode: the worker's exit code, None if it never started.
        state: a final state decided already (a worker that never started), or None.
        stop: why the supervisor stopped it (`"cancel"`, `"timeout"` or `"shutdown"`, and
            the message), if it did.
        recorded: the final state the worker recorded itself, if it did.
        stderr_tail: the last lines of its stderr, quoted when it crashed.
    """
    killed_by = -returncode if returncode is not None and returncode < 0 else None
    kind, message = stop or ("", "")
    if state is None:
        state = recorded
    if state is None:
        state = _stopped_state(kind, message)
    if state is None:
        state = Crashed(message=crash_message(returncode, killed_by, stderr_tail))
    needs_a_fix = returncode == exit_codes.NEEDS_A_FIX and not state.is_completed()
    return WorkerExit(
        returncode, killed_by, kind == "timeout", kind == "cancel", state, needs_a_fix
    )


def _stopped_state(kind: str, message: str) -> State | None:
    """The final state of a run the supervisor stopped for `kind`; None if it did not stop it."""
    if kind == "timeout":
        return TimedOut(message=message)
    if kind == "cancel":
        return Cancelled(message=message)
    if kind == "shutdown":
        return Crashed(message=message)
    return None


def crash_message(returncode: int | None, killed_by: int | None, stderr_tail: Iterable[str]) -> str:
    """What a Crashed state says of a worker that died before its flow run ended."""
    if killed_by is not None:
        what = f"The worker was killed by {_signal_name(killed_by)}"
    else:
        what = f"The worker exited with code {returncode}"
    text = f"{what} before the flow run reached a final state."
    tail = list(stderr_tail)
    if tail:
        text += " Last lines on stderr:\n" + "\n".join(tail)
    return text


def final_state_records(run: FlowRunRecord, state: State) -> list[Record]:
    """The records of moving `run` to `state`, with a line in its logs; none if not allowed."""
    records = RecordBatch()
    try:
        transition(dataclasses.replace(run), state, records)
    except InvalidStateTransition as exc:
        log.warning("Flow run %s: not recording %s (%s)", run.id, state.name, exc)
        return []
    message = f"Finished in state {state.name}: {state.message}"
    records.append(note(run.id, logging.ERROR, message))
    return records


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


__all__ = ["ORDERLY_EXITS", "WorkerExit", "crash_message", "decide_exit", "final_state_records"]
