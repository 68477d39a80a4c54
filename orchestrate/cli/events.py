"""`orc events ls/tail`, `orc emit`, `orc automations ls/show/pause/resume`."""

from __future__ import annotations

import json
import time
from datetime import datetime
from typing import Annotated, Any

import typer

from orchestrate.cli.deployments import _client
from orchestrate.cli.options import JsonOption, ProjectOption

events_app = typer.Typer(help="List and follow events.", no_args_is_help=True)
automations_app = typer.Typer(help="List, inspect, pause and resume automations.", no_args_is_help=True)
NameArgument = Annotated[str, typer.Argument(help="An automation name from flows.toml.")]


def _since(text: str | None) -> float | None:
    if text is None:
        return None
    from orchestrate.durations import parse_duration

    try:
        return time.time() - parse_duration(text).total_seconds()
    except ValueError:
        return datetime.fromisoformat(text).timestamp()


def _line(event: Any) -> str:
    stamp = datetime.fromtimestamp(event.occurred).strftime("%H:%M:%S.%f")[:-3]
    return f"{stamp} {event.event}  {event.resource.get('orc.resource.id', '')}"


@events_app.command("ls")
def list_events(
    name: Annotated[str | None, typer.Option("--name", help="Event name glob, e.g. 'orc.flow-run.*'.")] = None,
    resource: Annotated[str | None, typer.Option("--resource", help="Resource id glob.")] = None,
    since: Annotated[str | None, typer.Option("--since", help="'10m', '2h', or an ISO time.")] = None,
    limit: Annotated[int, typer.Option("--limit", "-n", min=1)] = 50,
    project: ProjectOption = None,
    json_output: JsonOption = False,
) -> None:
    """Recent events, newest first."""
    with _client(project) as client:
        found = client.events(name=name, resource=resource, since=_since(since), limit=limit)
    if json_output:
        print(json.dumps([e.model_dump() for e in found], indent=2))
        return
    for event in found:
        print(_line(event))


@events_app.command("tail")
def tail_events(
    name: Annotated[str | None, typer.Option("--name", help="Event name glob.")] = None,
    project: ProjectOption = None,
    json_output: JsonOption = False,
) -> None:
    """Print events as they happen (pushed by the daemon) until interrupted."""
    from orchestrate.protocol import EventInfo

    with _client(project) as client, client.subscribe(["event"], event=name) as changes:
        for change in changes:
            event = EventInfo.model_validate(change.data)
            print(json.dumps(change.data) if json_output else _line(event), flush=True)


def emit(
    event: Annotated[str, typer.Argument(help="The event name, e.g. 'acme.file.arrived'.")],
    resource: Annotated[str, typer.Option("--resource", help="The resource id, e.g. 'acme.bucket.raw'.")],
    payload: Annotated[str | None, typer.Option("--payload", help="A JSON object.")] = None,
    project: ProjectOption = None,
) -> None:
    """Emit an event to the daemon (automations react to it)."""
    from orchestrate.errors import ParameterError

    try:
        data = json.loads(payload) if payload else {}
    except ValueError as exc:
        raise ParameterError(f"--payload is not valid JSON ({exc}); write it like --payload '{{\"rows\": 3}}'.") from None
    with _client(project) as client:
        sent = client.emit_event(event, {"orc.resource.id": resource}, payload=data)
    print(sent.id)


@automations_app.command("ls")
def list_automations(project: ProjectOption = None, json_output: JsonOption = False) -> None:
    """Automations: enabled, trigger in words, last fired, next proactive deadline."""
    with _client(project) as client:
        found = client.automations()
    if json_output:
        print(json.dumps([a.model_dump() for a in found], indent=2))
        return
    for a in found:
        state = "enabled" if a.enabled else "paused"
        fired = datetime.fromtimestamp(a.last_fired).strftime("%m-%d %H:%M:%S") if a.last_fired else "never"
        print(f"{a.name}  [{state}]  fired {a.fired_count}x (last {fired})\n  when {a.trigger_text}")


@automations_app.command("show")
def show_automation(name: NameArgument, project: ProjectOption = None) -> None:
    """One automation in full."""
    with _client(project) as client:
        a = client.automation(name)
    print(json.dumps(a.model_dump(), indent=2))


@automations_app.command("pause")
def pause_automation(name: NameArgument, project: ProjectOption = None) -> None:
    """Stop an automation from firing until resumed (a restart of orc up keeps the pause)."""
    with _client(project) as client:
        client.pause_automation(name)
    print(f"Paused automation {name}.")


@automations_app.command("resume")
def resume_automation(name: NameArgument, project: ProjectOption = None) -> None:
    """Let a paused automation fire again."""
    with _client(project) as client:
        client.resume_automation(name)
    print(f"Resumed automation {name}.")
