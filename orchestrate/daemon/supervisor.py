"""Worker processes: start one per flow run, relay what it records, stop it, and say how it ended.

Each worker is `python -m orchestrate.worker` in a process group of its own,
so a cancel or a timeout reaches whatever the flow started too (SIGTERM to
the group, `kill_grace` seconds, then SIGKILL). It gets its spec over one end
of a socket pair and sends its records back over it; its stdout and stderr
become the run's logs, line by line. Whatever happens — the worker crashes,
sends garbage, or `on_records` raises — `WorkerHandle.wait()` returns a
`WorkerExit`, and the flow run has a final state on record: the worker's own,
or one the supervisor records for it (TimedOut, Cancelled, Crashed).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import time
from collections import deque
from collections.abc import AsyncIterator, Callable
from typing import Any

from orchestrate.core.record_codec import decode_records
from orchestrate.core.records import LogRecord, Record
from orchestrate.core.states import Crashed, State
from orchestrate.daemon.scope import MARK, RunScopes
from orchestrate.daemon.worker_exit import (
    ORDERLY_EXITS,
    WorkerExit,
    decide_exit,
    final_state_records,
)
from orchestrate.daemon.worker_records import RecordedRun, note, worker_event
from orchestrate.daemon.worker_salvage import salvage
from orchestrate.worker.channel import RECORDS, RUN, STOP, notification
from orchestrate.worker.spec import RunSpec

log = logging.getLogger("orc.daemon.supervisor")

#: After the worker exits, how long its pipes may stay open (a process it left behind holds them).
IO_GRACE = 2.0
#: A stdout or stderr line longer than this is cut into several log lines.
MAX_LOG_LINE = 64 * 1024
#: A records line longer than this is not a worker's: it is dropped as garbage.
MAX_RECORDS_LINE = 256 * 1024 * 1024
#: How many stderr lines a Crashed state quotes.
STDERR_TAIL = 10
#: How many garbage lines are reported in the run's logs (the rest are only counted).
GARBAGE_REPORTS = 5


class Supervisor:
    """Starts and watches workers; every record they produce goes to `on_records`, in batches.

    Args:
        on_records: called on the event loop with each batch of decoded records (run
            records, states, logs, events), including the supervisor's own; its errors are logged.
        python: the interpreter that runs workers.
        kill_grace: seconds between SIGTERM and SIGKILL when stopping a worker.
        scopes: finds every process of a run (see `daemon.scope`); without it, the
            worker's process group stands for the run.
    """

    def __init__(
        self,
        on_records: Callable[[list[Record]], None],
        *,
        python: str = sys.executable,
        kill_grace: float = 5.0,
        scopes: RunScopes | None = None,
    ) -> None:
        self.on_records = on_records
        self.python = python
        self.kill_grace = kill_grace
        self.scopes = scopes
        #: The workers not yet exited, by flow run id.
        self.running: dict[str, WorkerHandle] = {}

    async def start(self, spec: RunSpec) -> WorkerHandle:
        """Start a worker for `spec`; never raises for the process itself (see `WorkerHandle.wait`)."""
        handle = WorkerHandle(spec, self)
        self.running[spec.flow_run_id] = handle
        await handle._launch()
        return handle

    async def shutdown(self, reason: str = "The orc daemon stopped.") -> None:
        """Cancel every running worker and wait for them all."""
        await asyncio.gather(*(h.cancel(reason) for h in list(self.running.values())))

    def deliver(self, records: list[Record]) -> None:
        try:
            self.on_records(records)
        except Exception:
            log.exception("on_records raised; %d records were not taken", len(records))


class WorkerHandle:
    """One worker process and what the supervisor knows of its flow run."""

    def __init__(self, spec: RunSpec, supervisor: Supervisor) -> None:
        self.spec = spec
        self.pid: int | None = None
        self.started_at = time.time()
        self._supervisor = supervisor
        self._run = RecordedRun(spec.flow_run_id)
        self._stderr_tail: deque[str] = deque(maxlen=STDERR_TAIL)
        self._garbage = 0
        self._stop: tuple[str, str] | None = None  # ("cancel" | "timeout", message)
        self._stopping: asyncio.Task[None] | None = None
        self._exited = asyncio.Event()
        self._done: asyncio.Future[WorkerExit] = asyncio.get_running_loop().create_future()
        self._writer: asyncio.StreamWriter | None = None
        self._transports: list[asyncio.BaseTransport] = []
        self._task: asyncio.Task[None] | None = None

    @property
    def last_state(self) -> State | None:
        """The latest state of the flow run seen in the worker's records."""
        return self._run.last_state

    async def wait(self) -> WorkerExit:
        """Wait for the worker to end; always returns, whatever happened to it."""
        return await asyncio.shield(self._done)

    async def cancel(self, reason: str = "") -> WorkerExit:
        """Stop the worker (and everything it started): the flow run ends Cancelled."""
        if not self._done.done():
            await asyncio.shield(
                self._begin_stop("cancel", reason or "The flow run was cancelled.")
            )
        return await self.wait()

    async def abandon(self, reason: str) -> WorkerExit:
        """Stop the worker because the daemon is stopping: the flow run ends Crashed, recorded
        by the worker itself where it still can, so its history stays in order."""
        if not self._done.done():
            await asyncio.shield(self._begin_stop("shutdown", reason))
        return await self.wait()

    # --- starting -----------------------------------------------------------------------

    async def _launch(self) -> None:
        ours, theirs = socket.socketpair()
        out_read, out_write = os.pipe()
        err_read, err_write = os.pipe()
        scopes = self._supervisor.scopes
        env = None
        if scopes is not None:
            env = {**os.environ, MARK: scopes.mark(self.spec.flow_run_id)}
            self.spec = dataclasses.replace(self.spec, subreaper=not scopes.uses_cgroup)
        try:
            proc = await asyncio.create_subprocess_exec(
                self._supervisor.python,
                "-m",
                "orchestrate.worker",
                "--fd",
                str(theirs.fileno()),
                stdin=subprocess.DEVNULL,
                stdout=out_write,
                stderr=err_write,
                pass_fds=(theirs.fileno(),),
                start_new_session=True,
                cwd=self.spec.project_root,
                env=env,
            )
        except OSError as exc:
            for fd in (out_read, err_read):
                os.close(fd)
            ours.close()
            self._task = asyncio.create_task(self._never_started(exc))
            return
        finally:
            theirs.close()
            os.close(out_write)
            os.close(err_write)
        self.pid = proc.pid
        if scopes is not None:  # before the spec goes out: the worker runs no user code until then
            scopes.adopt(self.spec.flow_run_id, proc.pid)
        self._event("orc.worker.started", {"pid": proc.pid})
        try:
            pumps = await self._open_pumps(ours, out_read, err_read)
            self._send(notification(RUN, self.spec.to_dict()))
        except Exception:
            log.exception(
                "Worker %s (flow run %s) cannot be watched; killing it",
                self.pid,
                self.spec.flow_run_id,
            )
            self._signal(signal.SIGKILL)
            pumps = []
        self._task = asyncio.create_task(self._supervise(proc, pumps))

    async def _never_started(self, exc: OSError) -> None:
        message = f"The worker could not be started ({self._supervisor.python} -m orchestrate.worker): {exc}"
        self._conclude(None, Crashed(message=message))

    # --- watching -----------------------------------------------------------------------

    async def _supervise(
        self, proc: asyncio.subprocess.Process, pumps: list[asyncio.Task[None]]
    ) -> None:
        returncode: int | None = None
        try:
            returncode = await self._wait_exit(proc)
        except BaseException:  # cancelled, or a bug here: the worker must not outlive its watch
            log.exception(
                "Supervising worker %s (flow run %s) failed; killing it",
                self.pid,
                self.spec.flow_run_id,
            )
            self._signal(signal.SIGKILL)
            returncode = await proc.wait()
        finally:
            self._exited.set()
            await self._end_scope()
            await self._finish_pumps(pumps)
            if returncode not in ORDERLY_EXITS:
                await salvage(self.spec.journal, self._run, self._take)
            self._conclude(returncode, None)

    async def _end_scope(self) -> None:
        """The worker is gone: stop whatever of the run is still running (detached ones too)."""
        scopes = self._supervisor.scopes
        if scopes is None:
            self._signal(signal.SIGKILL)
            return
        try:
            left = await asyncio.to_thread(scopes.release, self.spec.flow_run_id, self.pid)
        except Exception:
            log.exception("Stopping what flow run %s left running failed", self.spec.flow_run_id)
            return
        if left:
            text = f"{left} process(es) the flow run started were still running when its worker exited; they were stopped."
            self._supervisor.deliver([note(self.spec.flow_run_id, logging.WARNING, text)])

    async def _open_pumps(
        self, sock: socket.socket, out: int, err: int
    ) -> list[asyncio.Task[None]]:
        reader, self._writer = await asyncio.open_connection(sock=sock)
        stdout = await self._pipe_reader(out)
        stderr = await self._pipe_reader(err)
        return [
            asyncio.create_task(self._pump_records(reader)),
            asyncio.create_task(self._pump_output(stdout, "stdout", logging.INFO)),
            asyncio.create_task(self._pump_output(stderr, "stderr", logging.WARNING)),
        ]

    async def _wait_exit(self, proc: asyncio.subprocess.Process) -> int:
        timer = None
        if self.spec.timeout_seconds is not None:
            seconds = self.spec.timeout_seconds
            message = f"Flow run timed out after {seconds:g}s and was stopped."
            timer = asyncio.get_running_loop().call_later(
                seconds, self._begin_stop, "timeout", message
            )
        try:
            return await proc.wait()
        finally:
            if timer is not None:
                timer.cancel()

    async def _finish_pumps(self, pumps: list[asyncio.Task[None]]) -> None:
        """Read what the worker left in its pipes; give up after `IO_GRACE` if someone holds them open."""
        if pumps:
            _, late = await asyncio.wait(pumps, timeout=IO_GRACE)
            for task in late:
                task.cancel()
            await asyncio.gather(*pumps, return_exceptions=True)
        if self._writer is not None:
            self._writer.close()
        for transport in self._transports:
            transport.close()

    async def _pipe_reader(self, fd: int) -> asyncio.StreamReader:
        loop = asyncio.get_running_loop()
        reader = asyncio.StreamReader()
        pipe = os.fdopen(fd, "rb", buffering=0)
        transport, _ = await loop.connect_read_pipe(
            lambda: asyncio.StreamReaderProtocol(reader), pipe
        )
        self._transports.append(transport)
        return reader

    async def _pump_records(self, reader: asyncio.StreamReader) -> None:
        async for lines in _lines(reader, MAX_RECORDS_LINE, chunk=1024 * 1024):
            records: list[Record] = []
            for line in lines:
                records.extend(self._decode(line))
            if records:
                self._take(records)

    async def _pump_output(self, reader: asyncio.StreamReader, name: str, level: int) -> None:
        flow_run_id = self.spec.flow_run_id
        async for lines in _lines(reader, MAX_LOG_LINE, chunk=MAX_LOG_LINE):
            now = time.time()
            texts = [line.decode(errors="replace").rstrip("\r") for line in lines]
            if name == "stderr":
                self._stderr_tail.extend(texts)
            self._supervisor.deliver(
                [LogRecord(flow_run_id, None, now, level, name, t) for t in texts]
            )

    def _decode(self, line: bytes) -> list[Record]:
        """The records of one `records` line; anything else is reported (a few times) and skipped."""
        if not line.strip():
            return []
        try:
            message = json.loads(line)
            if message.get("method") != RECORDS:
                raise ValueError(f"method {message.get('method')!r}, expected {RECORDS!r}")
            return decode_records(message["params"]["records"])
        except Exception as exc:
            self._garbage += 1
            if self._garbage > GARBAGE_REPORTS:
                return []
            text = f"The worker sent a line that is not a records notification ({exc}); it was skipped: {line[:120]!r}"
            return [note(self.spec.flow_run_id, logging.WARNING, text)]

    def _take(self, records: list[Record]) -> None:
        self._run.take(records)
        self._supervisor.deliver(records)

    # --- stopping -----------------------------------------------------------------------

    def _begin_stop(self, kind: str, message: str) -> asyncio.Task[None]:
        """Start stopping the worker (once: the first reason stands)."""
        if self._stopping is None:
            self._stop = (kind, message)
            self._stopping = asyncio.create_task(self._terminate(kind, message))
        return self._stopping

    async def _terminate(self, kind: str, message: str) -> None:
        if self._exited.is_set():
            return
        state = {"timeout": "TimedOut", "shutdown": "Crashed"}.get(kind, "Cancelled")
        self._send(notification(STOP, {"state": state, "message": message}))
        if self._writer is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._writer.drain(), 1.0)
        self._signal(signal.SIGTERM)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._exited.wait(), self._supervisor.kill_grace)
        # To the group: what the flow started dies too, even if the worker has already left.
        self._signal(signal.SIGKILL)

    def _send(self, line: bytes) -> None:
        if self._writer is not None and not self._writer.is_closing():
            self._writer.write(line)

    def _signal(self, signum: int) -> None:
        """`signum` to the whole run: the worker's group, and with scopes every process of it."""
        scopes = self._supervisor.scopes
        if scopes is not None:
            scopes.signal(self.spec.flow_run_id, self.pid, signum)
        elif self.pid is not None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.pid, signum)

    # --- ending -------------------------------------------------------------------------

    def _conclude(self, returncode: int | None, state: State | None) -> None:
        """Record the final state if the worker did not, announce the exit, release `wait()`."""
        try:
            exit_ = self._exit(returncode, state)
            self._record_end(exit_.final_state)
            payload = {"pid": self.pid, "returncode": returncode, "signal": exit_.signal}
            self._event("orc.worker.exited", {**payload, "state": exit_.final_state.name})
        except Exception as exc:
            log.exception("Concluding worker %s failed", self.pid)
            exit_ = WorkerExit(
                returncode, None, False, False, Crashed(message=f"The supervisor failed: {exc!r}")
            )
        finally:
            self._supervisor.running.pop(self.spec.flow_run_id, None)
        if not self._done.done():
            self._done.set_result(exit_)

    def _exit(self, returncode: int | None, state: State | None) -> WorkerExit:
        """How it ended; `state` is a final state decided already (a worker that never started)."""
        recorded = self._run.final_state()
        tail = self._stderr_tail
        return decide_exit(returncode, state, self._stop, recorded, tail)

    def _record_end(self, final: State) -> None:
        """Record `final` for the flow run unless the worker did, and end what it left open."""
        if final is not self._run.last_state:
            run = self._run.last_run or self.spec.flow_run_record()
            records = final_state_records(run, final)
            if records:
                self._supervisor.deliver(records)
            self._run.last_state = final
        leftovers = self._run.end_leftovers(final)
        if leftovers:
            self._supervisor.deliver(leftovers)

    def _event(self, name: str, payload: dict[str, Any]) -> None:
        if self.pid is None:
            return  # no process, no worker resource to speak of
        spec = self.spec
        event = worker_event(spec.flow_run_id, spec.deployment, self.pid, name, payload)
        self._supervisor.deliver([event])


async def _lines(
    reader: asyncio.StreamReader, limit: int, chunk: int
) -> AsyncIterator[list[bytes]]:
    """The complete lines of each read, without their newline; a line past `limit` is cut there."""
    pieces: list[bytes] = []
    size = 0
    while True:
        data = await reader.read(chunk)
        if not data:
            if pieces:
                yield [b"".join(pieces)]
            return
        if b"\n" not in data:
            pieces.append(data)
            size += len(data)
            if size >= limit:
                yield [b"".join(pieces)]
                pieces, size = [], 0
            continue
        first, *rest = data.split(b"\n")
        lines = [b"".join([*pieces, first]), *rest[:-1]]
        pieces = [rest[-1]] if rest[-1] else []
        size = len(rest[-1])
        yield lines


__all__ = ["Supervisor", "WorkerHandle"]
