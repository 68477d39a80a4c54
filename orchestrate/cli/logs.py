"""`orc logs RUN`: a flow run's log lines, in the order they happened."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from orchestrate.cli import completion
from orchestrate.cli.options import JsonOption, ProjectOption


def logs(
    run: Annotated[
        str,
        typer.Argument(
            help="A flow run id, or a unique prefix of one.", autocompletion=completion.run_ids
        ),
    ],
    project: ProjectOption = None,
    json_output: JsonOption = False,
    follow: Annotated[
        bool, typer.Option("--follow", "-f", help="Keep printing new lines until the run ends.")
    ] = False,
) -> None:
    """Show the log lines of a flow run (time, level, task run, message)."""
    from orchestrate.cli import render
    from orchestrate.cli.log_print import print_log, print_log_json
    from orchestrate.cli.options import project_folder
    from orchestrate.cli.reads import open_reads
    from orchestrate.cli.runs import read_run

    with open_reads(project_folder(project)) as store:
        found = read_run(store, run, dashboards=False)
        if json_output and not follow:
            print_log_json(store, found)  # paged: a long log neither waits nor fills memory
            return
        lines = print_log(store, found)  # streamed: a long log starts printing at once
    render.unlogged_error(found.run, lines)
    if follow:
        _follow(project_folder(project), run)


def _follow(root: Path, run: str) -> None:
    """Stream new lines by subscription until the run has settled (needs `orc up`)."""
    from orchestrate.cli import render
    from orchestrate.cli.reads import daemon_client, log_line
    from orchestrate.client.protocol import LogInfo
    from orchestrate.core.errors import DaemonNotRunning

    client = daemon_client(root)
    if client is None:
        raise DaemonNotRunning(root)
    with client:
        detail = client.run(run)
        if detail.run.state.type in ("COMPLETED", "FAILED", "CRASHED", "CANCELLED"):
            return
        names = {t.id: t.name for t in detail.task_runs}
        with client.subscribe(["log", "flow_run"], flow_run_id=detail.run.id) as changes:
            for change in changes:
                if change.topic == "log":
                    render.log_lines([log_line(LogInfo.model_validate(change.data), names)])
                elif change.data.get("settled"):
                    return
