"""The embedded store's sink: records queue in memory and a background thread batches them in.

`put` is the engine's hot path, so it is a bare `deque.append` (atomic under
the GIL) and nothing else: no lock, no notify. A daemon thread wakes every
`flush_interval`, drains the queue and writes it in columnar batches, one
transaction per flush. It opens the DuckDB file only while there is work and
lets go after a short idle spell (or after holding it for a while), because
DuckDB admits one process per file and `orc runs ls` in another shell must
get its turn while a long flow runs.
"""

from __future__ import annotations

import atexit
import contextlib
import sys
import threading
import time
from collections import deque
from pathlib import Path
from typing import TYPE_CHECKING, Any

from orchestrate.errors import StoreError
from orchestrate.records import Record
from orchestrate.store.batch import Batch, StoredRuns

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
#: After failing to get the file, wait this long before the next round of tries.
RETRY_PAUSE = 1.0


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
        self._reported = False
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
            return
        self._stopping = True
        self._rouse()
        if self._thread is not None:
            self._thread.join(timeout)
        lost = len(self._queue) + len(self._pending)
        if lost:
            message = f"{lost} records could not be written to {self.path} and are lost."
            self._report(StoreError(message), always=True)

    def _rouse(self) -> None:
        """Start the thread on first use, or wake it from its idle wait."""
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
        import duckdb  # noqa: F401  (paid here, never in the thread that runs the flow)

        last_work = time.monotonic()
        while True:
            self._wait()
            if self._drain():
                last_work = time.monotonic()
            self._write_pending()
            if self._stopping and not self._queue:
                self._release()
                self._settle(ok=False)  # anything still waiting was not stored
                return
            self._maybe_release(last_work)

    def _wait(self) -> None:
        """Sleep one interval; with no file open and nothing to do, sleep until a `put`."""
        if self._conn is None and not self._has_work():
            self._sleeping = True  # set before the check, so a racing put sees it
            if not self._has_work():
                self._wake.wait()
            self._sleeping = False
        else:
            self._wake.wait(self.flush_interval)
        self._wake.clear()

    def _has_work(self) -> bool:
        return bool(self._queue or self._markers or len(self._pending) or self._stopping)

    def _drain(self) -> bool:
        """Move queued records into the pending batch; markers wait for the write after them."""
        take = self._queue.popleft
        count = min(len(self._queue), MAX_BATCH)  # what is queued now; later puts wait a round
        others = self._pending.add_all([take() for _ in range(count)])
        self._markers += [item for item in others if type(item) is _FlushMarker]
        return count > 0

    def _write_pending(self) -> None:
        if not len(self._pending):
            self._settle(ok=True)
            return
        outcome = self._write(self._pending)
        if outcome == "retry":
            return  # the batch and its markers stay for the next round
        self._pending = Batch()
        self._settle(ok=outcome == "stored")

    def _settle(self, ok: bool) -> None:
        markers, self._markers = self._markers, []
        for marker in markers:
            marker.ok = ok
            marker.done.set()

    def _write_batch(self, batch: Batch) -> None:
        """New runs as plain inserts; if one was stored already (by another writer), upsert all."""
        assert self._conn is not None
        try:
            batch.write(self._conn, self._stored, self._prepared)
        except Exception as exc:
            if "Constraint" not in type(exc).__name__:
                raise
            batch.write(self._conn, None, self._prepared)

    def _write(self, batch: Batch) -> str:
        """Write one batch: "stored", "retry" (file locked; keep it) or "dropped" (bad data)."""
        if self._conn is None and time.monotonic() < self._reopen_at and not self._stopping:
            return "retry"  # another process's turn; the records wait in memory
        try:
            if self._conn is None:
                self._conn = self._open()
        except StoreError as exc:
            self._report(exc)
            if not self._stopping:
                self._wake.wait(RETRY_PAUSE)
            return "retry"
        try:
            self._write_batch(batch)
            return "stored"
        except Exception as exc:
            self._report(StoreError(f"{len(batch)} records could not be written to "
                                    f"{self.path} and were dropped: {exc}"))  # fmt: skip
            self._release()
            return "dropped"

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
                self._report(StoreError(f"Closing {self.path} failed: {exc}"))

    def _report(self, error: StoreError, always: bool = False) -> None:
        """Say once on stderr that recording is in trouble; the user's flow carries on."""
        if self._reported and not always:
            return
        self._reported = True
        with contextlib.suppress(Exception):
            print(f"orc: {error}", file=sys.stderr, flush=True)
