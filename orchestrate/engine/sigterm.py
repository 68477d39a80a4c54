"""SIGTERM to a flow run called from plain Python: the run ends Crashed, on record, then the process.

Prefect runs every flow run, sync or async, inside `capture_sigterm()`: SIGTERM
raises `TerminationSignal` in the run, the engine cancels its task runner's
work (`cancel_all`), the run is set Crashed, and the signal is sent again to
the handler that was there before, so the process still ends as killed.
Without it `timeout 3 python flow.py` left the run Running until the next
`orc up`. orc does the same for a top-level flow run called in the main
thread while SIGTERM has its default action; a worker of `orc up` has its own
handler (`worker.run.Stopper`), so it is left alone, as is any handler the
user installed, `loop.add_signal_handler` included.

An async run differs from Prefect's in one way: the signal is raised in the
run's body only while the body holds the event loop (busy in sync code);
otherwise the run's asyncio task is cancelled from the loop, since raising
into the loop's own machinery would unwind `asyncio.run` around the run
instead of the run. Either way the run ends Crashed with the same reason.

Once SIGTERM came (`received`), nothing waits for the runner's threads, which
cannot be stopped: their unfinished task runs are recorded Crashed and their
later state changes and log lines are refused (`runners.ThreadPoolTaskRunner.
cancel_all`, `record_gate`), and the process ends once the records are written.
A worker stopped by its supervisor (a cancel, a timeout) waits for them no
more either (`stopping`): it ends its flow run in the stop's state and exits,
and the daemon ends the task runs it left open, instead of the worker sitting
out the kill grace with threads it cannot stop.
"""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial
from typing import TYPE_CHECKING, Any

from orchestrate.core.errors import TerminationSignal
from orchestrate.engine.outcomes import failure_state

if TYPE_CHECKING:
    import asyncio

    from orchestrate.engine.flow_engine import FlowRunJob

#: How long the records of a run ended by SIGTERM may take to reach the store before the process ends.
FLUSH_SECONDS = 10.0

_received: BaseException | None = None
_handlers: list[Any] = []  # orc's, while installed


def received() -> BaseException | None:
    """The stop this process ends for, once taken: from then on nothing waits.

    A `TerminationSignal` when orc's handler took SIGTERM; in a worker of `orc up`,
    the `RunAborted` its supervisor's stop became (`stopping`).
    """
    return _received


def stopping(stop: BaseException) -> None:
    """A worker's run is being stopped (a cancel, a timeout): as after SIGTERM, nothing
    waits for its task runs' threads, and their unfinished runs end in `stop`'s state."""
    global _received
    if _received is None:
        _received = stop


def handling() -> bool:
    """Whether orc's handler is installed: a flow run of this process would end for SIGTERM."""
    return bool(_handlers)


def _take(signum: int) -> TerminationSignal:
    global _received
    stop = TerminationSignal(signum)
    if _received is None:
        _received = stop
    return stop


def _terminate(signum: int, frame: Any) -> None:
    raise _take(signum)


def _interrupt(
    loop: asyncio.AbstractEventLoop, run: asyncio.Task[Any], signum: int, frame: Any
) -> None:
    """An async run's handler: raise in its body if the body holds the loop, else cancel it there."""
    import asyncio

    stop = _take(signum)
    if asyncio.current_task(loop) is run:
        raise stop
    loop.call_soon_threadsafe(run.cancel)


def _handles_sigterm() -> bool:
    """Whether orc may take SIGTERM here: the main thread, and no handler but the default."""
    return (
        threading.current_thread() is threading.main_thread()
        and signal.getsignal(signal.SIGTERM) is signal.SIG_DFL
    )


@contextmanager
def sigterm_crashes(job: FlowRunJob) -> Iterator[None]:
    """While `job` runs, SIGTERM ends it Crashed, records it, then ends the process as SIGTERM would."""
    if not _handles_sigterm():
        yield
        return
    _install(_terminate)
    try:
        yield
    except TerminationSignal as exc:
        _end_process(job, exc)
        raise
    finally:
        _restore(_terminate)


@contextmanager
def sigterm_crashes_async(job: FlowRunJob) -> Iterator[None]:
    """`sigterm_crashes` for an async run, entered in its coroutine on the loop that runs it."""
    if not _handles_sigterm():
        yield
        return
    import asyncio

    run = asyncio.current_task()
    assert run is not None  # a coroutine the loop runs is always in a task
    handler = partial(_interrupt, asyncio.get_running_loop(), run)
    _install(handler)
    try:
        yield
    except (TerminationSignal, asyncio.CancelledError):
        stop = received()
        if not isinstance(stop, TerminationSignal):  # a cancel of the caller's own
            raise
        _end_process(job, stop)
        raise
    finally:
        _restore(handler)


def _install(handler: Any) -> None:
    signal.signal(signal.SIGTERM, handler)
    _handlers.append(handler)


def _restore(handler: Any) -> None:
    _handlers.remove(handler)
    if signal.getsignal(signal.SIGTERM) is handler:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)


def _end_process(job: FlowRunJob, stop: TerminationSignal) -> None:
    """Record the run Crashed, wait for its records to be written, then end as SIGTERM would."""
    signal.signal(signal.SIGTERM, signal.SIG_IGN)  # a second one must not cut the records short
    _crash(job, stop)
    job.sink.flush(FLUSH_SECONDS)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    os.kill(os.getpid(), stop.signal)  # as Prefect does: the default action, now


def _crash(job: FlowRunJob, exc: TerminationSignal) -> None:
    """The run Crashed, if nothing ended it yet (the signal came as its call returned)."""
    if job.run.state.is_final():
        return
    try:
        job.set_state(failure_state(exc, "Flow run"))
    except Exception as error:  # the process ends either way; say why its state could not be set
        job.logger.error("The flow run could not be set Crashed: %s", error)
