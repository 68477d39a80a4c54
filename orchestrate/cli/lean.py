"""The quick path of the commands typed most, answered without loading Typer, pydantic or DuckDB.

A short command is mostly interpreter start-up and imports: Typer, pydantic
(the wire models) and Rich cost several times what `orc status` does. So
`orc version`, `orc status`, `orc runs ls`, `orc runs show RUN`, `orc logs RUN`,
`orc run NAME` (with `-p`, `--params`, `--watch`, `--json`), `orc deployments ls`
and `orc sql QUERY`, given only the options they are mostly given, are
answered here through `PlainClient` (stdlib JSON) and printed by the same
functions as the full commands. Anything else (another option, `--help`,
completion, no daemon running, a reply this path cannot read) is left to the
Typer app, which answers as it always did: one behaviour, two speeds.
`ORC_LEAN_CLI=0` sends every command to the Typer app (to compare the two).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    from orchestrate.client.plain import PlainClient

#: Errors of reading a reply into views: a row this path cannot read goes to the full path.
_UNREADABLE = (KeyError, TypeError, ValueError, AttributeError)


class Shape(NamedTuple):
    """The arguments a command takes on the quick path: positionals, flags, valued options."""

    positionals: int = 0
    flags: frozenset[str] = frozenset({"--json"})
    options: dict[str, str] = {"--project": "project"}
    #: options given any number of times (`-p a=1 -p b=2`), by the name their values go under
    repeated: dict[str, str] = {}


class Args:
    """`argv` as read against a `Shape`."""

    def __init__(self) -> None:
        self.positionals: list[str] = []
        self.flags: set[str] = set()
        self.options: dict[str, str] = {}
        self.lists: dict[str, list[str]] = {}


def parse(argv: list[str], shape: Shape) -> Args | None:
    """`argv` read against `shape`, or None for anything it does not plainly fit."""
    found = Args()
    words = iter(argv)
    for word in words:
        if word in shape.flags:
            found.flags.add(word)
        elif word in shape.options or word in shape.repeated:
            value = next(words, None)
            if value is None or value.startswith("-"):
                return None
            if word in shape.repeated:
                found.lists.setdefault(shape.repeated[word], []).append(value)
            else:
                found.options[shape.options[word]] = value
        elif word.startswith("-") or len(found.positionals) == shape.positionals:
            return None
        else:
            found.positionals.append(word)
    return found if len(found.positionals) == shape.positionals else None


def _root(args: Args) -> Path:
    """The project folder, as `--project` (or `$ORC_HOME`, or the folder's flows.toml) says."""
    from orchestrate.core.project import command_project

    return command_project(args.options.get("project"))


def _client(args: Args, timeout: float = 5.0) -> PlainClient | None:
    """A plain client of the project's daemon, or None when none listens (the full command then
    reads the store file). Any other trouble (no answer in time, another protocol) is raised
    as the full command raises it: asking again through Typer would only double the wait."""
    from orchestrate.client.plain import PlainClient
    from orchestrate.core.errors import DaemonNotRunning

    root = _root(args)
    if not (root / ".orc" / "orc.sock").exists():
        return None
    try:
        return PlainClient(root, timeout)
    except DaemonNotRunning:
        return None


def version(args: Args) -> int | None:
    from orchestrate.cli.about import print_versions

    print_versions("--json" in args.flags)
    return 0


def version_flag(args: Args) -> int | None:
    """`orc --version`: what the Typer app's eager option prints."""
    from orchestrate._version import __version__

    print(f"orc {__version__}")
    return 0


def status(args: Args) -> int | None:
    from orchestrate.cli.status_view import print_status, print_status_json

    client = _client(args)
    if client is None:
        return None
    with client:
        info = client.status()
    if "--json" in args.flags:
        print_status_json(dict(info), _root(args))
    else:
        print_status(info, _root(args))
    return 0


def runs_ls(args: Args) -> int | None:
    from orchestrate.cli import render
    from orchestrate.cli.reads import flow_run_view

    limit = args.options.get("limit", "50")
    if not limit.isdigit() or int(limit) < 1:
        return None
    filters = {key: args.options.get(key) for key in ("flow", "deployment", "tag")}
    client = _client(args)
    if client is None:
        return None
    with client:
        answer = client.runs(limit=int(limit), **filters)
    try:
        found = [flow_run_view(info) for info in answer]
    except _UNREADABLE:
        return None
    if "--json" in args.flags:
        render.print_json([render.flow_run_json(run) for run in found])
    elif not found and any(filters.values()):
        asked = " ".join(f"--{key} {value}" for key, value in filters.items() if value)
        render.say(f"No flow runs match {asked}.")
    else:
        render.runs_table(found)
    return 0


def runs_show(args: Args) -> int | None:
    from orchestrate.cli import render
    from orchestrate.cli.reads import DaemonReads
    from orchestrate.cli.run_reads import detail_json, read_run

    client = _client(args)
    if client is None:
        return None
    with DaemonReads(client) as reads:
        try:
            found = read_run(reads, args.positionals[0])
        except _UNREADABLE:
            return None
    if "--json" in args.flags:
        render.print_json(detail_json(found))
    else:
        render.run_detail(
            found.run, found.history, found.task_runs, found.subflows, found.dashboards
        )
    return 0


def logs(args: Args) -> int | None:
    from orchestrate.cli import render
    from orchestrate.cli.log_print import print_log, print_log_json
    from orchestrate.cli.reads import DaemonReads
    from orchestrate.cli.run_reads import read_run

    client = _client(args)
    if client is None:
        return None
    with DaemonReads(client) as reads:
        try:
            found = read_run(reads, args.positionals[0], dashboards=False)
        except _UNREADABLE:
            return None
        if "--json" in args.flags:
            print_log_json(reads, found)  # paged, as the full command prints it
            return 0
        printed = print_log(reads, found)  # streamed, as the full command prints it
    render.unlogged_error(found.run, printed.tracebacks)
    return 0


def run(args: Args) -> int | None:
    """`orc run NAME`: start a run now (a run is made once, so nothing here falls back after).

    Parameters are read first, as the full command reads them: a bad `-p` is
    refused (exit 2) whether or not a daemon runs.
    """
    from orchestrate.cli.params import param_texts, run_parameters
    from orchestrate.cli.run_now import run_now

    pairs = args.lists.get("param", [])
    parameters = run_parameters(pairs, args.options.get("params"))
    client = _client(args)
    if client is None:
        return None
    with client:
        watch = bool(args.flags & {"--watch", "-w"})
        json_output = "--json" in args.flags
        return run_now(
            client, args.positionals[0], parameters, watch, json_output, param_texts(pairs)
        )


def deployments_ls(args: Args) -> int | None:
    """The table only: `--json` prints the models' defaults of fields the daemon leaves out
    (`removed`), so it is the full command's."""
    from orchestrate.cli.deployments_view import print_deployments

    client = _client(args)
    if client is None:
        return None
    with client:
        found = client.deployments()
    print_deployments(found)
    return 0


def sql(args: Args) -> int | None:
    """`orc sql QUERY` with `--json`, `--csv`, `--limit`, `--timeout`; a query from a file or
    stdin, `--schema` and `--parquet` are left to the full command."""
    from orchestrate.cli.sql_output import TABLE_LIMIT

    query, limit = args.positionals[0], args.options.get("limit", str(TABLE_LIMIT))
    timeout = _seconds(args.options.get("timeout", "30"))
    asked_both = {"--json", "--csv"} <= args.flags
    if query == "-" or not query.strip() or not _digits(limit) or timeout is None or asked_both:
        return None  # the full command reads stdin, or says what is wrong
    from orchestrate.cli import sql_output
    from orchestrate.cli.history import REPLY_MARGIN, History

    client = _client(args, timeout + REPLY_MARGIN)
    if client is None:
        return None
    with History(client, None) as history:
        sql_output.answer(
            history,
            query,
            json_output="--json" in args.flags,
            csv_output="--csv" in args.flags,
            limit=int(limit),
            timeout=timeout,
        )
    return 0


def _digits(text: str) -> bool:
    return text.isascii() and text.isdigit()


def _seconds(text: str) -> float | None:
    """`--timeout` as the full command takes it (at least 1 ms), or None to leave it to Typer."""
    whole, _, part = text.partition(".")
    if not _digits(whole) or (part and not _digits(part)):
        return None
    seconds = float(text)
    return seconds if seconds >= 0.001 else None


_PROJECT_JSON = {"--project": "project"}
_RUNS_LS = {
    **_PROJECT_JSON,
    "--limit": "limit",
    "-n": "limit",
    "--flow": "flow",
    "--deployment": "deployment",
    "--tag": "tag",
}
#: The commands of the quick path: the words that name each, its arguments and its answer.
COMMANDS: dict[tuple[str, ...], tuple[Shape, Callable[[Args], int | None]]] = {
    ("version",): (Shape(options={}), version),
    ("--version",): (Shape(flags=frozenset(), options={}), version_flag),
    ("status",): (Shape(), status),
    ("runs", "ls"): (Shape(options=_RUNS_LS), runs_ls),
    ("runs", "show"): (Shape(positionals=1), runs_show),
    ("logs",): (Shape(positionals=1), logs),
    ("deployments", "ls"): (Shape(flags=frozenset()), deployments_ls),
    ("sql",): (
        Shape(
            positionals=1,
            flags=frozenset({"--json", "--csv"}),
            options={**_PROJECT_JSON, "--limit": "limit", "--timeout": "timeout"},
        ),
        sql,
    ),
    ("run",): (
        Shape(
            positionals=1,
            flags=frozenset({"--json", "--watch", "-w"}),
            options={**_PROJECT_JSON, "--params": "params"},
            repeated={"-p": "param", "--param": "param"},
        ),
        run,
    ),
}


def handle(argv: list[str]) -> int | None:
    """The exit code of `argv` answered here, or None to leave the command to the Typer app.

    An `OrcError` raised once the daemon answered (an unknown run, say) is raised
    on, and reported as the full path reports it.
    """
    if os.environ.get("ORC_LEAN_CLI") == "0" or "_ORC_COMPLETE" in os.environ:
        return None  # the full path asked for (to compare the two), or shell completion
    for words, (shape, command) in COMMANDS.items():
        if tuple(argv[: len(words)]) == words:
            args = parse(argv[len(words) :], shape)
            return None if args is None else command(args)
    return None


__all__ = ["handle"]
