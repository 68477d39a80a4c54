"""The embedded store's sink: records queue in memory and a background thread batches them in.

`put` is the engine's hot path, so it is a bare `deque.append` (atomic under
the GIL) and nothing else: no lock, no notify. A daemon thread wakes every
`flush_interval`, drains the queue and writes it in columnar batches, one
transaction per flush. It opens the DuckDB file only while there is work and
lets go after a short idle spell (or after holding it for a while), because
DuckDB admits one process per file and `orc runs ls` in another shell must
get its turn while a long flow runs.

Nothing it is given is dropped. A write the file refuses (a full disk, an I/O
error, a lock held too long) keeps its records in memory, in order, and is
tried again after a pause that doubles from 0.1 s to 5 s; meanwhile `health`
says why the store is degraded and `on_health` subscribers hear of each
change. A record DuckDB refuses (a value of the wrong type) is found by trial
writes and stored sanitised, or set aside and logged with its run id. A failure
of the thread itself is logged and the thread goes on. Closing while degraded
tries once more and logs, as an error, how many records were not written.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import sys
import threading
import time
import traceback
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from orchestrate.core.errors import StoreError
from orchestrate.core.records import Record
from orchestrate.store.batch import Batch, StoredRuns
from orchestrate.store.encode import sanitised

if TYPE_CHECKING:
    import duckdb

#: Close the file after this long without records, so other processes can open it.
IDLE_CLOSE = 0.2
#: Let go of the file after holding it this long, even while busy, for the same reason.
MAX_HOLD = 1.0
#: After letting go because of MAX_HOLD, stay off the file this long: a reader's turn.
READER_TURN = 0.15
#: The most records one flush takes, so a write never waits on an endless drain.
MAX_BATCH = 200_000
#: After a failed write, wait this long before the next try; doubled after each failure...
FIRST_BACKOFF = 0.1
#: ...up to this: a store that stays broken costs one try every few seconds, never a spin.
MAX_BACKOFF = 5.0

log = logging.getLogger("orc.store")

#: What became of one write: all stored, stored but for records set aside, or to be tried again.
Outcome = Literal["stored", "set-aside", "wait"]


@dataclass(frozen=True, slots=True)
class StoreHealth:
    """Whether what the writer is given reaches the file: what `orc status` shows of the store.

    Attributes:
        degraded: why records are waiting (the write's error); None while writes succeed.
        waiting: records given to the writer and not stored yet.
        since: when this spell of failures began (epoch seconds); None while fine.
        set_aside: records DuckDB refused even sanitised, kept in `StoreWriter.set_aside`.
        reopen: DuckDB invalidated the database; only reopening it lets writes succeed again.
    """

    degraded: str | None = None
    waiting: int = 0
    since: float | None = None
    set_aside: int = 0
    reopen: bool = False


class _FlushMarker:
    """Queued by `flush()`: set once every record queued before it has been written."""

    __slots__ = ("done", "ok")

    def __init__(self) -> None:
        self.done = threading.Event()
        self.ok = True


class StoreWriter:
    """Records runs into the DuckDB file at `path` from a background thread.

    Args:
        path: the store file; created (with its folder) on the first write.
        flush_interval: the longest a record waits in memory before a write starts.
        lock_timeout: how long one write waits for another process to release the file.
        connection: an open connection to `path` to write through, held for the writer's
            life (the daemon owns the file and never lets go of it); by default the
            writer opens the file itself and lets go when idle.
    """

    def __init__(
        self,
        path: Path,
        flush_interval: float = 0.05,
        lock_timeout: float = 10.0,
        connection: duckdb.DuckDBPyConnection | None = None,
    ):
        self.path = Path(path)
        self.flush_interval = min(flush_interval, 0.05)
        self.lock_timeout = lock_timeout
        self._queue: deque[Any] = deque()
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()
        self._wake = threading.Event()
        self._sleeping = True  # no thread yet: the first put starts it
        self._closed = False
        self._stopping = False
        self._conn: duckdb.DuckDBPyConnection | None = None
        self._opened_at = 0.0
        self._reopen_at = 0.0
        self._pending = Batch()
        self._markers: list[_FlushMarker] = []
        #: Runs this writer stored that may be put again (their rows upsert).
        self._stored = StoredRuns()
        #: Statements prepared on the open connection (see `batch`); a new connection has none.
        self._prepared: set[str] = set()
        self._shared = connection
        self._swapped = False
        self._shut = False
        self._late = False
        #: Why writes fail now (None while they succeed), since when, and whether DuckDB needs a reopen.
        self._degraded: str | None = None
        self._since: float | None = None
        self._reopen = False
        self._failures = 0
        self._retry_at = 0.0
        self._listeners: list[Callable[[StoreHealth], None]] = []
        #: Records DuckDB refused even in sanitised form: kept here, each logged with its run id.
        self.set_aside: list[Any] = []

    @property
    def health(self) -> StoreHealth:
        """The store as this writer sees it now; safe to read from any thread."""
        waiting = len(self._queue) + len(self._pending)
        aside = len(self.set_aside)
        return StoreHealth(self._degraded, waiting, self._since, aside, self._reopen)

    def on_health(self, callback: Callable[[StoreHealth], None]) -> None:
        """Call `callback(health)` whenever the store turns degraded, changes why, or recovers.

        It runs on the writer's thread: a daemon hands it to its loop with
        `loop.call_soon_threadsafe`. An exception in it is logged and ignored.
        """
        self._listeners.append(callback)

    def use_connection(self, connection: duckdb.DuckDBPyConnection) -> None:
        """Write through `connection` from the next write on: the daemon's reopened database.

        After DuckDB invalidates a database (`health.reopen`), every connection
        to it must close before the file opens again; the owner of the shared
        connection does that and hands the new one here.
        """
        self._shared = connection
        self._swapped = True  # the writer's thread lets go of its old cursor before its next write
        self._reopen = False
        self._retry_at = 0.0
        self._rouse()

    def put(self, record: Record) -> None:
        """Queue one record; never blocks and never touches the file."""
        self._queue.append(record)
        if self._sleeping:
            self._rouse()

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until every record put before this call is stored; False on timeout or failure."""
        if self._thread is None and not self._queue:
            return True
        if self._closed:
            return not self._queue and not len(self._pending)
        marker = _FlushMarker()
        self._queue.append(marker)
        self._rouse()
        return marker.done.wait(timeout) and marker.ok

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
        queued = sum(type(item) is not _FlushMarker for item in list(self._queue))
        if queued or len(self._pending) or self.set_aside:
            self._say_lost(queued + len(self._pending), timeout)
        self._seal()

    def _seal(self) -> None:
        """After `close`: a `put` wakes `_rouse` again, which says its record is not stored."""
        self._shut = True
        self._sleeping = True

    def _say_late(self) -> None:
        if not self._late:
            self._late = True
            message = f"A record given after {self.path} was closed is not stored: close it last."
            _say(logging.ERROR, message)

    def _say_lost(self, unwritten: int, timeout: float) -> None:
        """Closing left records unwritten: an error naming how many, why, and what to do."""
        why = self._degraded or f"the writer did not finish within {timeout:g} s"
        refused = len(self.set_aside)
        _say(
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

        pause = FIRST_BACKOFF
        while True:
            try:
                self._loop()
                return
            except Exception as exc:
                self._release()
                self._degrade(f"the store writer failed ({exc!r}) and carries on", exc)
                if self._stopping:
                    self._settle_all()
                    return
                self._wake.wait(pause)
                pause = min(pause * 2, MAX_BACKOFF)

    def _loop(self) -> None:
        last_work = time.monotonic()
        while not self._stopping:
            self._wait()
            if self._drain():
                last_work = time.monotonic()
            self._write_pending()
            self._maybe_release(last_work)
        self._finish()

    def _finish(self) -> None:
        """Closing: write all that is left, trying once more even while the store fails."""
        self._retry_at = self._reopen_at = 0.0
        while self._queue or len(self._pending):
            self._drain()
            if not self._write_pending():
                break  # the one more try failed: `close` reports what is left
        self._release()
        self._settle_all()

    def _settle_all(self) -> None:
        """Answer every flush still waiting: its records were not all stored."""
        self._settle(ok=False)
        for item in list(self._queue):
            if type(item) is _FlushMarker:
                item.ok = False
                item.done.set()

    def _wait(self) -> None:
        """Sleep one interval; with no file open and nothing to do, sleep until a `put`."""
        if self._conn is None and not self._has_work():
            self._sleeping = True  # set before the check, so a racing put sees it
            if not self._has_work():
                self._wake.wait()
            self._sleeping = False
        else:  # while failing, until the next try is due (a flush wakes it, but cannot hurry it)
            self._wake.wait(max(self.flush_interval, self._retry_at - time.monotonic()))
        self._wake.clear()

    def _has_work(self) -> bool:
        return bool(self._queue or self._markers or len(self._pending) or self._stopping)

    def _drain(self) -> bool:
        """Move queued records into the pending batch; markers wait for the write after them.

        While writes fail the pending batch stops growing at `MAX_BATCH`: the rest
        waits in the queue, in order, and each try writes a bounded batch.
        """
        if len(self._pending) >= MAX_BATCH:
            return False
        take = self._queue.popleft
        count = min(len(self._queue), MAX_BATCH)  # what is queued now; later puts wait a round
        others = self._pending.add_all([take() for _ in range(count)])
        self._markers += [item for item in others if type(item) is _FlushMarker]
        strays = [item for item in others if type(item) is not _FlushMarker]
        if strays or self._pending.unreadable:
            self._set_aside_unreadable(strays)
        return count > 0

    def _set_aside_unreadable(self, strays: list[Any]) -> None:
        """Keep what is not a record, or is one too broken to sort, and say so with its run id."""
        unreadable = self._pending.unreadable + strays
        self._pending.unreadable = []
        self.set_aside += unreadable
        for item in unreadable:
            message = (
                f"Kept in memory, not stored: {item!r:.300} (run {_run_id(item)}) is not a record."
            )
            _say(logging.ERROR, message)

    def _write_pending(self) -> bool:
        """Write the pending batch; False while it must wait (kept whole, in order, for the next try)."""
        if not len(self._pending):
            self._settle(ok=True)
            return True
        outcome = self._write(self._pending)
        if outcome == "wait":
            return False  # the batch and its markers stay for the next round
        self._pending = Batch()
        self._succeeded()
        self._settle(ok=outcome == "stored")
        return True

    def _settle(self, ok: bool) -> None:
        markers, self._markers = self._markers, []
        for marker in markers:
            marker.ok = ok
            marker.done.set()

    def _write(self, batch: Batch) -> Outcome:
        """Write one batch, or keep it ("wait") when its turn has not come or the store fails."""
        if not self._due():
            return "wait"
        if self._swapped:
            self._swapped = False
            self._release()
        try:
            if self._conn is None:
                self._conn = self._open()
            aside = self._write_batch(batch)
        except Exception as exc:
            self._failed(exc)
            return "wait"
        return "set-aside" if aside else "stored"

    def _due(self) -> bool:
        """False during a backoff pause, or during a reader's turn at the file (`_finish` ends both)."""
        now = time.monotonic()
        return now >= self._retry_at and (self._conn is not None or now >= self._reopen_at)

    def _write_batch(self, batch: Batch) -> int:
        """Store `batch` in one transaction; returns how many of its records had to be set aside.

        New runs go as plain INSERTs. If DuckDB refuses the batch, it is upserted
        whole (a run another writer stored already); if it still refuses, the
        records at fault are swapped for sanitised copies or set aside first.
        """
        assert self._conn is not None
        for stored, clean in ((self._stored, False), (None, False), (None, True)):
            aside = self._clean(batch) if clean else 0
            try:
                batch.write(self._conn, stored, self._prepared)
            except Exception as exc:
                if _committed(exc):
                    self._invalidated(exc)
                elif clean or not _is_data_error(exc):
                    raise
                else:
                    continue
            return aside
        return 0  # not reached: the last attempt returns or raises

    def _clean(self, batch: Batch) -> int:
        """Swap each record DuckDB refuses for a sanitised copy, or set it aside; returns those set aside."""
        assert self._conn is not None
        aside = 0
        for record in batch.refused(self._conn, self._prepared, _is_data_error):
            fixed = sanitised(record)
            run = _run_id(record)
            if fixed is not None and self._accepts(fixed):
                batch.swap(record, fixed)
                _say(
                    logging.WARNING,
                    f"Stored a sanitised copy of a record of run {run}: {record!r:.300}",
                )
                continue
            batch.swap(record, None)
            self.set_aside.append(record)
            aside += 1
            _say(
                logging.ERROR,
                f"DuckDB refused a record of run {run}, sanitised too; kept in memory: {record!r:.300}",
            )
        return aside

    def _accepts(self, record: Any) -> bool:
        assert self._conn is not None
        return not Batch.of([record]).refused(self._conn, self._prepared, _is_data_error)

    def _invalidated(self, exc: Exception) -> None:
        """The commit is durable but DuckDB invalidated the database: reopen before the next write."""
        self._release()
        if self._shared is not None:  # only its owner can reopen the database
            self._reopen = True
            self._degrade(f"the store must be reopened: {exc}", exc)

    def _failed(self, exc: Exception) -> None:
        """Keep the records, pause before the next try (longer each time), and say the store is degraded."""
        self._release()
        self._failures += 1
        pause = min(FIRST_BACKOFF * 2 ** (self._failures - 1), MAX_BACKOFF)
        self._retry_at = time.monotonic() + pause
        self._reopen = self._reopen or (self._shared is not None and "invalidated" in str(exc))
        self._degrade(str(exc).strip().splitlines()[0] if str(exc).strip() else repr(exc), exc)

    def _succeeded(self) -> None:
        self._failures = 0
        self._retry_at = 0.0
        if self._degraded is None or self._reopen:
            return
        _say(
            logging.INFO,
            f"Writing to {self.path} works again; what was kept meanwhile is written in order.",
        )
        self._degraded = self._since = None
        self._notify()

    def _degrade(self, reason: str, exc: BaseException) -> None:
        """Note why writes fail; say it (with the traceback for a failure of our own) once per reason."""
        if reason == self._degraded:
            return
        first = self._degraded is None
        self._degraded = reason
        self._since = self._since or time.time()
        ours = not isinstance(exc, StoreError) and type(exc).__module__ not in ("duckdb", "_duckdb")
        message = (
            f"Could not write to {self.path} ({reason}). {self.health.waiting} records wait in "
            "memory and will be written when it works again; nothing is dropped."
        )
        _say(logging.WARNING if first else logging.ERROR, message, exc if ours else None)
        self._notify()

    def _notify(self) -> None:
        health = self.health
        for callback in list(self._listeners):
            try:
                callback(health)
            except Exception:
                log.exception("A store health subscriber failed")

    def _open(self) -> duckdb.DuckDBPyConnection:
        if self._shared is not None:
            return self._shared.cursor()  # its own connection to the one open database
        from orchestrate.store import connection, migrations

        self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        conn = connection.connect(self.path, read_only=False, timeout=self.lock_timeout)
        try:
            migrations.migrate(conn, self.path)
        except BaseException:
            conn.close()
            raise
        self._opened_at = time.monotonic()
        return conn

    def _maybe_release(self, last_work: float) -> None:
        if self._conn is None or self._shared is not None:
            return
        now = time.monotonic()
        if now - self._opened_at >= MAX_HOLD:
            self._release()
            self._reopen_at = now + READER_TURN
        elif now - last_work >= IDLE_CLOSE:
            self._release()

    def _release(self) -> None:
        if self._conn is not None:
            conn, self._conn = self._conn, None
            self._prepared = set()
            try:
                conn.close()
            except Exception as exc:
                _say(logging.WARNING, f"Closing {self.path} failed: {exc}")


_THROUGH_LOGGING = False


def report_through_logging() -> None:
    """Say the writer's troubles in the process's log (`orc up` has one) instead of on stderr."""
    global _THROUGH_LOGGING
    _THROUGH_LOGGING = True


def _say(level: int, message: str, exc: BaseException | None = None) -> None:
    """Log under `orc.store` where the process has a log (the daemon's), else say it on stderr."""
    if _THROUGH_LOGGING:
        log.log(level, message, exc_info=exc)
        return
    with contextlib.suppress(Exception):
        text = f"orc: {message}"
        if exc is not None:
            text += "\n" + "".join(traceback.format_exception(exc)).rstrip()
        print(text, file=sys.stderr, flush=True)


def _committed(exc: BaseException) -> bool:
    """DuckDB made the commit durable, then failed its checkpoint: the batch is stored."""
    return "COMMIT succeeded" in str(exc)


def _is_data_error(exc: BaseException) -> bool:
    """True when the records are at fault (a value DuckDB will not take), not the disk or the file."""
    import duckdb

    data = (
        duckdb.DataError,
        duckdb.IntegrityError,
        duckdb.InvalidInputException,
        duckdb.ParserException,
    )
    return isinstance(exc, (*data, TypeError, ValueError, KeyError, AttributeError, OverflowError))


def _run_id(record: Any) -> str:
    for name in ("flow_run_id", "run_id", "id", "key"):
        value = getattr(record, name, None)
        if value is not None:
            return str(value)
    return "?"
