"""`orc logs RUN`: a flow run's log lines, in the order they happened."""

from __future__ import annotations

from typing import Annotated

import typer

from orchestrate.cli.options import JsonOption, ProjectOption


def logs(
    run: Annotated[str, typer.Argument(help="A flow run id, or a unique prefix of one.")],
    project: ProjectOption = None,
    json_output: JsonOption = False,
) -> None:
    """Show the log lines of a flow run (time, level, task run, message)."""
    from orchestrate.cli import render
    from orchestrate.cli.options import open_store

    with open_store(project) as store:
        lines = store.logs(store.get_flow_run(run).id)
    if json_output:
        render.print_json([render.log_json(line) for line in lines])
    else:
        render.log_lines(lines)
