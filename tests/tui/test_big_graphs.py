"""Big run graphs on screen: one row per call, marks kept past the lanes, `f` and `/` to find a task.

Over the stand-in daemon (`FakeDaemon`): a 281-task run needs fixed ids and
times to be asserted row by row, which a real daemon does not give.
"""

from __future__ import annotations

from typing import Any

import pytest

from orchestrate.client.protocol import TaskRunInfo
from tests.tui.conftest import make_app
from tests.tui.fake_daemon import START, FakeDaemon, task
from tests.tui.screen import screen_text, wait_for_text, wait_until
from tests.tui.test_app import open_run
from tests.tui.test_snapshots import SIZES
from tui.format import TIMES
from tui.screens.main import MainScreen

SIZE = (120, 40)
BIG_RUN = "run-0002"  # calm-owl, the failed run


def big_run(mapped: int = 250, chained: int = 30) -> list[TaskRunInfo]:
    """`extract`, `process.map(...)` over its output (one mapped call failed), then a loop of `process`."""
    runs = [task("b-extract", "extract-0", "extract", START, 2, run=BIG_RUN)]
    for i in range(mapped):
        failed = i == 200
        runs.append(
            task(
                f"b-map-{i}",
                f"process-{i}",
                "process",
                START + 3 + i * 0.01,
                1,
                [("b-extract", "data")],
                dyn=i,
                run=BIG_RUN,
                state_name="Failed" if failed else "Completed",
                state_type="FAILED" if failed else "COMPLETED",
            )
        )
    for i in range(chained):
        upstream = [(f"b-chain-{i - 1}", "data")] if i else []
        runs.append(
            task(
                f"b-chain-{i}",
                f"process-{mapped + i}",
                "process",
                START + 10 + i,
                1,
                upstream,
                dyn=mapped + i,
                run=BIG_RUN,
            )
        )
    return runs


def wide_run(branches: int = 30) -> list[TaskRunInfo]:
    """`source` feeding `branches` distinct tasks that all feed `sink`: as many lanes as branches."""
    runs = [task("w-source", "source-0", "source", START, 1, run=BIG_RUN)]
    runs += [
        task(
            f"w-{i}",
            f"branch{i}-0",
            f"branch{i}",
            START + 1 + i * 0.01,
            1,
            [("w-source", "data")],
            run=BIG_RUN,
        )
        for i in range(branches)
    ]
    sink_upstream = [(f"w-{i}", "data") for i in range(branches)]
    runs.append(task("w-sink", "sink-0", "sink", START + 5, 1, sink_upstream, run=BIG_RUN))
    return runs


def daemon_with(task_runs: list[TaskRunInfo]) -> FakeDaemon:
    daemon = FakeDaemon.canned()
    daemon.task_runs[BIG_RUN] = task_runs
    return daemon


def main_screen(pilot: Any) -> MainScreen:
    screen = pilot.app.screen
    assert isinstance(screen, MainScreen)
    return screen


async def test_mapped_and_chained_calls_of_one_task_show_as_two_rows() -> None:
    async with make_app(daemon_with(big_run())).run_test(size=SIZE) as pilot:
        await wait_for_text(pilot, "calm-owl")
        await open_run(pilot, "calm-owl")
        await wait_for_text(pilot, f"process {TIMES}250")
        text = screen_text(pilot.app)
        assert f"process {TIMES}30  chained" in text
        assert f"{TIMES}280" not in text


async def test_f_lands_on_the_failed_task_run_itself_in_one_press() -> None:
    async with make_app(daemon_with(big_run())).run_test(size=SIZE) as pilot:
        await wait_for_text(pilot, "calm-owl")
        await open_run(pilot, "calm-owl")
        screen = main_screen(pilot)
        await pilot.press("enter", "f")  # into the graph, then to the failure in the collapsed map
        await wait_until(
            pilot,
            lambda: getattr(screen._graph_view.selected_node(), "name", "") == "process-200",
            what="the cursor on process-200",
        )
        await wait_for_text(pilot, "process-200")
        assert screen.query_one("#timeline-view").row_count() == len(screen.graph or [])  # type: ignore[attr-defined]


async def test_slash_in_the_graph_finds_a_task_by_name_and_n_the_next() -> None:
    async with make_app(daemon_with(wide_run())).run_test(size=SIZE) as pilot:
        await wait_for_text(pilot, "calm-owl")
        await open_run(pilot, "calm-owl")
        screen = main_screen(pilot)
        await pilot.press("enter", "slash", *"branch2")
        await wait_until(
            pilot,
            lambda: getattr(screen._graph_view.selected_node(), "name", "") == "branch2-0",
            what="branch2-0",
        )
        await pilot.press("enter", "n")  # the search box closes; `n` goes on to branch20
        await wait_until(
            pilot,
            lambda: getattr(screen._graph_view.selected_node(), "name", "") == "branch20-0",
            what="branch20-0",
        )
        assert screen.focused is screen._graph_view


async def test_lanes_that_overflow_keep_every_state_mark_and_count_what_they_hide() -> None:
    async with make_app(daemon_with(wide_run())).run_test(size=(80, 24)) as pilot:
        await wait_for_text(pilot, "calm-owl")
        await open_run(pilot, "calm-owl")
        await pilot.press("enter", "end")  # the last branches sit in lanes past the edge
        await wait_for_text(pilot, "sink-0")
        lines = [line for line in screen_text(pilot.app).splitlines() if "branch2" in line]
        assert lines, screen_text(pilot.app)
        for line in lines:
            assert "✔" in line, line
        assert any("+" in line.split("branch")[0] for line in lines), lines


@pytest.mark.parametrize("size", SIZES)
def test_snapshot_a_281_task_run_expanded_at_its_failure(
    snap_compare: Any, size: tuple[int, int]
) -> None:
    async def at_failure(pilot: Any) -> None:
        await wait_for_text(pilot, "calm-owl")
        await open_run(pilot, "calm-owl")
        await pilot.press("enter", "f")
        await wait_for_text(pilot, "process-200")

    assert snap_compare(make_app(daemon_with(big_run())), terminal_size=size, run_before=at_failure)
