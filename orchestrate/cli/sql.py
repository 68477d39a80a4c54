"""`orc sql`: read-only SQL over the run history, printed as a table, JSON, CSV or Parquet."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from orchestrate.cli.options import JsonOption, ProjectOption
from orchestrate.cli.sql_output import TABLE_LIMIT


def sql(
    query: Annotated[
        str | None,
        typer.Argument(help="The SELECT to run (default: read it from -f FILE or stdin)."),
    ] = None,
    file: Annotated[
        Path | None, typer.Option("--file", "-f", help="Read the query from this file.")
    ] = None,
    json_output: JsonOption = False,
    csv_output: Annotated[bool, typer.Option("--csv", help="Print every row as CSV.")] = False,
    parquet: Annotated[
        Path | None, typer.Option("--parquet", help="Write every row to this Parquet file.")
    ] = None,
    limit: Annotated[
        int, typer.Option("--limit", min=0, help="Most rows a table shows.")
    ] = TABLE_LIMIT,
    timeout: Annotated[
        float, typer.Option("--timeout", min=0.001, help="Stop a query after this many seconds.")
    ] = 30.0,
    show_schema: Annotated[
        bool, typer.Option("--schema", help="List the views and their columns.")
    ] = False,
    project: ProjectOption = None,
) -> None:
    """Query run history with SQL (read-only): views flow_runs, task_runs, states, logs, events, edges, deployments."""
    from orchestrate.cli import sql_output
    from orchestrate.cli.history import History
    from orchestrate.cli.options import project_folder
    from orchestrate.core.errors import QueryError

    if sum([json_output, csv_output, parquet is not None]) > 1:
        raise QueryError("Choose one of --json, --csv and --parquet.")
    with History.of(project_folder(project), timeout) as history:
        if show_schema:
            sql_output.schema(history.schema(), json_output)
            return
        text = _query_text(query, file)
        if parquet is not None:
            rows = history.copy(text, parquet, "parquet", timeout)
            print(f"Wrote {rows} row(s) to {parquet}", file=sys.stderr)
            return
        sql_output.answer(
            history,
            text,
            json_output=json_output,
            csv_output=csv_output,
            limit=limit,
            timeout=timeout,
        )


def _query_text(query: str | None, file: Path | None) -> str:
    """The query from the argument, the file, or stdin (in that order)."""
    from orchestrate.core.errors import QueryError

    if query is not None and query != "-":
        text = query
    elif file is not None:
        try:
            text = file.read_text()
        except OSError as exc:
            raise QueryError(f"Could not read the query file {file}: {exc.strerror}.") from exc
    elif query == "-" or not sys.stdin.isatty():
        text = sys.stdin.read()
    else:
        text = ""
    if not text.strip():
        raise QueryError(
            "No query given: orc sql 'SELECT count(*) FROM flow_runs', orc sql -f query.sql, "
            "or the query on stdin. `orc sql --schema` lists the views."
        )
    return text
