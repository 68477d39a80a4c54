"""The writer's hold on the DuckDB file: opened when there is work, let go so others get a turn.

DuckDB admits one process per file, and `orc runs ls` in another shell must
get its turn while a long flow runs. So the writer opens the file (migrating
it) only for work, lets go after a short idle spell or after holding it for a
while, and then stays off it for a reader's turn. Letting go costs DuckDB a
checkpoint and the next open (a third of what a long flow's recording cost
when it happened every second), so a busy writer lets go after `MAX_HOLD`
only when another process asked for a turn (orc's own opens touch
`<store>.turn` while the file is held: `connection.ask_for_turn`), and after
`UNASKED_HOLD` in any case, for readers that do not ask (the DuckDB CLI). A daemon owns the file and
hands in a connection it never lets go of; the writer writes through a cursor
of it, and a new one after the owner reopened the database.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import TYPE_CHECKING

from orchestrate.store.notices import say

if TYPE_CHECKING:
    import duckdb

#: Close the file after this long without records, so other processes can open it.
IDLE_CLOSE = 0.2
#: Let go of the file after holding it this long, even while busy, when another process asked.
MAX_HOLD = 1.0
#: Let go after holding it this long even when nobody asked (well within a reader's lock timeout).
UNASKED_HOLD = 5.0
#: After letting go because of MAX_HOLD, stay off the file this long: a reader's turn.
READER_TURN = 0.15
#: DuckDB checkpoints in the commit that takes its WAL past this (its default: 16 MB). A
#: 100k-task flow writes ~15-20 MB of WAL, so a checkpoint (0.7-0.85 s on a loaded machine)
#: often stalled the writer mid-flow; letting go of the file checkpoints anyway (at idle,
#: or after UNASKED_HOLD), which bounds the WAL a crash leaves to replay.
CHECKPOINT_THRESHOLD = "256MB"


class FileHold:
    """The connection one writer writes through, and the statements prepared on it.

    Args:
        path: the store file; created (with its folder) on first open.
        lock_timeout: how long an open waits for another process to release the file.
        shared: the owner's open connection to write through, never let go of.
    """

    def __init__(
        self, path: Path, lock_timeout: float, shared: duckdb.DuckDBPyConnection | None
    ) -> None:
        self.path = path
        self.lock_timeout = lock_timeout
        self.shared = shared
        self.conn: duckdb.DuckDBPyConnection | None = None
        #: Statements prepared on the open connection (see `batch`); a new connection has none.
        self.prepared: set[str] = set()
        self._opened_at = 0.0
        self._opened_wall = 0.0  # the same moment by the clock file times are taken on
        self._reopen_at = 0.0
        self._swapped = False

    def use(self, connection: duckdb.DuckDBPyConnection) -> None:
        """Write through `connection` from the next write on (the owner reopened the database)."""
        self.shared = connection
        self._swapped = True  # the writer's thread lets go of its old cursor before its next write

    def may_write(self, now: float) -> bool:
        """False during a reader's turn at the file."""
        return self.conn is not None or now >= self._reopen_at

    def skip_reader_turn(self) -> None:
        """Closing: the last writes go at once."""
        self._reopen_at = 0.0

    def let_go_of_swapped(self) -> None:
        """Before a write: drop the cursor of a database the owner has since reopened."""
        if self._swapped:
            self._swapped = False
            self.release()

    def connection(self) -> duckdb.DuckDBPyConnection:
        """The open connection, opened now if there is none."""
        if self.conn is None:
            self.conn = self._open()
        return self.conn

    def _open(self) -> duckdb.DuckDBPyConnection:
        if self.shared is not None:
            return self.shared.cursor()  # its own connection to the one open database
        from orchestrate.store import connection, migrations

        self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        conn = connection.connect(self.path, read_only=False, timeout=self.lock_timeout)
        try:
            migrations.migrate(conn, self.path)
            conn.execute(f"SET checkpoint_threshold = '{CHECKPOINT_THRESHOLD}'")
        except BaseException:
            conn.close()
            raise
        self._opened_at = time.monotonic()
        self._opened_wall = time.time()
        return conn

    def release_if_due(self, last_work: float) -> None:
        """Let go after an idle spell, or after holding the file too long (then a reader's turn)."""
        if self.conn is None or self.shared is not None:
            return
        now = time.monotonic()
        held = now - self._opened_at
        if held >= MAX_HOLD and (held >= UNASKED_HOLD or self._asked()):
            self.release()
            self._reopen_at = now + READER_TURN
        elif now - last_work >= IDLE_CLOSE:
            self.release()

    def _asked(self) -> bool:
        """Whether another process asked for a turn since the file was opened."""
        from orchestrate.store.connection import turn_marker

        try:
            return turn_marker(self.path).stat().st_mtime >= self._opened_wall
        except OSError:
            return False

    def release(self) -> None:
        """Close the file; `conn` stays set until the close (and its checkpoint) is over.

        So whoever asks whether the file is held is told yes until DuckDB has
        written back and freed what it kept of it.
        """
        conn = self.conn
        if conn is None:
            return
        try:
            conn.close()
        except Exception as exc:
            say(logging.WARNING, f"Closing {self.path} failed: {exc}")
        finally:
            self.conn = None
            self.prepared = set()
