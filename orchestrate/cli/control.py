"""`orc run`, `orc cancel`, `orc retry`: asking the daemon to act on a deployment or a run.

`orc run NAME --watch` follows the run by subscription (states and logs as
they happen) and exits with what happened: 0 Completed, 1 Failed or Crashed,
2 Cancelled, so scripts can chain on it.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Annotated, Any

import typer

from orchestrate.cli import completion
from orchestrate.cli.deployments import NameArgument, _client
from orchestrate.cli.options import JsonOption, ProjectOption

if TYPE_CHECKING:
    from orchestrate.client import Client
    from orchestrate.client.protocol import FlowRunInfo

RunArgument = Annotated[
    str,
    typer.Argument(
        help="A flow run id, or a unique prefix of one.", autocompletion=completion.run_ids
    ),
]
FINAL = {"COMPLETED", "FAILED", "CRASHED", "CANCELLED"}
EXIT_BY_TYPE = {"COMPLETED": 0, "FAILED": 1, "CRASHED": 1, "CANCELLED": 2}


def run(
    name: NameArgument,
    param: Annotated[
        list[str] | None,
        typer.Option("--param", "-p", help="key=value; the value is parsed as JSON if it can be."),
    ] = None,
    params_json: Annotated[
        str | None, typer.Option("--params", help="All parameters as one JSON object.")
    ] = None,
    watch: Annotated[
        bool, typer.Option("--watch", "-w", help="Follow states and logs until the run ends.")
    ] = False,
    project: ProjectOption = None,
    json_output: Annotated[
        bool,
        typer.Option(
            "--json", help="Print the run (id, state, …) as JSON; with --watch, once it ends."
        ),
    ] = False,
) -> None:
    """Run a deployment now (parameters override its defaults)."""
    from orchestrate.cli.flow import parse_params, parse_params_json

    parameters = {**parse_params_json(params_json), **parse_params(param or [])}
    with _client(project) as client:
        created = client.create_run(name, parameters)
        if not json_output:
            print(f"Started {created.id} ({created.name}) of {name}.", flush=True)
        code = _watch(client, created, quiet=json_output) if watch else 0
        if json_output:
            _print_run(client.run(created.id).run if watch else created)
        raise typer.Exit(code)


def _print_run(info: FlowRunInfo) -> None:
    """A run as `orc runs ls --json` shows it (ISO times with their offset)."""
    from orchestrate.cli import render
    from orchestrate.cli.reads import flow_run_view

    render.print_json(render.flow_run_json(flow_run_view(info)))


def _watch(client: Client, created: FlowRunInfo, quiet: bool = False) -> int:
    """Print the run's states and logs (unless `quiet`), in order, until it has settled;
    its exit code.

    States come from the run's stored history, read again at each change pushed (pushes
    may skip states, and a warm run can be over before the subscription starts); what
    was printed already is skipped.
    """
    seen: set[tuple[float, str]] = _Everything() if quiet else set()
    with client.subscribe(["flow_run", "log"], flow_run_id=created.id) as changes:
        found = client.run(created.id)  # before the logs: once settled, all its lines are stored
        past = [(s.timestamp, {"state": s.model_dump()}) for s in found.state_history]
        past += [(line.ts, line.model_dump()) for line in client.logs(created.id)]
        for _, data in sorted(past, key=lambda item: item[0]):
            _show(data, seen)
        detail = found.run.model_dump()
        while not (detail["state"]["type"] in FINAL and not _may_retry(detail)):
            change = next(changes, None)
            if change is None:
                return 1
            if change.topic == "log":
                _show(change.data, seen)
                continue
            found = client.run(created.id)
            for state in found.state_history:
                _show({"state": state.model_dump()}, seen)
            detail = found.run.model_dump()
            detail["settled"] = bool(change.data.get("settled") or detail.get("settled"))
        return EXIT_BY_TYPE[detail["state"]["type"]]


class _Everything(set[tuple[float, str]]):
    """A `seen` set that has seen every state and log line: a quiet watch prints none."""

    def __contains__(self, item: object) -> bool:
        return True


def _show(data: dict[str, Any], seen: set[tuple[float, str]]) -> None:
    """Print a state or a log line once (the store keeps times to the microsecond)."""
    if "state" not in data:
        _print_log(data, seen)
        return
    state = data["state"]
    key = (round(float(state["timestamp"]), 5), str(state["name"]))
    if key not in seen:
        seen.add(key)
        _print_state(data, "")


def _may_retry(data: dict[str, Any]) -> bool:
    return not data.get("settled", True)


def _print_state(data: dict[str, Any], last: str) -> str:
    state = data["state"]
    label = state["name"]
    if label != last:
        extra = f": {state['message']}" if state.get("message") else ""
        print(f"[{label}]{extra}", flush=True)
    return str(label)


def _print_log(data: dict[str, Any], seen: set[tuple[float, str]]) -> None:
    key = (round(float(data["ts"]), 5), str(data["message"]))
    if key in seen:
        return
    seen.add(key)
    level = logging.getLevelName(data["level"])
    print(f"{level:<8} {data['message']}", flush=True)


def cancel(
    run_id: Annotated[
        str | None,
        typer.Argument(
            help="A flow run id, or a unique prefix of one.", autocompletion=completion.run_ids
        ),
    ] = None,
    backfill: Annotated[
        str | None,
        typer.Option("--backfill", help="Cancel every unfinished run of this backfill (its id)."),
    ] = None,
    wait: Annotated[
        bool,
        typer.Option(
            "--wait", help="Wait for the final state: exit 0 Cancelled, 1 if it ended otherwise."
        ),
    ] = False,
    project: ProjectOption = None,
    json_output: JsonOption = False,
) -> None:
    """Cancel a scheduled or running flow run (its worker and every process it started stop).

    Answers at once, with the run Cancelling; `--wait` follows it to its final state.
    """
    if (run_id is None) == (backfill is None):
        raise typer.BadParameter("give a flow run id or --backfill ID (one of them)")
    if backfill is not None:
        from orchestrate.cli.backfill import cancel_backfill

        with _client(project) as client:
            cancel_backfill(client, backfill, json_output)
        return
    assert run_id is not None
    with _client(project) as client:
        info = client.cancel_run(run_id)
        if not json_output:
            print(f"{info.id}: {info.state.name}", flush=True)
        code = 0
        if wait and info.state.type not in FINAL:
            ended = _watch(client, info, quiet=json_output)
            code = 0 if ended == EXIT_BY_TYPE["CANCELLED"] else 1
            info = client.run(info.id).run
        if json_output:
            _print_run(info)
    raise typer.Exit(code)


def retry(
    run_id: RunArgument, project: ProjectOption = None, json_output: JsonOption = False
) -> None:
    """Run a failed, crashed or cancelled flow run again (same run, next attempt)."""
    with _client(project) as client:
        info = client.retry_run(run_id)
    if json_output:
        _print_run(info)
        return
    print(f"{info.id}: {info.state.name} (attempt {info.run_count + 1})")
