"""`orc store-stdio`: the daemon's read methods over stdin and stdout, answered from the store file.

When no daemon runs, `orc tui` still shows what the project has stored: it
starts this command and speaks the daemon's protocol to it, so the dashboard
never opens DuckDB itself. Each request opens the file read-only and closes
it again (DuckDB lets no other process open a file a writer holds, so a
daemon that starts meanwhile is never kept out). Subscriptions are accepted
and never pushed to; every method that would change something is refused,
saying the view is read-only and how to start the daemon.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import typer

from orchestrate.cli.options import ProjectOption
from orchestrate.client import protocol
from orchestrate.client.protocol import Method

Handler = Callable[[Path, dict[str, Any]], Any]


def store_stdio(project: ProjectOption = None) -> None:
    """Answer the daemon's read requests from the project's store, read-only, on stdin and stdout.

    Used by `orc tui` when no daemon runs; each request opens the store file
    and closes it again, so `orc up` can start at any time.
    """
    from orchestrate.cli.exits import report
    from orchestrate.core.errors import StoreError
    from orchestrate.core.project import project_root, store_path

    # not `project_folder`: the dashboard shows this command's own words for a missing folder
    root = project.expanduser().resolve() if project else project_root()
    if not root.is_dir():
        error = StoreError(f"no project folder at {root}: give --project the folder of flows.toml")
        raise typer.Exit(report(error))
    if not store_path(root).is_file():  # said once, up front, not as a failure of every read
        error = StoreError(
            f"no store at {store_path(root)}: nothing has been recorded in {root} yet; "
            f"run a flow or start the daemon there (`orc up --project {root}`)"
        )
        raise typer.Exit(report(error))
    serve(root, sys.stdin.buffer, sys.stdout.buffer)


def serve(root: Path, requests: Any, replies: Any) -> None:
    """Answer each request line until stdin ends."""
    started = _store_time(root)
    subscriptions = iter(range(1, 2**31))
    for line in requests:
        try:
            message = json.loads(line)
        except ValueError:
            continue
        if not isinstance(message, dict) or "id" not in message:
            continue  # a notification: nothing to answer
        method, params = message.get("method", ""), message.get("params") or {}
        try:
            if method == Method.SUBSCRIBE:
                result: Any = {"subscription": next(subscriptions)}
            elif method == Method.HELLO:
                result = _hello(root, started)
            elif method in READS:
                result = READS[method](root, params)
            else:
                raise _Refused(_refusal(root, method))
            reply: dict[str, Any] = {"jsonrpc": "2.0", "id": message["id"], "result": result}
        except _Refused as refused:
            reply = _error(message["id"], refused.code, str(refused))
        except Exception as error:  # one bad request must not end the view
            reply = _error(message["id"], _code(error), str(error))
        replies.write(json.dumps(reply, separators=(",", ":"), default=str).encode() + b"\n")
        replies.flush()


class _Refused(Exception):
    code = protocol.CONFLICT


def _refusal(root: Path, method: str) -> str:
    return (
        f"this is a read-only view of {root}'s store: the daemon is not running, so `{method}` "
        f"cannot be done; start it with `orc up --project {root}`"
    )


def _error(request_id: Any, code: int, message: str) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": request_id, "error": {"code": code, "message": message}}


def _code(error: Exception) -> int:
    from orchestrate.core.errors import NotFound

    return (
        protocol.NOT_FOUND if isinstance(error, NotFound | LookupError) else protocol.INTERNAL_ERROR
    )


def _store_time(root: Path) -> float:
    """When the store was last written: what the view shows is as of then."""
    from orchestrate.core.project import store_path

    path = store_path(root)
    wal = path.with_name(path.name + ".wal")
    times = [p.stat().st_mtime for p in (path, wal) if p.exists()]
    return max(times, default=0.0)


def _hello(root: Path, started: float) -> dict[str, Any]:
    from orchestrate._version import __version__
    from orchestrate.cli.offline import _config

    try:
        name = _config(root).project.name or root.name
    except Exception:  # a broken flows.toml still leaves the store to look at
        name = root.name
    return {
        "protocol": protocol.PROTOCOL_VERSION,
        "version": __version__,
        "pid": os.getpid(),
        "project": name,
        "project_root": str(root),
        "started_at": started,
        "readonly": True,
    }


def _store(root: Path) -> Any:
    from orchestrate.core.project import store_path
    from orchestrate.store.queries import Store

    return Store(store_path(root))


def _status(root: Path, params: dict[str, Any]) -> dict[str, Any]:
    hello = _hello(root, _store_time(root))
    return {**hello, "uptime_seconds": 0.0, "running": [], "queued": 0}


def _runs(root: Path, params: dict[str, Any]) -> list[dict[str, Any]]:
    from orchestrate.daemon import views

    with _store(root) as store:
        found = store.list_flow_runs(
            state=params.get("state"),
            limit=int(params.get("limit") or 50),
            deployment=params.get("deployment"),
            since=params.get("since"),
            upcoming=bool(params.get("upcoming")),
        )
        return [views.stored_flow_run_info(run) for run in found]


def _run(root: Path, params: dict[str, Any]) -> dict[str, Any]:
    from orchestrate.daemon import views

    with _store(root) as store:
        run = store.get_flow_run(str(params.get("id", "")))
        detail: dict[str, Any] = {
            "run": views.stored_flow_run_info(run),
            "task_runs": [views.stored_task_run_info(t) for t in store.task_runs(run.id)],
            "state_history": [
                views.stored_state_info(e.state) for e in store.state_history(run.id)
            ],
            "subflow_runs": [views.stored_flow_run_info(c) for c in store.child_flow_runs(run.id)],
        }
    detail["run"]["settled"] = True  # nothing runs while no daemon does
    return detail


def _logs(root: Path, params: dict[str, Any]) -> list[dict[str, Any]]:
    from orchestrate.daemon import views

    with _store(root) as store:
        run_id = store.get_flow_run(str(params.get("id", ""))).id
        lines = store.logs(run_id, params.get("after"), params.get("limit"), params.get("level"))
        return [views.stored_log_info(line) for line in lines]


def _events(root: Path, params: dict[str, Any]) -> list[dict[str, Any]]:
    from orchestrate.daemon import views

    with _store(root) as store:
        rows = store.events(
            params.get("name"),
            params.get("resource"),
            params.get("since"),
            int(params.get("limit") or 100),
        )
        return [views.event_info(row) for row in rows]


def _offline() -> Any:
    from orchestrate.cli import offline

    return offline


def _deployments(root: Path, params: dict[str, Any]) -> list[Any]:
    from orchestrate.cli import offline

    return [d.model_dump() for d in offline.deployments(root)]


def _automations(root: Path, params: dict[str, Any]) -> list[Any]:
    from orchestrate.cli import offline

    return [a.model_dump() for a in offline.automations(root)]


READS: dict[str, Handler] = {
    Method.STATUS: _status,
    Method.RUNS_LIST: _runs,
    Method.RUNS_GET: _run,
    Method.RUNS_LOGS: _logs,
    Method.EVENTS_LIST: _events,
    Method.DEPLOYMENTS_LIST: _deployments,
    Method.DEPLOYMENTS_GET: lambda root, params: _offline().deployment(
        root, str(params.get("name"))
    ),
    Method.AUTOMATIONS_LIST: _automations,
    Method.AUTOMATIONS_GET: lambda root, params: _offline().automation(
        root, str(params.get("name"))
    ),
    Method.UNSUBSCRIBE: lambda root, params: {},
}
