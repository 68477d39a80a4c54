"""`orc logs RUN`: a flow run's log lines, in the order they happened."""

from __future__ import annotations

import json
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
        bool,
        typer.Option(
            "--follow",
            "-f",
            help="Keep printing new lines until the run ends (with --json, one object a line).",
        ),
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
        follow = follow and found.run.state.type not in _FINAL  # an ended run has no more
        if json_output and not follow:
            print_log_json(store, found)  # paged: a long log neither waits nor fills memory
            return
        if json_output:  # followed: one object a line, as new lines cannot join a list
            for line in store.logs(found.run.id):
                print(json.dumps(render.log_json(line)), flush=True)
            lines = []
        else:
            lines = print_log(store, found)  # streamed: a long log starts printing at once
    render.unlogged_error(found.run, lines)
    if follow:
        _follow(project_folder(project), run, json_output)


_FINAL = ("COMPLETED", "FAILED", "CRASHED", "CANCELLED")


def _follow(root: Path, run: str, json_output: bool) -> None:
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
        if detail.run.state.type in _FINAL:
            return
        names = {t.id: t.name for t in detail.task_runs}
        asked: set[str] = set()  # looked up once each: a line of a task still unknown asks not
        with client.subscribe(["log", "flow_run"], flow_run_id=detail.run.id) as changes:
            for change in changes:
                if change.topic == "log":
                    info = LogInfo.model_validate(change.data)
                    task = info.task_run_id
                    if task and task not in names and task not in asked:  # began since
                        asked.add(task)
                        names.update((t.id, t.name) for t in client.run(run).task_runs)
                    line = log_line(info, names)
                    if json_output:
                        print(json.dumps(render.log_json(line)), flush=True)
                    else:
                        render.log_lines([line])
                elif change.data.get("settled"):
                    return
