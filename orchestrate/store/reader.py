"""Read-only access to one store file, shared by every kind of read a `Store` offers.

Reads open the file read-only and hold it only for the life of a `Store`
(DuckDB admits one process at a time). A project that has not recorded
anything yet has no file, and reads as empty rather than as an error.
"""

from __future__ import annotations

from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self

from orchestrate.core.errors import StoreError

if TYPE_CHECKING:
    import duckdb

_MOST_ROWS = 2**62


def row_limit(limit: int) -> int:
    """A row limit DuckDB takes: a limit past any table's size means all rows, not an error."""
    return max(0, min(int(limit), _MOST_ROWS))


class Reader:
    """The connection a store's reads go through, open for the life of a `with` block."""

    def __init__(self, path: Path, lock_timeout: float = 10.0) -> None:
        self.path = Path(path)
        self.lock_timeout = lock_timeout
        self._conn: duckdb.DuckDBPyConnection | None = None

    @classmethod
    def over(cls, connection: duckdb.DuckDBPyConnection, path: Path | None = None) -> Self:
        """A store reading through an open connection (the daemon's); closing it closes that one.

        `path` (the file, for messages) spares asking DuckDB for it: a query on every read.
        """
        if path is None:
            rows = connection.execute("PRAGMA database_list").fetchall()  # to its end: `migrations`
            path = Path((rows[0][2] if rows else None) or "")
        store = cls(path)
        store._conn = connection
        return store

    def __enter__(self) -> Self:
        self.open()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def open(self) -> None:
        """Open the file if it exists; a missing file leaves the store empty."""
        from orchestrate.store.connection import open_for_reading

        if self._conn is None:
            self._conn = open_for_reading(self.path, self.lock_timeout)

    def close(self) -> None:
        if self._conn is not None:
            conn, self._conn = self._conn, None
            conn.close()

    def _rows(self, sql: str, params: list[Any] | None = None) -> list[tuple[Any, ...]]:
        if self._conn is None:
            return []
        import duckdb

        try:
            return self._conn.execute(sql, params or []).fetchall()
        except duckdb.Error as exc:
            raise StoreError(f"Reading {self.path} failed: {exc}") from exc
