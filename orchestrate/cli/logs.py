"""`orc logs RUN`: a flow run's log lines, in the order they happened."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from orchestrate.cli import completion
from orchestrate.cli.options import JsonOption, ProjectOption

if TYPE_CHECKING:
    from orchestrate.client import Client
    from orchestrate.client.protocol import LogInfo


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
    from orchestrate.cli.log_print import Printed, print_log, print_log_json
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
            printed = Printed()
            for line in store.logs(found.run.id):
                print(json.dumps(render.log_json(line)), flush=True)
                printed.last = line.timestamp.timestamp() if line.timestamp else printed.last
        else:
            printed = print_log(store, found)  # streamed: a long log starts printing at once
    render.unlogged_error(found.run, printed.tracebacks)
    if follow:
        _follow(project_folder(project), run, json_output, printed.last)


_FINAL = ("COMPLETED", "FAILED", "CRASHED", "CANCELLED")


def _follow(root: Path, run: str, json_output: bool, since: float | None) -> None:
    """Stream the lines logged after `since` (the last printed) by subscription, until the run
    has settled (needs `orc up`).

    The lines logged between the read that printed the rest and the subscription are read
    once it holds, so none is lost, even of a run that ended meanwhile; a line pushed that
    this read printed already is skipped.
    """
    from orchestrate.cli.reads import daemon_client
    from orchestrate.client.protocol import LogInfo
    from orchestrate.core.errors import DaemonNotRunning

    client = daemon_client(root)
    if client is None:
        raise DaemonNotRunning(root)
    with client:
        run_id = client.run(run).run.id
        with client.subscribe(["log", "flow_run"], flow_run_id=run_id) as changes:
            detail = client.run(run_id)
            show = _LineShow(client, run_id, {t.id: t.name for t in detail.task_runs}, json_output)
            for info in client.logs(run_id, after=since):
                show(info)
            if detail.run.state.type in _FINAL and detail.run.settled is not False:
                return
            caught_up, show.shown = show.shown or set(), None
            for change in changes:
                if change.topic == "log":
                    info = LogInfo.model_validate(change.data)
                    if _key(info) not in caught_up:  # not printed by the read above
                        show(info)
                elif change.data.get("settled"):
                    return


class _LineShow:
    """Prints log lines as `orc logs` does, naming task runs that began since (looked up once)."""

    def __init__(
        self, client: Client, run_id: str, names: dict[str, str], json_output: bool
    ) -> None:
        self.client, self.run_id, self.names, self.json_output = client, run_id, names, json_output
        self.asked: set[str] = set()  # looked up once each: a line of a task still unknown asks not
        #: the lines printed, while they are few (those the subscription may push again)
        self.shown: set[tuple[int, str]] | None = set()

    def __call__(self, info: LogInfo) -> None:
        from orchestrate.cli import render
        from orchestrate.cli.reads import log_line

        task = info.task_run_id
        if task and task not in self.names and task not in self.asked:  # began since
            self.asked.add(task)
            self.names.update((t.id, t.name) for t in self.client.run(self.run_id).task_runs)
        line = log_line(info, self.names)
        if self.json_output:
            print(json.dumps(render.log_json(line)), flush=True)
        else:
            render.log_lines([line])
        if self.shown is not None:
            self.shown.add(_key(info))


def _key(info: LogInfo) -> tuple[int, str]:
    """A line as the store keeps it and as it is pushed: its time in whole microseconds."""
    return round(info.ts * 1e6), info.message
