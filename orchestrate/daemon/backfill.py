"""Backfill: one run per past schedule slot of a deployment, each seeing its slot as its start.

A backfill makes the slots of `[start, end)` into Scheduled runs through the
planner's own path (`Daemon.new_run` with the slot), so each run's
`expected_start_time` (and `flow_run.scheduled_start_time` inside the flow)
is its slot, its key is claimed as a planned slot's is, and the dispatcher
queues them under the deployment's concurrency limit. A slot that already has
a run (planned, or an earlier backfill) is left alone unless `rerun` asks.
The runs carry the tag `backfill:<id>`, so `orc runs ls --backfill ID` finds them.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from orchestrate.core.records import FlowRunRecord
from orchestrate.daemon import planner
from orchestrate.schedules import next_times

if TYPE_CHECKING:
    from orchestrate.daemon.service import Daemon

#: The most slots one backfill makes; more is almost always a mistaken range.
MAX_SLOTS = 10_000
#: The tag every run of a backfill carries, before the backfill's id.
TAG = "backfill:"


class TooManySlots(ValueError):
    """The range holds more slots than one backfill makes."""


@dataclass(frozen=True)
class PlannedSlot:
    """One slot of a backfill: its time and key, the run it already had, the run made for it."""

    time: float
    key: str
    existing: str | None = None
    created: str | None = None


def slots_between(spec: Any, start: datetime, end: datetime) -> list[planner.Slot]:
    """Every slot of the deployment's active schedules in `[start, end)`, in time order."""
    found: list[planner.Slot] = []
    for schedule_id, schedule in planner.active_schedules(spec).items():
        after = start - timedelta(microseconds=1)  # next_times is strictly after
        times = next_times(schedule, after, MAX_SLOTS + 1, until=end, default_tz=spec.timezone)
        params = dict(getattr(schedule, "parameters", None) or {})
        found += [planner.Slot(spec.name, schedule_id, t, params) for t in times if t < end]
    if len(found) > MAX_SLOTS:
        raise TooManySlots(
            f"{start:%Y-%m-%d %H:%M} to {end:%Y-%m-%d %H:%M} holds more than {MAX_SLOTS:,} "
            f"slots of {spec.name!r}; backfill a shorter range at a time."
        )
    return sorted(found, key=lambda s: (s.time, s.schedule_id))


def lookup_keys(spec: Any, slots: list[planner.Slot]) -> dict[str, str]:
    """Each key a slot's run may be stored under -> the slot's key: its own, and the one a
    store written before `planner.schedule_id` holds (the schedule's place in the list)."""
    place = {new: old for old, new in planner.legacy_ids(spec).items()}
    keys = {slot.key: slot.key for slot in slots}
    for slot in slots:
        if slot.schedule_id in place:
            old = planner.slot_key(slot.deployment, place[slot.schedule_id], slot.time.timestamp())
            keys[old] = slot.key
    return keys


def backfill(
    daemon: Daemon,
    spec: Any,
    slots: list[planner.Slot],
    stored_keys: dict[str, str],
    *,
    dry_run: bool,
    rerun: bool,
    parameters: dict[str, Any],
) -> tuple[str, list[PlannedSlot]]:
    """Make a run for each slot that has none (each one, with `rerun`); the id and what was done."""
    backfill_id = uuid.uuid4().hex[:8]
    done: list[PlannedSlot] = []
    for slot in slots:
        existing = stored_keys.get(slot.key) or _known(daemon, slot.key)
        if dry_run or (existing and not rerun):
            done.append(PlannedSlot(slot.time.timestamp(), slot.key, existing))
            continue
        run = daemon.new_run(spec.name, parameters, slot=slot, tags=(f"{TAG}{backfill_id}",))
        done.append(PlannedSlot(slot.time.timestamp(), slot.key, existing, run.id))
    return backfill_id, done


def is_backfill(run: FlowRunRecord) -> bool:
    """Was the run made by `orc backfill`? Its stored tag says so, across restarts too."""
    return any(tag.startswith(TAG) for tag in run.tags)


def _known(daemon: Daemon, key: str) -> str | None:
    """A slot the daemon claimed lately (its key in memory), as a marker: its run id is not kept."""
    return "(planned)" if key in daemon.slot_keys else None


def epoch_datetime(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)
