"""A sink that ships records as JSON-RPC `records` notifications over a byte stream.

`put` is the engine's hot path, so it only appends to a deque (and wakes the
thread after an idle spell, or waits for it past `PACE_AT` records queued: a
daemon that stops reading, while its store cannot be written, stalls the flow
here rather than grow the worker's memory). A daemon thread sends what has
queued: the first record after a quiet spell at once, then a batch every
`interval` while the run is busy, one JSON line per batch. Run snapshots put several times within
one batch are sent once, at their last place, since they are the same object.
Any binary stream will do: a worker's inherited socket, or a connection to
the daemon's socket from a plain-Python flow run.
"""

from __future__ import annotations

import contextlib
import json
import sys
import threading
from collections import deque
from typing import IO, Any, Protocol

from orchestrate.core.record_codec import encode_records
from orchestrate.core.records import FlowRunRecord, Record, StateRecord, TaskRunRecord
from orchestrate.core.secrets import Masker
from orchestrate.core.states import TERMINAL_STATES, StateType
from orchestrate.recording.journal import JournalWriter, started_line

_RUNNING = StateType.RUNNING

#: A `put` that finds this many records queued waits for the thread to ship some (~5 MB of
#: short log lines, ten full lines of `max_batch`): a working daemon reads a worker far
#: faster than a flow records, so only one that stopped reading (its store cannot be
#: written, `daemon.read_pause`) lets the queue grow this long.
PACE_AT = 20_000
#: The longest one paced `put` waits for the thread's next take; a socket that stays blocked
#: lets the queue grow by one record a wait, per thread, for as long as it stays so.
PACE_WAIT = 1.0

#: Every line starts like this; the encoded records and `]}}` follow.
_PREFIX = b'{"jsonrpc":"2.0","method":"records","params":{"records":'
_SUFFIX = b"}}\n"


class Wake(Protocol):
    """What the sink's thread waits on: `threading.Event`'s calls."""

    def set(self) -> None: ...

    def clear(self) -> None: ...

    def wait(self, timeout: float | None = None) -> bool: ...


class _FlushMarker:
    """Queued by `flush()`: set once everything queued before it has been written."""

    __slots__ = ("done", "ok")

    def __init__(self) -> None:
        self.done = threading.Event()
        self.ok = True


class StreamSink:
    """Ships records to `stream` as newline-delimited `records` notifications.

    Args:
        stream: a binary stream; written and flushed from the sink's thread only.
        interval: while busy, the longest a record waits before it is sent.
        max_batch: the most records in one line, so no line grows without bound.
        close_stream: close `stream` when the sink closes.
        journal: written each line before `stream`, and kept on when `stream` breaks.
        masker: masks the project's secrets in each line before the journal or `stream` sees it.
        wake: what the thread waits on between batches, a `threading.Event` unless given (a
            worker's serves its channel's input meanwhile: `worker.channel.InputWake`).
        pace_at: a `put` that finds this many records queued waits (up to `PACE_WAIT`) for
            the thread to take some.
    """

    def __init__(
        self,
        stream: IO[bytes],
        interval: float = 0.02,
        max_batch: int = 2000,
        close_stream: bool = True,
        journal: JournalWriter | None = None,
        masker: Masker | None = None,
        wake: Wake | None = None,
        pace_at: int = PACE_AT,
    ):
        self.stream = stream
        self.interval = interval
        self.max_batch = max_batch
        self.close_stream = close_stream
        self.journal = journal
        self.masker = masker
        self.broken: BaseException | None = None  # the write error that ended shipping
        #: Set once the flow run's final state is in the journal (see `_journal_end`).
        self.ended = threading.Event()
        self._queue: deque[Any] = deque()
        self._pace_at = pace_at
        #: Notified each time the thread has taken a batch off the queue (a paced `put` waits).
        self._taken = threading.Condition()
        self._wake: Wake = wake if wake is not None else threading.Event()
        self._sleeping = True
        self._stopping = False
        self._thread = threading.Thread(target=self._run, name="orc-record-sink", daemon=True)
        self._thread.start()

    def put(self, record: Record) -> None:
        """Queue one record; never blocks on the network, and waits only when paced (`pace_at`).

        A task run that starts its body now (Running or Retrying) is journalled
        at once, in this thread, in a short line (~1 µs): if the worker is killed
        in the next instant, the execution still has its record. So is a flow
        run's final state (once a run).
        """
        if self.journal is not None:
            kind = type(record)
            if kind is TaskRunRecord and record.state.type is _RUNNING:  # type: ignore[union-attr]
                line = started_line(record)  # type: ignore[arg-type]
                self.journal.write(self.masker.line(line) if self.masker else line, sync=False)
            elif kind is FlowRunRecord and record.state.type in TERMINAL_STATES:  # type: ignore[union-attr]
                self._journal_end(record)  # type: ignore[arg-type]
        queue = self._queue
        queue.append(record)
        if self._sleeping:
            self._sleeping = False
            self._wake.set()
        elif len(queue) >= self._pace_at:
            self._keep_pace()

    def _keep_pace(self) -> None:
        """Wait (up to `PACE_WAIT`) for the thread to take a batch: while the daemon does not
        read, the flow stalls here. Not the thread itself (it would wait on its own take),
        nor once it has ended."""
        thread = self._thread
        if threading.current_thread() is thread or not thread.is_alive():
            return
        with self._taken:
            if len(self._queue) >= self._pace_at:
                self._wake.set()
                self._taken.wait(PACE_WAIT)

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until every record put so far is written; False on timeout or a broken stream."""
        if not self._thread.is_alive():
            return not self._queue and self.broken is None
        if threading.current_thread() is self._thread:  # called by what its wake served
            self._ship()
            return self.broken is None
        marker = _FlushMarker()
        self._queue.append(marker)
        self._wake.set()
        return marker.done.wait(timeout) and marker.ok

    def close(self, timeout: float | None = 10.0) -> None:
        """Send what is queued, then stop the thread (and close the stream); safe to call twice."""
        if self._stopping:
            return
        self._stopping = True
        self._wake.set()
        self._thread.join(timeout)

    def _run(self) -> None:
        try:
            while True:
                self._wait()
                self._ship()
                if self._stopping and not self._queue:
                    return
                self._wake.wait(self.interval)  # let a batch gather; flush and close cut it short
        finally:
            self._finish()

    def _wait(self) -> None:
        """With nothing queued, sleep until a `put`, `flush` or `close` wakes the thread."""
        self._wake.clear()
        if self._queue or self._stopping:
            return
        self._sleeping = True  # before the second look, so a racing put sees it and wakes us
        if not self._queue and not self._stopping:
            self._wake.wait()
        self._sleeping = False
        self._wake.clear()

    def _ship(self) -> None:
        while self._queue:
            records, markers = self._drain()
            if records and (self.broken is None or self.journal is not None):
                self._write(records)
            for marker in markers:
                marker.ok = self.broken is None
                marker.done.set()

    def _drain(self) -> tuple[list[Record], list[_FlushMarker]]:
        """Up to `max_batch` queued records; a snapshot queued twice keeps only its last place."""
        queue = self._queue
        items: list[Any] = []
        markers: list[_FlushMarker] = []
        places: dict[int, int] = {}
        while queue and len(items) < self.max_batch:
            item = queue.popleft()
            kind = type(item)
            if kind is FlowRunRecord or kind is TaskRunRecord:
                earlier = places.get(id(item))
                if earlier is not None:
                    items[earlier] = None
                places[id(item)] = len(items)
            elif kind is _FlushMarker:
                markers.append(item)
                continue
            items.append(item)
        with self._taken:
            self._taken.notify_all()
        return [r for r in items if r is not None], markers

    def _journal_end(self, run: FlowRunRecord) -> None:
        """A flow run's final state, journalled at once: a body that has returned is never
        taken for one cut off (and run again) because of a kill in the next instant."""
        records: list[Record] = [StateRecord(run.id, run.id, False, run.state), run]
        try:
            body = json.dumps(encode_records(records), separators=(",", ":"), default=repr)
        except Exception:  # the sink thread tries again with the batch, and says so
            return
        line = _PREFIX + body.encode() + _SUFFIX
        self.journal.write(self.masker.line(line) if self.masker else line)  # type: ignore[union-attr]
        self.ended.set()

    def _write(self, records: list[Record]) -> None:
        try:
            body = json.dumps(encode_records(records), separators=(",", ":"), default=repr)
        except Exception as exc:  # a record this sink cannot encode: lose this batch, not the run
            print(
                f"orc: {len(records)} run records could not be encoded and are lost ({exc!r}).",
                file=sys.stderr,
            )
            return
        line = _PREFIX + body.encode() + _SUFFIX
        if self.masker is not None:
            line = self.masker.line(line)
        if self.journal is not None:
            self.journal.write(line)
        if self.broken is not None:
            return
        try:
            self.stream.write(line)
            self.stream.flush()
        except (OSError, ValueError) as exc:  # ValueError: the stream was closed under us
            self.broken = exc
            print(
                f"orc: run records can no longer be sent ({exc}); later ones are lost.",
                file=sys.stderr,
            )

    def _finish(self) -> None:
        """The thread's last act: release flush waiters and the stream, whatever happened."""
        for item in self._queue:
            if type(item) is _FlushMarker:
                item.ok = False
                item.done.set()
        if self.close_stream:
            with contextlib.suppress(OSError, ValueError):
                self.stream.close()


__all__ = ["StreamSink", "Wake"]
