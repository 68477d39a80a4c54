"""`orc runs ls` and `orc runs show`: what ran, how it went, and why it failed."""

from __future__ import annotations

from typing import Annotated

import typer

from orchestrate.cli.options import JsonOption, ProjectOption

app = typer.Typer(help="List and inspect flow runs.", no_args_is_help=True)

RunArgument = Annotated[str, typer.Argument(help="A flow run id, or a unique prefix of one.")]


@app.command("ls")
def list_runs(
    state: Annotated[
        str | None, typer.Option("--state", help="Only runs in this state (name or type).")
    ] = None,
    flow: Annotated[str | None, typer.Option("--flow", help="Only runs of this flow.")] = None,
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, help="At most this many.")] = 50,
    project: ProjectOption = None,
    json_output: JsonOption = False,
) -> None:
    """List flow runs, newest first."""
    from orchestrate.cli import render
    from orchestrate.cli.options import project_folder
    from orchestrate.cli.reads import open_reads

    with open_reads(project_folder(project)) as store:
        found = store.list_flow_runs(state=state, flow=flow, limit=limit)
    if json_output:
        render.print_json([render.flow_run_json(run) for run in found])
    else:
        render.runs_table(found)


@app.command("show")
def show_run(
    run: RunArgument, project: ProjectOption = None, json_output: JsonOption = False
) -> None:
    """Show one flow run: its states, task runs, subflow runs and error."""
    from orchestrate.cli import render
    from orchestrate.cli.options import project_folder
    from orchestrate.cli.reads import open_reads

    with open_reads(project_folder(project)) as store:
        flow_run = store.get_flow_run(run)
        history = store.state_history(flow_run.id)
        task_runs = store.task_runs(flow_run.id)
        subflows = store.child_flow_runs(flow_run.id)
    if not json_output:
        render.run_detail(flow_run, history, task_runs, subflows)
        return
    names = {t.id: t.name for t in task_runs}
    render.print_json(
        {
            **render.flow_run_json(flow_run),
            "error": render.error_json(flow_run.state),
            "state_history": [render.history_json(entry) for entry in history],
            "task_run_details": [render.task_run_json(t, names) for t in task_runs],
            "subflow_runs": [render.flow_run_json(child) for child in subflows],
        }
    )
