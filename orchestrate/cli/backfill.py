"""`orc backfill`: run a deployment once per past schedule slot (Airflow's logical date)."""

from __future__ import annotations

import sys
from collections import Counter
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, Any
from zoneinfo import ZoneInfo

import typer

from orchestrate.cli import completion
from orchestrate.cli.options import JsonOption, ProjectOption

if TYPE_CHECKING:
    from orchestrate.client import Client

#: The state types a backfilled run can still be cancelled from.
UNFINISHED = ("SCHEDULED", "PENDING", "RUNNING", "PAUSED", "CANCELLING")
_FINAL = ("COMPLETED", "FAILED", "CRASHED", "CANCELLED")
#: The most runs one `orc cancel --backfill` reads (a backfill is one run per slot).
_MOST_RUNS = 100_000


def backfill(
    deployment: Annotated[
        str,
        typer.Argument(
            help="The deployment whose slots to run.", autocompletion=completion.deployments
        ),
    ],
    start: Annotated[
        str,
        typer.Option(
            "--start",
            help="First slot time (inclusive), ISO 8601; in the deployment's timezone "
            "unless it names one.",
        ),
    ],
    end: Annotated[
        str,
        typer.Option(
            "--end",
            help="Slots before this time, ISO 8601; in the deployment's timezone "
            "unless it names one.",
        ),
    ],
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="List the slots; make no runs.")
    ] = False,
    rerun: Annotated[
        bool, typer.Option("--rerun", help="Also run slots that already have a run.")
    ] = False,
    parameters: Annotated[
        str | None, typer.Option("--parameters", help="Parameters for every run, as JSON.")
    ] = None,
    follow: Annotated[
        bool | None,
        typer.Option(
            "--follow/--no-follow",
            help="Print a progress line as the runs finish, until all have (default on a terminal).",
        ),
    ] = None,
    json_output: JsonOption = False,
    project: ProjectOption = None,
) -> None:
    """Make one run per schedule slot in [start, end), each seeing its slot as its start time (needs `orc up`)."""
    from orchestrate.cli.options import project_folder
    from orchestrate.cli.reads import daemon_client
    from orchestrate.core.errors import DaemonNotRunning

    root = project_folder(project)
    client = daemon_client(root)
    if client is None:
        raise DaemonNotRunning(root)
    with client:
        first, last = _moment(start, "--start"), _moment(end, "--end")
        if first.tzinfo is None or last.tzinfo is None:  # read as the schedule's clock reads
            zone = ZoneInfo(client.deployment(deployment).timezone)
            first, last = (m if m.tzinfo else m.replace(tzinfo=zone) for m in (first, last))
        answer = client.backfill(
            deployment,
            first.timestamp(),
            last.timestamp(),
            dry_run=dry_run,
            rerun=rerun,
            parameters=_parameters(parameters),
        )
        if json_output:
            from orchestrate.cli.render import iso_moment, print_json

            slots = [s | {"time": iso_moment(s["time"])} for s in answer["slots"]]
            print_json(answer | {"slots": slots})
            return
        _say(answer, deployment, dry_run)
        made = [s["created"] for s in answer["slots"] if s.get("created")]
        if made and (sys.stdout.isatty() if follow is None else follow):
            follow_progress(client, answer["id"], made)


def _moment(value: str, option: str) -> datetime:
    """An ISO date or time, with its zone if it names one."""
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(
            f"{value!r} is not a date or time like 2026-01-01 or 2026-01-01T02:00",
            param_hint=option,
        ) from None


def _parameters(text: str | None) -> dict[str, Any] | None:
    if text is None:
        return None
    import json

    try:
        value = json.loads(text)
    except ValueError as exc:
        raise typer.BadParameter(f"not JSON: {exc}", param_hint="--parameters") from None
    if not isinstance(value, dict):
        raise typer.BadParameter("give a JSON object", param_hint="--parameters")
    return value


def _say(answer: dict[str, Any], deployment: str, dry_run: bool) -> None:
    from orchestrate.cli.render import console

    out = console()
    slots = answer["slots"]
    if not slots:
        out.print(f"No slots of {deployment} in that range.")
        return
    for slot in slots:
        when = datetime.fromtimestamp(slot["time"], UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
        if slot.get("created"):
            out.print(f"{when}  run {slot['created'][:8]}")
        elif slot.get("existing"):
            out.print(f"{when}  already has a run {slot['existing'][:8]} (--rerun runs it again)")
        else:
            out.print(f"{when}  would run")
    made = sum(1 for s in slots if s.get("created"))
    if not dry_run:
        skipped = sum(1 for s in slots if s.get("existing") and not s.get("created"))
        out.print(
            f"Backfill {answer['id']}: {made} run(s) queued, {skipped} slot(s) already had one. "
            f"Follow them with `orc runs ls --backfill {answer['id']}`."
        )


def cancel_backfill(client: Client, backfill: str, json_output: bool) -> None:
    """Cancel every unfinished run tagged with the backfill (`orc cancel --backfill ID`)."""
    runs = client.runs(limit=_MOST_RUNS, states=UNFINISHED, tag=f"backfill:{backfill}")
    pending = [r for r in runs if r.state.type != "CANCELLING"]
    if not json_output:
        if not pending:
            print(f"No unfinished runs of backfill {backfill}.", flush=True)
            return
        print(f"Cancelling {len(pending)} unfinished run(s) of backfill {backfill}.", flush=True)
    from orchestrate.core.errors import Conflict

    cancelled = []
    for run in pending:
        try:
            info = client.cancel_run(run.id)
        except Conflict:  # it finished between the listing and now: nothing left to stop
            continue
        cancelled.append(info)
        if not json_output:
            print(f"{info.id}: {info.state.name}", flush=True)
    if json_output:
        from orchestrate.cli.render import print_json

        print_json([{"id": i.id, "state": i.state.name} for i in cancelled])


def follow_progress(client: Client, backfill: str, run_ids: list[str]) -> None:
    """Print a progress line each time a run of the backfill changes state, until all are final."""
    wanted = set(run_ids)
    states: dict[str, tuple[str, str]] = {}
    shown = ""
    with client.subscribe(["flow_run"]) as changes:
        for run in client.runs(limit=_MOST_RUNS, tag=f"backfill:{backfill}"):
            if run.id in wanted:
                states[run.id] = (run.state.type, run.state.name)
        shown = _progress(backfill, states, len(wanted), shown)
        if _done(states, wanted):
            return
        for change in changes:
            if change.data.get("id") in wanted:
                state = change.data["state"]
                # a final state counts once the daemon says it is settled (no retry coming)
                settled = state["type"] not in _FINAL or change.data.get("settled")
                kind = state["type"] if settled else "SETTLING"
                states[change.data["id"]] = (kind, state["name"])
                shown = _progress(backfill, states, len(wanted), shown)
            if _done(states, wanted):
                return


def _done(states: dict[str, tuple[str, str]], wanted: set[str]) -> bool:
    return all(states.get(i, ("", ""))[0] in _FINAL for i in wanted)


def _progress(backfill: str, states: dict[str, tuple[str, str]], total: int, shown: str) -> str:
    """`Backfill 1a2b: 3/5 finished (3 Completed, 1 Running, 1 Scheduled)`, printed if new."""
    finished = sum(1 for kind, _ in states.values() if kind in _FINAL)
    names = Counter(name for _, name in states.values())
    parts = ", ".join(f"{n} {name}" for name, n in names.most_common())
    line = f"Backfill {backfill}: {finished}/{total} finished ({parts})"
    if line != shown:
        print(line, flush=True)
    return line
