"""SVG snapshots of the dashboard's other screens at 80x24 and 120x40.

Help, events, the run form, a confirmation, a task run's logs, the command
line, the automations pane and the read-only view: each as a person sees it.
The data and the clock come from `FakeDaemon` and `FROZEN`, as in
`test_snapshots.py`, so the pictures are the same on every run. Update with
`pytest --snapshot-update` after checking the new pictures by eye.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.tui.conftest import make_app
from tests.tui.fake_daemon import FakeDaemon
from tests.tui.screen import steady_cursors, wait_for_text, wait_until
from tests.tui.test_snapshots import SIZES, on_brave_fox
from tui.screens.confirm import ConfirmScreen
from tui.screens.events import EventsScreen
from tui.screens.help import HelpScreen
from tui.screens.run_form import RunForm
from tui.screens.task_logs import TaskLogsScreen


async def on_screen(pilot: Any, kind: type) -> None:
    await wait_until(pilot, lambda: isinstance(pilot.app.screen, kind), what=kind.__name__)


@pytest.mark.parametrize("size", SIZES)
def test_help(snap_compare: Any, size: tuple[int, int]) -> None:
    async def shown(pilot: Any) -> None:
        await wait_for_text(pilot, "brave-fox")
        await pilot.press("question_mark")
        await on_screen(pilot, HelpScreen)
        await wait_for_text(pilot, "orc tui: keys")

    assert snap_compare(make_app(FakeDaemon.canned()), terminal_size=size, run_before=shown)


@pytest.mark.parametrize("size", SIZES)
def test_events(snap_compare: Any, size: tuple[int, int]) -> None:
    async def shown(pilot: Any) -> None:
        await wait_for_text(pilot, "brave-fox")
        await pilot.press("e")
        await on_screen(pilot, EventsScreen)
        await wait_for_text(pilot, "orc.flow-run.Completed")

    assert snap_compare(make_app(FakeDaemon.canned()), terminal_size=size, run_before=shown)


@pytest.mark.parametrize("size", SIZES)
def test_run_form(snap_compare: Any, size: tuple[int, int]) -> None:
    async def shown(pilot: Any) -> None:
        await wait_for_text(pilot, "nightly-etl")
        await pilot.press("1", "end", "R")  # nightly-etl, last by name
        await on_screen(pilot, RunForm)
        await wait_for_text(pilot, "days")
        steady_cursors(pilot)

    assert snap_compare(make_app(FakeDaemon.canned()), terminal_size=size, run_before=shown)


@pytest.mark.parametrize("size", SIZES)
def test_cancel_confirmation(snap_compare: Any, size: tuple[int, int]) -> None:
    async def shown(pilot: Any) -> None:
        await wait_for_text(pilot, "eager-yak")
        await pilot.press("2", "home", "down")  # past the upcoming quiet-elk
        screen = pilot.app.screen
        await wait_until(
            pilot,
            lambda: screen.detail is not None and screen.detail.run.name == "eager-yak",
            what="eager-yak",
        )
        await pilot.press("c")
        await on_screen(pilot, ConfirmScreen)

    assert snap_compare(make_app(FakeDaemon.canned()), terminal_size=size, run_before=shown)


@pytest.mark.parametrize("size", SIZES)
def test_task_run_logs(snap_compare: Any, size: tuple[int, int]) -> None:
    async def shown(pilot: Any) -> None:
        await on_brave_fox(pilot)
        await pilot.press("enter", "down", "l")
        await on_screen(pilot, TaskLogsScreen)
        await wait_for_text(pilot, "Logs of task run")

    assert snap_compare(make_app(FakeDaemon.canned()), terminal_size=size, run_before=shown)


@pytest.mark.parametrize("size", SIZES)
def test_command_line(snap_compare: Any, size: tuple[int, int]) -> None:
    async def shown(pilot: Any) -> None:
        await wait_for_text(pilot, "brave-fox")
        screen = pilot.app.screen  # the top run's detail first: `:` takes the focus at once
        await wait_until(pilot, lambda: screen.detail is not None, what="the first run")
        await pilot.press("colon", *"run nig")
        await wait_for_text(pilot, "run nig")
        steady_cursors(pilot)

    assert snap_compare(make_app(FakeDaemon.canned()), terminal_size=size, run_before=shown)


@pytest.mark.parametrize("size", SIZES)
def test_automations(snap_compare: Any, size: tuple[int, int]) -> None:
    async def shown(pilot: Any) -> None:
        await wait_for_text(pilot, "cleanup-after")
        screen = pilot.app.screen  # the first run shown stays, named in the title: wait for it
        await wait_until(pilot, lambda: screen.detail is not None, what="the first run")
        await pilot.press("3", *["right_square_bracket"] * 3)  # the Params tab
        await wait_for_text(pilot, "run deployment cleanup")

    assert snap_compare(make_app(FakeDaemon.canned()), terminal_size=size, run_before=shown)


@pytest.mark.parametrize("size", SIZES)
def test_readonly(snap_compare: Any, size: tuple[int, int]) -> None:
    async def shown(pilot: Any) -> None:
        await wait_for_text(pilot, "brave-fox")
        await wait_for_text(pilot, "read-only")

    app = make_app(FakeDaemon.canned(), readonly=True)
    assert snap_compare(app, terminal_size=size, run_before=shown)
