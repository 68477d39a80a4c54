"""The Typer app: the command groups, wired together, with the exit codes in the epilog."""

from __future__ import annotations

import typer

from orchestrate.cli import (
    control,
    daemon,
    deployments,
    dial,
    events,
    flow,
    logs,
    runs,
    tui,
    version,
)
from orchestrate.cli.config_cmds import schema, validate
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
app.command("validate")(validate)
app.command("schema")(schema)
app.command("up")(daemon.up)
app.command("status")(daemon.status)
app.add_typer(deployments.app, name="deployments")
app.command("pause")(deployments.pause)
app.command("resume")(deployments.resume)
app.command("run")(control.run)
app.command("cancel")(control.cancel)
app.command("retry")(control.retry)
app.command("dial-stdio")(dial.dial_stdio)
app.command("tui")(tui.tui)
app.add_typer(events.events_app, name="events")
app.command("emit")(events.emit)
app.add_typer(events.automations_app, name="automations")
