"""`orc up` (run the daemon in the foreground) and `orc status` (ask it how it is)."""

from __future__ import annotations

import time
from typing import Annotated

import typer

from orchestrate.cli.options import JsonOption, ProjectOption, project_folder


def up(
    project: ProjectOption = None,
    log_format: Annotated[
        str, typer.Option("--log-format", help="human (default) or json lines on stderr.")
    ] = "human",
    grace: Annotated[
        float, typer.Option("--grace", help="Seconds running runs get to finish on stop.")
    ] = 10.0,
) -> None:
    """Start the daemon for this project: schedule, run and record its deployments."""
    from orchestrate.daemon.app import run_daemon

    if log_format not in ("human", "json"):
        raise typer.BadParameter("use human or json", param_hint="--log-format")
    run_daemon(project_folder(project), log_format=log_format, shutdown_grace=grace)


def status(project: ProjectOption = None, json_output: JsonOption = False) -> None:
    """Show the daemon: pid, uptime, running runs and the next due run."""
    from orchestrate.cli import render
    from orchestrate.cli.reads import daemon_client
    from orchestrate.core.errors import DaemonNotRunning

    root = project_folder(project)
    client = daemon_client(root)
    if client is None:
        raise DaemonNotRunning(root)
    with client:
        info = client.status()
    if json_output:
        render.print_json(info.model_dump(mode="json"))
        return
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
    if info.process_scope:
        print(f"  processes of a run: {info.process_scope}")
