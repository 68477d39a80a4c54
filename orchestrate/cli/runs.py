"""`orc runs ls` and `orc runs show`: what ran, how it went, and why it failed;
`orc runs resume`: let a paused run go on."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from orchestrate.cli import completion
from orchestrate.cli.options import JsonOption, ProjectOption

# What `runs show` reads lives in `run_reads`, which the quick path uses without Typer.
from orchestrate.cli.run_reads import DASHBOARD_EVENT as DASHBOARD_EVENT
from orchestrate.cli.run_reads import RunRead as RunRead
from orchestrate.cli.run_reads import read_run as read_run
from orchestrate.cli.run_reads import wire_state as wire_state

app = typer.Typer(help="List and inspect flow runs.", no_args_is_help=True)

RunArgument = Annotated[str, typer.Argument(help="A flow run id, or a unique prefix of one.")]
#: The orders `--sort` takes (`orchestrate.store.flow_run_reads.SORTS`, less the default).
RUN_SORTS = ("start", "end", "created", "duration")


@app.command("ls")
def list_runs(
    state: Annotated[
        list[str] | None,
        typer.Option(
            "--state",
            help="Only runs in this state (name or type); may be repeated.",
            autocompletion=completion.states,
        ),
    ] = None,
    flow: Annotated[str | None, typer.Option("--flow", help="Only runs of this flow.")] = None,
    deployment: Annotated[
        str | None,
        typer.Option(
            "--deployment",
            help="Only runs of this deployment.",
            autocompletion=completion.deployments,
        ),
    ] = None,
    tag: Annotated[str | None, typer.Option("--tag", help="Only runs with this tag.")] = None,
    backfill: Annotated[
        str | None, typer.Option("--backfill", help="Only runs of this backfill (its id).")
    ] = None,
    since: Annotated[
        str | None,
        typer.Option(
            "--since", help="Active since (ended, running or due since): 2h, 7d, or a date/time."
        ),
    ] = None,
    until: Annotated[
        str | None,
        typer.Option(
            "--until", help="Active before (started or due before): 2h, 7d, or a date/time."
        ),
    ] = None,
    scheduled: Annotated[
        bool, typer.Option("--scheduled", help="Only upcoming scheduled runs, the next due first.")
    ] = False,
    sort: Annotated[
        str | None,
        typer.Option(
            "--sort", help="Order by start, end, created or duration (latest or largest first)."
        ),
    ] = None,
    reverse: Annotated[bool, typer.Option("--reverse", help="Earliest or smallest first.")] = False,
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, help="At most this many.")] = 50,
    project: ProjectOption = None,
    json_output: JsonOption = False,
) -> None:
    """List flow runs, newest first (or as --sort says)."""
    from orchestrate.cli import render
    from orchestrate.cli.options import project_folder
    from orchestrate.cli.reads import open_reads
    from orchestrate.cli.run_filters import checked_states, moment

    states = checked_states(state or [])
    if sort is not None and sort not in RUN_SORTS:
        raise typer.BadParameter(
            f"{sort!r} is not one of {', '.join(RUN_SORTS)}", param_hint="--sort"
        )
    tag = f"backfill:{backfill}" if backfill else tag
    with open_reads(project_folder(project)) as store:
        found = store.list_flow_runs(
            flow=flow,
            limit=limit,
            deployment=deployment,
            states=states,
            tag=tag,
            since=moment(since, "--since"),
            until=moment(until, "--until"),
            scheduled=scheduled,
            sort=sort,
            reverse=reverse,
        )
    if json_output:
        render.print_json([render.flow_run_json(run) for run in found])
    elif not found and (asked := _asked(states, flow, deployment, tag, since, until, scheduled)):
        render.say(f"No flow runs match {asked}.")
    else:
        render.runs_table(found)


def _asked(states: tuple[str, ...], *values: str | bool | None) -> str:
    """The filters given, as typed: what "No flow runs match …" names."""
    names = ("--flow", "--deployment", "--tag", "--since", "--until", "--scheduled")
    words = [f"--state {s}" for s in states]
    for name, value in zip(names, values, strict=True):
        if value is True:
            words.append(name)
        elif value:
            words.append(f"{name} {value}")
    return " ".join(words)


@app.command("show")
def show_run(
    run: completion.RunArgument, project: ProjectOption = None, json_output: JsonOption = False
) -> None:
    """Show one flow run: its states, task runs, subflow runs and error."""
    from orchestrate.cli import render
    from orchestrate.cli.options import project_folder
    from orchestrate.cli.reads import open_reads

    with open_reads(project_folder(project)) as store:
        found = read_run(store, run)
    if not json_output:
        render.run_detail(
            found.run, found.history, found.task_runs, found.subflows, found.dashboards
        )
        return
    from orchestrate.cli.run_reads import detail_json

    render.print_json(detail_json(found))


InputOption = Annotated[
    list[str] | None,
    typer.Option(
        "--input",
        "-i",
        "-p",
        help="The input the run waits for: a JSON object, or key=value (repeatable; "
        "the value is parsed as JSON if it can be).",
    ),
]


@app.command("resume")
def resume_run(
    run: RunArgument,
    run_input: InputOption = None,
    project: ProjectOption = None,
    json_output: JsonOption = False,
) -> None:
    """Resume a flow run paused in pause_flow_run or suspend_flow_run, with its input.

    A paused run goes on in its worker; a suspended one is started again and runs from
    the top, where the suspend returns the input. The input is checked against the
    model the flow waits for (`wait_for_input`).
    """
    from orchestrate.cli.deployments import _client
    from orchestrate.cli.run_now import print_run

    given = parse_run_input(run_input or [])
    with _client(project) as client:
        info = client.resume_run(run, given)
    if json_output:
        print_run(info)
    else:
        how = (
            "runs again from the top" if info.state.name == "Resuming" else "goes on in its worker"
        )
        print(f"Resumed {info.id} ({info.name}): it {how}.", flush=True)


def parse_run_input(values: list[str]) -> dict[str, Any] | None:
    """`--input '{"ok": true}'` and `--input ok=true` → `{"ok": True}`; None when none given."""
    from orchestrate.cli.params import parse_params, parse_params_json
    from orchestrate.core.errors import ParameterError

    if not values:
        return None
    merged: dict[str, Any] = {}
    for value in values:
        try:
            is_object = value.lstrip().startswith("{")
            merged.update(parse_params_json(value) if is_object else parse_params([value]))
        except ParameterError as exc:  # said of `-p`/`--params`: say it of --input
            text = str(exc).replace("--params", "--input").replace("-p ", "--input ")
            raise ParameterError(text) from exc
    return merged
