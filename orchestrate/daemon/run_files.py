"""The files the daemon keeps per run beside the store: worker pid files and retired journals.

Each is a few syscalls, but on the event loop they cost a run ~6 ms of loop
time at 20 runs/s on a loaded machine (a write, an unlink and a glob of the
journals' folder per run, and a thread hop to flush the writer before the
journals go). Here they are queued and done in one thread, in order, a batch
at a time: a pid file is never written after its run's removal of it, and a
batch that retires journals flushes the writer once, first, so a journal still
goes only once the store holds all it says (an unflushed batch keeps them for
the next `orc up` to replay). A batch gathers for `BATCH_DELAY` first, so runs
starting or ending together share one hop to the thread; journals are retired
every `RETIRE_EVERY` rather than as each run ends: a flush that made the writer
store at once cut its batches short (one per run: at ~60 runs/s, ~3 writes
where one would do; one every 0.5 s: a tenth more writes), so the flush given
here waits for the writer's next round (`StoreWriter.flush(hurry=False)`).

A worker that ends before its pid file was written never gets one: the write
and the removal are both dropped. Most runs of a busy daemon are that short
when pid files wait `BATCH_DELAY`, and a file made and removed costs ext4 an
inode each time. A pid file matters only for a worker that outlives a kill of
its daemon, and the next `orc up` finds those by their scope too.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from orchestrate.daemon.journal_files import JournalFiles
from orchestrate.recording.journal import journal_path

log = logging.getLogger("orc.daemon")

#: How long a batch waits for the writer before it keeps its journals for the next orc up.
FLUSH_TIMEOUT = 60.0
#: How long an ended run's journals wait, so that the runs ending meanwhile share one flush.
RETIRE_EVERY = 2.0
#: How long a pid file's write or removal waits, so the runs starting or ending meanwhile share
#: one hop to the thread, and a worker that ends meanwhile has none (the next orc up also finds
#: a run's processes by its cgroup and mark).
BATCH_DELAY = 0.25


@dataclass(frozen=True, slots=True)
class _Chore:
    kind: str  # "pid", "unpid" or "retire"
    run_id: str
    value: int  # the worker's pid, or the last attempt whose journals go


class RunFiles:
    """Pid files of running workers and the journals of finished attempts, kept off the loop.

    Args:
        workers_dir: where `RUN.pid` files go (read by the next `orc up`, see `daemon.recovery`).
        journals_dir: the attempts' journals (see `orchestrate.recording.journal`).
        flush: waits until the store holds everything given to the writer; False on a timeout.
        background: runs a coroutine as a task the daemon waits for when it stops.
    """

    def __init__(
        self,
        workers_dir: Path,
        journals_dir: Path,
        flush: Callable[[float], bool],
        background: Callable[[Coroutine[Any, Any, Any]], None],
    ) -> None:
        self.workers_dir = workers_dir
        self.journals_dir = journals_dir
        #: Creates the attempts' journals, in files of retired ones where it can.
        self.journals = JournalFiles(journals_dir)
        self.flush = flush
        self.background = background
        self._queue: list[_Chore] = []
        self._draining = False
        self._idle = asyncio.Event()
        self._idle.set()
        self._retiring: list[_Chore] = []
        self._retire_timer: asyncio.TimerHandle | None = None
        #: Set each time the journals waiting for the interval are queued.
        self.retired = asyncio.Event()

    def started(self, run_id: str, pid: int) -> None:
        """Note the worker's pid, so the next `orc up` can stop it if this daemon dies."""
        self._add(_Chore("pid", run_id, pid))

    def ended(self, run_id: str) -> None:
        """The worker has exited: its pid file goes, or is never written if it waits still."""
        waiting = next((c for c in self._queue if c.kind == "pid" and c.run_id == run_id), None)
        if waiting is not None:
            self._queue.remove(waiting)  # never written, so nothing to remove
        else:
            self._add(_Chore("unpid", run_id, 0))

    def retire(self, run_id: str, attempt: int) -> None:
        """Remove the run's journals up to `attempt` once the store holds all they say,
        with the other runs that end within `RETIRE_EVERY`."""
        self._retiring.append(_Chore("retire", run_id, attempt))
        if self._retire_timer is None:
            loop = asyncio.get_running_loop()
            self._retire_timer = loop.call_later(RETIRE_EVERY, self._retire_now)

    async def drained(self) -> None:
        """Wait until every chore queued so far is done (journals waiting to retire included),
        and remove the retired journals' files kept for later attempts."""
        self._retire_now()
        await self._idle.wait()
        self.journals.close()

    def _retire_now(self) -> None:
        if self._retire_timer is not None:
            self._retire_timer.cancel()
            self._retire_timer = None
        chores, self._retiring = self._retiring, []
        for chore in chores:
            self._add(chore)
        self.retired.set()

    def _add(self, chore: _Chore) -> None:
        self._queue.append(chore)
        if not self._draining:
            self._draining = True
            self._idle.clear()
            self.background(self._drain())

    async def _drain(self) -> None:
        try:
            await asyncio.sleep(BATCH_DELAY)
            while self._queue:
                batch, self._queue = self._queue, []
                await asyncio.to_thread(self._do, batch)
        finally:
            self._draining = False
            self._idle.set()

    def _do(self, batch: list[_Chore]) -> None:
        """One batch, in order (in the thread)."""
        stored: bool | None = None
        for chore in batch:
            pid_file = self.workers_dir / f"{chore.run_id}.pid"
            try:
                if chore.kind == "pid":
                    pid_file.write_text(str(chore.value))
                elif chore.kind == "unpid":
                    pid_file.unlink(missing_ok=True)
                else:
                    stored = self.flush(FLUSH_TIMEOUT) if stored is None else stored
                    if stored:  # else kept: the next orc up replays them
                        self._unlink_journals(chore.run_id, chore.value)
            except OSError as exc:
                log.warning(
                    "run %s: %s of its files failed (%s)", chore.run_id[:8], chore.kind, exc
                )

    def _unlink_journals(self, run_id: str, attempt: int) -> None:
        for number in range(attempt, 0, -1):
            self.journals.retire(journal_path(self.journals_dir, run_id, number))


__all__ = ["RunFiles"]
