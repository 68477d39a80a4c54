"""The Typer app: the command groups, wired together, with the exit codes in the epilog."""

from __future__ import annotations

import typer

from orchestrate.cli import flow, logs, runs, version
from orchestrate.cli.exits import EPILOG

app = typer.Typer(
    name="orc",
    help="orc: a terminal-first workflow orchestrator.",
    epilog=EPILOG,
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.add_typer(runs.app, name="runs")
app.add_typer(flow.app, name="flow")
app.command("logs")(logs.logs)
app.command("version")(version.version)
