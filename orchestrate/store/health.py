"""Whether the writer's records reach the file: why not, since when, and who is told.

A write the file refuses (a full disk, an I/O error, a lock held too long)
keeps its records and is tried again after a pause that doubles from 0.1 s to
5 s; meanwhile the writer's health says why the store is degraded, and
subscribers hear of each change. Kept apart from the writer's thread so that
what `orc status` shows is decided in one place.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from orchestrate.core.errors import StoreError
from orchestrate.store.notices import log, say

#: After a failed write, wait this long before the next try; doubled after each failure...
FIRST_BACKOFF = 0.1
#: ...up to this: a store that stays broken costs one try every few seconds, never a spin.
MAX_BACKOFF = 5.0


def backoff(failures: int) -> float:
    """The pause after `failures` failures in a row (the first pauses `FIRST_BACKOFF`)."""
    return min(FIRST_BACKOFF * 2 ** (failures - 1), MAX_BACKOFF)


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


class HealthWatch:
    """One writer's health: failures and recoveries noted, said once, and passed to subscribers.

    Args:
        path: the store file, named in what is said.
        counts: the writer's (waiting, set aside) record counts, read when health is asked for.
    """

    def __init__(self, path: Path, counts: Callable[[], tuple[int, int]]) -> None:
        self.path = path
        self._counts = counts
        #: Why writes fail now (None while they succeed), since when, and whether DuckDB needs a reopen.
        self.degraded: str | None = None
        self.since: float | None = None
        self.reopen = False
        self._failures = 0
        #: No write is tried before this (monotonic seconds): the pause after a failure.
        self.retry_at = 0.0
        self._listeners: list[Callable[[StoreHealth], None]] = []

    def now(self) -> StoreHealth:
        """The store as the writer sees it now; safe to read from any thread."""
        waiting, aside = self._counts()
        return StoreHealth(self.degraded, waiting, self.since, aside, self.reopen)

    def subscribe(self, callback: Callable[[StoreHealth], None]) -> None:
        self._listeners.append(callback)

    def reconnected(self) -> None:
        """The owner reopened the database: the next write may go at once."""
        self.reopen = False
        self.retry_at = 0.0

    def failed(self, exc: Exception, shared: bool) -> None:
        """Pause before the next try (longer each time), and say the store is degraded."""
        self._failures += 1
        self.retry_at = time.monotonic() + backoff(self._failures)
        self.reopen = self.reopen or (shared and "invalidated" in str(exc))
        self.degrade(str(exc).strip().splitlines()[0] if str(exc).strip() else repr(exc), exc)

    def invalidated(self, exc: Exception) -> None:
        """The commit is durable but DuckDB invalidated the database: its owner must reopen it."""
        self.reopen = True
        self.degrade(f"the store must be reopened: {exc}", exc)

    def succeeded(self, waited: int = 0) -> None:
        """A write went through; `waited`: records waiting when it began (said on recovery)."""
        self._failures = 0
        self.retry_at = 0.0
        if self.degraded is None or self.reopen:
            return
        say(
            logging.INFO,
            f"Writing to {self.path} works again; what was kept meanwhile is written in order.",
        )
        self.degraded = self.since = None
        self._notify(waited)

    def degrade(self, reason: str, exc: BaseException) -> None:
        """Note why writes fail; say it (with the traceback for a failure of our own) once per reason."""
        if reason == self.degraded:
            return
        first = self.degraded is None
        self.degraded = reason
        self.since = self.since or time.time()
        ours = not isinstance(exc, StoreError) and type(exc).__module__ not in ("duckdb", "_duckdb")
        message = (
            f"Could not write to {self.path} ({reason}). {self.now().waiting} records wait in "
            "memory and will be written when it works again; nothing is dropped."
        )
        say(logging.WARNING if first else logging.ERROR, message, exc if ours else None)
        self._notify()

    def _notify(self, waited: int | None = None) -> None:
        health = self.now()
        if waited is not None:  # recovered: what had waited, not what waits after the write
            health = dataclasses.replace(health, waiting=waited)
        for callback in list(self._listeners):
            try:
                callback(health)
            except Exception:
                log.exception("A store health subscriber failed")
