"""A consistent copy of the whole store, taken while it is written, and putting one back.

`COPY FROM DATABASE` reads one snapshot (DuckDB's MVCC), so the copy is
consistent even while the daemon's writer goes on; it lands in a new DuckDB
file, written in a private folder and moved into place with mode 0600.
Restoring moves the current file (and its write-ahead log, which would
otherwise replay onto the restored one) aside rather than deleting it.
"""

from __future__ import annotations

import shutil
import time
import uuid
from pathlib import Path
from typing import TYPE_CHECKING

from orchestrate.core.errors import StoreError
from orchestrate.store.private_files import private_file

if TYPE_CHECKING:
    import duckdb


def backup(conn: duckdb.DuckDBPyConnection, path: Path) -> int:
    """Copy the store `conn` reads into a new file at `path` (0600); its size in bytes."""
    import duckdb

    path = Path(path).expanduser().resolve()
    row = conn.execute("SELECT current_database()").fetchone()
    source = _quoted(str(row[0])) if row else "main"
    alias = f"orc_backup_{uuid.uuid4().hex[:12]}"  # attached databases are shared by cursors
    with private_file(path) as partial:
        try:
            conn.execute(f"ATTACH {_literal(str(partial))} AS {alias} (READ_WRITE)")
            try:
                conn.execute(f"COPY FROM DATABASE {source} TO {alias}")
            finally:
                conn.execute(f"DETACH {alias}")
        except duckdb.Error as exc:
            raise StoreError(f"Backing up the store to {path} failed: {exc}") from exc
    return path.stat().st_size


def check_backup(path: Path) -> int:
    """The schema version of a backup file; `StoreError` if it is not a store orc can read."""
    import duckdb

    from orchestrate.store import migrations

    if not path.is_file():
        raise StoreError(f"No backup at {path}.")
    try:
        conn = duckdb.connect(str(path), read_only=True)
    except duckdb.Error as exc:
        raise StoreError(f"{path} is not a DuckDB file orc can restore ({exc}).") from exc
    with conn:
        version = migrations.current_version(conn)
    if version == 0:
        raise StoreError(f"{path} is a DuckDB file but not an orc store (no schema_version).")
    migrations.check_not_newer(version, path)
    return version


def restore(backup_path: Path, store: Path) -> Path | None:
    """Put `backup_path` in place of `store` (0600); where the old store was moved, if any."""
    backup_path = Path(backup_path).expanduser().resolve()
    check_backup(backup_path)
    aside = _move_aside(store)
    with private_file(store) as partial:
        shutil.copyfile(backup_path, partial)
    return aside


def _move_aside(store: Path) -> Path | None:
    """Fold the current store's log into it, then move it beside itself, named by the time."""
    if not store.exists():
        return None
    from orchestrate.store.connection import connect

    conn = connect(store, read_only=False)  # waits for, then keeps out, another process
    try:
        conn.execute("CHECKPOINT")
    finally:
        conn.close()
    aside = store.with_name(f"{store.name}.before-restore-{time.strftime('%Y%m%dT%H%M%S')}")
    store.rename(aside)
    wal = store.with_name(store.name + ".wal")
    if wal.exists():
        wal.rename(aside.with_name(aside.name + ".wal"))
    return aside


def _quoted(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"
