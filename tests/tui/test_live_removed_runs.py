"""Runs the daemon deletes leave the dashboard at once, against a real `orc up`, no key pressed.

Planned runs of a deployment taken out of flows.toml are withdrawn; finished
runs `orc prune` removes are gone from the store. Both used to stay listed (and
selectable, to an error) until the dashboard reconnected. A selected run that
goes leaves the detail pane with a calm word, not an error.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.tui.conftest import orc_up
from tests.tui.screen import notices, wait_for_notice, wait_until
from tests.tui.test_live_daemon import SLOW, app_for, first_run_id, orc
from tests.tui.test_live_deployments import connected
from tui.screens.main import MainScreen

SIZE = (120, 40)

KEPT = """
[project]
name = "removals"

[[deployments]]
name = "one"
entrypoint = "flows.py:nap"
parameters = { seconds = 0.0 }
"""

#: `often` plans a run every 10 minutes: its upcoming runs fill the list. (Its first may come
#: due while the test runs: that one starts, and stays listed as it ends.)
PLANNED = (
    KEPT
    + """
[[deployments]]
name = "often"
entrypoint = "flows.py:nap"
parameters = { seconds = 0.0 }
schedules = [{ interval = "10m", anchor = "2020-01-01T00:05:00" }]
catchup = "none"
"""
)

NAP_PY = """
import time
from orchestrate import flow


@flow
def nap(seconds: float = 1.0) -> None:
    time.sleep(seconds)
"""


@pytest.fixture
def planned(tmp_path: Path) -> Iterator[Path]:
    with orc_up(tmp_path, PLANNED, NAP_PY) as root:
        yield root


@pytest.fixture
def kept(tmp_path: Path) -> Iterator[Path]:
    with orc_up(tmp_path, KEPT, NAP_PY) as root:
        yield root


def shown_name(screen: MainScreen) -> str:
    assert screen.detail is not None
    return screen.detail.run.name


def runs_of(screen: MainScreen, deployment: str, state_type: str | None = None) -> list[str]:
    runs = screen.dashboard.runs
    return [
        i
        for i in runs.view()
        if (run := runs.get(i))
        and run.deployment == deployment
        and state_type in (None, run.state.type)
    ]


async def test_a_removed_deployments_upcoming_runs_leave_the_list(planned: Path) -> None:
    async with app_for(planned).run_test(size=SIZE, notifications=True) as pilot:
        screen = await connected(pilot)
        await wait_until(
            pilot, lambda: len(runs_of(screen, "often", "SCHEDULED")) > 3, SLOW, "often planned"
        )
        await pilot.press("2", "home", "down")  # the second: at least ten minutes away
        selected = screen.dashboard.runs.view()[2]
        await wait_until(
            pilot,
            lambda: screen.detail is not None and screen.detail.run.id == selected,
            SLOW,
            "the second upcoming run shown",
        )

        name = shown_name(screen)
        (planned / "flows.toml").write_text(KEPT)
        await wait_for_notice(pilot, f"{name} was withdrawn", SLOW)
        assert not runs_of(screen, "often", "SCHEDULED")
        assert screen.dashboard.runs.upcoming_count() == 0
        assert screen.detail is None
        assert not [n for n in notices(pilot.app) if "Could not" in n]
        await wait_until(pilot, lambda: "often" not in screen.dashboard.deployments, SLOW, "gone")


async def test_runs_orc_prune_removes_leave_the_list(kept: Path) -> None:
    async with app_for(kept).run_test(size=SIZE, notifications=True) as pilot:
        screen = await connected(pilot)
        await wait_until(pilot, lambda: "one" in screen.dashboard.deployments, SLOW, "one listed")
        for _ in range(2):
            await orc(kept, "run", "one")

        def completed() -> list[float]:
            runs = [screen.dashboard.runs.get(i) for i in runs_of(screen, "one")]
            return [r.end_time or 0.0 for r in runs if r and r.state.type == "COMPLETED"]

        await wait_until(pilot, lambda: len(completed()) == 2, SLOW, "two runs completed")
        await pilot.press("2", "home")
        selected = first_run_id(screen)
        await wait_until(
            pilot,
            lambda: screen.detail is not None and screen.detail.run.id == selected,
            SLOW,
            "the newest run shown",
        )
        ended = max(completed())
        await wait_until(pilot, lambda: time.time() > ended + 1.5, 5, "the runs a second old")

        name = shown_name(screen)
        await orc(kept, "prune", "--older-than", "1s")
        await wait_for_notice(pilot, f"{name} was pruned", SLOW)
        assert not runs_of(screen, "one")
        assert screen.detail is None
        assert not [n for n in notices(pilot.app) if "Could not" in n]
