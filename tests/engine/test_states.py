"""The state rules: names and types, the reading API, and every transition."""

from __future__ import annotations

import itertools

import pytest

from orchestrate import states
from orchestrate.core.errors import (
    CancelledRun,
    CrashedRun,
    FailedRun,
    InvalidStateTransition,
    UnfinishedRun,
)
from orchestrate.states import State, StateType, validate_transition

T = StateType

# Written out by hand from the rules (not derived from the code's table):
# a new run starts Scheduled or Pending; Running never goes back to Pending;
# Cancelling only ends; a final run may only be scheduled again (a retry).
EXPECTED_ALLOWED = {
    None: {T.SCHEDULED, T.PENDING},
    T.SCHEDULED: {
        T.SCHEDULED,
        T.PENDING,
        T.RUNNING,
        T.FAILED,
        T.CRASHED,
        T.CANCELLING,
        T.CANCELLED,
    },
    T.PENDING: {
        T.SCHEDULED,
        T.PENDING,
        T.RUNNING,
        T.COMPLETED,
        T.FAILED,
        T.CRASHED,
        T.CANCELLING,
        T.CANCELLED,
        T.PAUSED,
    },
    T.RUNNING: {T.SCHEDULED, T.COMPLETED, T.FAILED, T.CRASHED, T.CANCELLING, T.CANCELLED, T.PAUSED},
    T.PAUSED: {T.SCHEDULED, T.PENDING, T.RUNNING, T.FAILED, T.CRASHED, T.CANCELLING, T.CANCELLED},
    T.CANCELLING: {T.COMPLETED, T.FAILED, T.CRASHED, T.CANCELLED},
    T.COMPLETED: {T.SCHEDULED},
    T.FAILED: {T.SCHEDULED},
    T.CRASHED: {T.SCHEDULED},
    T.CANCELLED: {T.SCHEDULED},
}

PAIRS = list(itertools.product([None, *StateType], StateType))


@pytest.mark.parametrize(("current", "proposed"), PAIRS, ids=lambda t: t.value if t else "new")
def test_every_transition_follows_the_rules(current: StateType | None, proposed: StateType) -> None:
    before = None if current is None else State(current)
    after = State(proposed)
    if proposed in EXPECTED_ALLOWED[current]:
        validate_transition(before, after)
    else:
        with pytest.raises(InvalidStateTransition, match="cannot move from"):
            validate_transition(before, after)


def test_running_back_to_pending_names_both_states_and_the_allowed_moves() -> None:
    with pytest.raises(InvalidStateTransition) as error:
        validate_transition(states.Retrying(), states.NotReady())
    message = str(error.value)
    assert "from Retrying to NotReady" in message
    assert "COMPLETED" in message and "PENDING" not in message.split("may move to")[1]


@pytest.mark.parametrize(
    ("constructor", "type_", "name"),
    [
        (states.Scheduled, T.SCHEDULED, "Scheduled"),
        (states.Late, T.SCHEDULED, "Late"),
        (states.AwaitingRetry, T.SCHEDULED, "AwaitingRetry"),
        (states.AwaitingConcurrencySlot, T.SCHEDULED, "AwaitingConcurrencySlot"),
        (states.Pending, T.PENDING, "Pending"),
        (states.NotReady, T.PENDING, "NotReady"),
        (states.Running, T.RUNNING, "Running"),
        (states.Retrying, T.RUNNING, "Retrying"),
        (states.Completed, T.COMPLETED, "Completed"),
        (states.Cached, T.COMPLETED, "Cached"),
        (states.Failed, T.FAILED, "Failed"),
        (states.TimedOut, T.FAILED, "TimedOut"),
        (states.Crashed, T.CRASHED, "Crashed"),
        (states.Cancelling, T.CANCELLING, "Cancelling"),
        (states.Cancelled, T.CANCELLED, "Cancelled"),
        (states.Paused, T.PAUSED, "Paused"),
        (states.Suspended, T.PAUSED, "Suspended"),
    ],
)
def test_constructors_carry_prefects_names_and_types(constructor, type_, name) -> None:  # type: ignore[no-untyped-def]
    state = constructor(message="why")
    assert (state.type, state.name, state.message) == (type_, name, "why")
    assert states.STATE_NAMES[name] is type_


def test_result_of_a_completed_state_is_its_data() -> None:
    assert states.Completed(data=42).result() == 42


def test_result_of_a_failed_state_raises_its_exception_or_returns_it() -> None:
    error = ValueError("bad row")
    failed = states.Failed(data=error)
    with pytest.raises(ValueError, match="bad row"):
        failed.result()
    assert failed.result(raise_on_failure=False) is error


@pytest.mark.parametrize(
    ("state", "error"),
    [
        (states.Failed(message="x"), FailedRun),
        (states.Crashed(message="x"), CrashedRun),
        (states.Cancelled(message="x"), CancelledRun),
    ],
)
def test_result_of_a_final_state_without_exception_raises_the_run_error(
    state: State, error: type
) -> None:
    with pytest.raises(error):
        state.result()


def test_result_of_an_unfinished_state_raises_unfinished_run() -> None:
    with pytest.raises(UnfinishedRun, match="Run is in RUNNING state"):
        states.Running().result()


def test_predicates_match_the_type() -> None:
    cached = states.Cached()
    assert cached.is_completed() and cached.is_final() and not cached.is_failed()
    assert states.TimedOut().is_failed()
    assert states.Late().is_scheduled() and not states.Late().is_final()
    assert states.Retrying().is_running()
    assert states.Cancelling().is_cancelling() and not states.Cancelling().is_final()


def test_state_is_generic_in_its_result_type_as_in_prefect(recorded) -> None:
    import typing

    from orchestrate import flow

    def annotated() -> State[int]:
        return State(StateType.COMPLETED, data=1)

    assert typing.get_type_hints(annotated)["return"] == State[int]
    assert typing.get_args(State[int]) == (int,)
    assert State[int](StateType.COMPLETED, data=3).result() == 3

    @flow
    def returns_a_state() -> State[int]:
        return State(StateType.COMPLETED, data=4)

    assert returns_a_state() == 4
