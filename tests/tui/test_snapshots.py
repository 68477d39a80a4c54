"""SVG snapshots of the main screen, the run graph and the logs at 80x24 and 120x40.

The clock is frozen and the data comes from `FakeDaemon` (ids, times and
states fixed), which stands in for the daemon because a real one gives new
ids and times on every run. Update with `pytest --snapshot-update` after
checking the new pictures by eye.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.tui.conftest import make_app
from tests.tui.fake_daemon import FakeDaemon
from tests.tui.screen import wait_for_text, wait_until
from tui.format import TIMES
from tui.screens.main import MainScreen

SIZES = [pytest.param((80, 24), id="80x24"), pytest.param((120, 40), id="120x40")]


async def on_brave_fox(pilot: Any) -> None:
    """Wait for the lists, then open the fan-out run `brave-fox` (third row of Runs)."""
    await wait_for_text(pilot, "brave-fox")
    await pilot.press("2", "down", "down")
    screen = pilot.app.screen
    assert isinstance(screen, MainScreen)
    await wait_until(
        pilot,
        lambda: screen.detail is not None and screen.detail.run.name == "brave-fox",
        what="brave-fox",
    )
    await wait_for_text(pilot, f"process {TIMES}12")


@pytest.mark.parametrize("size", SIZES)
def test_main_screen(snap_compare: Any, size: tuple[int, int]) -> None:
    async def loaded(pilot: Any) -> None:
        await wait_for_text(pilot, "brave-fox")
        await wait_for_text(pilot, "cleanup-after")

    assert snap_compare(make_app(FakeDaemon.canned()), terminal_size=size, run_before=loaded)


@pytest.mark.parametrize("size", SIZES)
def test_run_graph(snap_compare: Any, size: tuple[int, int]) -> None:
    async def graph(pilot: Any) -> None:
        await on_brave_fox(pilot)
        await pilot.press(
            "enter", "down", "down", "down", "enter"
        )  # into the graph; expand `process`
        await wait_for_text(pilot, "process-0")

    assert snap_compare(make_app(FakeDaemon.canned()), terminal_size=size, run_before=graph)


@pytest.mark.parametrize("size", SIZES)
def test_logs(snap_compare: Any, size: tuple[int, int]) -> None:
    async def logs(pilot: Any) -> None:
        await on_brave_fox(pilot)
        await pilot.press("right_square_bracket", "right_square_bracket", "enter")
        await wait_for_text(pilot, "loaded 119,997")

    assert snap_compare(make_app(FakeDaemon.canned()), terminal_size=size, run_before=logs)


@pytest.mark.parametrize("size", SIZES)
def test_connection_lost(snap_compare: Any, size: tuple[int, int]) -> None:
    daemon = FakeDaemon.canned()

    async def lost(pilot: Any) -> None:
        await on_brave_fox(pilot)
        daemon.down = True
        daemon.hang_up()
        await wait_for_text(pilot, "connection lost")

    assert snap_compare(make_app(daemon), terminal_size=size, run_before=lost)


@pytest.mark.parametrize("size", SIZES)
def test_failed_run_logs_with_the_whole_traceback(snap_compare: Any, size: tuple[int, int]) -> None:
    from tests.tui.test_logs import TRACEBACK, line

    daemon = FakeDaemon.canned()
    daemon.logs["run-0002"] = [
        line("Beginning flow run 'calm-owl' for flow 'etl'").model_copy(
            update={"flow_run_id": "run-0002"}
        ),
        line(TRACEBACK, level=40, at=95).model_copy(update={"flow_run_id": "run-0002"}),
    ]

    async def logs(pilot: Any) -> None:
        await wait_for_text(pilot, "calm-owl")
        await pilot.press("2", "end")  # calm-owl, the oldest run
        screen = pilot.app.screen
        assert isinstance(screen, MainScreen)
        await wait_until(
            pilot,
            lambda: screen.detail is not None and screen.detail.run.name == "calm-owl",
            what="calm-owl",
        )
        await pilot.press("right_square_bracket", "right_square_bracket", "enter", "w")
        await wait_for_text(pilot, "ValueError: bad row 17")

    assert snap_compare(make_app(daemon), terminal_size=size, run_before=logs)


@pytest.mark.parametrize("size", SIZES)
def test_config_error_banner(snap_compare: Any, size: tuple[int, int]) -> None:
    daemon = FakeDaemon.canned()
    daemon.config_error = (
        "flows.toml:12:5: deployments[1].schedules[0].cron: 'every tuesday' is not a cron "
        "expression; write it as five fields, e.g. '0 2 * * 2'"
    )

    async def shown(pilot: Any) -> None:
        await wait_for_text(pilot, "brave-fox")
        await wait_for_text(pilot, "flows.toml:12:5")  # the first heartbeat brings it

    assert snap_compare(make_app(daemon), terminal_size=size, run_before=shown)
