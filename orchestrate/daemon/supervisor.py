"""Worker processes: start one per flow run, relay what it records, stop it, and say how it ended.

Each worker is `python -m orchestrate.worker` in a process group of its own,
so a cancel or a timeout reaches whatever the flow started too (SIGTERM to
the group, `kill_grace` seconds, then SIGKILL). It gets its spec over one end
of a socket pair and sends its records back over it; its stdout and stderr
become the run's logs, line by line. Whatever happens — the worker crashes,
sends garbage, or `on_records` raises — `WorkerHandle.wait()` returns a
`WorkerExit`, and the flow run has a final state on record: the worker's own,
or one the supervisor records for it (TimedOut, Cancelled, Crashed).

This module orchestrates; each policy has a module of its own: starting and
signalling the processes (`worker_process`), the channels (`worker_pipes`),
timeouts and cancels (`worker_stop`), following the worker's records
(`worker_records`), the journal of a killed worker (`worker_salvage`) and the
final state of an exit (`worker_exit`).
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import os
import signal
import sys
import time
from collections.abc import Callable
from typing import Any

from orchestrate.core.records import Record
from orchestrate.core.states import Crashed, Failed, State
from orchestrate.daemon import worker_handshake
from orchestrate.daemon.outcome import Outcome
from orchestrate.daemon.read_pause import ReadPause
from orchestrate.daemon.scope import RunScopes
from orchestrate.daemon.worker_exit import (
    ORDERLY_EXITS,
    WorkerExit,
    decide_exit,
    final_state_records,
)
from orchestrate.daemon.worker_pipes import WorkerPipes
from orchestrate.daemon.worker_process import RunProcesses, Spawned, WorkerProcess, start_worker
from orchestrate.daemon.worker_records import RecordedRun, note, worker_event
from orchestrate.daemon.worker_salvage import salvage
from orchestrate.daemon.worker_stop import WorkerStop
from orchestrate.daemon.zygotes import Zygotes
from orchestrate.worker import handshake, start_trace
from orchestrate.worker.channel import RESUME, RUN, notification
from orchestrate.worker.spec import RunSpec

#: How many spares a run may find dead before it is handed over (then it starts cold).
SPARE_TRIES = 3

log = logging.getLogger("orc.daemon.supervisor")


class Supervisor:
    """Starts and watches workers; every record they produce goes to `on_records`, in batches.

    Args:
        on_records: called on the event loop with each batch of decoded records (run
            records, states, logs, events), including the supervisor's own; its errors are logged.
        python: the interpreter that runs workers whose spec names none.
        kill_grace: seconds between SIGTERM and SIGKILL when stopping a worker.
        scopes: finds every process of a run (see `daemon.scope`); without it, the
            worker's process group stands for the run.
        read_pause: holds the reading of every worker while the store cannot take more
            records (see `daemon.read_pause`); by default workers are always read.
    """

    def __init__(
        self,
        on_records: Callable[[list[Record]], None],
        *,
        python: str = sys.executable,
        kill_grace: float = 5.0,
        scopes: RunScopes | None = None,
        warm: bool = False,
        read_pause: ReadPause | None = None,
    ) -> None:
        self.on_records = on_records
        self.read_pause = read_pause or ReadPause()
        self.python = python
        self.kill_grace = kill_grace
        self.scopes = scopes
        self.zygotes = Zygotes(python, scopes) if warm else None
        #: The workers not yet exited, by flow run id.
        self.running: dict[str, WorkerHandle] = {}

    async def start(self, spec: RunSpec) -> WorkerHandle:
        """Start a worker for `spec`; never raises for the process itself (see `WorkerHandle.wait`)."""
        handle = WorkerHandle(spec, self)
        self.running[spec.flow_run_id] = handle
        try:
            await handle._launch()
        except BaseException:  # a bug, not the process: the caller says why; nothing is kept
            self.running.pop(spec.flow_run_id, None)
            raise
        return handle

    async def shutdown(self, reason: str = "The orc daemon stopped.") -> None:
        """Cancel every running worker and wait for them all."""
        await asyncio.gather(*(h.cancel(reason) for h in list(self.running.values())))
        if self.zygotes is not None:
            await self.zygotes.close()

    def deliver(self, records: list[Record]) -> None:
        try:
            self.on_records(records)
        except Exception:
            log.exception("on_records raised; %d records were not taken", len(records))


class WorkerHandle:
    """One worker process and what the supervisor knows of its flow run."""

    def __init__(self, spec: RunSpec, supervisor: Supervisor) -> None:
        self.spec = spec
        self.started_at = time.time()
        self._supervisor = supervisor
        self._run = RecordedRun(spec.flow_run_id)
        self._processes = RunProcesses(spec.flow_run_id, supervisor.scopes)
        self._pipes = WorkerPipes(
            spec.flow_run_id, self._take, supervisor.deliver, supervisor.read_pause
        )
        self._stop = WorkerStop(self._processes, self._pipes, supervisor.kill_grace)
        self._done: Outcome[WorkerExit] = Outcome()
        self._task: asyncio.Task[None] | None = None

    @property
    def pid(self) -> int | None:
        """The worker's pid, once it started."""
        return self._processes.pid

    @property
    def last_state(self) -> State | None:
        """The latest state of the flow run seen in the worker's records."""
        return self._run.last_state

    async def wait(self) -> WorkerExit:
        """Wait for the worker to end; always returns, whatever happened to it."""
        return await self._done.wait()

    async def cancel(self, reason: str = "") -> WorkerExit:
        """Stop the worker (and everything it started): the flow run ends Cancelled."""
        if not self._done.done():
            await asyncio.shield(
                self._stop.begin("cancel", reason or "The flow run was cancelled.")
            )
        return await self.wait()

    def resume(self, key: str, run_input: dict[str, Any] | None) -> None:
        """Tell a worker waiting in `pause_flow_run` that pause `key` was resumed."""
        self._pipes.send(notification(RESUME, {"key": key, "run_input": run_input}))

    async def abandon(self, reason: str) -> WorkerExit:
        """Stop the worker because the daemon is stopping: the flow run ends Crashed, recorded
        by the worker itself where it still can, so its history stays in order."""
        if not self._done.done():
            await asyncio.shield(self._stop.begin("shutdown", reason))
        return await self.wait()

    # --- starting -----------------------------------------------------------------------

    async def _launch(self) -> None:
        start_trace.mark("daemon: launch")
        self.spec, env = self._processes.prepare(self.spec)
        for tries_left in range(SPARE_TRIES, -1, -1):
            zygotes = self._supervisor.zygotes if tries_left else None  # the last one cold
            try:
                spawned = await start_worker(self.python, self.spec, env, zygotes)
                start_trace.mark("daemon: worker started")
            except OSError as exc:
                self._task = asyncio.create_task(self._never_started(exc))
                return
            if await self._hand_over(spawned):
                return

    async def _hand_over(self, spawned: Spawned) -> bool:
        """Give the started worker its run and watch it; False if it was a spare that died
        before the run reached it (killed from outside): nothing of the run ran, and what
        was set up for it is undone, so another worker can take it."""
        # Before the spec goes out: the worker runs no user code until then.
        self._processes.adopt(spawned.proc.pid, spawned.scope)
        if spawned.setup is None:
            self._event("orc.worker.started", {"pid": spawned.proc.pid})
        refused = await self._greet(spawned)
        if refused is not None:
            self._task = asyncio.create_task(self._refuse(spawned, refused))
            return True
        pumps: list[asyncio.Future[None]] = []
        gone: OSError | None = None
        try:
            pumps = await self._pipes.open(spawned.sock, spawned.stdout, spawned.stderr)
            hello = handshake.our_line() if spawned.agreed else b""
            self._pipes.send(hello + notification(RUN, self.spec.to_dict()))
            start_trace.mark("daemon: spec sent")
        except Exception:
            log.exception(
                "Worker %s (flow run %s) cannot be watched; killing it",
                self.pid,
                self.spec.flow_run_id,
            )
            self._processes.signal(signal.SIGKILL)
        finally:
            if spawned.setup is not None:  # a spare: woken last, its spec already waiting
                gone = _wake(spawned.setup)
        if gone is not None and pumps:
            log.warning(
                "spare worker %d died before it took flow run %s (%s); another worker takes it",
                spawned.proc.pid,
                self.spec.flow_run_id,
                gone,
            )
            await self._pipes.finish(pumps)
            await self._processes.release()
            return False
        if spawned.setup is not None:
            self._event("orc.worker.started", {"pid": spawned.proc.pid})
        self._task = asyncio.create_task(self._supervise(spawned.proc, pumps))
        return True

    @property
    def python(self) -> str:
        """The interpreter of this run's worker: the deployment's, else the daemon's."""
        return self.spec.python or self._supervisor.python

    async def _greet(self, spawned: Spawned) -> State | None:
        """Exchange hellos; the final state of a worker that cannot take this daemon's spec.
        A forked worker speaks its zygote's protocol, checked when it started: ours is sent
        in one write with the spec (one wake-up of the worker, not two), and its answer comes
        with its records (a round trip saved)."""
        if spawned.agreed:
            return None  # ours goes in the spec's write (`_launch`)
        try:
            theirs = await worker_handshake.exchange(spawned.sock)
        except worker_handshake.NoHello as exc:
            return Crashed(message=f"{exc} ({self.python}); it was stopped.")
        if theirs is None or theirs.protocol == handshake.PROTOCOL:
            return None  # it went away (the exit says why), or it agrees
        return Failed(message=f"{handshake.refusal(theirs, self.python)}.")

    async def _refuse(self, spawned: Spawned, state: State) -> None:
        """Stop a worker the run cannot use, before it has seen its spec; the run ends `state`."""
        self._processes.signal(signal.SIGKILL)
        returncode = await spawned.proc.wait()
        spawned.sock.close()
        for fd in (spawned.stdout, spawned.stderr):
            os.close(fd)
        await self._end_scope()
        log.warning("flow run %s: %s", self.spec.flow_run_id, state.message)
        self._conclude(returncode, state, needs_a_fix=True)

    async def _never_started(self, exc: OSError) -> None:
        message = f"The worker could not be started ({self.python} -m orchestrate.worker): {exc}"
        self._conclude(None, Crashed(message=message))

    # --- watching -----------------------------------------------------------------------

    async def _supervise(self, proc: WorkerProcess, pumps: list[asyncio.Future[None]]) -> None:
        returncode: int | None = None
        try:
            returncode = await self._stop.wait_exit(proc, self.spec.timeout_seconds)
        except BaseException:  # cancelled, or a bug here: the worker must not outlive its watch
            log.exception(
                "Supervising worker %s (flow run %s) failed; killing it",
                self.pid,
                self.spec.flow_run_id,
            )
            self._processes.signal(signal.SIGKILL)
            returncode = await proc.wait()
        finally:
            self._stop.exited.set()
            await self._end_scope()
            await self._pipes.finish(pumps)
            if returncode not in ORDERLY_EXITS:
                await salvage(self.spec.journal, self._run, self._take)
            self._conclude(returncode, None)

    async def _end_scope(self) -> None:
        """The worker is gone: stop whatever of the run is still running (detached ones too)."""
        left = await self._processes.release()
        if left:
            text = f"{left} process(es) the flow run started were still running when its worker exited; they were stopped."
            self._supervisor.deliver([note(self.spec.flow_run_id, logging.WARNING, text)])

    def _take(self, records: list[Record]) -> None:
        self._run.take(records)
        self._supervisor.deliver(records)

    # --- ending -------------------------------------------------------------------------

    def _conclude(
        self, returncode: int | None, state: State | None, *, needs_a_fix: bool = False
    ) -> None:
        """Record the final state if the worker did not, announce the exit, release `wait()`;
        with `needs_a_fix`, no retry is made (another attempt would end the same)."""
        try:
            exit_ = self._exit(returncode, state)
            if needs_a_fix:
                exit_ = dataclasses.replace(exit_, needs_a_fix=True)
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
        self._done.set(exit_)

    def _exit(self, returncode: int | None, state: State | None) -> WorkerExit:
        """How it ended; `state` is a final state decided already (a worker that never started)."""
        recorded = self._run.final_state()
        tail = self._pipes.stderr_tail
        return decide_exit(returncode, state, self._stop.reason, recorded, tail)

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


def _wake(setup: Callable[[], None]) -> OSError | None:
    """Hand a spare its run; the error if it has died meanwhile."""
    try:
        setup()
    except OSError as exc:
        return exc
    return None


__all__ = ["Supervisor", "WorkerHandle"]
