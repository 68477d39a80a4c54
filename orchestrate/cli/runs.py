"""`orc runs ls` and `orc runs show`: what ran, how it went, and why it failed."""

from __future__ import annotations

from typing import Annotated

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
        str | None, typer.Option("--deployment", help="Only runs of this deployment.")
    ] = None,
    tag: Annotated[str | None, typer.Option("--tag", help="Only runs with this tag.")] = None,
    backfill: Annotated[
        str | None, typer.Option("--backfill", help="Only runs of this backfill (its id).")
    ] = None,
    since: Annotated[
        str | None, typer.Option("--since", help="Created since: 2h, 7d, or a date/time.")
    ] = None,
    until: Annotated[
        str | None, typer.Option("--until", help="Created before: 2h, 7d, or a date/time.")
    ] = None,
    scheduled: Annotated[
        bool, typer.Option("--scheduled", help="Only upcoming scheduled runs.")
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
        render.console().print(f"No flow runs match {asked}.")
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
