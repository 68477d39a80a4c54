"""Slots that fell due while no orc up ran them: each deployment's catch-up policy.

`catchup = "all"` runs every missed slot (up to `planner.MAX_RUNS` a schedule),
"latest" only the last, "none" none; a missed slot already listed as a run
ends Cancelled, saying why, rather than vanish. Also applied when a paused
deployment is resumed.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from orchestrate.core.records import FlowRunRecord
from orchestrate.core.runs import transition
from orchestrate.core.states import State, StateType
from orchestrate.daemon import planner

if TYPE_CHECKING:
    from orchestrate.daemon.service import Daemon

log = logging.getLogger("orc.daemon")

#: Slots not started yet, whatever they waited for: the catch-up policy applies to all.
_WAITING = ("Scheduled", "Late", "AwaitingConcurrencySlot")


def _missed(daemon: Daemon, run: FlowRunRecord, policy: str) -> None:
    message = (
        f"Not run: its slot passed while orc up was not running, and catchup = "
        f"{policy!r} runs {'only the latest missed slot' if policy == 'latest' else 'no missed slot'}."
    )
    transition(run, State(StateType.CANCELLED, message=message), daemon)
    daemon.settled(run)


#: How many missed slots never planned catch-up looks at per schedule, by policy.
_KEEP = {"none": 0, "latest": 1, "all": planner.MAX_RUNS}


def catch_up(daemon: Daemon, now: float, names: list[str] | None = None) -> None:
    """Apply each deployment's catch-up policy to slots that fell due while nobody ran them."""
    now_dt = planner.utc(now)
    for spec in daemon.table.active(names):
        overdue = [
            planner.Overdue(
                daemon.slot_of[r.id], planner.utc(r.expected_start_time or now), run_id=r.id
            )
            for r in daemon.book.scheduled()
            if r.deployment == spec.name
            and r.state.name in _WAITING
            and (r.expected_start_time or now) < now
            and daemon.from_schedule(r)
        ]
        last = {
            sid: planner.utc(t) for (dep, sid), t in daemon.last_slot.items() if dep == spec.name
        }
        found = planner.missed(spec, last, now_dt, keep=_KEEP.get(spec.catchup, 1))
        overdue += [
            planner.Overdue(s.schedule_id, s.time, slot=s)
            for s in found.slots
            if s.key not in daemon.slot_keys
        ]
        keep, drop = planner.catch_up(spec.catchup, overdue)
        for item in keep:
            if item.slot is not None:
                daemon.new_run(spec.name, slot=item.slot)
        for item in drop:
            run = daemon.book.get(item.run_id) if item.run_id else None
            if run is not None:  # it was listed already: it ends, with why, rather than vanish
                _missed(daemon, run, spec.catchup)
        _say_dropped(spec.name, spec.catchup, len(drop) + found.left_out, found.more)


def _say_dropped(deployment: str, policy: str, count: int, more: bool) -> None:
    """One log line for the missed slots that will not run: how many, and why."""
    if not count:
        return
    cap = (
        f"; it runs at most the {planner.MAX_RUNS} latest missed slots of a schedule"
        if policy == "all"
        else ""
    )
    log.info(
        "%s: %s%d missed slot(s) not run (catchup = %r%s); `orc backfill` runs past slots",
        deployment,
        "more than " if more else "",
        count,
        policy,
        cap,
    )
