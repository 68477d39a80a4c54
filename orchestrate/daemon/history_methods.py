"""`sql.*`, `store.backup`, `runs.prune`: users' history methods, answered while the daemon writes.

The daemon holds the store file, so `orc sql` asks it. Each query runs on a
cursor of its own (DuckDB's MVCC: the writer never waits behind a reader), in
threads of its own, so a slow query holds up neither the writer nor the
daemon's other reads. It first waits for the writer to flush, so a query sees
what was recorded before it was sent.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import suppress
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from orchestrate.client import protocol
from orchestrate.client.protocol import Method
from orchestrate.core.errors import QueryError, StoreError
from orchestrate.core.project import state_dir
from orchestrate.daemon.removals import PRUNED
from orchestrate.daemon.rpc_wire import RpcError
from orchestrate.store import history_sql

if TYPE_CHECKING:
    from orchestrate.daemon.handlers import Handlers

T = TypeVar("T")
Handler = Callable[[dict[str, Any], Any], Awaitable[Any]]

#: Seconds a query may run when the request names no timeout (params carry only what was sent).
DEFAULT_TIMEOUT = 30.0
#: Queries at once; more wait their turn rather than take the daemon's other threads.
QUERY_THREADS = 2
#: Seconds a spool file may outlive its reader before the next spool deletes it.
SPOOL_KEPT = 24 * 3600.0


class HistoryMethods:
    """The SQL methods of one daemon, reading through its handlers' current connection."""

    def __init__(self, handlers: Handlers) -> None:
        self.handlers = handlers
        self._threads = ThreadPoolExecutor(QUERY_THREADS, thread_name_prefix="orc-sql")

    def table(self) -> dict[str, Handler]:
        return {
            Method.SQL_QUERY: self.query,
            Method.SQL_COPY: self.copy,
            Method.SQL_SCHEMA: self.schema,
            Method.SQL_SPOOL: self.spool,
            Method.STORE_BACKUP: self.backup,
            Method.RUNS_PRUNE: self.prune,
            Method.RUNS_BACKFILL: self.backfill,
        }

    async def query(self, params: dict[str, Any], conn: Any) -> dict[str, Any]:
        sql, limit, timeout = (
            params["sql"],
            params.get("limit"),
            float(params.get("timeout") or DEFAULT_TIMEOUT),
        )
        result = await self._on_cursor(lambda c: history_sql.run_query(c, sql, limit, timeout))
        return asdict(result)

    async def copy(self, params: dict[str, Any], conn: Any) -> dict[str, Any]:
        path = _absolute(params["path"])
        sql, fmt, timeout = (
            params["sql"],
            params["format"],
            float(params.get("timeout") or DEFAULT_TIMEOUT),
        )
        rows = await self._on_cursor(lambda c: history_sql.copy_query(c, sql, path, fmt, timeout))
        return {"rows": rows, "path": str(path)}

    async def spool(self, params: dict[str, Any], conn: Any) -> dict[str, Any]:
        """Every row into a private file under .orc/: a reply has a size limit, a file has not."""
        sql, timeout = params["sql"], float(params.get("timeout") or DEFAULT_TIMEOUT)
        path = spool_path(self.handlers.daemon.root)
        found, rows = await self._on_cursor(
            lambda c: history_sql.spool_query(c, sql, path, timeout)
        )
        return {"path": str(path), "columns": found.columns, "types": found.types, "rows": rows}

    async def schema(self, params: dict[str, Any], conn: Any) -> list[list[str]]:
        found = await self._on_cursor(history_sql.schema)
        return [list(row) for row in found]

    async def backup(self, params: dict[str, Any], conn: Any) -> dict[str, Any]:
        from orchestrate.store.backup import backup

        path = _absolute(params["path"])
        size = await self._on_cursor(lambda c: backup(c, path))
        return {"path": str(path), "bytes": size}

    async def prune(self, params: dict[str, Any], conn: Any) -> dict[str, Any]:
        from orchestrate.daemon import run_retention

        daemon = self.handlers.daemon
        before = daemon.clock() - float(params["older_than"])
        deployment, dry_run = params.get("deployment"), bool(params.get("dry_run"))
        cutoff = run_retention.Cutoff(before, deployment)
        told = daemon.removals.teller(PRUNED)
        counts = await asyncio.get_running_loop().run_in_executor(
            self._threads,
            lambda: run_retention.prune(daemon, self.handlers.connection, [cutoff], dry_run, told),
        )
        return counts.as_dict()

    async def backfill(self, params: dict[str, Any], conn: Any) -> dict[str, Any]:
        from orchestrate.daemon import backfill as bf
        from orchestrate.daemon.deployments import UnknownDeployment
        from orchestrate.store.slot_lookup import runs_of_slots

        daemon = self.handlers.daemon
        try:
            spec = daemon.table.get(params["deployment"])
        except UnknownDeployment as exc:
            raise RpcError(protocol.NOT_FOUND, str(exc)) from None
        if not params.get("dry_run"):
            self.handlers.check_runnable(spec, params.get("parameters") or {})
        start, end = bf.epoch_datetime(params["start"]), bf.epoch_datetime(params["end"])
        if end <= start:
            raise RpcError(protocol.BAD_INPUT, "a backfill's end must come after its start")
        try:
            slots = bf.slots_between(spec, start, end)
        except bf.TooManySlots as exc:
            raise RpcError(protocol.BAD_INPUT, str(exc)) from None
        keys = bf.lookup_keys(spec, slots)
        found = await self._on_cursor(lambda c: runs_of_slots(c, list(keys)))
        stored = {keys[key]: run_id for key, run_id in found.items()}
        backfill_id, done = bf.backfill(
            daemon,
            spec,
            slots,
            stored,
            dry_run=bool(params.get("dry_run")),
            rerun=bool(params.get("rerun")),
            parameters=params.get("parameters") or {},
        )
        return {"id": backfill_id, "slots": [asdict(d) for d in done]}

    async def _on_cursor(self, work: Callable[[Any], T]) -> T:
        """`work` on a cursor of its own, in a query thread. A request given up (its client
        gone, the daemon stopping) interrupts its query: a killed `orc sql` held one of
        the two query threads for its whole timeout, and two of them blocked every query."""
        writer, connection = self.handlers.daemon.writer, self.handlers.connection
        given_up = threading.Event()
        cursors: list[Any] = []

        def run() -> T:
            writer.flush(5.0 if writer.health.degraded is None else 0)
            if given_up.is_set():
                raise asyncio.CancelledError
            cursor = connection.cursor()
            cursors.append(cursor)
            try:
                if given_up.is_set():
                    raise asyncio.CancelledError
                return work(cursor)
            finally:
                cursor.close()

        try:
            return await asyncio.get_running_loop().run_in_executor(self._threads, run)
        except asyncio.CancelledError:
            given_up.set()
            for cursor in list(cursors):
                with suppress(Exception):  # closed meanwhile: its query is over anyway
                    cursor.interrupt()
            raise
        except QueryError as exc:
            raise RpcError(protocol.BAD_INPUT, str(exc)) from None
        except StoreError as exc:
            raise RpcError(protocol.BAD_INPUT, str(exc)) from None


def spool_path(root: Path, now: float | None = None) -> Path:
    """A fresh file name in the project's user-only `.orc/sql/` folder.

    A reader deletes its file when done; one a killed reader left behind is
    deleted here once it is a day old.
    """
    import time
    import uuid

    folder = state_dir(root) / "sql"
    folder.mkdir(mode=0o700, exist_ok=True)
    stale = (time.time() if now is None else now) - SPOOL_KEPT
    for left in folder.glob("*.jsonl"):
        with suppress(OSError):
            if left.stat().st_mtime < stale:
                left.unlink()
    return folder / f"{uuid.uuid4().hex}.jsonl"


def _absolute(path: str) -> Path:
    """A client's path: it must be absolute, as the daemon's folder is not the client's."""
    if not Path(path).is_absolute():
        raise RpcError(protocol.BAD_INPUT, f"the daemon writes files at absolute paths, not {path}")
    return Path(path)
