"""`orc run NAME`: start a run of a deployment, follow it if asked, and say what happened.

One code path for both clients: the Typer command passes a `Client` (replies
as pydantic models), the quick path a `PlainClient` (replies as plain JSON
read by attribute); what is printed comes from the same fields either way.
`--watch` follows the run by subscription (states and logs as they happen)
and its exit code says how it ended: 0 Completed, 1 Failed or Crashed,
2 Cancelled, so scripts can chain on it.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

from orchestrate.cli.exits import INTERRUPTED

if TYPE_CHECKING:
    from orchestrate.client import Client
    from orchestrate.client.plain import PlainClient
    from orchestrate.client.protocol import Topic

FINAL = {"COMPLETED", "FAILED", "CRASHED", "CANCELLED"}
EXIT_BY_TYPE = {"COMPLETED": 0, "FAILED": 1, "CRASHED": 1, "CANCELLED": 2}


def run_now(
    client: Client | PlainClient,
    name: str,
    parameters: dict[str, Any],
    watch: bool = False,
    json_output: bool = False,
    texts: dict[str, str] | None = None,
) -> int:
    """Start a run of `name` now and print it (followed to its end with `watch`); the exit code.
    `texts` are the `-p` values as typed (see `params.param_texts`)."""
    created = client.create_run(name, parameters, texts)
    if not json_output:
        print(f"Started {created.id} ({created.name}) of {name}.", flush=True)
    try:
        code = follow(client, created, quiet=json_output) if watch else 0
    except KeyboardInterrupt:  # Ctrl-C stops the watching, not the run
        print(
            f"\nStopped watching; run {created.id} goes on (`orc runs show {created.id[:8]}`, "
            f"`orc cancel {created.id[:8]}`).",
            file=sys.stderr,
        )
        return INTERRUPTED
    if json_output:
        print_run(client.run(created.id).run if watch else created)
    return code


def print_run(info: Any) -> None:
    """A run as `orc runs ls --json` shows it (ISO times with their offset)."""
    from orchestrate.cli import render
    from orchestrate.cli.reads import flow_run_view

    render.print_json(render.flow_run_json(flow_run_view(info)))


def plain(value: Any) -> dict[str, Any]:
    """A reply as a dict, from either client (a model dumped, plain JSON as it is)."""
    return value if isinstance(value, dict) else value.model_dump()


def follow(client: Client | PlainClient, created: Any, quiet: bool = False) -> int:
    """Print the run's states and logs (unless `quiet`), in order, until it has settled;
    its exit code.

    States come from the run's stored history, read again at each change pushed (pushes
    may skip states, and a warm run can be over before the subscription starts); what
    was printed already is skipped.
    """
    from orchestrate.core.errors import ConnectionLost

    seen: set[tuple[int, str]] = _Everything() if quiet else set()
    try:
        return _follow(client, created.id, seen, logs=True)
    except ConnectionLost:
        # The daemon drops a subscriber that falls far behind (a run printing faster than
        # this terminal takes it): the run goes on, and so does the watch, on its states.
        # If the daemon itself went away, subscribing again fails and says so instead.
        note = (
            f"orc: this watch fell behind the run's output and was dropped; following its "
            f"states only (every line: `orc logs {created.id[:8]}`)."
        )
        return _follow(client, created.id, seen, logs=False, note=note)


def _follow(
    client: Client | PlainClient,
    run_id: str,
    seen: set[tuple[int, str]],
    logs: bool,
    note: str | None = None,
) -> int:
    """`follow` over one subscription: the run's states, and with `logs` its log lines;
    `note` is said on stderr once the subscription holds."""
    topics: list[Topic] = ["flow_run", "log"] if logs else ["flow_run"]
    with client.subscribe(topics, flow_run_id=run_id) as changes:
        if note is not None:
            print(note, file=sys.stderr, flush=True)
        found = client.run(run_id)  # before the logs: once settled, all its lines are stored
        past = [(s.timestamp, {"state": plain(s)}) for s in found.state_history]
        if logs:
            past += [(line.ts, plain(line)) for line in client.logs(run_id)]
        for _, data in sorted(past, key=lambda item: item[0]):
            _show(data, seen)
        detail = plain(found.run)
        while not (detail["state"]["type"] in FINAL and not _may_retry(detail)):
            change = next(changes, None)
            if change is None:
                return 1
            if change.topic == "log":
                _show(change.data, seen)
                continue
            found = client.run(run_id)
            detail = dict(plain(found.run))
            detail["settled"] = bool(change.data.get("settled") or detail.get("settled"))
            now = [(s.timestamp, {"state": plain(s)}) for s in found.state_history]
            if logs and detail["state"]["type"] in FINAL and not _may_retry(detail):
                # settled: every line is stored, though its push may come after this one
                now += [(line.ts, plain(line)) for line in client.logs(run_id)]
            for _, data in sorted(now, key=lambda item: item[0]):
                _show(data, seen)
        return EXIT_BY_TYPE[detail["state"]["type"]]


class _Everything(set[tuple[int, str]]):
    """A `seen` set that has seen every state and log line: a quiet watch prints none."""

    def __contains__(self, item: object) -> bool:
        return True


def _key(ts: float, text: str) -> tuple[int, str]:
    """What tells a state or a log line from the others: its time in whole microseconds,
    rounded as the store rounds it, so a line pushed as it happened and read back from the
    store later is one line."""
    return round(float(ts) * 1e6), text


def _show(data: dict[str, Any], seen: set[tuple[int, str]]) -> None:
    """Print a state or a log line once."""
    if "state" not in data:
        _print_log(data, seen)
        return
    state = data["state"]
    key = _key(state["timestamp"], str(state["name"]))
    if key not in seen:
        seen.add(key)
        extra = f": {state['message']}" if state.get("message") else ""
        print(f"[{state['name']}]{extra}", flush=True)


def _may_retry(data: dict[str, Any]) -> bool:
    return not data.get("settled", True)


def _print_log(data: dict[str, Any], seen: set[tuple[int, str]]) -> None:
    key = _key(data["ts"], str(data["message"]))
    if key in seen:
        return
    seen.add(key)
    from orchestrate.cli.render import level_name

    level = level_name(data["level"])
    print(f"{level:<8} {data['message']}", flush=True)
