"""Each daemon call is declared once: both clients offer it alike and send the same request."""

from __future__ import annotations

import asyncio
import inspect
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from orchestrate.client import AsyncClient, Client, connect, protocol
from orchestrate.client.protocol import Method
from orchestrate.daemon.rpc_connection import Connection

from .conftest import FakeDaemon, run_detail

#: What a client does besides daemon calls: connecting, notifications, subscriptions.
CONNECTION = {"connect", "open", "close", "notify", "send_lines", "subscribe"}

STATE = {"type": "COMPLETED", "name": "Completed", "timestamp": 1.0}
RUN = {"id": "abc", "name": "brave-fox", "flow_name": "etl", "state": STATE, "created": 1.0}
DEPLOYMENT = {"name": "etl", "entrypoint": "etl.py:nightly", "paused": True}
EVENT = {"id": "e1", "occurred": 1.0, "event": "acme.done", "resource": {"orc.resource.id": "r"}}
AUTOMATION = {"name": "tidy", "enabled": False, "trigger_text": "when acme.done"}
LOG = {"flow_run_id": "abc", "ts": 1.0, "level": 20, "logger": "orc", "message": "hi"}

#: A canned answer to every method a client requests (hello is the server's own).
ANSWERS: dict[str, Any] = {
    Method.STATUS: {
        "pid": 1,
        "version": "test",
        "project": "demo",
        "project_root": "/srv/demo",
        "started_at": 1.0,
        "uptime_seconds": 2.0,
        "running": [RUN],
    },
    Method.DEPLOYMENTS_LIST: [DEPLOYMENT],
    Method.DEPLOYMENTS_GET: {**DEPLOYMENT, "next_times": [5.0]},
    Method.DEPLOYMENTS_PAUSE: DEPLOYMENT,
    Method.DEPLOYMENTS_RESUME: {**DEPLOYMENT, "paused": False},
    Method.RUNS_LIST: [RUN, RUN],
    Method.RUNS_GET: run_detail(2).model_dump(),
    Method.RUNS_LOGS: [LOG],
    Method.RUNS_LOG_PAGE: {"lines": [["t1", 1.0, 20, "orc", "hi"]], "next": [1000000, 7]},
    Method.RUNS_CREATE: RUN,
    Method.RUNS_CANCEL: RUN,
    Method.RUNS_RETRY: {**RUN, "id": "def"},
    Method.RUNS_RESUME: RUN,
    Method.RUNS_PAUSE: {"key": "1", "input_schema": None, "expires": 5.0, "suspended": False},
    Method.EVENTS_LIST: [EVENT],
    Method.EVENTS_EMIT: EVENT,
    Method.EVENTS_EMIT_MANY: {"ids": ["e1", "e2"]},
    Method.AUTOMATIONS_LIST: [AUTOMATION],
    Method.AUTOMATIONS_GET: AUTOMATION,
    Method.AUTOMATIONS_PAUSE: AUTOMATION,
    Method.AUTOMATIONS_RESUME: {**AUTOMATION, "enabled": True},
    Method.SHUTDOWN: {"pid": 1, "grace": 10.0},
    Method.SQL_QUERY: {"columns": ["n"], "types": ["BIGINT"], "rows": [[2]], "truncated": False},
    Method.SQL_COPY: {"rows": 2, "path": "/tmp/runs.parquet"},
    Method.SQL_SCHEMA: [["flow_runs", "id", "VARCHAR"]],
    Method.SQL_SPOOL: {
        "path": "/tmp/rows.ndjson",
        "columns": ["n"],
        "types": ["BIGINT"],
        "rows": 1,
    },
    Method.STORE_BACKUP: {"path": "/tmp/orc.backup", "bytes": 1},
    Method.RUNS_PRUNE: {"flow_runs": 1, "task_runs": 2, "states": 3, "edges": 0, "logs": 4},
    Method.RUNS_BACKFILL: {
        "id": "b1",
        "slots": [{"time": 1.0, "key": "k", "existing": None, "created": "r"}],
    },
}

#: Every daemon call a client offers, with arguments a caller might give.
CALLS: list[tuple[str, tuple[Any, ...], dict[str, Any]]] = [
    ("hello", (), {}),
    ("status", (), {}),
    ("call", ("status",), {}),
    ("deployments", (), {}),
    ("deployment", ("etl",), {}),
    ("pause_deployment", ("etl",), {}),
    ("resume_deployment", ("etl",), {}),
    ("runs", (), {}),
    ("runs", (5,), {"state": "Failed", "deployment": "etl", "since": 3.0}),
    ("run", ("abc",), {}),
    ("logs", ("abc",), {"after": 1.0, "level": 30}),
    ("log_page", ("abc",), {"after": [1000000, 7], "size": 10}),
    ("create_run", ("etl",), {"parameters": {"days": 2}}),
    ("create_run", ("etl",), {}),
    ("cancel_run", ("abc",), {}),
    ("retry_run", ("abc",), {}),
    ("resume_run", ("abc", {"approved": True}), {}),
    ("run_pause", ("abc",), {}),
    ("events", (), {"name": "acme.*", "limit": 3}),
    ("emit_event", ("acme.done", {"orc.resource.id": "r"}), {"payload": {"n": 1}}),
    ("emit_events", ([{"event": "acme.done", "resource": {"orc.resource.id": "r"}}],), {}),
    ("automations", (), {}),
    ("automation", ("tidy",), {}),
    ("pause_automation", ("tidy",), {}),
    ("resume_automation", ("tidy",), {}),
    ("shutdown", (), {}),
    ("sql_query", ("SELECT count(*) AS n FROM flow_runs",), {"limit": 10}),
    ("sql_copy", ("SELECT 1", "/tmp/runs.parquet", "parquet"), {}),
    ("sql_spool", ("SELECT 1",), {"timeout": 5.0}),
    ("sql_schema", (), {}),
    ("backup_store", ("/tmp/orc.backup",), {}),
    ("prune_runs", (86400.0,), {"deployment": "etl", "dry_run": True}),
    ("backfill", ("etl", 1.0, 2.0), {"dry_run": True}),
]


class AnsweringDaemon(FakeDaemon):
    """Answers every protocol method with its canned result and keeps each request it got."""

    def __init__(self, root: Path) -> None:
        super().__init__(root)
        self.asked: list[tuple[str, dict[str, Any]]] = []
        self._lock = threading.Lock()

    def hello(self) -> protocol.Hello:
        return protocol.Hello(
            protocol=protocol.PROTOCOL_VERSION,
            version="test",
            pid=1,
            project="demo",
            project_root=str(self.root),
            started_at=1.0,
        )

    def handlers(self) -> dict[str, Any]:
        return {method: self._answer(method, answer) for method, answer in ANSWERS.items()}

    def _answer(self, method: str, answer: Any) -> Any:
        async def handle(params: dict[str, Any], connection: Connection) -> Any:
            with self._lock:
                self.asked.append((method, params))
            return answer

        return handle

    def take(self) -> list[tuple[str, dict[str, Any]]]:
        """The requests since the last `take`, in the order they came."""
        with self._lock:
            asked, self.asked = self.asked, []
        return asked


@pytest.fixture
def answering(tmp_path: Path) -> Iterator[AnsweringDaemon]:
    daemon = AnsweringDaemon(tmp_path).start()
    yield daemon
    daemon.stop()


def daemon_calls(client_class: type) -> set[str]:
    """The public methods of a client class that are daemon calls."""
    names = {name for name in dir(client_class) if not name.startswith("_")}
    return {name for name in names - CONNECTION if callable(getattr(client_class, name))}


def test_the_async_client_offers_each_call_as_the_blocking_one_documents_it() -> None:
    """`help()` on an `AsyncClient` call shows the blocking one's parameters and words."""
    assert daemon_calls(AsyncClient) == daemon_calls(Client) == {name for name, *_ in CALLS}
    for name in sorted(daemon_calls(Client)):
        blocking, awaited = getattr(Client, name), getattr(AsyncClient, name)
        assert inspect.signature(awaited) == inspect.signature(blocking), name
        assert inspect.getdoc(blocking), f"Client.{name} has no docstring"
        assert inspect.getdoc(awaited) == inspect.getdoc(blocking), name


async def test_both_clients_send_each_call_alike_and_read_the_same_result(
    answering: AnsweringDaemon,
) -> None:
    def blocking() -> list[Any]:
        with connect(answering.root) as client:
            return [getattr(client, name)(*args, **kwargs) for name, args, kwargs in CALLS]

    read_blocking = await asyncio.to_thread(blocking)
    sent_blocking = answering.take()
    async with await AsyncClient.connect(answering.root) as client:
        read_awaited = [await getattr(client, name)(*args, **kw) for name, args, kw in CALLS]
    sent_awaited = answering.take()

    assert sent_awaited == sent_blocking
    assert read_awaited == read_blocking
    assert read_blocking[CALLS.index(("run", ("abc",), {}))] == run_detail(2)
    assert ("runs.list", {"limit": 50}) in sent_blocking  # None means "not asked": not sent
    unanswered = {Method.HELLO, Method.SUBSCRIBE, Method.UNSUBSCRIBE, Method.RECORDS, Method.NOTIFY}
    assert {method for method, _ in sent_blocking} == set(Method) - unanswered
