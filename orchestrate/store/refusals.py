"""Records DuckDB refuses: found, stored as sanitised copies, or set aside and named by their run.

A write fails as a whole, so one record with a value DuckDB will not take (a
name that is not text, a count past 32 bits) would hold back every record
beside it, for good. Here a refused batch is upserted whole (a run another
writer stored already) and, if still refused, its records at fault are found
by trial writes and swapped for sanitised copies, or set aside in memory and
logged. Nothing the writer is given is dropped silently.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from orchestrate.store.batch import Batch, StoredRuns
from orchestrate.store.encode import sanitised
from orchestrate.store.notices import say

if TYPE_CHECKING:
    import duckdb


def write_batch(
    conn: duckdb.DuckDBPyConnection,
    batch: Batch,
    stored: StoredRuns,
    prepared: set[str],
    set_aside: list[Any],
    invalidated: Callable[[Exception], None],
    rows_up_to: int = 0,
) -> int:
    """Store `batch` in one transaction; returns how many of its records had to be set aside.

    New runs go as plain INSERTs. If DuckDB refuses the batch, it is upserted
    whole (a run another writer stored already); if it still refuses, the
    records at fault are swapped for sanitised copies or set aside first. A
    commit DuckDB made durable before failing counts as stored, and
    `invalidated` hears of it.
    """
    for known, clean in ((stored, False), (None, False), (None, True)):
        aside = _clean(conn, batch, prepared, set_aside) if clean else 0
        try:
            batch.write(conn, known, prepared, rows_up_to=rows_up_to)
        except Exception as exc:
            if _committed(exc):
                invalidated(exc)
            elif clean or not _is_data_error(exc):
                raise
            else:
                continue
        finally:
            if known is None:  # these runs' states went as rows: their rows stand for no more
                stored.forget(state.run_id for state in batch.states)
        return aside
    return 0  # not reached: the last attempt returns or raises


def set_aside_unreadable(unreadable: list[Any], set_aside: list[Any]) -> None:
    """Keep what is not a record, or is one too broken to sort, and say so with its run id."""
    set_aside += unreadable
    for item in unreadable:
        message = (
            f"Kept in memory, not stored: {item!r:.300} (run {_run_id(item)}) is not a record."
        )
        say(logging.ERROR, message)


def _clean(
    conn: duckdb.DuckDBPyConnection, batch: Batch, prepared: set[str], set_aside: list[Any]
) -> int:
    """Swap each record DuckDB refuses for a sanitised copy, or set it aside; returns those set aside."""
    aside = 0
    for record in batch.refused(conn, prepared, _is_data_error):
        fixed = sanitised(record)
        run = _run_id(record)
        if fixed is not None and _accepts(conn, prepared, fixed):
            batch.swap(record, fixed)
            say(
                logging.WARNING,
                f"Stored a sanitised copy of a record of run {run}: {record!r:.300}",
            )
            continue
        batch.swap(record, None)
        set_aside.append(record)
        aside += 1
        say(
            logging.ERROR,
            f"DuckDB refused a record of run {run}, sanitised too; kept in memory: {record!r:.300}",
        )
    return aside


def _accepts(conn: duckdb.DuckDBPyConnection, prepared: set[str], record: Any) -> bool:
    return not Batch.of([record]).refused(conn, prepared, _is_data_error)


def _committed(exc: BaseException) -> bool:
    """DuckDB made the commit durable, then failed its checkpoint: the batch is stored."""
    return "COMMIT succeeded" in str(exc)


def _is_data_error(exc: BaseException) -> bool:
    """True when the records are at fault (a value DuckDB will not take), not the disk or the file."""
    import duckdb

    data = (
        duckdb.DataError,
        duckdb.IntegrityError,
        duckdb.InvalidInputException,
        duckdb.ParserException,
    )
    return isinstance(exc, (*data, TypeError, ValueError, KeyError, AttributeError, OverflowError))


def _run_id(record: Any) -> str:
    for name in ("flow_run_id", "run_id", "id", "key"):
        value = getattr(record, name, None)
        if value is not None:
            return str(value)
    return "?"
