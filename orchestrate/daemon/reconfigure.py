"""Changes to the deployments while orc up runs: a pause or resume, a new flows.toml, a broken one.

Each is applied as a diff: running runs are never touched; future slots of a
deployment that left, or of a schedule that changed or left, are withdrawn (and
the other runs of a deployment that left which never started end Cancelled,
saying why), planned runs take changed parameters (`slots.reconcile`), and a
deployment that came back (added, rescheduled or resumed) catches up and is
planned again. Every change
is said as an `orc.deployment.*` or `orc.config.*` event and a log line.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from orchestrate.core.records import EventRecord
from orchestrate.daemon import slots, state_events

if TYPE_CHECKING:
    from orchestrate.daemon.service import Daemon

log = logging.getLogger("orc.daemon")


def set_paused(daemon: Daemon, name: str, paused: bool) -> None:
    """Pause: scheduled runs of the deployment wait. Resume: catch up and plan again."""
    if daemon.table.is_paused(name) == paused:
        return
    daemon.table.set_paused(name, paused)
    verb = "paused" if paused else "resumed"
    daemon.emit(_deployment_event(verb, name))
    log.info("deployment %s %s", name, verb)
    if not paused:
        from orchestrate.daemon.catchup import catch_up

        catch_up(daemon, daemon.clock(), [name])
        daemon.plan([name])
    daemon.wake()


def reload(daemon: Daemon, config: Any) -> None:
    """Apply a new, valid config as a diff; running runs are never touched."""
    from orchestrate.daemon.catchup import catch_up

    diff = daemon.table.replace(config)
    daemon.config_error = None
    if daemon.automations is not None:
        daemon.automations.reload(config.automations)
    slots.reconcile(daemon, diff.rescheduled)
    slots.abandon_gone(daemon)  # the removed deployments, and any flows.toml left out before
    if diff.added or diff.rescheduled:
        catch_up(daemon, daemon.clock(), diff.added)
        daemon.plan(diff.added + diff.rescheduled)
    summary = {"added": diff.added, "changed": diff.changed, "removed": diff.removed}
    for verb, names in summary.items():
        for name in names:
            daemon.emit(_deployment_event(verb, name))
    daemon.emit(state_events.daemon_event("orc.config.reloaded", "orc.config.flows-toml", summary))
    log.info("flows.toml reloaded: %s", _summary(summary))
    zygotes = getattr(daemon.supervisor, "zygotes", None)
    if zygotes is not None:
        root = str(daemon.root)
        zygotes.keep_only((spec.python, root, spec.preload) for spec in daemon.table)
    daemon.wake()


def config_invalid(daemon: Daemon, error: Exception) -> None:
    """Keep the last good config; say what is wrong, where."""
    daemon.config_error = str(error)
    issues = [str(i) for i in getattr(error, "issues", [])] or [str(error)]
    daemon.emit(
        state_events.daemon_event("orc.config.invalid", "orc.config.flows-toml", {"errors": issues})
    )
    log.warning("flows.toml is invalid; keeping the last good config:\n  %s", "\n  ".join(issues))


def _deployment_event(verb: str, name: str) -> EventRecord:
    return state_events.daemon_event(
        f"orc.deployment.{verb}", f"orc.deployment.{name}", labels={"orc.resource.name": name}
    )


def _summary(diff: dict[str, list[str]]) -> str:
    parts = [f"{verb} {', '.join(names)}" for verb, names in diff.items() if names]
    return "; ".join(parts) or "no deployment changed"
