"""Run retention in the daemon: old finished runs leave the store, by hand (`runs.prune`) or hourly.

Which runs go is read on a cursor of the daemon's connection; deleting them
goes through the one writer (`RunPruning`), a bounded batch at a time, each
waited for before the next is chosen, so a large backlog never holds the
writer long and runs recorded meanwhile are not held up. `[project]
run_retention` applies to every run whose deployment sets none; the loop
wakes when flows.toml is reloaded and otherwise sleeps an hour.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from contextlib import suppress
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from orchestrate.core.project import results_dir
from orchestrate.core.records import EventRecord
from orchestrate.daemon.removals import PRUNED
from orchestrate.store import pruning, result_files
from orchestrate.store.pruning import BATCH, PruneCounts, RunPruning

if TYPE_CHECKING:
    from orchestrate.daemon.service import Daemon

log = logging.getLogger("orc.daemon")

#: The longest the loop sleeps between two prunes.
PRUNE_EVERY = 3600.0
_RELOADED = "orc.config.reloaded"
#: The most a batch's delete is waited for before the prune stops (and tries next time).
_FLUSH_TIMEOUT = 60.0


@dataclass(frozen=True)
class Cutoff:
    """Final runs that ended before `before` go: of `deployment`, or of any but `exclude`."""

    before: float
    deployment: str | None = None
    exclude: tuple[str, ...] = ()


#: Called, on the pruning thread, with the ids of flow runs a flushed batch removed.
Removed = Callable[[Sequence[str]], None]


def prune(
    daemon: Daemon,
    connection: Any,
    cutoffs: Sequence[Cutoff],
    dry_run: bool = False,
    removed: Removed | None = None,
) -> PruneCounts:
    """Remove (or, in a dry run, count) the runs past each cutoff and their results; blocking.

    The project's cutoff (no `deployment`) also takes task runs called outside any flow.
    `removed` hears each batch's flow run ids once the store no longer has them.
    """
    total = PruneCounts()
    for cutoff in cutoffs:

        def flow_runs(cursor: Any, limit: int | None, cutoff: Cutoff = cutoff) -> Chosen:
            ids = pruning.prunable(cursor, cutoff.before, limit, cutoff.deployment, cutoff.exclude)
            return ids, []

        def task_runs(cursor: Any, limit: int | None, cutoff: Cutoff = cutoff) -> Chosen:
            return [], pruning.prunable_task_runs(cursor, cutoff.before, limit)

        total += _prune_batches(daemon, connection, flow_runs, dry_run, removed)
        if cutoff.deployment is None:
            total += _prune_batches(daemon, connection, task_runs, dry_run)
    return total


#: (flow run ids, task run ids of no flow run) a prune batch removes.
Chosen = tuple[list[str], list[str]]


def _prune_batches(
    daemon: Daemon,
    connection: Any,
    chosen: Callable[[Any, int | None], Chosen],
    dry_run: bool,
    removed: Removed | None = None,
) -> PruneCounts:
    """Remove what `chosen` names through the writer, a waited-for batch at a time."""
    total = PruneCounts()
    results = results_dir(daemon.root)
    while True:
        cursor = connection.cursor()
        try:
            ids, task_ids = chosen(cursor, None if dry_run else BATCH)
            total += pruning.count(cursor, ids, task_ids)
            keys = result_files.result_keys(cursor, ids, task_ids)
            files = result_files.existing(results, keys)
        finally:
            cursor.close()
        if dry_run:
            return total + PruneCounts(results=len(files))
        if not ids and not task_ids:
            return total
        daemon.writer.put(RunPruning(tuple(ids), tuple(task_ids)))
        flushed = daemon.writer.flush(_FLUSH_TIMEOUT)
        if flushed:  # the rows are gone: nothing points at the files any more
            total += PruneCounts(results=result_files.remove(files))
            if removed is not None and ids:
                removed(ids)
        if not flushed or len(ids) + len(task_ids) < BATCH:
            return total


def configured_cutoffs(daemon: Daemon, now: float) -> list[Cutoff]:
    """The cutoffs flows.toml asks for: each deployment's own, then the project's for the rest."""
    config = daemon.table.config
    own = [d for d in config.deployments if d.run_retention is not None]
    cutoffs = [
        Cutoff(now - d.run_retention.total_seconds(), d.name) for d in own if d.run_retention
    ]
    project = config.project.run_retention
    if project is not None:
        cutoffs.append(Cutoff(now - project.total_seconds(), None, tuple(d.name for d in own)))
    return cutoffs


class RunRetention:
    """The daemon's hourly prune of finished runs older than their retention."""

    def __init__(self, daemon: Daemon, connection: Callable[[], Any]) -> None:
        self.daemon = daemon
        self.connection = connection
        self._wake = asyncio.Event()
        daemon.event_listeners.append(self._on_event)

    def _on_event(self, event: EventRecord) -> None:
        if event.event == _RELOADED:
            self._wake.set()

    async def prune_once(self) -> PruneCounts:
        cutoffs = configured_cutoffs(self.daemon, self.daemon.clock())
        if not cutoffs:
            return PruneCounts()
        told = self.daemon.removals.teller(PRUNED)
        removed = await asyncio.to_thread(
            prune, self.daemon, self.connection(), cutoffs, False, told
        )
        if removed.flow_runs or removed.task_runs:
            log.info("run retention removed %s", describe(removed))
        return removed

    async def run(self) -> None:
        """Prune now, then hourly, or sooner when flows.toml is reloaded."""
        while not self.daemon.stopping:
            try:
                await self.prune_once()
            except Exception:
                log.exception("run retention failed; trying again in an hour")
            self._wake.clear()
            with suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), PRUNE_EVERY)


def describe(counts: PruneCounts) -> str:
    """`3 flow runs, 12 task runs, 40 states, 9 edges, 120 logs`."""
    parts = counts.as_dict()
    return ", ".join(f"{n} {kind.replace('_', ' ')}" for kind, n in parts.items())
