"""`orc up` (run the daemon, in the foreground or detached), `orc down` (stop it through
its socket) and `orc status` (ask it how it is, or when it was last seen)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated, NoReturn

import typer

from orchestrate.cli.options import JsonOption, ProjectOption, project_folder


def up(
    project: ProjectOption = None,
    log_format: Annotated[
        str, typer.Option("--log-format", help="human (default) or json lines on stderr.")
    ] = "human",
    grace: Annotated[
        float,
        typer.Option(
            "--grace", help="Seconds running runs and automation actions get to finish on stop."
        ),
    ] = 10.0,
    detach: Annotated[
        bool,
        typer.Option("--detach", "-d", help="Run in the background, logging to .orc/orc.log."),
    ] = False,
    log_file: Annotated[Path | None, typer.Option("--log-file", hidden=True)] = None,
) -> None:
    """Start the daemon for this project: schedule, run and record its deployments."""
    if log_format not in ("human", "json"):
        raise typer.BadParameter("use human or json", param_hint="--log-format")
    root = project_folder(project)
    if detach:
        from orchestrate.core.project import log_path
        from orchestrate.daemon.detach import start_detached

        pid = start_detached(root, ["--log-format", log_format, "--grace", str(grace)])
        print(f"orc up is running for {root} (pid {pid}); log: {log_path(root)}")
        print("  stop it with `orc down`.")
        return
    from orchestrate.daemon.app import run_daemon

    run_daemon(root, log_format=log_format, shutdown_grace=grace, log_file=log_file)


def down(
    project: ProjectOption = None,
    timeout: Annotated[
        float | None,
        typer.Option(
            "--timeout",
            min=0,
            help="Seconds to wait for the daemon to go (default: its grace plus 30).",
        ),
    ] = None,
) -> None:
    """Stop the daemon gracefully: no new runs, running ones get its grace; exits 0 once gone."""
    from orchestrate.cli.reads import daemon_client
    from orchestrate.core.errors import ClientError, DaemonError
    from orchestrate.daemon.lock import wait_gone

    root = project_folder(project)
    try:
        client = daemon_client(root)
    except ClientError as exc:  # it holds the socket but does not answer
        _refuse_if_held(root, str(exc))
        raise
    if client is None:
        _refuse_if_held(root, "its socket is gone")
        print(f"orc up is not running for {root}.")
        return
    with client:
        stopping = client.shutdown()
    wait = stopping.grace + 30.0 if timeout is None else timeout
    print(f"Stopping orc up (pid {stopping.pid}); running runs get {stopping.grace:g}s to finish.")
    if not wait_gone(root, stopping.pid, wait):
        raise DaemonError(
            f"orc up (pid {stopping.pid}) has not stopped after {wait:g}s; wait longer "
            f"(`orc down --timeout 600`) or stop it at once with `kill -9 {stopping.pid}`."
        )
    print("Stopped.")


def _refuse_if_held(root: Path, why: str) -> None:
    """A daemon that holds the project but does not answer: name its pid and how to stop it."""
    from orchestrate.core.errors import DaemonError
    from orchestrate.daemon.lock import holder_pid

    pid = holder_pid(root)
    if pid is not None:
        raise DaemonError(
            f"orc up (pid {pid}) holds {root} but does not answer ({why}); stop it with "
            f"`kill {pid}` (or `kill -9 {pid}`: the next start recovers its runs)."
        )


def status(project: ProjectOption = None, json_output: JsonOption = False) -> None:
    """Show the daemon: pid, uptime, running runs and the next due run."""
    from orchestrate.cli.reads import daemon_client

    root = project_folder(project)
    client = daemon_client(root)
    if client is None:
        _not_running(root, json_output)
    from orchestrate.cli.status_view import print_status, print_status_json

    with client:
        info = client.status()
    if json_output:
        print_status_json(info.model_dump(mode="json"), root)
    else:
        print_status(info, root)


def _not_running(root: Path, json_output: bool) -> NoReturn:
    """Say the daemon is down, when it was last seen and where its log is; exit 5."""
    from orchestrate.cli import render
    from orchestrate.cli.exits import NO_DAEMON
    from orchestrate.core.project import log_path

    seen = last_seen(root)
    log = log_path(root)
    if json_output:
        from datetime import UTC, datetime

        stamp = None if seen is None else datetime.fromtimestamp(seen, UTC).isoformat()
        render.print_json(
            {
                "running": False,
                "running_runs": [],
                "project_root": str(root),
                "last_seen": stamp,
                "log": str(log),
            }
        )
    else:
        when = "never" if seen is None else render.relative(seen - time.time())
        print(f"orc up is not running for {root}; last seen {when}.")
        if log.exists():
            print(f"  log: {log}")
        print("  start it with `orc up` (or `orc up --detach`).")
    raise typer.Exit(NO_DAEMON)


def last_seen(root: Path) -> float | None:
    """When the daemon last left a mark: its lock released, its store or log written."""
    from orchestrate.core.project import STATE_DIR, log_path, store_path

    marks = (root / STATE_DIR / "daemon.lock", store_path(root), log_path(root))
    times = [p.stat().st_mtime for p in marks if p.exists()]
    return max(times) if (root / STATE_DIR / "daemon.lock").exists() and times else None
