"""`orc export`, `orc backup`, `orc restore`: run history out to files, and a whole store back in."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from orchestrate.cli.options import ProjectOption

#: Seconds `orc backup` waits for the daemon to copy the store (a large store takes a while).
BACKUP_WAIT = 600.0

Format = Annotated[
    str | None,
    typer.Option(
        "--format", help="parquet, csv or json (a list of objects); default: from -o's suffix."
    ),
]


def export(
    table: Annotated[
        str | None,
        typer.Argument(
            help="A view: flow_runs, task_runs, states, logs, events, edges, deployments."
        ),
    ] = None,
    output: Annotated[
        Path,
        typer.Option(
            "--output", "-o", help="The file to write (mode 0600); required.", show_default=False
        ),
    ] = Path(),
    query: Annotated[
        str | None, typer.Option("--query", help="A SELECT to export instead of a view.")
    ] = None,
    fmt: Format = None,
    timeout: Annotated[
        float, typer.Option("--timeout", min=0.001, help="Stop after this many seconds.")
    ] = 300.0,
    project: ProjectOption = None,
) -> None:
    """Write a view, or what a query returns, to a Parquet, CSV or JSON file (daemon up or down)."""
    from orchestrate.cli.history import History
    from orchestrate.cli.options import project_folder

    if output == Path():
        raise typer.BadParameter("give the file to write with -o PATH", param_hint="-o")
    sql = _what(table, query)
    chosen = _format(fmt, output)
    with History.of(project_folder(project), timeout) as history:
        rows = history.copy(sql, output, chosen, timeout)
    print(f"Wrote {rows} row(s) to {output} ({chosen}).", file=sys.stderr)


def backup(
    path: Annotated[
        Path, typer.Argument(help="The backup file to write (a DuckDB file, mode 0600).")
    ],
    project: ProjectOption = None,
) -> None:
    """Copy the whole store, consistently, even while `orc up` writes it; `orc restore` puts it back."""
    from orchestrate.cli.history import History
    from orchestrate.cli.options import project_folder
    from orchestrate.core.errors import StoreError
    from orchestrate.core.project import store_path

    root = project_folder(project)
    with History.of(root, BACKUP_WAIT) as history:
        if not history.through_daemon and not store_path(root).exists():
            raise StoreError(f"Nothing to back up: {store_path(root)} does not exist yet.")
        size = history.backup(path)
    print(f"Backed up the store to {path} ({size:,} bytes).", file=sys.stderr)


def restore(
    path: Annotated[Path, typer.Argument(help="A file written by `orc backup`.")],
    project: ProjectOption = None,
) -> None:
    """Put a backup in place of the project's store (stop `orc up` first); the old store is kept aside."""
    from orchestrate.cli.options import project_folder
    from orchestrate.cli.reads import daemon_client
    from orchestrate.core.errors import DaemonError
    from orchestrate.core.project import store_path
    from orchestrate.store.backup import restore as put_back

    root = project_folder(project)
    client = daemon_client(root)
    if client is not None:
        client.close()
        raise DaemonError(
            f"orc up is running for {root}; stop it (`orc down`) before "
            "restoring, then start it again on the restored store."
        )
    aside = put_back(path, store_path(root))
    kept = f"; the previous store is at {aside}" if aside else ""
    print(f"Restored {path} to {store_path(root)}{kept}.", file=sys.stderr)


def _what(table: str | None, query: str | None) -> str:
    from orchestrate.core.errors import QueryError
    from orchestrate.store.history_views import VIEW_NAMES

    if (table is None) == (query is None):
        raise QueryError(
            "Give a view to export (orc export flow_runs -o runs.parquet) or --query, not both."
        )
    if query is not None:
        return query
    if table not in VIEW_NAMES:
        raise QueryError(f"No view {table!r}; the views are {', '.join(VIEW_NAMES)}.")
    return f"SELECT * FROM {table}"


def _format(fmt: str | None, output: Path) -> str:
    from orchestrate.core.errors import QueryError
    from orchestrate.store.history_sql import FORMATS

    chosen = fmt or output.suffix.lstrip(".").lower()
    if chosen not in FORMATS:
        raise QueryError(
            f"Cannot tell the format of {output}: pass --format with one of {', '.join(FORMATS)}."
        )
    return chosen
