"""Backpressure while the store cannot be written: the daemon stops reading its workers.

A degraded writer keeps every record in memory and retries (nothing is
dropped), so a chatty flow grows the daemon for as long as the disk stays
full, until the OOM killer ends it and everything is lost. Instead, once
`PAUSE_AT` records wait (or `PAUSE_BYTES` were read from workers since the
store degraded), the daemon stops reading the running workers' sockets and
output pipes: their writes block and their flows stall, while the daemon's
memory stays put. Reading resumes when the store recovers, or when half of
what waited at the pause has been written.

A worker that is being stopped (cancel, timeout, `orc down`) or that has
exited is always read: what it still sends is bounded (by its stop's grace,
or by what the kernel buffered), and it holds its run's final state.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

log = logging.getLogger("orc.daemon")

#: Records waiting for a degraded store past which workers are no longer read. 100,000 short
#: log lines hold ~30 MB of Python objects; with DuckDB's buffers for its tries at writing
#: them a daemon grew 50-125 MB in all (one that kept reading: ~1 GB in 30 s). Far above
#: what a working store has waiting (it writes every 50 ms, at ~300,000 rows/s), and half a
#: batch (`writer.MAX_BATCH`), so the first write after the store recovers takes them all.
PAUSE_AT = 100_000
#: Bytes read from workers while the store is degraded past which they are no longer read:
#: a count alone would let 100,000 long lines (up to 64 KB each) hold gigabytes.
PAUSE_BYTES = 64 * 1024 * 1024


class Readable(Protocol):
    """A worker's channels, whose reading can be held and released."""

    def hold(self) -> None: ...

    def release(self) -> None: ...


@dataclass(frozen=True, slots=True)
class Pressure:
    """What the pause is decided on.

    Attributes:
        degraded: whether the store's writes fail now.
        waiting: records given to the writer and not stored yet.
        read: bytes read from workers since the store degraded (or reading last resumed).
    """

    degraded: bool
    waiting: int
    read: int


def should_pause(now: Pressure, paused_with: int | None) -> bool:
    """Whether workers should not be read now; `paused_with`: the records that waited when
    reading paused (None while it goes on). Resuming needs half of those written, so a
    pause does not flap at its bound."""
    if not now.degraded:
        return False
    if paused_with is not None:
        return now.waiting > paused_with // 2
    return now.waiting >= PAUSE_AT or now.read >= PAUSE_BYTES


class ReadPause:
    """Holds the reading of every running worker while the store cannot take more records.

    Args:
        waiting: the records the writer holds unwritten now (asked only while degraded).
    """

    def __init__(self, waiting: Callable[[], int] = lambda: 0) -> None:
        self.waiting = waiting
        #: Whether the store is degraded, as last told (`store_changed`): the readers' one check.
        self.degraded = False
        self._read = 0
        self._paused_with: int | None = None
        self._members: list[Readable] = []
        #: Called when a pause begins or ends, which no event announces (set by `orc up`
        #: to push the status to the dashboard).
        self.on_change: Callable[[], None] | None = None

    @property
    def paused(self) -> bool:
        return self._paused_with is not None

    def join(self, worker: Readable) -> None:
        """A worker's channels opened: read them, unless reading is paused now."""
        self._members.append(worker)
        if self.paused:
            worker.hold()

    def leave(self, worker: Readable) -> None:
        """Read this worker to its end whatever the store does: it is stopping or has exited."""
        if worker in self._members:
            self._members.remove(worker)
            worker.release()

    def took(self, size: int) -> None:
        """`size` bytes were read from a worker while the store is degraded: pause if too many."""
        if self._paused_with is None:
            self._read += size
            self._decide()

    def store_changed(self, degraded: bool) -> None:
        """The writer's word on the store (on the loop): pause or resume accordingly."""
        self.degraded = degraded
        if not degraded:
            self._read = 0
        self._decide()

    def report(self) -> str | None:
        """What `orc status` says while workers are not read; None while they are."""
        if self._paused_with is None:
            return None
        return (
            f"{len(self._members)} worker(s) waiting for the store ({self._paused_with:,} "
            "records waited when their output stopped being read); they go on once it is written"
        )

    def _decide(self) -> None:
        now = Pressure(self.degraded, self.waiting() if self.degraded else 0, self._read)
        pause = should_pause(now, self._paused_with)
        if pause and self._paused_with is None:
            self._pause(now.waiting)
        elif not pause and self._paused_with is not None:
            self._resume()

    def _pause(self, waiting: int) -> None:
        self._paused_with = waiting
        log.error(
            "the store cannot take more records (%d wait in memory, %d MB read from workers since"
            " it failed): the output of %d running worker(s) is no longer read, so their flows"
            " wait rather than the daemon's memory grow; free space to let them go on",
            waiting,
            self._read // (1024 * 1024),
            len(self._members),
        )
        for worker in self._members:
            worker.hold()
        self._tell()

    def _resume(self) -> None:
        self._paused_with = None
        self._read = 0
        log.warning("the store takes records again: %d worker(s) read again", len(self._members))
        for worker in self._members:
            worker.release()
        self._tell()

    def _tell(self) -> None:
        if self.on_change is not None:
            self.on_change()


__all__ = ["PAUSE_AT", "PAUSE_BYTES", "Pressure", "ReadPause", "Readable", "should_pause"]
