"""`runs.get` says a run has settled only when the state it shows from the store is its last.

The store is read in a thread while the daemon's loop goes on; whether the run
has settled is asked of the live run once the read is back. A run that failed
and was retried at once could end its retry during that read: the reply then
showed the first attempt's Failed, with its history up to there, marked as
settled, and `orc run --watch` stopped on it, printing one `[Failed]` of two
and no `[AwaitingRetry]`. Here the read is held, right after it has read the
store, until the run has done just that.

A real `Daemon`, deployment table and store; no worker runs: the attempts are
moved by hand, as a worker would report them, and end through the path a
worker's exit takes (`retries.after_exit`).
"""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path
from typing import Any

import pytest

from orchestrate.config.loader import load_config
from orchestrate.core.records import FlowRunRecord
from orchestrate.core.runs import transition
from orchestrate.core.states import State, StateType
from orchestrate.daemon import handlers as handlers_module
from orchestrate.daemon import retries
from orchestrate.daemon.deployments import DeploymentTable
from orchestrate.daemon.handlers import Handlers
from orchestrate.daemon.service import Daemon
from orchestrate.store import StoreWriter, migrations
from orchestrate.store.connection import connect

pytestmark = pytest.mark.timeout(60)

ATTEMPT = ["Pending", "Running", "Failed"]
ALL_STATES = ["Scheduled", *ATTEMPT, "AwaitingRetry", *ATTEMPT]


@pytest.fixture
def served(tmp_path: Path) -> Any:
    """A daemon of one deployment, `fails` (retries = 1), over a store file, and its handlers."""
    (tmp_path / "flows.py").write_text("def fails() -> None:\n    raise ValueError('no')\n")
    (tmp_path / "flows.toml").write_text(
        '[project]\nname = "p"\n\n[[deployments]]\nname = "fails"\n'
        'entrypoint = "flows.py:fails"\nretries = 1\n'
    )
    (tmp_path / ".orc").mkdir()
    path = tmp_path / ".orc" / "orc.duckdb"
    conn = connect(path, read_only=False)
    migrations.migrate(conn, path)
    writer = StoreWriter(path, connection=conn)
    table = DeploymentTable(load_config(tmp_path / "flows.toml"), tmp_path / ".orc")
    daemon = Daemon(tmp_path, table, writer, lambda on_records: None)
    yield daemon, Handlers(daemon, conn, "test")
    writer.close()
    conn.close()


def _attempt(daemon: Daemon, run: FlowRunRecord) -> None:
    """One attempt that fails: counted and Pending as the daemon dispatches it, then Running
    and Failed as its worker reports them."""
    run.run_count += 1
    transition(run, State(StateType.PENDING, "Pending"), daemon)
    transition(run, State(StateType.RUNNING, "Running"), daemon)
    transition(run, State(StateType.FAILED, message="ValueError: no"), daemon)


def _names(reply: dict[str, Any]) -> list[str]:
    return [state["name"] for state in reply["state_history"]]


async def test_a_read_that_the_retry_outran_does_not_say_settled(
    served: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    daemon, handlers = served
    run = daemon.create_manual("fails", {})
    _attempt(daemon, run)
    read, go_on = threading.Event(), threading.Event()

    def held_read(id_or_prefix: str, store: Any) -> dict[str, Any]:
        detail = real_read(id_or_prefix, store)
        read.set()
        go_on.wait(30)
        return detail

    real_read = handlers_module._run_detail
    monkeypatch.setattr(handlers_module, "_run_detail", held_read)
    reply = asyncio.create_task(handlers.run({"id": run.id}, None))
    assert await asyncio.to_thread(read.wait, 30), "the read never came"
    retries.after_exit(daemon, run)  # the first worker exits: retried at once
    _attempt(daemon, run)
    retries.after_exit(daemon, run)  # the retry's worker exits: the run has settled
    go_on.set()
    stale = await reply
    assert _names(stale) == ALL_STATES[:4]
    assert stale["run"]["settled"] is False, "a reply showing the first attempt said settled"

    monkeypatch.setattr(handlers_module, "_run_detail", real_read)
    fresh = await handlers.run({"id": run.id}, None)
    assert _names(fresh) == ALL_STATES
    assert fresh["run"]["settled"] is True


async def test_a_run_that_settled_before_the_read_is_settled_in_it(served: Any) -> None:
    daemon, handlers = served
    run = daemon.create_manual("fails", {})
    _attempt(daemon, run)
    retries.after_exit(daemon, run)
    _attempt(daemon, run)
    retries.after_exit(daemon, run)
    reply = await handlers.run({"id": run.id[:8]}, None)
    assert _names(reply) == ALL_STATES
    assert reply["run"]["settled"] is True


async def test_a_failed_attempt_with_a_retry_to_come_is_not_settled(served: Any) -> None:
    daemon, handlers = served
    run = daemon.create_manual("fails", {})
    _attempt(daemon, run)
    daemon.handles[run.id] = object()  # its worker has not exited yet
    assert (await handlers.run({"id": run.id}, None))["run"]["settled"] is False
    del daemon.handles[run.id]
    retries.after_exit(daemon, run)
    assert (await handlers.run({"id": run.id}, None))["run"]["settled"] is False
