"""What a killed worker journalled but never sent, taken from its journal.

A worker writes every record line to its attempt's journal before it sends
it, so one killed mid-run may have journalled task runs it never got to send
(a task started in the instant before the kill), or its flow run's final
state. Taking them from the journal gives each execution its row, so it is
ended with the run, and lets a flow that had ended before the kill keep its
own state instead of being cut off.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from pathlib import Path

from orchestrate.core.records import FlowRunRecord, Record, StateRecord, TaskRunRecord
from orchestrate.daemon.worker_records import RecordedRun
from orchestrate.recording import journal

log = logging.getLogger("orc.daemon.supervisor")


async def salvage(path: str | None, run: RecordedRun, take: Callable[[list[Record]], None]) -> None:
    """Hand `take` what the journal at `path` holds of `run` that the worker never sent."""
    found = await _read(path, run.flow_run_id)
    if not found:
        return
    final = _final_run(found, run)
    if final is not None:
        take([StateRecord(final.id, final.id, False, final.state), final])
    unseen = {r.id: r for r in found if isinstance(r, TaskRunRecord) and r.id not in run.seen}
    if unseen:
        take(list(unseen.values()))


async def _read(path: str | None, flow_run_id: str) -> list[Record]:
    """The records in the journal at `path`; none if there is none or it cannot be read."""
    if path is None:
        return []
    try:
        found = await asyncio.to_thread(journal.read, Path(path))
    except Exception:
        log.exception("Reading the journal of flow run %s failed", flow_run_id)
        return []
    return [] if found is None else found.records


def _final_run(records: list[Record], run: RecordedRun) -> FlowRunRecord | None:
    """The flow run's final record, if it had ended before the kill and the worker never said so."""
    own = [r for r in records if isinstance(r, FlowRunRecord) and r.id == run.flow_run_id]
    if own and own[-1].state.is_final() and run.final_state() is None:
        return own[-1]
    return None


__all__ = ["salvage"]
