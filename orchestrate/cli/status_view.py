"""What `orc status` prints about a running daemon, from its `status` answer.

Apart from the command (`orchestrate.cli.daemon`) so the quick path
(`orchestrate.cli.lean`) prints the same lines without loading Typer. `info`
is the answer as either client reads it: the same fields, by attribute.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any


def print_status(info: Any, root: Path) -> None:
    """The daemon in a few lines: pid, uptime, runs, what is due, and what is wrong."""
    from orchestrate.cli import render

    print(f"orc up for {info.project} ({info.project_root})")
    print(f"  pid {info.pid}, version {info.version}, up {render.duration(info.uptime_seconds)}")
    print(f"  {info.deployments} deployment(s), {len(info.running)} running, {info.queued} queued")
    if info.next_due_time is not None:
        due = render.relative(info.next_due_time - time.time())
        print(f"  next: {info.next_due_deployment} {due}")
    for run in info.running:
        print(f"  running: {run.id[:8]} {run.deployment or run.flow_name} ({run.name})")
    if info.config_error:
        print(f"  flows.toml has errors; the last good version is in use:\n    {info.config_error}")
    for name, reason in info.blocked_deployments.items():
        print(f"  blocked: {name}: {reason}")
    if info.store_degraded:
        print(f"  STORE DEGRADED: {info.store_degraded}")
    if starts_held := getattr(info, "starts_held", None):
        print(f"  RUNS HELD: {starts_held}")
    if runs_paused := getattr(info, "runs_paused", None):
        print(f"  RUNS PAUSED: {runs_paused}")
    if info.process_scope:
        print(f"  processes of a run: {info.process_scope}")
    for line in _zygote_lines(getattr(info, "zygotes", None) or []):
        print(line)
    log_file = getattr(info, "log_file", None)
    print(
        f"  log: {log_file}"
        if log_file
        else "  log: the stderr of orc up (journalctl, for a service)"
    )


def print_status_json(answer: dict[str, Any], root: Path) -> None:
    """The daemon's answer as JSON: `running` says the daemon is up (as it says false when it
    is down), `running_runs` lists its running runs, `log` is where it writes its log."""
    from orchestrate.cli import render

    shown = render.iso_moments(answer)
    extra = {
        "running": True,
        "running_runs": shown.get("running") or [],
        "log": answer.get("log_file"),
    }
    render.print_json(shown | extra)


def _zygote_lines(zygotes: list[Any]) -> list[str]:
    """A line per warm fork server, and why its runs last started cold if they did."""
    from orchestrate.cli import render

    lines = []
    for zygote in zygotes:
        since = (
            ""
            if zygote.up_since is None
            else f", up {render.duration(time.time() - zygote.up_since)}"
        )
        pid = f" pid {zygote.pid}" if zygote.pid is not None else ""
        preload = f" preload {', '.join(zygote.preload)}" if zygote.preload else ""
        lines.append(
            f"  zygote {zygote.python}{preload}: {zygote.state}{pid}{since}, {zygote.forks} fork(s)"
        )
        if zygote.last_cold_reason:
            lines.append(f"    last cold start: {zygote.last_cold_reason}")
    return lines
