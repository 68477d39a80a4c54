"""A flow that returns task states or futures: what its caller gets and how the flow ends, as in Prefect.

Prefect resolves returned futures to states. A state of a run (not one the
body built) is not adopted: the flow's state is the aggregate of the states
returned (Completed if all are, else Cancelled, Paused or Failed), and the
caller gets back what the body returned, states included.
"""

from __future__ import annotations

import pytest

from orchestrate import flow, task
from orchestrate.states import Cancelled, Completed, State


@task
def value(i: int) -> int:
    if i < 0:
        raise ValueError(f"negative: {i}")
    return i


@task
def cancelled() -> State:
    return Cancelled(message="not today")


def test_a_returned_task_state_comes_back_as_that_state(recorded) -> None:
    @flow
    def pipeline():  # type: ignore[no-untyped-def]
        return value(3, return_state=True)

    returned = pipeline()
    assert isinstance(returned, State) and returned.is_completed() and returned.result() == 3
    assert returned.run_id == recorded.task_run("value-0").id
    final = pipeline(return_state=True)
    assert final.is_completed() and final.message == "All states completed."
    assert isinstance(final.result(), State)


def test_a_returned_future_comes_back_as_its_state(recorded) -> None:
    @flow
    def pipeline():  # type: ignore[no-untyped-def]
        return value.submit(4)

    returned = pipeline()
    assert isinstance(returned, State) and returned.result() == 4


def test_a_returned_failed_task_state_fails_the_flow_and_raises(recorded) -> None:
    @flow
    def pipeline():  # type: ignore[no-untyped-def]
        return value(-1, return_state=True)

    with pytest.raises(ValueError, match="negative"):
        pipeline()
    final = pipeline(return_state=True)
    assert final.is_failed() and final.message == "1/1 states failed."
    assert recorded.flow_runs()[-1].state.message == "1/1 states failed."


def test_returned_futures_come_back_as_states_even_when_one_failed(recorded) -> None:
    @flow
    def pipeline():  # type: ignore[no-untyped-def]
        return [value.submit(1), value.submit(-2), value.submit(3)]

    returned = pipeline()
    assert [s.name for s in returned] == ["Completed", "Failed", "Completed"]
    assert recorded.flow_runs()[-1].state.message == "1/3 states failed."


def test_mapped_futures_returned_are_states_too(recorded) -> None:
    @flow
    def pipeline():  # type: ignore[no-untyped-def]
        return value.map([1, 2])

    returned = pipeline()
    assert [s.result() for s in returned] == [1, 2]
    assert pipeline(return_state=True).message == "All states completed."


def test_a_cancelled_state_among_them_cancels_the_flow(recorded) -> None:
    @flow
    def pipeline():  # type: ignore[no-untyped-def]
        return [value.submit(1), cancelled.submit(), value.submit(-1)]

    final = pipeline(return_state=True)
    assert final.is_cancelled() and final.message == "1/3 states cancelled."


def test_a_state_the_body_built_is_the_flow_state(recorded) -> None:
    @flow
    def pipeline():  # type: ignore[no-untyped-def]
        return Completed(message="done by hand", data=5)

    assert pipeline() == 5
    assert pipeline(return_state=True).message == "done by hand"
