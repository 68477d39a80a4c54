"""The daemon's hold on a paused run, on a clock the test moves: resume, input, expiry.

A real `Daemon` and deployment table, with no worker started (the run is moved
to Running by hand, as a worker would report it) and its writer a list: the
store is not what is tested here (tests/daemon/test_pauses.py drives the whole
path). The clock is injected, so a pause's timeout passes without waiting.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from orchestrate.client import protocol
from orchestrate.config.loader import load_config
from orchestrate.core.records import EventRecord, FlowRunRecord
from orchestrate.core.runs import new_id, transition
from orchestrate.core.states import State, StateType
from orchestrate.daemon.deployments import DeploymentTable
from orchestrate.daemon.rpc_wire import RpcError
from orchestrate.daemon.service import Daemon
from orchestrate.engine.pauses import PAUSE_EVENT


class ListWriter(list[Any]):
    def put(self, record: Any) -> None:
        self.append(record)


@pytest.fixture
def clocked(tmp_path: Path) -> tuple[Daemon, list[float]]:
    (tmp_path / "flows.py").write_text("def approve() -> None:\n    pass\n")
    (tmp_path / "flows.toml").write_text(
        '[project]\nname = "p"\n\n[[deployments]]\nname = "approve"\n'
        'entrypoint = "flows.py:approve"\nretries = 3\n'
    )
    config = load_config(tmp_path / "flows.toml")
    now = [1000.0]
    (tmp_path / ".orc").mkdir()
    daemon = Daemon(
        tmp_path,
        DeploymentTable(config, tmp_path / ".orc"),
        ListWriter(),
        lambda on_records: None,
        clock=lambda: now[0],
    )
    return daemon, now


def _paused(daemon: Daemon, timeout: float, reschedule: bool, schema: Any = None) -> FlowRunRecord:
    """A run of `approve` that is Running and then pauses, as its worker would record it."""
    run = daemon.new_run("approve")
    transition(run, State(StateType.PENDING, "Pending"), daemon)
    transition(run, State(StateType.RUNNING, "Running"), daemon)
    payload = {
        "key": "1",
        "timeout_seconds": timeout,
        "expires": daemon.clock() + timeout,
        "reschedule": reschedule,
        "input_schema": schema,
    }
    resource = {"orc.resource.id": f"orc.flow-run.{run.id}"}
    daemon.put(EventRecord(new_id(), daemon.clock(), PAUSE_EVENT, resource, payload))
    name = "Suspended" if reschedule else "Paused"
    transition(run, State(StateType.PAUSED, name), daemon)
    return run


def test_a_resume_after_the_timeout_is_refused_and_fails_the_run(
    clocked: tuple[Daemon, list[float]],
) -> None:
    daemon, now = clocked
    run = _paused(daemon, timeout=60, reschedule=True)
    now[0] += 61
    with pytest.raises(RpcError) as refused:
        daemon.pauses.resume(run.id, None)
    assert refused.value.code == protocol.CONFLICT and refused.value.data == {"reason": "expired"}
    assert "timed out, so it can no longer resume" in refused.value.message
    assert (run.state.name, run.state.message) == (
        "Failed",
        "The flow was suspended and never resumed.",
    )
    assert run.state.type is StateType.FAILED and daemon.book.get(run.id) is None  # not retried


def test_a_suspended_run_resumed_in_time_is_scheduled_again_with_its_input(
    clocked: tuple[Daemon, list[float]],
) -> None:
    daemon, now = clocked
    schema = {"type": "object", "properties": {"n": {"type": "integer"}}, "required": ["n"]}
    run = _paused(daemon, timeout=60, reschedule=True, schema=schema)
    now[0] += 59
    with pytest.raises(RpcError) as refused:
        daemon.pauses.resume(run.id, {"n": "lots"})
    assert refused.value.code == protocol.BAD_INPUT and "'n' must be an integer" in str(
        refused.value.message
    )
    assert run.state.name == "Suspended"
    daemon.pauses.resume(run.id, {"n": 4})
    assert (run.state.name, run.expected_start_time) == ("Resuming", now[0])
    assert daemon.pauses.resumed(run.id) == {"1": {"run_input": {"n": 4}}}  # for its next worker
    with pytest.raises(RpcError) as again:
        daemon.pauses.resume(run.id, {"n": 4})
    assert again.value.data == {"reason": "not-paused"}


def test_a_paused_run_with_no_worker_left_runs_again_when_resumed(
    clocked: tuple[Daemon, list[float]],
) -> None:
    daemon, _ = clocked
    run = _paused(daemon, timeout=60, reschedule=False)
    with pytest.raises(RpcError) as refused:
        daemon.pauses.resume(run.id, {"unasked": 1})
    assert "waits for no input" in refused.value.message
    daemon.pauses.resume(run.id, None)
    assert run.state.name == "Resuming"
