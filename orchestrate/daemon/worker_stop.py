"""Timeouts and cancels: stopping a worker and everything its flow run started.

A stop is asked for once; the first reason stands (a cancel that lands while
a timeout is stopping the worker does not make the run Cancelled). The worker
is first told which state to record (a `stop` notification), then gets
SIGTERM, and `kill_grace` seconds later the whole run gets SIGKILL, so what
the flow started dies too even if the worker has already left. From the stop
on the worker is read even while the store holds the others back
(`read_pause`): it records its end, and the grace bounds what it sends.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal

from orchestrate.daemon.worker_pipes import WorkerPipes
from orchestrate.daemon.worker_process import RunProcesses, WorkerProcess
from orchestrate.worker.channel import STOP, notification

#: The state the worker is asked to record for each kind of stop (any other: Cancelled).
_STOP_STATES = {"timeout": "TimedOut", "shutdown": "Crashed"}


class WorkerStop:
    """Why and how one worker is being stopped.

    Args:
        processes: the run's processes, to signal.
        pipes: the worker's channels, to tell it the state to record.
        kill_grace: seconds between SIGTERM and SIGKILL.
    """

    def __init__(self, processes: RunProcesses, pipes: WorkerPipes, kill_grace: float) -> None:
        self.processes = processes
        self.pipes = pipes
        self.kill_grace = kill_grace
        #: Why it was stopped: `"cancel"`, `"timeout"` or `"shutdown"`, and the message.
        self.reason: tuple[str, str] | None = None
        #: Set once the worker process has exited.
        self.exited = asyncio.Event()
        self._stopping: asyncio.Task[None] | None = None

    def begin(self, kind: str, message: str) -> asyncio.Task[None]:
        """Start stopping the worker (once: the first reason stands)."""
        if self._stopping is None:
            self.reason = (kind, message)
            self._stopping = asyncio.create_task(self._terminate(kind, message))
        return self._stopping

    async def wait_exit(self, proc: WorkerProcess, seconds: float | None) -> int | None:
        """The worker's exit code (None: unknown); it is stopped as timed out if it runs past `seconds`."""
        timer = None
        if seconds is not None:
            message = f"Flow run timed out after {seconds:g}s and was stopped."
            timer = asyncio.get_running_loop().call_later(seconds, self.begin, "timeout", message)
        try:
            return await proc.wait()
        finally:
            if timer is not None:
                timer.cancel()

    async def _terminate(self, kind: str, message: str) -> None:
        if self.exited.is_set():
            return
        state = _STOP_STATES.get(kind, "Cancelled")
        self.pipes.read_to_the_end()  # its last records, its final state among them, get in
        await self.pipes.tell(notification(STOP, {"state": state, "message": message}))
        self.processes.signal(signal.SIGTERM)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.exited.wait(), self.kill_grace)
        # To the group: what the flow started dies too, even if the worker has already left.
        self.processes.signal(signal.SIGKILL)


__all__ = ["WorkerStop"]
