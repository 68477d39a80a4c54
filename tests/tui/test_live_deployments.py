"""The Deployments pane and the upcoming runs against a real `orc up`, while runs come and go.

A deployment's row (its running mark, next run, last outcomes) and the run
its detail shows move with its runs, with no key pressed; the upcoming runs
listed are the next ones due, not the furthest.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.tui.conftest import orc_up
from tests.tui.screen import screen_text, wait_until
from tests.tui.test_live_daemon import SLOW, app_for, main_screen, select_deployment
from tui.screens.main import UPCOMING_LOADED, MainScreen
from tui.state import SECTIONS

SIZE = (120, 40)

TICKING_TOML = """
[project]
name = "ticking"

[[deployments]]
name = "tick"
entrypoint = "flows.py:nap"
parameters = { seconds = 1.5 }
schedules = [{ interval = "4s" }]
"""

NAP_PY = """
import time
from orchestrate import flow


@flow
def nap(seconds: float = 1.0) -> None:
    time.sleep(seconds)
"""

#: Three deployments of 100 runs materialised each (the planner's most per schedule): more
#: upcoming runs than the dashboard loads.
CROWDED_TOML = '[project]\nname = "crowded"\n' + "".join(
    f'\n[[deployments]]\nname = "d{i}"\nentrypoint = "flows.py:nap"\n'
    f'schedules = [{{ interval = "{30 + i}s" }}]\n'
    for i in range(3)
)


@pytest.fixture
def ticking(tmp_path: Path) -> Iterator[Path]:
    with orc_up(tmp_path, TICKING_TOML, NAP_PY) as root:
        yield root


@pytest.fixture
def crowded(tmp_path: Path) -> Iterator[Path]:
    with orc_up(tmp_path, CROWDED_TOML, NAP_PY) as root:
        yield root


def deployment_line(text: str, name: str) -> str:
    return next((line for line in text.splitlines() if f" {name} " in line), "")


async def test_a_deployments_row_and_detail_follow_its_runs_with_no_key_pressed(
    ticking: Path,
) -> None:
    async with app_for(ticking).run_test(size=SIZE) as pilot:
        screen = await connected(pilot)
        await select_deployment(pilot, "tick")
        first_next = screen.dashboard.deployments["tick"].next_run_time
        assert first_next is not None

        def running_run() -> str | None:
            runs = (screen.dashboard.runs.get(i) for i in screen.dashboard.runs.view())
            return next((r.id for r in runs if r and r.state.type == "RUNNING"), None)

        await wait_until(pilot, lambda: running_run() is not None, SLOW, "a run of tick running")
        await wait_until(
            pilot,
            lambda: "⟳ tick" in deployment_line(screen_text(pilot.app), "tick"),
            SLOW,
            "tick marked running",
        )
        run_id = running_run()
        await wait_until(
            pilot,
            lambda: screen.detail is not None and screen.detail.run.id == run_id,
            SLOW,
            "the deployment's detail showing its newest run",
        )

        def next_moved() -> bool:
            info = screen.dashboard.deployments["tick"]
            return info.next_run_time is not None and info.next_run_time > first_next

        await wait_until(pilot, next_moved, SLOW, "tick's next run moved on")
        await wait_until(
            pilot,
            lambda: (
                bool(screen.dashboard.deployments["tick"].recent)
                and screen.dashboard.deployments["tick"].recent[0].state_name == "Completed"
            ),
            SLOW,
            "tick's last outcome Completed",
        )
        assert "ago" not in deployment_line(screen_text(pilot.app), "tick")


async def test_the_upcoming_runs_loaded_are_the_next_due_not_the_furthest(
    crowded: Path,
) -> None:
    async with app_for(crowded).run_test(size=SIZE) as pilot:
        screen = await connected(pilot)
        await wait_until(pilot, lambda: len(screen.dashboard.deployments) == 3, SLOW, "3 listed")
        await wait_until(
            pilot, lambda: len(screen.dashboard.runs) >= UPCOMING_LOADED, SLOW, "runs loaded"
        )

        def soonest_loaded_first() -> bool:
            """Each deployment's next run is loaded, and the soonest is listed first. (Read
            once both panes agree: a run that starts moves out of the upcoming list a moment
            before its deployment's push names the next one.)"""
            upcoming = [
                run
                for run in (screen.dashboard.runs.get(i) for i in screen.dashboard.runs.view())
                if run is not None and run.state.type == "SCHEDULED"
            ]
            soonest = [info.next_run_time for info in screen.dashboard.deployments.values()]
            loaded = {run.expected_start_time for run in upcoming}
            ids = [i for i in screen.dashboard.runs.view() if i not in SECTIONS]
            first = screen.dashboard.runs.get(ids[0]) if ids else None
            return (
                all(when in loaded for when in soonest)
                and first is not None
                and first.expected_start_time == min(t for t in soonest if t is not None)
            )

        await wait_until(pilot, soonest_loaded_first, SLOW, "the soonest runs loaded, first")


async def connected(pilot: Any) -> MainScreen:
    """The main screen, once the daemon answered (a loaded machine shows "no daemon" first)."""
    await wait_until(
        pilot, lambda: isinstance(pilot.app.screen, MainScreen), SLOW, "the daemon's answer"
    )
    return main_screen(pilot)
