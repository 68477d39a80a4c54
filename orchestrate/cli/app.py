"""The Typer app: the command groups, wired together, with the exit codes in the epilog."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Any

import typer
from typer.core import TyperGroup

from orchestrate.cli import (
    backfill,
    control,
    daemon,
    deployments,
    dial,
    events,
    export,
    flow,
    logs,
    prune,
    runs,
    scaffold,
    service,
    sql,
    store_stdio,
    tui,
    version,
)
from orchestrate.cli.config_cmds import schema, validate
from orchestrate.cli.exits import EPILOG

_LONG_QUOTE = re.compile(r"'([^']{80})[^']{20,}'")


@contextmanager
def _short_usage_errors() -> Iterator[None]:
    """A usage error quotes what was typed: a pasted wall of text is quoted cut short."""
    try:
        yield
    except Exception as error:
        message = getattr(error, "message", None)
        if hasattr(error, "exit_code") and isinstance(message, str):
            error.message = _LONG_QUOTE.sub(r"'\1…'", message)  # type: ignore[attr-defined]
        raise


class _Commands(TyperGroup):
    """The `orc` group: usage errors of it and of every command under it stay one paragraph."""

    def make_context(self, *args: Any, **kwargs: Any) -> Any:
        with _short_usage_errors():
            return super().make_context(*args, **kwargs)

    def invoke(self, ctx: Any) -> Any:
        with _short_usage_errors():
            return super().invoke(ctx)


app = typer.Typer(
    name="orc",
    cls=_Commands,
    help="orc: a terminal-first workflow orchestrator.",
    epilog=EPILOG,
    no_args_is_help=True,
    add_completion=True,
    pretty_exceptions_enable=False,
)


def _print_version(value: bool) -> None:
    """`orc --version`: the version, before any command is looked for."""
    if value:
        from orchestrate._version import __version__

        print(f"orc {__version__}")
        raise typer.Exit(0)


@app.callback()
def _options(
    show_version: Annotated[
        bool,
        typer.Option(
            "--version",
            is_eager=True,
            expose_value=False,
            callback=_print_version,
            help="Show the orc version and exit.",
        ),
    ] = False,
) -> None:
    """orc: a terminal-first workflow orchestrator."""


app.add_typer(runs.app, name="runs")
app.add_typer(flow.app, name="flow")
app.command("logs")(logs.logs)
app.command("version")(version.version)
app.command("validate")(validate)
app.command("schema")(schema)
app.command("up")(daemon.up)
app.command("status")(daemon.status)
app.command("down")(daemon.down)
app.command("init")(scaffold.init)
app.add_typer(service.app, name="service")
app.add_typer(deployments.app, name="deployments")
app.command("pause")(deployments.pause)
app.command("resume")(deployments.resume)
app.command("run")(control.run)
app.command("cancel")(control.cancel)
app.command("retry")(control.retry)
app.command("dial-stdio")(dial.dial_stdio)
app.command("store-stdio")(store_stdio.store_stdio)
app.command("tui")(tui.tui)
app.add_typer(events.events_app, name="events")
app.command("emit")(events.emit)
app.add_typer(events.automations_app, name="automations")
app.command("sql")(sql.sql)
app.command("export")(export.export)
app.command("backup")(export.backup)
app.command("restore")(export.restore)
app.command("prune")(prune.prune)
app.command("backfill")(backfill.backfill)
