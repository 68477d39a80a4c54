"""The persisted results of pruned runs: the files under `.orc/results/` named after them.

A flow's result is kept under its flow run id, a task's under its task run id
or, when it is cached, its cache key. A cache key that a run which stays also
used is left alone: that run (or the next one) may still read it. Keys become
file names by the rule of `orchestrate.engine.results` (a test pins the two).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import duckdb

_SAFE_KEY = re.compile(r"^[A-Za-z0-9_.-]{1,120}$")


def result_filename(key: str) -> str:
    """The file a result key is stored in."""
    if _SAFE_KEY.match(key):
        return key
    return hashlib.sha256(key.encode()).hexdigest()


def result_keys(
    conn: duckdb.DuckDBPyConnection, ids: Sequence[str], task_ids: Sequence[str] = ()
) -> list[str]:
    """Keys flow runs `ids` and task runs `task_ids` may have stored results under.

    Read them before the runs are deleted. A cache key another task run still
    uses is not among them.
    """
    if not ids and not task_ids:
        return []
    rows = conn.execute(
        "SELECT id, cache_key FROM task_runs "
        "WHERE list_contains($1::VARCHAR[], flow_run_id) OR list_contains($2::VARCHAR[], id)",
        [list(ids), list(task_ids)],
    ).fetchall()
    removed = [str(task_id) for task_id, _ in rows]
    cache_keys = sorted({str(key) for _, key in rows if key})
    kept: set[str] = set()
    if cache_keys:
        kept = {
            str(key)
            for (key,) in conn.execute(
                "SELECT DISTINCT cache_key FROM task_runs WHERE list_contains($1::VARCHAR[], "
                "cache_key) AND NOT list_contains($2::VARCHAR[], id)",
                [cache_keys, removed],
            ).fetchall()
        }
    return [*ids, *removed, *(k for k in cache_keys if k not in kept)]


def existing(folder: Path | None, keys: Iterable[str]) -> list[Path]:
    """The result files of `keys` that are on disk."""
    if folder is None:
        return []
    paths = (folder / result_filename(key) for key in keys)
    return [path for path in paths if path.is_file()]


def remove(paths: Iterable[Path]) -> int:
    """Delete the files; one already gone is not an error. Returns how many went."""
    removed = 0
    for path in paths:
        try:
            path.unlink()
        except FileNotFoundError:
            continue
        removed += 1
    return removed
