"""Users' SQL over run history: one read-only statement, a timeout, a row cap, or a COPY to a file.

The same code runs in the daemon (on a cursor of its read-write connection)
and in a CLI with no daemon (on a read-only file), so read-only must not rest
on the file's mode: a query is parsed first and only a single SELECT passes,
and it then runs in a transaction that is rolled back. A timer interrupts a
query past its timeout. Rows leave as JSON values, so both paths print alike.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from orchestrate.core.errors import QueryError
from orchestrate.store import history_views
from orchestrate.store.history_values import json_value
from orchestrate.store.history_views import VIEW_NAMES
from orchestrate.store.private_files import private_file

if TYPE_CHECKING:
    import duckdb

__all__ = [
    "FORMATS",
    "VIEW_NAMES",
    "QueryResult",
    "RowStream",
    "copy_query",
    "empty_store",
    "run_query",
    "schema",
    "spool_query",
    "streamed_query",
]

#: `orc export` / `--parquet` formats -> DuckDB COPY options.
FORMATS: dict[str, str] = {
    "parquet": "FORMAT parquet",
    "csv": "FORMAT csv, HEADER true",
    "json": "FORMAT json, ARRAY true",
}


#: A row cap this large means no cap.
_ALL_ROWS = 2**31
#: Rows fetched from DuckDB at a time when every row is wanted: memory stays bounded.
_BATCH = 10_000


@dataclass(frozen=True)
class QueryResult:
    """What a query returned: column names and types, rows as JSON values, and whether capped."""

    columns: list[str]
    types: list[str]
    rows: list[list[Any]]
    truncated: bool = False


def run_query(
    conn: duckdb.DuckDBPyConnection, sql: str, limit: int | None, timeout: float
) -> QueryResult:
    """Run one read-only statement; at most `limit` rows (None: all)."""
    if limit is not None and limit >= _ALL_ROWS:
        limit = None  # past what a table could show: every row (and no overflow in DuckDB)
    statement = read_only_statement(conn, sql)
    with _guarded(conn, timeout):
        conn.execute(statement)
        columns = [d[0] for d in conn.description or []]
        types = [str(d[1]) for d in conn.description or []]
        raw = conn.fetchall() if limit is None else conn.fetchmany(limit + 1)
    truncated = limit is not None and len(raw) > limit
    rows = [[json_value(v) for v in row] for row in raw[:limit]]
    return QueryResult(columns, types, rows, truncated)


@dataclass(frozen=True)
class RowStream:
    """Every row of a query, one at a time, as JSON values: for `--json`/`--csv` of any size."""

    columns: list[str]
    types: list[str]
    rows: Iterator[list[Any]]


@contextmanager
def streamed_query(
    conn: duckdb.DuckDBPyConnection, sql: str, timeout: float
) -> Iterator[RowStream]:
    """Run one read-only statement and hand its rows out in bounded batches, under the timeout."""
    statement = read_only_statement(conn, sql)
    with _guarded(conn, timeout):
        conn.execute(statement)
        columns = [d[0] for d in conn.description or []]
        types = [str(d[1]) for d in conn.description or []]
        yield RowStream(columns, types, _each_row(conn))


def _each_row(conn: duckdb.DuckDBPyConnection) -> Iterator[list[Any]]:
    while batch := conn.fetchmany(_BATCH):
        for row in batch:
            yield [json_value(v) for v in row]


def spool_query(
    conn: duckdb.DuckDBPyConnection, sql: str, path: Path, timeout: float
) -> tuple[RowStream, int]:
    """Write every row to `path` (0600), one JSON array a line; the columns and the row count.

    The daemon answers a large `--json`/`--csv` this way rather than in one
    socket reply, which has a size limit; the CLI reads the file back as it prints.
    """
    count = 0
    with (
        private_file(path) as partial,
        streamed_query(conn, sql, timeout) as found,
        partial.open("w", encoding="utf-8") as out,
    ):
        for row in found.rows:
            out.write(json.dumps(row, separators=(",", ":")))
            out.write("\n")
            count += 1
    return RowStream(found.columns, found.types, iter(())), count


def copy_query(
    conn: duckdb.DuckDBPyConnection, sql: str, path: Path, fmt: str, timeout: float
) -> int:
    """Write what one read-only statement returns to `path` (mode 0600); the row count."""
    if fmt not in FORMATS:
        raise QueryError(f"Unknown format {fmt!r}; use one of {', '.join(FORMATS)}.")
    statement = read_only_statement(conn, sql)
    path = Path(path).expanduser().resolve()
    with private_file(path) as partial, _guarded(conn, timeout):
        # The newline ends a trailing `--` comment; the statement is one SELECT (checked).
        conn.execute(f"COPY ({statement}\n) TO {_literal(str(partial))} ({FORMATS[fmt]})")
        row = conn.fetchone()
    return int(row[0]) if row else 0


def schema(conn: duckdb.DuckDBPyConnection) -> list[tuple[str, str, str]]:
    """(view, column, type) of every view `orc sql` offers."""
    return history_views.describe(conn)


def empty_store() -> duckdb.DuckDBPyConnection:
    """An in-memory store at the latest schema: what a project with no runs yet reads as."""
    import duckdb

    from orchestrate.store import migrations

    conn = duckdb.connect(":memory:")
    migrations.migrate(conn, ":memory:")
    return conn


def read_only_statement(conn: duckdb.DuckDBPyConnection, sql: str) -> str:
    """The text of `sql` if it is exactly one SELECT; else a `QueryError` saying why."""
    import duckdb

    try:
        statements = conn.extract_statements(sql)
    except duckdb.Error as exc:
        raise QueryError(f"The query does not parse: {exc}") from exc
    if len(statements) != 1:
        raise QueryError(
            f"orc sql is read-only and runs one statement at a time; this has {len(statements)}."
        )
    statement = statements[0]
    if statement.type != duckdb.StatementType.SELECT:
        # Its first word: DuckDB files INSTALL under LOAD, which would name the wrong one.
        words = statement.query.split(None, 1)
        kind = words[0].upper() if words else statement.type.name
        raise QueryError(
            f"orc sql is read-only: {kind} statements are refused. Only SELECT (with WITH, "
            "FROM, DESCRIBE, SUMMARIZE) runs; use `orc export` to write a file."
        )
    return statement.query.strip().rstrip(";")


#: Set on each query's connection: times come out in UTC whichever process runs the query
#: (the daemon's zone and the shell's differed, and so did day buckets); and a query never
#: fetches or loads a DuckDB extension (`sqlite_attach(…)` would download one).
_QUERY_SETTINGS = (
    "SET SESSION TimeZone = 'UTC'",
    "SET autoinstall_known_extensions = false",
    "SET autoload_known_extensions = false",
)


@contextmanager
def _guarded(conn: duckdb.DuckDBPyConnection, timeout: float) -> Iterator[None]:
    """Views made, a transaction rolled back afterwards, a timer that interrupts, errors as ours."""
    import duckdb

    history_views.install(conn)
    for setting in _QUERY_SETTINGS:
        conn.execute(setting)
    timer = threading.Timer(timeout, conn.interrupt)
    conn.execute("BEGIN TRANSACTION")
    timer.start()
    try:
        yield
    except duckdb.InterruptException as exc:
        raise QueryError(
            f"The query ran past its timeout of {timeout:g} s and was stopped; narrow it "
            "(a WHERE on a time, a LIMIT) or give it longer with --timeout."
        ) from exc
    except duckdb.Error as exc:
        raise QueryError(f"The query failed: {exc}") from exc
    finally:
        timer.cancel()
        # An interrupted or failed statement may have ended the transaction already.
        with suppress(duckdb.Error):
            conn.execute("ROLLBACK")


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"
