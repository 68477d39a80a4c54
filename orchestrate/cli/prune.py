"""`orc prune`: remove old finished flow runs, with all they left, and say what went."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Annotated

import typer

from orchestrate.cli import completion
from orchestrate.cli.options import JsonOption, ProjectOption


def prune(
    older_than: Annotated[
        str,
        typer.Option("--older-than", help='Runs that ended longer ago than this: "30d", "12h".'),
    ],
    deployment: Annotated[
        str | None,
        typer.Option(
            "--deployment",
            help="Only this deployment's runs.",
            autocompletion=completion.deployments,
        ),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Say what would go; remove nothing.")
    ] = False,
    json_output: JsonOption = False,
    project: ProjectOption = None,
) -> None:
    """Remove finished flow runs (never one that may still change) with their task runs, states, edges and logs.

    Without --deployment, task runs called outside any flow go too.
    """
    from orchestrate.cli.options import project_folder
    from orchestrate.cli.reads import daemon_client
    from orchestrate.core.durations import parse_duration

    try:
        seconds = parse_duration(older_than).total_seconds()
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--older-than") from None
    if seconds <= 0:  # the daemon refuses it; so does the file, rather than emptying history
        raise typer.BadParameter(
            f"{older_than!r} is no time at all; give how old a run must be, like 30d or 12h",
            param_hint="--older-than",
        )
    root = project_folder(project)
    client = daemon_client(root)
    if client is not None:
        with client:
            counts = client.prune_runs(seconds, deployment=deployment, dry_run=dry_run)
    else:
        counts = _prune_file(root, time.time() - seconds, deployment, dry_run)
    _say(counts, older_than, dry_run, json_output)


def _prune_file(root: Path, before: float, deployment: str | None, dry_run: bool) -> dict[str, int]:
    from orchestrate.core.project import results_dir, store_path
    from orchestrate.store import connection, migrations, pruning

    path = store_path(root)
    if not path.exists():
        return pruning.PruneCounts().as_dict()
    conn = connection.connect(path, read_only=dry_run)
    try:
        if not dry_run:
            migrations.migrate(conn, path)
        return pruning.prune_file(conn, before, deployment, dry_run, results_dir(root)).as_dict()
    finally:
        conn.close()


def _say(counts: dict[str, int], older_than: str, dry_run: bool, json_output: bool) -> None:
    if json_output:
        from orchestrate.cli.render import print_json

        print_json(counts | {"dry_run": dry_run})
        return
    if not counts["flow_runs"] and not counts["task_runs"]:
        print(f"No finished runs ended more than {older_than} ago; nothing removed.")
        return
    verb = "Would remove" if dry_run else "Removed"
    parts = ", ".join(f"{n:,} {kind.replace('_', ' ')}" for kind, n in counts.items())
    print(f"{verb} {parts}.", file=sys.stdout)
