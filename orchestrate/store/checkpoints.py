"""The daemon's WAL kept near DuckDB's checkpoint threshold, and a word in the log when it cannot be.

DuckDB checkpoints in the commit that takes the WAL past `checkpoint_threshold`
(16 MB on the daemon's connection), but skips it without a word when another
transaction on the database is open at that moment: the writer's upserts are
updates, which DuckDB will not checkpoint under another transaction. A read
mid-query delays it to a later commit; a result left unfetched on any cursor
(its query's transaction stays open until the cursor runs another statement)
skips every one, and the WAL, and what DuckDB holds of it in memory, then grow
for as long as the daemon runs.

So after each write the daemon's writer looks at the WAL's size (a `stat`),
and once it is past `WAL_BOUND` (automatic checkpoints were evidently skipped)
runs `CHECKPOINT` itself, at most once every `RETRY` seconds. `CHECKPOINT`
fails at once while another transaction is open; `FORCE CHECKPOINT` would
wait for every one of them with new writes held back, for ever for a leaked
one, on the writer's thread. A failure is said once, with what to do, and
again only after a checkpoint succeeded in between. Closing checkpoints too,
so a clean stop leaves no WAL for the next open (or a daemon-less read) to replay.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from orchestrate.store.notices import say

if TYPE_CHECKING:
    import duckdb

#: Past this the writer checkpoints itself: twice DuckDB's threshold, which a commit reaches
#: only when DuckDB skipped its own checkpoints.
WAL_BOUND = 32 * 2**20
#: The least time between two checkpoints the writer tries itself.
RETRY = 10.0


def wal_size(path: Path) -> int:
    """The size of the WAL next to the store file `path`; 0 when there is none."""
    try:
        return os.stat(wal_path(path)).st_size
    except OSError:
        return 0


def wal_path(path: Path) -> Path:
    return path.with_name(path.name + ".wal")


class Checkpoints:
    """One writer's own checkpoints: when the WAL outgrew `WAL_BOUND`, and when it closes.

    Args:
        path: the store file, named in what is said.
        invalidated: called with the error when DuckDB gave the database up in the checkpoint.
    """

    def __init__(self, path: Path, invalidated: Callable[[Exception], None]) -> None:
        self.path = path
        self._invalidated = invalidated
        self._next_try = 0.0
        #: Why the first checkpoint since the last success failed (said once); None after a success.
        self._failing: str | None = None

    def after_write(self, conn: duckdb.DuckDBPyConnection) -> None:
        """Checkpoint if the WAL outgrew the bound and no try failed within `RETRY` seconds."""
        now = time.monotonic()
        if now < self._next_try:
            return
        size = wal_size(self.path)
        if size <= WAL_BOUND:
            return
        self._next_try = now + RETRY
        self._checkpoint(conn, size, closing=False)

    def at_close(self, conn: duckdb.DuckDBPyConnection) -> None:
        """The last write is done: fold the WAL into the file, or say why it stays."""
        size = wal_size(self.path)
        if size:
            self._checkpoint(conn, size, closing=True)

    def _checkpoint(self, conn: duckdb.DuckDBPyConnection, size: int, closing: bool) -> None:
        import duckdb

        try:
            conn.execute("CHECKPOINT").fetchall()
        except duckdb.Error as exc:
            if "invalidated" in str(exc) and not closing:  # reopened by a daemon that goes on
                self._invalidated(exc)
            self._say_failed(exc, size, closing)
            return
        if self._failing is not None:
            self._failing = None
            say(logging.INFO, f"{self.path} checkpointed again; its WAL is folded into the file.")

    def _say_failed(self, exc: Exception, size: int, closing: bool) -> None:
        if self._failing is not None and not closing:
            return  # said at the first failure since the last success
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else repr(exc)
        self._failing = reason
        megabytes = size / 2**20
        if closing:
            then = (
                "The next open replays it (a read with no daemon up takes longer meanwhile); "
                "run `orc up` and `orc down` once more to fold it into the file."
            )
        else:
            then = (
                f"It grows until a checkpoint succeeds: tried again every {RETRY:g} s. If it "
                "keeps growing, restart the daemon (`orc down`, `orc up`), which folds it in."
            )
        say(
            logging.WARNING,
            f"Could not checkpoint {self.path} ({reason}); its WAL "
            f"{wal_path(self.path).name} holds {megabytes:.1f} MB. {then}",
        )
