"""A run's graph against a real `orc up`, followed while the run goes on: at every step it reads
as a fresh load of the same run, with the same rows open.

The flow calls a subflow twice; each call holds until the test creates its
gate file, so the run stands still at each step while the two graphs are
compared: the open first subflow's rows under it, then the second call
turning the subflow's row into the calls' group, then the run finished.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from orchestrate.client import AsyncClient
from tests.tui.conftest import orc_up
from tests.tui.screen import screen_text, wait_until
from tests.tui.test_graph_live import lines, loaded_like, picture
from tests.tui.test_live_daemon import SLOW, app_for, main_screen, select_deployment
from tui.graph import RunGraph
from tui.screens.main import MainScreen

SIZE = (120, 40)

TWICE_TOML = """
[project]
name = "twice"

[[deployments]]
name = "twice"
entrypoint = "flows.py:outer"
"""

TWICE_PY = """
import time
from pathlib import Path
from orchestrate import flow, task


@task
def step(i: int) -> int:
    return i


@task
def add(a: int, b: int) -> int:
    return a + b


@task
def hold(gate: str) -> None:
    while not Path(gate).exists():  # the test lets it go on
        time.sleep(0.05)


@flow
def inner(gate: str) -> int:
    total = add(step(1), step(2))
    hold(gate)
    return total


@flow
def outer() -> None:
    step(0)
    inner("first.flag")
    inner("second.flag")
"""


@pytest.fixture
def twice(tmp_path: Path) -> Iterator[Path]:
    with orc_up(tmp_path, TWICE_TOML, TWICE_PY) as root:
        yield root


async def load_afresh(client: AsyncClient, live: RunGraph) -> RunGraph:
    """The run as the daemon has it now, with the subflow runs `live` follows, opened as `live` is."""
    detail = await client.run(live.flow_run_id)
    task_runs, children = list(detail.task_runs), {}
    subflows = list(detail.subflow_runs)
    while subflows:
        run = subflows.pop()
        if run.parent_task_run_id is not None and live.knows_run(run.id):
            child = await client.run(run.id)
            children[run.parent_task_run_id] = run.id
            task_runs += child.task_runs
            subflows += child.subflow_runs
    return loaded_like(live, task_runs, children)


async def reads_as_loaded(pilot: Any, screen: MainScreen, client: AsyncClient, step: str) -> None:
    """The graph shown reads as a fresh load of its run, once the pushes so far have come."""
    deadline = time.monotonic() + SLOW
    while True:
        assert screen.graph is not None
        shown, loaded = picture(screen.graph), picture(await load_afresh(client, screen.graph))
        if shown == loaded:
            return
        if time.monotonic() > deadline:
            raise AssertionError(
                f"{step}: the live graph\n{lines(shown)}\nis not the loaded one\n{lines(loaded)}\n"
                + screen_text(pilot.app)
            )
        await pilot.pause(0.05)


def names(screen: MainScreen) -> list[tuple[int, str, str]]:
    """Each row's depth, name and state."""
    rows = screen.graph.rows() if screen.graph is not None else []
    return [(r.node.depth, r.node.name, r.node.summary().state[0]) for r in rows]


def rows_shown(screen: MainScreen) -> list[tuple[int, str]]:
    return [(depth, name) for depth, name, _ in names(screen)]


def calls_of_inner(screen: MainScreen) -> int:
    """How many stand-ins of `inner` the graph holds."""
    graph = screen.graph
    return sum(1 for t in graph.task_runs() if t.kind == "subflow") if graph is not None else 0


async def test_a_nested_run_followed_live_reads_as_a_fresh_load_at_every_step(
    twice: Path,
) -> None:
    client = await AsyncClient.connect(twice, timeout=10)
    try:
        async with app_for(twice).run_test(size=SIZE, notifications=True) as pilot:
            await wait_until(
                pilot, lambda: isinstance(pilot.app.screen, MainScreen), SLOW, "the dashboard"
            )
            screen = main_screen(pilot)
            await select_deployment(pilot, "twice")
            await pilot.press("r")  # the selected deployment's detail follows its new run
            await wait_until(
                pilot, lambda: (0, "inner-0") in rows_shown(screen), SLOW, "the subflow's row"
            )
            await pilot.press("enter", "home", "down", "enter")  # into the graph; open inner-0
            await wait_until(
                pilot,
                lambda: (1, "hold-0", "Running") in names(screen),
                SLOW,
                "the first subflow's tasks, holding",
            )
            await reads_as_loaded(pilot, screen, client, "the first subflow open")

            (twice / "first.flag").touch()
            await wait_until(pilot, lambda: calls_of_inner(screen) == 2, SLOW, "the second call")
            await reads_as_loaded(pilot, screen, client, "the subflow called again")
            # the calls' row opened with the open subflow's rows still under it
            assert rows_shown(screen) == [
                (0, "step-0"),
                (0, "inner"),
                (1, "inner-0"),
                (2, "step"),
                (2, "add-0"),
                (2, "hold-0"),
                (1, "inner-1"),
            ]

            (twice / "second.flag").touch()
            await wait_until(
                pilot,
                lambda: screen.detail is not None and screen.detail.run.state.name == "Completed",
                SLOW,
                "the run finished",
            )
            await reads_as_loaded(pilot, screen, client, "the run finished")
    finally:
        await client.close()
