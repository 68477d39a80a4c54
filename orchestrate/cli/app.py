"""The Typer app: the command groups, wired together, with the exit codes in the epilog.

Commands load lazily, as click documents for large apps ("Lazily Loading
Subcommands"): `COMMANDS` names each command's module and object, and the
root group imports a module only when its command is asked for, so `orc run`
loads the run command and what it uses, not all thirty. `orc --help` and
shell completion list every command, so they load them all.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from importlib import import_module
from typing import Annotated, Any

import typer
import typer.main
from typer.core import TyperGroup
from typer.models import CommandInfo

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


#: Every command: its name, then the module and the object in it (a Typer app for a group of
#: commands, or a function for one), in the order `orc --help` lists them (Typer's: single
#: commands, then groups).
COMMANDS: dict[str, tuple[str, str]] = {
    "logs": ("logs", "logs"),
    "version": ("version", "version"),
    "validate": ("config_cmds", "validate"),
    "schema": ("config_cmds", "schema"),
    "up": ("daemon", "up"),
    "status": ("daemon", "status"),
    "down": ("daemon", "down"),
    "init": ("scaffold", "init"),
    "pause": ("deployments", "pause"),
    "resume": ("deployments", "resume"),
    "run": ("control", "run"),
    "cancel": ("control", "cancel"),
    "retry": ("control", "retry"),
    "dial-stdio": ("dial", "dial_stdio"),
    "store-stdio": ("store_stdio", "store_stdio"),
    "tui": ("tui", "tui"),
    "emit": ("events", "emit"),
    "sql": ("sql", "sql"),
    "export": ("export", "export"),
    "backup": ("export", "backup"),
    "restore": ("export", "restore"),
    "prune": ("prune", "prune"),
    "backfill": ("backfill", "backfill"),
    "runs": ("runs", "app"),
    "flow": ("flow", "app"),
    "service": ("service", "app"),
    "deployments": ("deployments", "app"),
    "events": ("events", "events_app"),
    "automations": ("events", "automations_app"),
}


class _Commands(TyperGroup):
    """The `orc` group: commands built when first asked for, and usage errors of it and of every
    command under it kept to one paragraph."""

    def make_context(self, *args: Any, **kwargs: Any) -> Any:
        with _short_usage_errors():
            return super().make_context(*args, **kwargs)

    def invoke(self, ctx: Any) -> Any:
        with _short_usage_errors():
            return super().invoke(ctx)

    def list_commands(self, ctx: Any) -> list[str]:
        return [*COMMANDS, *(name for name in self.commands if name not in COMMANDS)]

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        if cmd_name not in self.commands and cmd_name in COMMANDS:
            self.commands[cmd_name] = _load(cmd_name)
        return super().get_command(ctx, cmd_name)


def _load(name: str) -> Any:
    """The click command of `name`, built from its module as `add_typer`/`command` would."""
    module, attribute = COMMANDS[name]
    found = getattr(import_module(f"orchestrate.cli.{module}"), attribute)
    if isinstance(found, typer.Typer):
        group = typer.main.get_group(found)
        group.name = name
        return group
    return typer.main.get_command_from_info(
        CommandInfo(name=name, callback=found),
        pretty_exceptions_short=app.pretty_exceptions_short,
        rich_markup_mode=app.rich_markup_mode,
    )


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
