"""The embedded store's sink: records queue in memory and a background thread batches them in.

`put` is the engine's hot path, so it is a bare `deque.append` (atomic under
the GIL) and nothing else: no lock, no notify. A daemon thread wakes every
`flush_interval`, drains the queue and writes it in columnar batches, one
transaction per flush, through its hold on the file (`file_hold`), which lets
go while idle so other processes get their turn.

Nothing it is given is dropped. A write the file refuses keeps its records in
memory, in order, and is tried again after a pause (`health` says why the
store is degraded meanwhile); a record DuckDB refuses is stored sanitised or
set aside (`refusals`). A failure of the thread itself is logged and the
thread goes on. Closing while degraded tries once more and logs, as an error,
how many records were not written.
"""

from __future__ import annotations

import atexit
import logging
import sys
import threading
import time
from collections import deque
from collections.abc import Callable
from itertools import repeat, starmap
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from orchestrate.core.records import Record
from orchestrate.store import memory
from orchestrate.store.batch import BY_ROWS, Batch, StoredRuns
from orchestrate.store.checkpoints import Checkpoints
from orchestrate.store.file_hold import FileHold
from orchestrate.store.health import HealthWatch, StoreHealth, backoff
from orchestrate.store.notices import say
from orchestrate.store.refusals import set_aside_unreadable, write_batch

if TYPE_CHECKING:
    import duckdb

__all__ = ["StoreWriter"]

#: The most records one flush takes, so a write never waits on an endless drain.
MAX_BATCH = 200_000

#: The longest a paced `put` waits for the writer to take the queue (it never waits on a
#: writer that is failing, but a slow write must not hold a flow up longer than this).
PACE_WAIT = 1.0

#: What became of one write: all stored, stored but for records set aside, or to be tried again.
Outcome = Literal["stored", "set-aside", "wait"]


class _FlushMarker:
    """Queued by `flush()`: set once every record queued before it has been written.

    `then` (from `when_stored`) is called on the writer's thread once they are.
    """

    __slots__ = ("done", "ok", "then")

    def __init__(self, then: Callable[[], None] | None = None) -> None:
        self.done = threading.Event()
        self.ok = True
        self.then = then


class StoreWriter:
    """Records runs into the DuckDB file at `path` from a background thread.

    Args:
        path: the store file; created (with its folder) on the first write.
        flush_interval: the longest a record waits in memory before a write starts (at
            most 50 ms, as the design promises: no longer, even though each write costs
            ~7 ms of CPU whatever it holds).
        lock_timeout: how long one write waits for another process to release the file.
        connection: an open connection to `path` to write through, held for the writer's
            life (the daemon owns the file and never lets go of it); by default the
            writer opens the file itself and lets go when idle.
        pace_at: a `put` from the main thread that finds this many records queued
            waits (up to `PACE_WAIT`) for the writer to take them. For a flow recording
            in its own process: the writer's Python needs the GIL the flow's thread
            holds, so unpaced it fell ~100k records behind in a 100k-task flow and
            wrote them after the flow ended. None (the daemon, whose loop must never
            wait): never.
    """

    def __init__(
        self,
        path: Path,
        flush_interval: float = 0.05,
        lock_timeout: float = 10.0,
        connection: duckdb.DuckDBPyConnection | None = None,
        pace_at: int | None = None,
    ):
        self.path = Path(path)
        self.flush_interval = min(flush_interval, 0.05)
        #: The daemon's batches (it gives its held connection) are a few runs each: their tables'
        #: rows go as one string of rows (`batch.BY_ROWS`); a flow's in its own process never do.
        self._rows_up_to = BY_ROWS if connection is not None else 0
        self.lock_timeout = lock_timeout
        self._queue: deque[Any] = deque()
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()
        self._wake = threading.Event()
        #: Notified each time the writer has taken what was queued (or could take no more).
        self._taken = threading.Condition()
        self._pace_at = pace_at or sys.maxsize
        self._sleeping = True  # no thread yet: the first put starts it
        self._closed = False
        self._stopping = False
        self._file = FileHold(self.path, lock_timeout, connection)
        self._pending = Batch()
        self._markers: list[_FlushMarker] = []
        #: Runs this writer stored that may be put again (their rows upsert).
        self._stored = StoredRuns()
        self._shut = False
        self._late = False
        #: Records stored since memory was last handed back (`memory`).
        self._since_trim = 0
        self._health = HealthWatch(self.path, self._counts)
        #: The daemon's writer checkpoints itself when DuckDB did not (`checkpoints`); a writer
        #: holding its own file checkpoints each time it lets go of it.
        self._checkpoints = (
            Checkpoints(self.path, self._invalidated) if connection is not None else None
        )
        #: Records DuckDB refused even in sanitised form: kept here, each logged with its run id.
        self.set_aside: list[Any] = []

    @property
    def health(self) -> StoreHealth:
        """The store as this writer sees it now; safe to read from any thread."""
        return self._health.now()

    def _counts(self) -> tuple[int, int]:
        return len(self._queue) + len(self._pending), len(self.set_aside)

    @property
    def holds_file(self) -> bool:
        """Whether the writer has the store file open now (it lets go when idle, `file_hold`)."""
        return self._file.conn is not None

    def on_health(self, callback: Callable[[StoreHealth], None]) -> None:
        """Call `callback(health)` whenever the store turns degraded, changes why, or recovers.

        It runs on the writer's thread: a daemon hands it to its loop with
        `loop.call_soon_threadsafe`. An exception in it is logged and ignored.
        """
        self._health.subscribe(callback)

    def use_connection(self, connection: duckdb.DuckDBPyConnection) -> None:
        """Write through `connection` from the next write on: the daemon's reopened database.

        After DuckDB invalidates a database (`health.reopen`), every connection
        to it must close before the file opens again; the owner of the shared
        connection does that and hands the new one here.
        """
        self._file.use(connection)
        self._health.reconnected()
        self._rouse()

    def put(self, record: Record) -> None:
        """Queue one record; never touches the file, and waits only when paced (`pace_at`)."""
        queue = self._queue
        queue.append(record)
        if self._sleeping:
            self._rouse()
        elif len(queue) >= self._pace_at:
            self._keep_pace()

    def _keep_pace(self) -> None:
        """Wait for the writer to take the queue: while this thread waits, it has the GIL.

        Only the main thread waits, where a flow run in its own process runs
        (task runner threads that all waited would fight the writer for the GIL
        once woken), and once, for the writer's next take. Never while the store
        fails or its batch is full (the queue then waits in memory, as it always
        has), nor while it closes.
        """
        if (
            threading.get_ident() != threading.main_thread().ident
            or self._health.degraded
            or self._stopping
            or len(self._pending) >= MAX_BATCH
        ):
            return
        with self._taken:
            if len(self._queue) >= self._pace_at:
                self._wake.set()
                self._taken.wait(PACE_WAIT)

    def flush(self, timeout: float | None = None, hurry: bool = True) -> bool:
        """Wait until every record put before this call is stored; False on timeout or failure.

        A flush starts a write at once. With `hurry` False it waits for the
        writer's next round instead (up to one interval), adding no write of its
        own (~7 ms of CPU each): for a caller that only needs to know when its
        records are stored, such as the daemon retiring run journals.
        """
        if self._thread is None and not self._queue:
            return True
        if self._closed:
            return not self._queue and not len(self._pending)
        marker = _FlushMarker()
        self._queue.append(marker)
        if hurry or self._sleeping:  # a sleeping writer has no next round until roused
            self._rouse()
        return marker.done.wait(timeout) and marker.ok

    def when_stored(self, then: Callable[[], None], *, hurry: bool = False) -> None:
        """Call `then()` on the writer's thread once every record put before this is written.

        It never waits: for the daemon's loop, which hands `then` back to itself with
        `loop.call_soon_threadsafe`. `hurry` writes now rather than at the next interval,
        for what waits on it. Nothing is called if the writer closes first without
        writing them. An exception in `then` is logged and ignored.
        """
        if self._closed:
            return
        self._queue.append(_FlushMarker(then))
        if hurry or self._sleeping:
            self._rouse()

    def close(self, timeout: float = 15.0) -> None:
        """Store what is queued, release the file and stop the thread; safe to call twice."""
        if self._closed:
            return
        self._closed = True
        if self._thread is None and not self._queue:
            self._seal()
            return
        self._stopping = True
        self._rouse()
        if self._thread is not None:
            self._thread.join(timeout)
        waiting = self._records_waiting()
        if waiting or self.set_aside:
            self._say_lost(waiting, timeout)
        self._seal()

    def _seal(self) -> None:
        """After `close`: a `put` wakes `_rouse` again, which says its record is not stored."""
        self._shut = True
        self._sleeping = True

    def _say_late(self) -> None:
        if not self._late:
            self._late = True
            message = f"A record given after {self.path} was closed is not stored: close it last."
            say(logging.ERROR, message)

    def _say_lost(self, unwritten: int, timeout: float) -> None:
        """Closing left records unwritten: an error naming how many, why, and what to do."""
        why = self._health.degraded or f"the writer did not finish within {timeout:g} s"
        refused = len(self.set_aside)
        say(
            logging.ERROR,
            f"{unwritten + refused} records could not be written to {self.path} and are lost "
            f"as this process ends ({unwritten} waiting: {why}; {refused} refused by DuckDB, "
            f"logged above). Free space or fix the file, then run the flow again.",
        )

    def _rouse(self) -> None:
        """Start the thread on first use, or wake it from its idle wait."""
        if self._shut:
            self._say_late()
            return
        if self._thread is None:
            with self._start_lock:
                if self._thread is None:
                    thread = threading.Thread(
                        target=self._run, name="orc-store-writer", daemon=True
                    )
                    thread.start()
                    self._thread = thread
                    atexit.register(self.close)
        self._sleeping = False
        self._wake.set()

    def _run(self) -> None:
        """The thread: `_loop` until closed; a failure of the loop itself is logged and it goes on."""
        import duckdb  # noqa: F401  (paid here, never in the thread that runs the flow)

        failures = 0
        while True:
            try:
                self._loop()
                return
            except Exception as exc:
                self._file.release()
                self._health.degrade(f"the store writer failed ({exc!r}) and carries on", exc)
                if self._stopping:
                    self._settle_all()
                    return
                failures += 1
                self._wake.wait(backoff(failures))

    def _loop(self) -> None:
        last_work = time.monotonic()
        while not self._stopping:
            self._wait()
            drained = self._drain()
            self._write_pending()
            if drained:  # idle from the end of the write: a write may take longer than IDLE_CLOSE
                last_work = time.monotonic()
            self._file.release_if_due(last_work)
        self._finish()

    def _finish(self) -> None:
        """Closing: write all that is left, trying once more even while the store fails."""
        self._health.retry_at = 0.0
        self._file.skip_reader_turn()
        while self._queue or len(self._pending):
            self._drain()
            if not self._write_pending():
                break  # the one more try failed: `close` reports what is left
        self._checkpoint_at_close()
        self._file.release()
        self._settle_all()

    def _checkpoint_at_close(self) -> None:
        """The daemon's writer leaves a checkpointed file, or says why it could not."""
        if self._checkpoints is None or self._health.reopen:
            return
        try:
            conn = self._file.connection()
        except Exception as exc:
            say(logging.WARNING, f"Could not checkpoint {self.path} on closing: {exc}")
            return
        self._checkpoints.at_close(conn)

    def _settle_all(self) -> None:
        """Answer every flush still waiting: its records were not all stored."""
        self._settle(ok=False, written=False)
        for item in list(self._queue):
            if type(item) is _FlushMarker:
                item.ok = False
                item.done.set()

    def _wait(self) -> None:
        """Sleep one interval; with no file open and nothing to do, sleep until a `put`."""
        if self._file.conn is None and not self._has_work():
            self._sleeping = True  # set before the check, so a racing put sees it
            if not self._has_work():
                self._wake.wait()
            self._sleeping = False
        else:  # while failing, until the next try is due (a flush wakes it, but cannot hurry it)
            self._wake.wait(max(self.flush_interval, self._health.retry_at - time.monotonic()))
        self._wake.clear()

    def _has_work(self) -> bool:
        return bool(self._queue or self._markers or len(self._pending) or self._stopping)

    def _drain(self) -> bool:
        """Move queued records into the pending batch; markers wait for the write after them.

        While writes fail the pending batch stops growing at `MAX_BATCH`: the rest
        waits in the queue, in order, and each try writes a bounded batch.
        """
        if len(self._pending) >= MAX_BATCH:
            self._tell_taken()  # no room: a paced put waits no longer
            return False
        count = min(len(self._queue), MAX_BATCH)  # what is queued now; later puts wait a round
        # popleft called from C, not a Python loop: six records a task run, in the GIL's time.
        others = self._pending.add_all(list(starmap(self._queue.popleft, repeat((), count))))
        self._tell_taken()
        self._markers += [item for item in others if type(item) is _FlushMarker]
        strays = [item for item in others if type(item) is not _FlushMarker]
        if strays or self._pending.unreadable:
            unreadable = self._pending.unreadable + strays
            self._pending.unreadable = []
            set_aside_unreadable(unreadable, self.set_aside)
        return count > 0

    def _tell_taken(self) -> None:
        with self._taken:
            self._taken.notify_all()

    def _records_waiting(self) -> int:
        """Records given and not stored yet (flush markers left out)."""
        queued = sum(type(item) is not _FlushMarker for item in list(self._queue))
        return len(self._pending) + queued

    def _write_pending(self) -> bool:
        """Write the pending batch; False while it must wait (kept whole, in order, for the next try)."""
        if not len(self._pending):
            self._give_back_if_due()  # a flush marker drained after the records it follows
            self._settle(ok=True)
            return True
        waited = self._records_waiting() if self._health.degraded else 0
        outcome = self._write(self._pending)
        if outcome == "wait":
            return False  # the batch and its markers stay for the next round
        self._since_trim += len(self._pending)
        self._pending = Batch()
        self._health.succeeded(waited)
        self._give_back_if_due()
        self._settle(ok=outcome == "stored")
        if self._checkpoints is not None and self._file.conn is not None:
            self._checkpoints.after_write(self._file.conn)  # once the waiters have their answer
        return True

    def _give_back_if_due(self) -> None:
        """After many records and with none queued, hand freed memory back (`memory`).

        Before a flush's waiters are answered, so what it stored no longer weighs.
        """
        if self._since_trim >= memory.TRIM_AFTER and not self._queue:
            self._since_trim = 0
            memory.give_back()

    def _settle(self, ok: bool, written: bool = True) -> None:
        """Answer the markers drained so far: their records were `written` (all `ok`), or not."""
        markers, self._markers = self._markers, []
        for marker in markers:
            marker.ok = ok
            marker.done.set()
            if written and marker.then is not None:
                _call(marker.then)

    def _write(self, batch: Batch) -> Outcome:
        """Write one batch, or keep it ("wait") when its turn has not come or the store fails."""
        now = time.monotonic()
        if now < self._health.retry_at or not self._file.may_write(now):
            return "wait"  # a backoff pause, or a reader's turn at the file (`_finish` ends both)
        self._file.let_go_of_swapped()
        try:
            conn = self._file.connection()
            aside = write_batch(
                conn,
                batch,
                self._stored,
                self._file.prepared,
                self.set_aside,
                self._invalidated,
                self._rows_up_to,
            )
        except Exception as exc:
            self._file.release()
            self._health.failed(exc, shared=self._file.shared is not None)
            return "wait"
        return "set-aside" if aside else "stored"

    def _invalidated(self, exc: Exception) -> None:
        """The commit is durable but DuckDB invalidated the database: reopen before the next write."""
        self._file.release()
        if self._file.shared is not None:  # only its owner can reopen the database
            self._health.invalidated(exc)


def _call(then: Callable[[], None]) -> None:
    """Run a `when_stored` callback; its failure is logged, and the writer goes on."""
    try:
        then()
    except Exception:
        logging.getLogger("orc.store").exception("a callback after a write failed")
