"""Where `orc sql` and `orc export` run their SQL: in the daemon when one runs, else on the file.

While `orc up` runs it holds the store (DuckDB admits one process), so the
query goes over the socket and the daemon runs it; with no daemon the file is
opened read-only here. A project with nothing recorded yet reads as empty
views. Both give the same `SqlResult`, so printing has one code path.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, NamedTuple, Self

if TYPE_CHECKING:
    from orchestrate.client import Client
    from orchestrate.client.plain import PlainClient
    from orchestrate.client.protocol import SqlResult


#: Seconds past a query's own timeout the CLI waits for the daemon's answer: the daemon
#: first lets its writer flush (up to 5 s), and a timed-out query still has to say so.
REPLY_MARGIN = 15.0


class Rows(NamedTuple):
    """Every row of a query, read as it is printed, so no answer is too large to print."""

    columns: list[str]
    rows: Iterator[list[Any]]


class History:
    """SQL over a project's run history, through its daemon or its file; use as a context manager.

    Through the daemon either client serves (`PlainClient`'s answers read as `Client`'s do),
    so the quick path of `orc sql` loads no pydantic.
    """

    def __init__(self, client: Client | PlainClient | None, conn: Any) -> None:
        self._client = client
        self._conn = conn

    @classmethod
    def of(cls, root: Path, timeout: float = 30.0) -> Self:
        """Through the daemon if one runs, waiting for its answer as long as the work may take."""
        from orchestrate.cli.reads import daemon_client

        client = daemon_client(root, timeout + REPLY_MARGIN)
        if client is not None:
            return cls(client, None)
        from orchestrate.core.project import store_path
        from orchestrate.store import history_sql
        from orchestrate.store.connection import open_for_reading

        conn = open_for_reading(store_path(root))
        return cls(None, conn if conn is not None else history_sql.empty_store())

    @property
    def through_daemon(self) -> bool:
        return self._client is not None

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._client is not None:
            self._client.close()
        if self._conn is not None:
            self._conn.close()

    def query(self, sql: str, limit: int | None, timeout: float) -> SqlResult:
        """The answer (`columns`, `rows`, `truncated`); from `PlainClient`, as plain JSON."""
        if self._client is not None:
            answer: SqlResult = self._client.sql_query(sql, limit=limit, timeout=timeout)
            return answer
        from dataclasses import asdict

        from orchestrate.client.protocol import SqlResult
        from orchestrate.store import history_sql

        assert self._conn is not None
        return SqlResult(**asdict(history_sql.run_query(self._conn, sql, limit, timeout)))

    @contextmanager
    def every_row(self, sql: str, timeout: float) -> Iterator[Rows]:
        """All the rows, in bounded memory: from the daemon's spool file, or the store file."""
        if self._client is not None:
            spooled = self._client.sql_spool(sql, timeout=timeout)
            path = Path(spooled.path)
            try:
                with path.open(encoding="utf-8") as lines:
                    yield Rows(spooled.columns, (json.loads(line) for line in lines))
            finally:
                with suppress(FileNotFoundError):
                    path.unlink()
            return
        from orchestrate.store import history_sql

        assert self._conn is not None
        with history_sql.streamed_query(self._conn, sql, timeout) as found:
            yield Rows(found.columns, found.rows)

    def copy(self, sql: str, path: Path, fmt: str, timeout: float) -> int:
        """Write the rows to `path` (0600); the daemon writes it when one runs (same host)."""
        path = path.expanduser().resolve()
        if self._client is not None:
            answer: dict[str, Any] = self._client.sql_copy(sql, str(path), fmt, timeout=timeout)
            return int(answer["rows"])
        from orchestrate.store import history_sql

        assert self._conn is not None
        return history_sql.copy_query(self._conn, sql, path, fmt, timeout)

    def backup(self, path: Path) -> int:
        """A consistent copy of the whole store at `path` (0600); its size in bytes."""
        path = path.expanduser().resolve()
        if self._client is not None:
            return int(self._client.backup_store(str(path))["bytes"])
        from orchestrate.store.backup import backup

        return backup(self._conn, path)

    def schema(self) -> list[tuple[str, str, str]]:
        if self._client is not None:
            return self._client.sql_schema()
        from orchestrate.store import history_sql

        assert self._conn is not None
        return history_sql.schema(self._conn)
