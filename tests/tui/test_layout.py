"""Small terminals: at 80x24 nothing essential is cut; at 60x18 the lists and the detail take turns.

Columns drop whole, least important first (the schedule, then the outcome
blocks), so a name is never cut to `flaky-r…` while something less useful shows.
"""

from __future__ import annotations

from typing import Any

from orchestrate.client.protocol import DeploymentInfo, ScheduleInfo
from tests.tui.conftest import make_app
from tests.tui.fake_daemon import NOW, FakeDaemon
from tests.tui.screen import screen_text, wait_for_text, wait_until

NAMES = [
    "nightly-etl",
    "cleanup",
    "flaky-retries",
    "hourly-report",
    "events-sync",
    "warehouse-load",
    "slow-backfill",
    "notify-team",
    "archive-logs",
]


def nine_deployments() -> FakeDaemon:
    daemon = FakeDaemon.canned()
    daemon.deployments = [
        DeploymentInfo(
            name=name,
            entrypoint=f"examples/etl.py:{name.replace('-', '_')}",
            schedules=[ScheduleInfo(id="0", kind="cron", text="every hour", timezone="UTC")],
            next_run_time=NOW + 600 * (i + 1),
        )
        for i, name in enumerate(NAMES)
    ]
    return daemon


def footer_line(pilot: Any) -> str:
    return screen_text(pilot.app).rstrip("\n").splitlines()[-1]


def left_lines(pilot: Any, width: int) -> list[str]:
    return [line[:width] for line in screen_text(pilot.app).splitlines()]


async def test_at_80x24_every_deployment_and_its_whole_name_shows() -> None:
    async with make_app(nine_deployments()).run_test(size=(80, 24)) as pilot:
        await wait_for_text(pilot, "brave-fox")
        text = screen_text(pilot.app)
        for name in NAMES:
            assert f" {name} " in text, name
        assert "…" not in "".join(left_lines(pilot, 38)[:12])  # no name nor time cut short


async def test_at_80x24_runs_show_their_deployment_and_the_footer_help_and_quit(
    daemon: FakeDaemon,
) -> None:
    async with make_app(daemon).run_test(size=(80, 24)) as pilot:
        await wait_for_text(pilot, "brave-fox")
        line = next(line for line in screen_text(pilot.app).splitlines() if "brave-fox" in line)
        assert "nightly-etl" in line and "08:50:00" in line
        await wait_until(pilot, lambda: "? Help" in footer_line(pilot), what="the footer")
        assert "q Quit" in footer_line(pilot)


async def test_at_60x18_the_lists_fill_the_screen_and_enter_swaps_in_the_detail(
    daemon: FakeDaemon,
) -> None:
    async with make_app(daemon).run_test(size=(60, 18)) as pilot:
        await wait_for_text(pilot, "brave-fox")
        text = screen_text(pilot.app)
        for shown in ("nightly-etl", "cleanup", "eager-yak", "calm-owl", "cleanup-after-failure"):
            assert shown in text
        await pilot.press("2", "home", "down", "down", "enter")  # brave-fox, into its graph
        await wait_for_text(pilot, "extract-0")
        assert "Deployments" not in screen_text(pilot.app)
        assert "brave-fox · Completed" in screen_text(pilot.app)  # the detail names its run
        await pilot.press("escape")
        await wait_until(pilot, lambda: "Deployments" in screen_text(pilot.app), what="the lists")


async def test_z_zooms_the_detail_to_the_full_width_and_back(daemon: FakeDaemon) -> None:
    async with make_app(daemon).run_test(size=(80, 24)) as pilot:
        await wait_for_text(pilot, "brave-fox")
        await pilot.press("2", "home", "down", "down", "z")
        await wait_until(pilot, lambda: "Deployments" not in screen_text(pilot.app), what="zoom")
        await wait_for_text(pilot, "extract-0")
        await pilot.press("z")
        await wait_until(pilot, lambda: "Deployments" in screen_text(pilot.app), what="unzoom")
