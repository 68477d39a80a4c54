"""`orc run`, `orc cancel`, `orc retry`: asking the daemon to act on a deployment or a run.

What `orc run` does and prints is `orchestrate.cli.run_now`, shared with the quick path.
"""

from __future__ import annotations

from typing import Annotated

import typer

from orchestrate.cli import completion
from orchestrate.cli.deployments import NameArgument, _client
from orchestrate.cli.options import JsonOption, ProjectOption
from orchestrate.cli.run_now import EXIT_BY_TYPE, FINAL, follow, print_run

RunArgument = Annotated[
    str,
    typer.Argument(
        help="A flow run id, or a unique prefix of one.", autocompletion=completion.run_ids
    ),
]


def run(
    name: NameArgument,
    param: Annotated[
        list[str] | None,
        typer.Option("--param", "-p", help="key=value; the value is parsed as JSON if it can be."),
    ] = None,
    params_json: Annotated[
        str | None, typer.Option("--params", help="All parameters as one JSON object.")
    ] = None,
    watch: Annotated[
        bool, typer.Option("--watch", "-w", help="Follow states and logs until the run ends.")
    ] = False,
    project: ProjectOption = None,
    json_output: Annotated[
        bool,
        typer.Option(
            "--json", help="Print the run (id, state, …) as JSON; with --watch, once it ends."
        ),
    ] = False,
) -> None:
    """Run a deployment now (parameters override its defaults)."""
    from orchestrate.cli.params import param_texts, run_parameters
    from orchestrate.cli.run_now import run_now

    parameters = run_parameters(param or [], params_json)
    texts = param_texts(param or [])
    with _client(project) as client:
        raise typer.Exit(run_now(client, name, parameters, watch, json_output, texts))


def cancel(
    run_id: Annotated[
        str | None,
        typer.Argument(
            help="A flow run id, or a unique prefix of one.", autocompletion=completion.run_ids
        ),
    ] = None,
    backfill: Annotated[
        str | None,
        typer.Option("--backfill", help="Cancel every unfinished run of this backfill (its id)."),
    ] = None,
    wait: Annotated[
        bool,
        typer.Option(
            "--wait", help="Wait for the final state: exit 0 Cancelled, 1 if it ended otherwise."
        ),
    ] = False,
    project: ProjectOption = None,
    json_output: JsonOption = False,
) -> None:
    """Cancel a scheduled or running flow run (its worker and every process it started stop).

    Answers at once, with the run Cancelling; `--wait` follows it to its final state.
    """
    if (run_id is None) == (backfill is None):
        raise typer.BadParameter("give a flow run id or --backfill ID (one of them)")
    if backfill is not None:
        from orchestrate.cli.backfill import cancel_backfill

        with _client(project) as client:
            cancel_backfill(client, backfill, json_output)
        return
    assert run_id is not None
    with _client(project) as client:
        info = client.cancel_run(run_id)
        if not json_output:
            print(f"{info.id}: {info.state.name}", flush=True)
        code = 0
        if wait and info.state.type not in FINAL:
            ended = follow(client, info, quiet=json_output)
            code = 0 if ended == EXIT_BY_TYPE["CANCELLED"] else 1
            info = client.run(info.id).run
        if json_output:
            print_run(info)
    raise typer.Exit(code)


def retry(
    run_id: RunArgument, project: ProjectOption = None, json_output: JsonOption = False
) -> None:
    """Run a failed, crashed or cancelled flow run again (same run, next attempt)."""
    with _client(project) as client:
        info = client.retry_run(run_id)
    if json_output:
        print_run(info)
        return
    print(f"{info.id}: {info.state.name} (attempt {info.run_count + 1})")
