"""A real DuckDB connection whose writes fail on demand, the way DuckDB fails on a full disk."""

from __future__ import annotations

import time
from typing import Any

import duckdb

ENOSPC = 'Could not write file "orc.duckdb.wal": No space left on device'
DURABLE = (
    "FATAL Error: Transaction COMMIT succeeded and is durable, but the autocheckpoint "
    "failed. Reopen the database instance to recover."
)


class Faults:
    """Hand it to `StoreWriter(connection=...)`: its cursors write for real unless told to fail.

    `full` fails every write; `fail_writes` fails that many of the next writes
    (at their first statement); `fatal_after_commit` makes the next commit
    durable and then raises as DuckDB does when the checkpoint after it fails.
    """

    def __init__(self, conn: duckdb.DuckDBPyConnection) -> None:
        self.conn = conn
        self.full = False
        self.fail_writes = 0
        self.fatal_after_commit = False
        self.tries: list[float] = []  # when each write began (BEGIN)

    def cursor(self) -> _FaultyCursor:
        return _FaultyCursor(self, self.conn.cursor())


class _FaultyCursor:
    def __init__(self, faults: Faults, cursor: duckdb.DuckDBPyConnection) -> None:
        self.faults, self.real = faults, cursor
        self.doomed = False

    def execute(self, sql: str, parameters: Any = None) -> Any:
        faults = self.faults
        if sql.startswith("BEGIN"):  # a write's first call: BEGIN and the statements sent with it
            faults.tries.append(time.monotonic())
            if faults.fail_writes > 0:
                faults.fail_writes -= 1
                self.doomed = True
        if sql not in ("BEGIN TRANSACTION", "ROLLBACK") and (self.doomed or faults.full):
            self.doomed = False
            raise duckdb.IOException(ENOSPC)
        result = self.real.execute(sql, parameters)
        if sql.endswith("COMMIT") and faults.fatal_after_commit:
            faults.fatal_after_commit = False
            raise duckdb.FatalException(DURABLE)
        return result

    def close(self) -> None:
        self.real.close()
