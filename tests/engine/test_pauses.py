"""Pausing in the engine: what a pause records, what it returns, and when it refuses.

The resume itself comes from the daemon through a worker's channel; here a gate
answered by the test stands in for it (`AnsweringGate`), since the engine only
asks "was this pause resumed, with what?". The real path (worker, daemon,
`orc runs resume`) is tested in tests/daemon/test_pauses.py.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest
from pydantic import BaseModel

from orchestrate import flow, task
from orchestrate.core.errors import InvalidStateTransition
from orchestrate.core.states import STATE_NAMES, State, StateType, validate_transition
from orchestrate.engine.pauses import PAUSE_EVENT, install_resume_gate
from orchestrate.exceptions import FlowPauseTimeout
from orchestrate.flow_runs import pause_flow_run, suspend_flow_run
from tests.engine.conftest import MemorySink


class Approval(BaseModel):
    approved: bool
    note: str = ""


class AnsweringGate:
    """Answers every pause at once with `answer` (None: never, so it times out)."""

    def __init__(self, answer: dict[str, Any] | None, earlier: dict[str, Any] | None = None):
        self.answer = answer
        self.earlier = earlier or {}
        self.waits: list[tuple[str, float | None]] = []

    def resumed_before(self, run_id: str, key: str) -> tuple[bool, dict[str, Any] | None]:
        return (key in self.earlier), self.earlier.get(key)

    def wait(self, run_id: str, key: str, timeout: float | None) -> dict[str, Any] | None:
        self.waits.append((key, timeout))
        return self.answer


@pytest.fixture
def gate_of() -> Iterator[Any]:
    def install(gate: AnsweringGate) -> AnsweringGate:
        install_resume_gate(gate)
        return gate

    yield install
    install_resume_gate(None)


def _state(type_: StateType, name: str) -> State:
    return State(type_, name)


@pytest.mark.parametrize(
    ("before", "after", "allowed"),
    [
        ((StateType.RUNNING, "Running"), (StateType.PAUSED, "Paused"), True),
        ((StateType.RUNNING, "Running"), (StateType.PAUSED, "Suspended"), True),
        ((StateType.PAUSED, "Paused"), (StateType.RUNNING, "Running"), True),
        ((StateType.PAUSED, "Suspended"), (StateType.SCHEDULED, "Resuming"), True),
        ((StateType.PAUSED, "Paused"), (StateType.FAILED, "Failed"), True),
        ((StateType.PAUSED, "Paused"), (StateType.CANCELLED, "Cancelled"), True),
        ((StateType.SCHEDULED, "Scheduled"), (StateType.PAUSED, "Paused"), False),
        ((StateType.PAUSED, "Paused"), (StateType.COMPLETED, "Completed"), False),
        ((StateType.COMPLETED, "Completed"), (StateType.PAUSED, "Paused"), False),
    ],
)
def test_the_moves_of_a_pause_in_the_transition_table(
    before: tuple[StateType, str], after: tuple[StateType, str], allowed: bool
) -> None:
    proposed = _state(*after)
    if allowed:
        validate_transition(_state(*before), proposed)
    else:
        with pytest.raises(InvalidStateTransition):
            validate_transition(_state(*before), proposed)


def test_resuming_is_a_scheduled_state_name() -> None:
    assert STATE_NAMES["Resuming"] is StateType.SCHEDULED
    assert STATE_NAMES["Suspended"] is STATE_NAMES["Paused"] is StateType.PAUSED


def test_pausing_outside_a_flow_run_is_refused_as_in_prefect() -> None:
    with pytest.raises(RuntimeError, match="can only be paused from within a flow run"):
        pause_flow_run()
    with pytest.raises(RuntimeError, match="can only be suspended from within a flow run"):
        suspend_flow_run()


def test_a_flow_run_nothing_could_resume_is_refused_with_what_to_do(recorded: MemorySink) -> None:
    @flow
    def alone() -> None:
        pause_flow_run(timeout=5)

    state = alone(return_state=True)
    assert state.is_failed()
    assert "orc run DEPLOYMENT" in (state.message or "") and "orc runs resume" in (
        state.message or ""
    )


def test_suspending_from_a_task_is_refused(recorded: MemorySink, gate_of: Any) -> None:
    gate_of(AnsweringGate({"run_input": None}))

    @task
    def inner() -> None:
        suspend_flow_run()

    @flow
    def outer() -> None:
        inner()

    state = outer(return_state=True)
    assert state.is_failed() and "Cannot suspend task runs." in (state.message or "")


def test_a_pause_records_paused_then_running_and_returns_the_validated_model(
    recorded: MemorySink, gate_of: Any
) -> None:
    gate = gate_of(AnsweringGate({"run_input": {"approved": "true", "note": "fine"}}))

    @flow
    def approve() -> Approval:
        return pause_flow_run(wait_for_input=Approval, timeout=30)

    answer = approve()
    assert answer == Approval(approved=True, note="fine")
    run = recorded.flow_runs()[0]
    assert recorded.history(run.id)[-3:] == ["Paused", "Running", "Completed"]
    [event] = [e for e in recorded.events() if e.event == PAUSE_EVENT]
    assert event.payload["key"] == "1" and event.payload["timeout_seconds"] == 30
    assert event.payload["reschedule"] is False
    assert event.payload["input_schema"]["required"] == ["approved"]
    assert gate.waits == [("1", 30)]


def test_each_pause_of_a_run_has_its_own_key_and_a_plain_type_comes_back_as_its_value(
    recorded: MemorySink, gate_of: Any
) -> None:
    gate = gate_of(AnsweringGate({"run_input": {"value": "4"}}))

    @flow
    def twice() -> int:
        first: int = pause_flow_run(wait_for_input=int)
        second: int = pause_flow_run(wait_for_input=int, key="last")
        return first + second

    assert twice() == 8
    assert [key for key, _ in gate.waits] == ["1", "last"]


def test_a_pause_not_resumed_in_time_fails_the_run_with_flow_pause_timeout(
    recorded: MemorySink, gate_of: Any
) -> None:
    gate_of(AnsweringGate(None))

    @flow
    def waits() -> None:
        pause_flow_run(timeout=1)

    state = waits(return_state=True)
    assert state.is_failed()
    assert isinstance(state.exception, FlowPauseTimeout)
    assert state.message == "FlowPauseTimeout: Flow run was paused and never resumed."


def test_a_suspend_ends_the_body_and_leaves_the_run_suspended(
    recorded: MemorySink, gate_of: Any
) -> None:
    gate_of(AnsweringGate(None))
    reached: list[str] = []

    @flow
    def suspends() -> None:
        suspend_flow_run(timeout=60)
        reached.append("after")

    state = suspends(return_state=True)
    assert (state.type, state.name) == (StateType.PAUSED, "Suspended")
    assert reached == []
    [event] = [e for e in recorded.events() if e.event == PAUSE_EVENT]
    assert event.payload["reschedule"] is True


def test_a_rerun_passes_a_suspend_already_resumed_with_its_input(
    recorded: MemorySink, gate_of: Any
) -> None:
    gate_of(AnsweringGate(None, earlier={"1": {"run_input": {"approved": False}}}))

    @flow
    def suspends() -> bool:
        return suspend_flow_run(wait_for_input=Approval).approved

    assert suspends() is False
    assert not [e for e in recorded.events() if e.event == PAUSE_EVENT]


def test_pause_flow_run_from_async_code_is_awaitable(recorded: MemorySink, gate_of: Any) -> None:
    gate_of(AnsweringGate({"run_input": {"value": 2}}))

    @flow
    async def approve() -> int:
        return await pause_flow_run(wait_for_input=int, timeout=30)

    assert asyncio.run(approve()) == 2


def test_a_run_input_with_initial_data_gives_defaults_and_says_what_it_asks(
    recorded: MemorySink, gate_of: Any
) -> None:
    from orchestrate.daemon.run_input import problems
    from orchestrate.input import RunInput

    class Payout(RunInput):
        approved: bool
        amount: int = 0

    asked = Payout.with_initial_data(description="Pay out?", approved=False)
    gate_of(AnsweringGate({"run_input": {}}))

    @flow
    def payout() -> Any:
        return pause_flow_run(wait_for_input=asked)

    answer = payout()
    assert isinstance(answer, Payout) and (answer.approved, answer.amount) == (False, 0)
    paused = [
        r.state
        for r in recorded.records
        if isinstance(getattr(r, "state", None), State) and r.state.name == "Paused"
    ]
    assert "Pay out?" in (paused[0].message or "")
    [event] = [e for e in recorded.events() if e.event == PAUSE_EVENT]
    assert problems({"approved": True, "tip": 1}, event.payload["input_schema"]) == [
        "input has no field 'tip' (it has: approved, amount)"
    ]
