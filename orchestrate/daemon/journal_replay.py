"""Reading the run journals back: what each attempt's journal holds and the store lacks.

A journal is removed only once the store holds all it says, so after a kill
of orc up it may hold rows the store never got: a worker's last states, logs,
task runs and events, and the dispatch of an attempt the store does not know
began. `replay` stores those, each once, and says whether the attempt was cut
off (its end never handled): only then does `cut_off` decide what its run becomes.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from orchestrate.core.records import (
    EdgeRecord,
    EventRecord,
    FlowRunRecord,
    LogRecord,
    StateRecord,
    TaskRunRecord,
)
from orchestrate.core.states import State, StateType
from orchestrate.daemon.leftovers import end_leftovers
from orchestrate.recording import journal
from orchestrate.recording.journal import Journal
from orchestrate.store.batch import SlotRecord
from orchestrate.store.replay import StoredKeys, StoredRun, stored_keys

if TYPE_CHECKING:
    from orchestrate.daemon.service import Daemon
    from orchestrate.store.replay import Connection

log = logging.getLogger("orc.daemon")

#: Stored state types that end an attempt.
FINAL = ("COMPLETED", "FAILED", "CRASHED", "CANCELLED")


def read_journals(daemon: Daemon) -> list[Journal]:
    """Every readable journal, each run's attempts in order (a journal is removed only once
    the store holds it, so an older attempt's may still hold rows the store lacks)."""
    found = []
    for path in daemon.journals_dir.glob(f"*{journal.SUFFIX}"):
        read = journal.read(path)
        if read is None:
            log.warning("%s is not a run journal; left as it is", path)
            continue
        found.append(read)
    return sorted(found, key=lambda j: (j.flow_run_id, j.attempt))


def replay(
    daemon: Daemon, conn: Connection, found: Journal, latest: bool
) -> tuple[FlowRunRecord | None, list[TaskRunRecord]]:
    """Store what the journal holds and the store lacks.

    Returns the run if this attempt was cut off (its end was never handled),
    and the task runs the journal leaves open. Only a run's `latest` attempt
    can be cut off; an older one's open task runs end here, since that attempt
    is over whatever came after it.
    """
    run_ids = sorted(
        {found.flow_run_id}
        | {r.id for r in found.records if isinstance(r, FlowRunRecord | TaskRunRecord)}
    )
    event_ids = [r.id for r in found.records if isinstance(r, EventRecord)]
    stored = stored_keys(conn, run_ids, event_ids)
    current = latest and _is_current(stored.runs.get(found.flow_run_id), found.attempt)
    missing = _unstored(found, stored, current)
    run = _latest_run(found, daemon.book.get(found.flow_run_id), current)
    if current and run is not None:
        run.run_count = max(run.run_count, found.attempt)
        head: list[Any] = []
        if found.slot is not None and found.slot[0] not in daemon.slot_keys:
            key, schedule_id, when = found.slot
            daemon.slot_keys.add(key)
            daemon.slot_of[run.id] = schedule_id
            head.append(SlotRecord(key, run.id, run.deployment or "", schedule_id, when))
        missing = head + _with_history([run], stored) + missing
    if missing:
        daemon.put_many(missing)
        log.info(
            "run %s: %d record(s) replayed from its journal", found.flow_run_id[:8], len(missing)
        )
    daemon.retire_journals_soon(found.flow_run_id, found.attempt)
    open_tasks = [r for r in missing if isinstance(r, TaskRunRecord) and not r.state.is_final()]
    if not current or run is None:
        ended = State(StateType.CRASHED, message=f"attempt {found.attempt} of its flow run ended")
        end_leftovers(open_tasks, ended, daemon)
        return None, []
    daemon.book.put_flow_run(run)
    return run, open_tasks


def _is_current(stored: StoredRun | None, attempt: int) -> bool:
    """Does the journal's attempt hold the run's latest word (rather than the store)?"""
    if stored is None:
        return True  # the run's rows never reached the store
    if stored.run_count > attempt:
        return False
    if stored.state_type in FINAL:
        # An earlier attempt's end is older than this one's dispatch: with no retry delay the
        # next attempt can be journalled before the store has its AwaitingRetry.
        return stored.run_count < attempt
    # Scheduled again after this attempt (AwaitingRetry) is newer; Scheduled before it is not.
    return not (stored.state_type == "SCHEDULED" and stored.run_count >= attempt)


def _unstored(found: Journal, stored: StoredKeys, current: bool) -> list[Any]:
    """The journal's records the store does not hold, each once (a line may be journalled
    twice: a task start at once, then in its batch); the flow run itself is left to the caller."""
    missing: list[Any] = []
    for record in found.records:
        if isinstance(record, StateRecord):
            new = stored.add_state(record.run_id, record.state.name, record.state.ts)
        elif isinstance(record, LogRecord):
            new = stored.add_log(record.flow_run_id, record.task_run_id, record.message, record.ts)
        elif isinstance(record, EdgeRecord):
            new = stored.add_edge(record.task_run_id, record.upstream_id, record.kind)
        elif isinstance(record, EventRecord):
            new = stored.add_event(record.id)
        elif record.id != found.flow_run_id:  # a task run or subflow: never over a final row
            known = stored.runs.get(record.id)
            new = known is None or known.state_type not in FINAL
        else:
            new = False
        if new:
            missing.append(record)
    return _with_history(_last_snapshots(missing), stored)


def _with_history(records: list[Any], stored: StoredKeys) -> list[Any]:
    """Each replayed snapshot's state in the history too: a worker encodes a snapshot when it
    sends it, so its state can be newer than the last state line it had written."""
    out: list[Any] = []
    for record in records:
        if isinstance(record, TaskRunRecord) and stored.add_state(
            record.id, record.state.name, record.state.ts
        ):
            out.append(StateRecord(record.id, record.flow_run_id, True, record.state))
        elif isinstance(record, FlowRunRecord) and stored.add_state(
            record.id, record.state.name, record.state.ts
        ):
            out.append(StateRecord(record.id, record.id, False, record.state))
        out.append(record)
    return out


def _last_snapshots(records: list[Any]) -> list[Any]:
    """Each run snapshot once, at its last place: the journal has every version of it."""
    last = {r.id: i for i, r in enumerate(records) if isinstance(r, FlowRunRecord | TaskRunRecord)}
    return [
        r
        for i, r in enumerate(records)
        if not isinstance(r, FlowRunRecord | TaskRunRecord) or last[r.id] == i
    ]


def _latest_run(found: Journal, known: FlowRunRecord | None, current: bool) -> FlowRunRecord | None:
    """The run's newest version: the worker's last snapshot, else the dispatched one."""
    if not current:
        return None
    snapshots = [
        r for r in found.records if isinstance(r, FlowRunRecord) and r.id == found.flow_run_id
    ]
    run = snapshots[-1] if snapshots else (known or found.run)
    if run is None:
        return None
    if snapshots and known is not None:
        run.deployment = run.deployment or known.deployment
        run.expected_start_time = run.expected_start_time or known.expected_start_time
    return run
