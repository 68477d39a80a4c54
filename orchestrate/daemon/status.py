"""The daemon's own condition: what `orc status` adds about it, and the store's word on itself.

When the writer cannot write (disk full, a broken file) nothing is dropped:
records wait in memory and are retried. This is where that is said, as a
status line, a log line and an `orc.store.*` event, and where the workers'
reading is told of it (`read_pause`: past a bound, their flows wait instead).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from orchestrate.daemon import planner, state_events

if TYPE_CHECKING:
    from orchestrate.daemon.read_pause import ReadPause
    from orchestrate.daemon.service import Daemon

log = logging.getLogger("orc.daemon")


def report(daemon: Daemon) -> dict[str, Any]:
    """What `orc status` adds about the daemon's own condition."""
    table = daemon.table
    blocked = {d.name: reason for d in table if (reason := table.blocked(d.name))}
    health = getattr(daemon.writer, "health", None)
    degraded = store = None
    if health is not None and health.degraded is not None:
        store = _health_fields(health)
        since = planner.utc(health.since or 0.0).isoformat(timespec="seconds")
        degraded = (
            f"{health.degraded} ({health.waiting} record(s) waiting since "
            f"{since}, {health.set_aside} set aside); kept in memory "
            "and retried, nothing is dropped: free space or fix the file"
        )
    return {
        "process_scope": daemon.scopes.mechanism if daemon.scopes is not None else "process group",
        "blocked_deployments": blocked,
        "store_degraded": degraded,
        "store_health": store,
        "starts_held": daemon.starts_held_because,
        "runs_paused": pause.report() if (pause := _read_pause(daemon)) else None,
        "zygotes": zygotes.report() if (zygotes := daemon.supervisor.zygotes) else [],
    }


def store_health_changed(daemon: Daemon, health: Any) -> None:
    """The writer's word on the store (on the loop): say it, as a log line and an event."""
    payload = _health_fields(health)
    if health.degraded is None:
        log.warning("the store is written again; %d record(s) were waiting", health.waiting)
        daemon.emit(state_events.daemon_event("orc.store.recovered", "orc.store", payload))
    else:
        log.error(
            "the store cannot be written (%s); %d record(s) kept in memory and retried",
            health.degraded,
            health.waiting,
        )
        daemon.emit(state_events.daemon_event("orc.store.degraded", "orc.store", payload))
    if (pause := _read_pause(daemon)) is not None:
        pause.store_changed(health.degraded is not None)
    if health.reopen and daemon.reopen_store is not None:
        daemon.reopen_store()


def _health_fields(health: Any) -> dict[str, Any]:
    """The writer's health as the `orc.store.*` events and the status's `store_health` carry it."""
    return {
        "reason": health.degraded,
        "waiting": health.waiting,
        "since": health.since,
        "set_aside": health.set_aside,
    }


def _read_pause(daemon: Daemon) -> ReadPause | None:
    """The supervisor's hold on its workers' reading (a test's stand-in supervisor has none)."""
    return getattr(daemon.supervisor, "read_pause", None)
