"""Starting again after a stop or a crash: pick up what the last daemon left behind.

Scheduled runs come back into the run book; runs that were Pending or Running
have no worker any more (a worker left over is stopped), so they become
Crashed and are retried where their deployment allows, as is a run that had
failed but whose worker's exit was not handled yet; slots missed while
nobody ran follow each deployment's catch-up policy. No slot ever runs twice:
its key is stored once, and a run is only ever dispatched from the book. A run
an automation made still names it (read back from the run's stored events),
so the automation does not react to it after the restart either.

This module orders the steps; `journal_replay` reads the journals back,
`cut_off` decides what each run found cut off becomes, `catchup` applies the
catch-up policies, and `stored_runs` turns stored runs back into records.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from orchestrate.core.records import FlowRunRecord, TaskRunRecord
from orchestrate.core.states import StateType
from orchestrate.daemon import planner, slots
from orchestrate.daemon.catchup import catch_up
from orchestrate.daemon.cut_off import end_cut_off, undecided_failure
from orchestrate.daemon.journal_replay import read_journals, replay
from orchestrate.daemon.scope import kill_orphan
from orchestrate.daemon.stored_runs import record_of
from orchestrate.recording.journal import Journal
from orchestrate.store.queries import Store

if TYPE_CHECKING:
    from orchestrate.daemon.service import Daemon
    from orchestrate.store.replay import Connection

log = logging.getLogger("orc.daemon")


def recover(daemon: Daemon, store: Store, conn: Connection) -> None:
    """Load the last daemon's runs and slots, replay their journals, end what was cut off, catch up.

    Order matters: first every process the last daemon's runs left is stopped
    (so no journal grows while it is read), then each journal is replayed into
    the store, and only then is anything decided, from the journal's word: a
    body that finished is final, not run again; an attempt that was cut off
    is Crashed and spent, and retried only within `retries`.
    """
    _stop_leftovers(daemon)
    now = daemon.clock()
    keys, daemon.last_slot, daemon.slot_of = store.schedule_slots(since=now - slots.KEY_MEMORY)
    daemon.slot_keys = set(keys)
    keys = _read_legacy_ids(daemon, keys)
    journals = read_journals(daemon)
    last_attempt = {found.flow_run_id: found.attempt for found in journals}  # sorted: last wins
    cut_off: list[tuple[FlowRunRecord, Journal | None, list[TaskRunRecord]]] = []
    for view in store.unfinished_flow_runs():
        run = record_of(view)
        daemon.book.put_flow_run(run)
        if run.id not in last_attempt and run.state.type is not StateType.SCHEDULED:
            cut_off.append((run, None, []))
    _remember_slots(daemon, keys)
    chains = _restore_chains(daemon, store, journals)  # before any event of theirs is told
    for found in journals:  # each run's attempts in order: only its last can be cut off
        latest = found.attempt == last_attempt[found.flow_run_id]
        replayed, open_tasks = replay(daemon, conn, found, latest)
        if replayed is None and latest:
            replayed = undecided_failure(daemon, store, found)
        if replayed is not None:
            cut_off.append((replayed, found, open_tasks))
    for run, found_or_none, open_tasks in cut_off:
        end_cut_off(daemon, store, run, found_or_none, open_tasks)
    for run_id in chains:  # not live after all: its journal was of an attempt already over
        if daemon.book.get(run_id) is None:
            daemon.caused_by.pop(run_id, None)
    if cut_off:
        log.info("recovered %d run(s) the last orc up left in progress", len(cut_off))
    slots.reconcile(daemon)  # flows.toml may have been edited while orc up was down
    catch_up(daemon, now)
    slots.abandon_gone(daemon)  # taken out of flows.toml while orc up was down


def _read_legacy_ids(daemon: Daemon, keys: dict[str, str]) -> dict[str, str]:
    """Slots stored before schedules were named by when they fire (`planner.schedule_id`) name
    one by its place in the list: read each as the schedule at that place now, and claim its
    key under the new id too, so none is planned twice. Returns `keys` with the new ids."""
    legacy = {spec.name: planner.legacy_ids(spec) for spec in daemon.table}
    for (deployment, old), when in list(daemon.last_slot.items()):
        new = legacy.get(deployment, {}).get(old)
        if new is not None:
            del daemon.last_slot[(deployment, old)]
            daemon.last_slot[(deployment, new)] = max(
                when, daemon.last_slot.get((deployment, new), 0.0)
            )
    read: dict[str, str] = {}
    for key, run_id in keys.items():
        deployment, old, epoch = ["", "", "", *key.rsplit("/", 2)][-3:]
        new = legacy.get(deployment, {}).get(old)
        if new is not None:
            key = f"{deployment}/{new}/{epoch}"  # `planner.slot_key`'s shape
            daemon.slot_keys.add(key)
            if run_id:
                daemon.slot_of[run_id] = new
        read[key] = run_id
    return read


def _stop_leftovers(daemon: Daemon) -> None:
    for pid_file in (daemon.root / ".orc" / "workers").glob("*.pid"):
        kill_orphan(pid_file)
        pid_file.unlink(missing_ok=True)
    if daemon.scopes is not None:
        left = daemon.scopes.leftovers()
        if left:
            log.warning("stopped %d process(es) that runs of the last orc up left running", left)


def _remember_slots(daemon: Daemon, keys: dict[str, str]) -> None:
    """The slot of each waiting run, so a skip can keep its key (see `slots.skip`)."""
    by_run = {run_id: key for key, run_id in keys.items()}
    for waiting in daemon.book.scheduled():
        if waiting.id in by_run:
            schedule_id = daemon.slot_of.get(waiting.id, "")
            detail = (by_run[waiting.id], schedule_id, waiting.expected_start_time or 0.0)
            daemon.slot_detail[waiting.id] = detail


def _restore_chains(daemon: Daemon, store: Store, journals: list[Journal]) -> list[str]:
    """The automations that made each run picked up again, as its stored state events name
    them (`Daemon.caused_by` died with the last orc up): its events name them still, so none
    of them reacts to it. Only runs asked for by hand can have been made by one: a top-level
    run of a deployment, not from a schedule slot. Returns the runs found made."""
    created: dict[str, float] = {}  # its events are no older than the run
    for run in daemon.book.flow_runs.values():
        top_level = run.parent_flow_run_id is None and run.parent_task_run_id is None
        if run.deployment and top_level and run.id not in daemon.slot_of:
            created[run.id] = run.created
    for found in journals:  # a run the store lacks, or holds finished at an earlier attempt
        if found.run is not None and found.slot is None and found.run.id not in daemon.slot_of:
            created.setdefault(found.run.id, found.run.created)
    if not created:
        return []
    prefix = "orc.flow-run."
    named = store.related_by_role(
        [prefix + run_id for run_id in created],
        "automation",
        name=f"{prefix}*",
        since=min(created.values()) - 1.0,  # a second's slack for the timestamps' rounding
    )
    chains = {resource_id.removeprefix(prefix): chain for resource_id, chain in named.items()}
    daemon.caused_by.update(chains)
    return list(chains)
