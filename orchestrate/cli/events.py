"""`orc events ls/tail`, `orc emit`, `orc automations ls/show/pause/resume`.

`orc events ls` asks the daemon when one runs and reads the store file when
none does; an event whose stored row does not fit is listed with a
`(malformed: …)` mark rather than failing the listing.
"""

from __future__ import annotations

import json
import time
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from orchestrate.cli import completion
from orchestrate.cli.deployments import _client
from orchestrate.cli.options import JsonOption, ProjectOption

if TYPE_CHECKING:
    from orchestrate.client.protocol import EventInfo

events_app = typer.Typer(help="List and follow events.", no_args_is_help=True)
automations_app = typer.Typer(
    help="List, inspect, pause and resume automations.", no_args_is_help=True
)
NameArgument = Annotated[
    str,
    typer.Argument(
        help="An automation name from flows.toml.", autocompletion=completion.automations
    ),
]


def _since(text: str | None) -> float | None:
    """`--since` as a time: a duration back from now, or an ISO time."""
    if text is None:
        return None
    from orchestrate.core.durations import parse_duration
    from orchestrate.core.errors import ParameterError

    try:
        return time.time() - parse_duration(text).total_seconds()
    except (ValueError, OverflowError):
        pass
    try:
        return datetime.fromisoformat(text).timestamp()
    except (ValueError, OverflowError, OSError):
        raise ParameterError(
            f"--since {text!r} is neither a duration nor an ISO time; "
            "write it like --since 10m, --since 2h or --since 2026-01-31T08:00"
        ) from None


def _line(event: Any) -> str:
    try:
        stamp = datetime.fromtimestamp(event.occurred).strftime("%H:%M:%S.%f")[:-3]
    except (OverflowError, ValueError, OSError):
        stamp = f"{event.occurred:<12}"
    line = f"{stamp} {event.event}  {event.resource.get('orc.resource.id', '')}"
    malformed = getattr(event, "malformed", None)
    return f"{line}  (malformed: {malformed})" if malformed else line


def _stored_events(root: Path, **filters: Any) -> list[EventInfo]:
    """Events read from the store file, when no daemon holds it."""
    from dataclasses import asdict

    from orchestrate.client.protocol import EventInfo
    from orchestrate.core.project import store_path
    from orchestrate.store.queries import Store

    with Store(store_path(root)) as store:
        rows = store.events(**filters)
    return [EventInfo.model_validate(asdict(row)) for row in rows]


@events_app.command("ls")
def list_events(
    name: Annotated[
        str | None, typer.Option("--name", help="Event name glob, e.g. 'orc.flow-run.*'.")
    ] = None,
    resource: Annotated[str | None, typer.Option("--resource", help="Resource id glob.")] = None,
    since: Annotated[
        str | None, typer.Option("--since", help="'10m', '2h', or an ISO time.")
    ] = None,
    limit: Annotated[int, typer.Option("--limit", "-n", min=1)] = 50,
    project: ProjectOption = None,
    json_output: JsonOption = False,
) -> None:
    """Recent events, newest first (from the daemon, or the store file when none runs)."""
    from orchestrate.cli.options import project_folder
    from orchestrate.cli.reads import daemon_client

    filters: dict[str, Any] = {
        "name": name,
        "resource": resource,
        "since": _since(since),
        "limit": limit,
    }
    root = project_folder(project)
    client = daemon_client(root)
    if client is None:
        found = _stored_events(root, **filters)
    else:
        with client:
            found = client.events(**filters)
    if json_output:
        from orchestrate.cli import render

        render.print_json([render.wire_json(e) for e in found])
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
    from orchestrate.client.protocol import EventInfo

    with _client(project) as client, client.subscribe(["event"], event=name) as changes:
        for change in changes:
            event = EventInfo.model_validate(change.data)
            print(json.dumps(_wire(event)) if json_output else _line(event), flush=True)


def _wire(event: EventInfo) -> Any:
    from orchestrate.cli.render import wire_json

    return wire_json(event)


def emit(
    event: Annotated[
        str,
        typer.Argument(
            help="The event name, e.g. 'acme.file.arrived'; '-' reads events from stdin, "
            "one JSON object a line."
        ),
    ],
    resource: Annotated[
        str | None, typer.Option("--resource", help="The resource id, e.g. 'acme.bucket.raw'.")
    ] = None,
    payload: Annotated[str | None, typer.Option("--payload", help="A JSON object.")] = None,
    project: ProjectOption = None,
) -> None:
    """Emit an event to the daemon (automations react to it), or many from stdin with '-'."""
    if event == "-":
        _emit_stdin(project, resource, payload)
        return
    if resource is None:
        from orchestrate.core.errors import ParameterError

        raise ParameterError(
            "--resource is missing; give the event's resource id, e.g. --resource acme.bucket.raw."
        )
    data = _payload(payload)
    _check_name("the event name", event, "acme.file.arrived")
    _check_name("--resource", resource, "acme.bucket.raw")
    with _client(project) as client:
        sent = client.emit_event(event, {"orc.resource.id": resource}, payload=data)
    print(sent.id)


def _emit_stdin(project: ProjectOption, resource: str | None, payload: str | None) -> None:
    """Events from stdin as JSON Lines, sent in batches; prints how many were emitted."""
    import sys

    from orchestrate.cli.emit_stream import emit_lines
    from orchestrate.core.errors import ParameterError

    if resource is not None or payload is not None:
        raise ParameterError(
            "--resource and --payload are for one event; with '-' each stdin line holds its own."
        )
    with _client(project) as client:
        sent = emit_lines(client, sys.stdin)
    print(f"{sent} events emitted")


def _payload(text: str | None) -> dict[str, Any]:
    """`--payload` as a JSON object, or a `ParameterError` that shows how to write one."""
    from orchestrate.core.errors import ParameterError

    example = "write it like --payload '{\"rows\": 3}'"
    try:
        data = json.loads(text) if text else {}
    except (ValueError, RecursionError) as exc:
        reason = "nested too deeply" if isinstance(exc, RecursionError) else str(exc)
        raise ParameterError(f"--payload is not valid JSON ({reason}); {example}.") from None
    if not isinstance(data, dict):
        kind = {list: "a list", str: "a string", bool: "a boolean", type(None): "null"}
        got = kind.get(type(data), "a number")
        raise ParameterError(
            f"--payload must be a JSON object of name: value, not {got}; {example}."
        )
    return data


def _check_name(what: str, value: str, example: str) -> None:
    from orchestrate.core.errors import ParameterError

    if not value.strip() or not value.isprintable():
        raise ParameterError(
            f"{what} {value!r} is empty or holds control characters; give a dotted name "
            f"like {example}."
        )


def _automations(project: ProjectOption, name: str | None = None) -> Any:
    """The daemon's automations (or the one named), or flows.toml's and their saved state."""
    from orchestrate.cli import offline
    from orchestrate.cli.options import project_folder
    from orchestrate.cli.reads import daemon_client

    root = project_folder(project)
    client = daemon_client(root)
    if client is None:
        return offline.automations(root) if name is None else offline.automation(root, name)
    with client:
        return client.automations() if name is None else client.automation(name)


@automations_app.command("ls")
def list_automations(project: ProjectOption = None, json_output: JsonOption = False) -> None:
    """Automations: enabled, trigger in words, last fired, next proactive deadline."""
    found = _automations(project)
    if json_output:
        from orchestrate.cli import render

        render.print_json([render.wire_json(a) for a in found])
        return
    for a in found:
        state = "enabled" if a.enabled else "paused"
        fired = (
            datetime.fromtimestamp(a.last_fired).strftime("%m-%d %H:%M:%S")
            if a.last_fired
            else "never"
        )
        print(
            f"{a.name}  [{state}]  fired {a.fired_count}x (last {fired})\n  when {a.trigger_text}"
        )


@automations_app.command("show")
def show_automation(name: NameArgument, project: ProjectOption = None) -> None:
    """One automation in full."""
    a = _automations(project, name)
    from orchestrate.cli import render

    render.print_json(render.wire_json(a))


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
