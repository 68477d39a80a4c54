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
import time
from typing import TYPE_CHECKING, Any

from orchestrate.cli.exits import INTERRUPTED

if TYPE_CHECKING:
    from orchestrate.client import Client
    from orchestrate.client.plain import PlainClient
    from orchestrate.client.protocol import Topic

#: A burst of pushes ends after this long with none (seconds) ...
BURST_QUIET = 0.02
#: ... or after this long, or this many changes, so a chatty run's lines still flow.
BURST_MAX = 0.25
BURST_LINES = 500

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
        found, lines = _past(client, run_id, logs)
        past = [(s.timestamp, {"state": plain(s)}) for s in found.state_history]
        past += [(line.ts, plain(line)) for line in lines]
        for _, data in sorted(past, key=lambda item: float(item[0])):
            _show(data, seen)
        detail = plain(found.run)
        while not _settled(detail):
            burst = _burst(changes)
            if not burst:
                return 1
            pushed = [(c.data["ts"], plain(c.data)) for c in burst if c.topic == "log"]
            if len(pushed) == len(burst):
                for _, data in pushed:
                    _show(data, seen)
                continue
            found = client.run(run_id)
            detail = dict(plain(found.run))
            settled = any(c.data.get("settled") for c in burst if c.topic != "log")
            detail["settled"] = bool(settled or detail.get("settled"))
            now = [(s.timestamp, {"state": plain(s)}) for s in found.state_history] + pushed
            if logs and _settled(detail):
                # settled: every line is stored, though its push may come after this one
                now += [(line.ts, plain(line)) for line in client.logs(run_id)]
            for _, data in sorted(now, key=lambda item: float(item[0])):
                _show(data, seen)
        return EXIT_BY_TYPE[detail["state"]["type"]]


def _past(client: Client | PlainClient, run_id: str, logs: bool) -> tuple[Any, list[Any]]:
    """The run and its lines so far, read so that its states sort rightly among the lines.

    The run is read first: once it is settled, all its lines are stored. A line newer
    than its newest state may have been logged after that read, under a state it missed,
    so then the run is read again (and, if it settled meanwhile, its lines too).
    """
    found = client.run(run_id)
    if not logs:
        return found, []
    lines = list(client.logs(run_id))
    newest = max((float(s.timestamp) for s in found.state_history), default=0.0)
    if _settled(plain(found.run)) or not any(float(line.ts) > newest for line in lines):
        return found, lines
    found = client.run(run_id)
    return found, list(client.logs(run_id)) if _settled(plain(found.run)) else lines


def _settled(detail: dict[str, Any]) -> bool:
    """Whether the run is over: final, and no retry will follow."""
    return detail["state"]["type"] in FINAL and not _may_retry(detail)


def _burst(changes: Any) -> list[Any]:
    """The next change and those pushed right after it (empty once the pushes end).

    The daemon pushes a worker's batch in its order, and a run's snapshot comes at the
    batch's end, after the lines logged since its new state; taken together and sorted by
    time, a retry's `[Running]` comes before the lines that attempt logged.
    """
    from orchestrate.core.errors import DaemonTimeout

    first = next(changes, None)
    if first is None:
        return []
    burst, until = [first], time.monotonic() + BURST_MAX
    while len(burst) < BURST_LINES and time.monotonic() < until:
        try:
            burst.append(changes.get(BURST_QUIET))
        except DaemonTimeout:
            break
    return burst


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
