"""`orc deployments ls/show`, `orc pause`, `orc resume`: the deployments the daemon runs."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any
from zoneinfo import ZoneInfo

import typer

from orchestrate.cli import completion
from orchestrate.cli.options import JsonOption, ProjectOption, project_folder

app = typer.Typer(help="List and inspect deployments.", no_args_is_help=True)
NameArgument = Annotated[
    str,
    typer.Argument(
        help="A deployment name from flows.toml.", autocompletion=completion.deployments
    ),
]


def _client(project: ProjectOption):  # type: ignore[no-untyped-def]
    from orchestrate.cli.reads import daemon_client
    from orchestrate.core.errors import DaemonNotRunning

    root = project_folder(project)
    client = daemon_client(root)
    if client is None:
        raise DaemonNotRunning(root)
    return client


def _found(project: ProjectOption, name: str | None = None) -> Any:
    """The daemon's answer for all deployments (or `name`), or flows.toml's when none runs."""
    from orchestrate.cli import offline
    from orchestrate.cli.reads import daemon_client

    root = project_folder(project)
    client = daemon_client(root)
    if client is None:
        return offline.deployments(root) if name is None else offline.deployment(root, name)
    with client:
        return client.deployments() if name is None else client.deployment(name)


@app.command("ls")
def list_deployments(project: ProjectOption = None, json_output: JsonOption = False) -> None:
    """List deployments: paused or active, schedules in words, next run, recent outcomes.

    With no daemon running, flows.toml and the store answer.
    """
    from orchestrate.cli import render

    found = _found(project)
    if json_output:
        render.print_json([render.wire_json(d) for d in found])
        return
    from orchestrate.cli.deployments_view import print_deployments

    print_deployments(found)


@app.command("show")
def show_deployment(
    name: NameArgument, project: ProjectOption = None, json_output: JsonOption = False
) -> None:
    """Show one deployment: entrypoint, schedules in words, the next 5 times in its timezone."""
    from orchestrate.cli import render

    d = _found(project, name)
    if json_output:
        render.print_json(render.wire_json(d))
        return
    tz = ZoneInfo(d.timezone)
    print(f"{d.name}  ({'paused' if d.paused else 'active'})")
    print(f"  entrypoint: {d.entrypoint}")
    if d.blocked:
        print(f"  BLOCKED: {d.blocked}")
    if d.skipped_slots:
        print(
            f"  skipped slots (collision_strategy = skip): {d.skipped_slots} since orc up started"
        )
    if d.description:
        print(f"  {d.description}")
    for s in d.schedules:
        print(f"  schedule {s.id}: {s.text}{'' if s.active else ' (inactive)'}")
    if d.parameters:
        print(f"  parameters: {d.parameters}")
    limit = f"{d.concurrency_limit} ({d.collision_strategy})" if d.concurrency_limit else "none"
    print(f"  concurrency limit: {limit}; tags: {', '.join(d.tags) or 'none'}")
    if d.next_times:
        print(f"  next runs ({d.timezone}):")
        for t in d.next_times:
            print(
                "    "
                + datetime.fromtimestamp(t, UTC).astimezone(tz).strftime("%a %Y-%m-%d %H:%M:%S %Z")
            )
    for brief in d.recent[:5]:
        print(f"  recent: {brief.id[:8]} {brief.state_name}")


def pause(
    name: NameArgument, project: ProjectOption = None, json_output: JsonOption = False
) -> None:
    """Pause a deployment: its scheduled runs wait until `orc resume`."""
    with _client(project) as client:
        info = client.pause_deployment(name)
    _said(info, f"Paused {name}.", json_output)


def resume(
    name: NameArgument, project: ProjectOption = None, json_output: JsonOption = False
) -> None:
    """Resume a paused deployment (missed runs follow its catchup setting)."""
    with _client(project) as client:
        info = client.resume_deployment(name)
    _said(info, f"Resumed {name}.", json_output)


def _said(info: Any, words: str, json_output: bool) -> None:
    """The deployment as `orc deployments ls --json` shows it, or `words`."""
    from orchestrate.cli import render

    if json_output:
        render.print_json(render.wire_json(info))
    else:
        print(words)
