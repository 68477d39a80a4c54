"""While a flow runs, the youngest GC generation is collected less often and the GIL is handed over sooner.

A flow of 100,000 task runs made ~1,500 young and ~10 full collections, each
full one walking every future and result the flow still held (7-15 µs per
task run), and the store's writer waited up to 5 ms for the GIL at each DuckDB
call. A user must never find their process's threshold or switch interval
changed after a flow, nor lose one they set themselves.
"""

from __future__ import annotations

import gc
import sys
import threading
from collections.abc import Iterator

import pytest

from orchestrate import flow, task
from orchestrate.engine.interpreter_pacing import FLOW_SWITCH_INTERVAL, FLOW_THRESHOLD


@pytest.fixture(autouse=True)
def _in_a_tmp_project(recorded: object) -> None:
    """The flows here record into memory, in a temporary project: never into the checkout."""


@pytest.fixture(autouse=True)
def usual_threshold() -> Iterator[tuple[int, int, int]]:
    before = gc.get_threshold()
    gc.set_threshold(700, 10, 10)
    yield gc.get_threshold()
    gc.set_threshold(*before)


def test_a_flow_raises_the_young_threshold_and_restores_it(
    usual_threshold: tuple[int, int, int],
) -> None:
    seen: list[tuple[int, int, int]] = []

    @task
    def look() -> None:
        seen.append(gc.get_threshold())

    @flow
    def outer() -> None:
        look()

    outer()
    assert seen == [(FLOW_THRESHOLD, 10, 10)]
    assert gc.get_threshold() == usual_threshold


def test_a_subflow_ending_leaves_its_parent_raised(usual_threshold: tuple[int, int, int]) -> None:
    seen: list[tuple[int, int, int]] = []

    @flow
    def child() -> None:
        pass

    @flow
    def parent() -> None:
        child()
        seen.append(gc.get_threshold())

    parent()
    assert seen == [(FLOW_THRESHOLD, 10, 10)]
    assert gc.get_threshold() == usual_threshold


def test_flows_in_two_threads_restore_once_the_last_ends(
    usual_threshold: tuple[int, int, int],
) -> None:
    first_in, second_done = threading.Event(), threading.Event()
    seen: list[tuple[int, int, int]] = []

    @flow
    def long() -> None:
        first_in.set()
        assert second_done.wait(30)
        seen.append(gc.get_threshold())

    @flow
    def short() -> None:
        pass

    runner = threading.Thread(target=long)
    runner.start()
    assert first_in.wait(30)
    short()
    second_done.set()
    runner.join(30)
    assert seen == [(FLOW_THRESHOLD, 10, 10)]
    assert gc.get_threshold() == usual_threshold


def test_a_threshold_the_user_sets_inside_a_flow_is_kept() -> None:
    @flow
    def tunes() -> None:
        gc.set_threshold(5000, 20, 20)

    tunes()
    assert gc.get_threshold() == (5000, 20, 20)


def test_a_higher_or_disabled_threshold_is_left_alone() -> None:
    seen: list[tuple[int, int, int]] = []

    @flow
    def look() -> None:
        seen.append(gc.get_threshold())

    for threshold in ((FLOW_THRESHOLD * 2, 10, 10), (0, 10, 10)):
        gc.set_threshold(*threshold)
        look()
        assert seen[-1] == threshold
        assert gc.get_threshold() == threshold


async def test_an_async_flow_raises_it_too(usual_threshold: tuple[int, int, int]) -> None:
    seen: list[tuple[int, int, int]] = []

    @flow
    async def look() -> None:
        seen.append(gc.get_threshold())

    await look()
    assert seen == [(FLOW_THRESHOLD, 10, 10)]
    assert gc.get_threshold() == usual_threshold


def test_a_long_flow_whose_records_wait_to_be_stored_is_rarely_collected(recorded: object) -> None:
    """20,000 task runs whose records stay in memory (as they wait for the writer): few young collections.

    Each young collection walks every record still waiting; at a threshold
    of 20,000 this flow made 6 of them, and a 100,000-task flow spent
    ~1.5 us of CPU per task run in the collector.
    """
    young: list[int] = []

    def count(phase: str, info: dict[str, int]) -> None:
        if phase == "start" and info["generation"] == 0:
            young.append(1)

    @task
    def noop(x: int) -> int:
        return x

    @flow
    def long_flow(n: int) -> None:
        gc.callbacks.append(count)
        try:
            for i in range(n):
                noop(i)
        finally:
            gc.callbacks.remove(count)

    long_flow(20_000)
    assert len(young) <= 3


@pytest.fixture
def usual_switching() -> Iterator[float]:
    before = sys.getswitchinterval()
    sys.setswitchinterval(0.005)
    yield sys.getswitchinterval()
    sys.setswitchinterval(before)


def test_a_flow_hands_the_gil_over_sooner_and_restores_the_interval(
    usual_switching: float,
) -> None:
    """The writer thread gets the GIL back within 1 ms while a flow runs, not 5."""
    seen: list[float] = []

    @task
    def look() -> None:
        seen.append(sys.getswitchinterval())

    @flow
    def outer() -> None:
        look()
        inner()

    @flow
    def inner() -> None:
        look()

    outer()
    assert seen == [FLOW_SWITCH_INTERVAL, FLOW_SWITCH_INTERVAL]
    assert sys.getswitchinterval() == usual_switching


def test_a_switch_interval_the_user_set_is_kept(usual_switching: float) -> None:
    seen: list[float] = []

    @flow
    def look(change: bool) -> None:
        seen.append(sys.getswitchinterval())
        if change:
            sys.setswitchinterval(0.01)  # the user's, during the flow: it stays after

    sys.setswitchinterval(0.0005)  # shorter than the flow's: left alone
    look(False)
    assert seen[-1] == 0.0005 and sys.getswitchinterval() == 0.0005
    sys.setswitchinterval(0.005)
    look(True)
    assert seen[-1] == FLOW_SWITCH_INTERVAL and sys.getswitchinterval() == 0.01
