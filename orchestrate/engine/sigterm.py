"""SIGTERM to a flow run called from plain Python: the run ends Crashed, on record, then the process.

Prefect runs every flow run inside `capture_sigterm()`: SIGTERM raises
`TerminationSignal` in the run, the run is set Crashed, and the signal is
sent again to the handler that was there before, so the process still ends
as killed. Without it `timeout 3 python flow.py` left the run Running until
the next `orc up`. orc does the same for a flow run called in the main
thread while SIGTERM has its default action; a worker of `orc up` has its
own handler (`worker.run.Stopper`), so it is left alone, as is any handler
the user installed.
"""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from orchestrate.core.errors import TerminationSignal
from orchestrate.engine.outcomes import failure_state

if TYPE_CHECKING:
    from orchestrate.engine.flow_engine import FlowRunJob

#: How long the records of a run ended by SIGTERM may take to reach the store before the process ends.
FLUSH_SECONDS = 10.0


def _terminate(signum: int, frame: Any) -> None:
    raise TerminationSignal(signum)


@contextmanager
def sigterm_crashes(job: FlowRunJob) -> Iterator[None]:
    """While `job` runs, SIGTERM ends it Crashed, records it, then ends the process as SIGTERM would."""
    if (
        threading.current_thread() is not threading.main_thread()
        or signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL
    ):
        yield
        return
    signal.signal(signal.SIGTERM, _terminate)
    try:
        yield
    except TerminationSignal as exc:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)  # a second one must not cut the records short
        _crash(job, exc)
        job.sink.flush(FLUSH_SECONDS)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        os.kill(os.getpid(), exc.signal)  # as Prefect does: the default action, now
        raise
    finally:
        if signal.getsignal(signal.SIGTERM) is _terminate:
            signal.signal(signal.SIGTERM, signal.SIG_DFL)


def _crash(job: FlowRunJob, exc: TerminationSignal) -> None:
    """The run Crashed, if the signal came outside its body (between attempts, in a hook)."""
    if job.run.state.is_final():
        return
    try:
        job.set_state(failure_state(exc, "Flow run"))
    except Exception as error:  # the process ends either way; say why its state could not be set
        job.logger.error("The flow run could not be set Crashed: %s", error)
