"""Opening the DuckDB file: waiting out another process's lock, naming a bad file.

DuckDB lets one process hold a file at a time (even readers lock it), so every
open here retries with backoff for a while before giving up with a message
that says who holds it and what to do.
"""

from __future__ import annotations

import contextlib
import time
from pathlib import Path
from typing import TYPE_CHECKING

from orchestrate.core.errors import StoreError

if TYPE_CHECKING:
    import duckdb

#: How long an open waits for another process to let go of the file.
LOCK_TIMEOUT = 10.0
_FIRST_BACKOFF = 0.005
_MAX_BACKOFF = 0.05  # short, to catch the writer's gaps (file_hold.READER_TURN)


def is_lock_error(exc: BaseException) -> bool:
    """True if `exc` means "someone else holds the file", which waiting can cure."""
    text = str(exc)
    return (
        "Could not set lock" in text
        or "Conflicting lock" in text
        # Same process, other mode (read-only vs read-write): also cured by waiting.
        or "different configuration" in text
    )


def _is_corrupt(exc: BaseException) -> bool:
    text = str(exc)
    return "not a valid DuckDB database file" in text or "Corrupt" in text or "corrupt" in text


def connect_once(path: Path, read_only: bool) -> duckdb.DuckDBPyConnection:
    """One attempt; a corrupt file becomes a `StoreError`, other DuckDB errors pass through."""
    import duckdb

    try:
        return duckdb.connect(str(path), read_only=read_only)
    except duckdb.Error as exc:
        if _is_corrupt(exc):
            raise StoreError(
                f"{path} is not a DuckDB file orc can read ({exc}). Move it aside "
                f"(mv {path} {path}.bad) and orc will start a new store."
            ) from exc
        raise


def connect(
    path: Path, read_only: bool = False, timeout: float = LOCK_TIMEOUT
) -> duckdb.DuckDBPyConnection:
    """Open `path`, retrying while another process holds it; `StoreError` when it never frees."""
    import duckdb

    deadline = time.monotonic() + timeout
    backoff = _FIRST_BACKOFF
    while True:
        try:
            return connect_once(path, read_only)
        except duckdb.Error as exc:
            if not is_lock_error(exc):
                raise StoreError(f"Could not open the store {path}: {exc}") from exc
            ask_for_turn(path)
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise StoreError(
                    f"The store {path} stayed locked by another process for {timeout:g} s "
                    f"({exc}). Wait for that process to finish, or stop it, and try again."
                ) from exc
            time.sleep(min(backoff, remaining))
            backoff = min(backoff * 2, _MAX_BACKOFF)


def open_owned(path: Path) -> duckdb.DuckDBPyConnection:
    """The daemon's connection to `path`: read-write, at the latest schema, and no transaction open.

    The daemon holds it for its life and reads and writes through cursors of it.
    """
    from orchestrate.store import migrations

    conn = connect(path, read_only=False)
    try:
        migrations.migrate(conn, path)
    except BaseException:
        conn.close()
        raise
    return conn


def turn_marker(path: Path) -> Path:
    """The file a process touches to ask the writer holding `path` for a turn (`file_hold`)."""
    return path.with_name(path.name + ".turn")


def ask_for_turn(path: Path) -> None:
    """Tell the writer holding `path` that this process waits for it; at every try, so it stays fresh."""
    with contextlib.suppress(OSError):  # the writer still lets go within UNASKED_HOLD
        turn_marker(path).touch(mode=0o600)


def open_for_reading(path: Path, timeout: float = LOCK_TIMEOUT) -> duckdb.DuckDBPyConnection | None:
    """A read-only connection at the latest schema; None when the store file does not exist yet.

    An older file is upgraded first (that needs a moment of write access); a file
    from a newer orc is refused.
    """
    from orchestrate.store import migrations

    if not path.exists():
        return None
    conn = _connect_reader(path, timeout)
    try:
        version = migrations.current_version(conn)
        migrations.check_not_newer(version, path)
    except BaseException:
        conn.close()
        raise
    if version == migrations.LATEST_VERSION:
        return conn
    conn.close()
    writer = connect(path, read_only=False, timeout=timeout)
    try:
        migrations.migrate(writer, path)
    finally:
        writer.close()
    return _connect_reader(path, timeout)


def _connect_reader(path: Path, timeout: float) -> duckdb.DuckDBPyConnection:
    """Read-only, unless this very process already has the file open for writing."""
    import duckdb

    try:
        return connect_once(path, read_only=True)
    except duckdb.Error as exc:
        if "different configuration" in str(exc):
            # The writer thread of this process holds it; share its database instance.
            return connect(path, read_only=False, timeout=timeout)
        if is_lock_error(exc):
            return connect(path, read_only=True, timeout=timeout)
        raise StoreError(f"Could not open the store {path}: {exc}") from exc
