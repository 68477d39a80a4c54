"""The `:` command line: `:run NAME k=v`, `:deploy NAME`, `:cancel`, `:logs`, with Tab completing.

It is an input like the filter: it takes keys only once `:` opened it, and
Enter (which runs the command) or Esc leave it.
"""

from __future__ import annotations

import pytest

from tests.tui.conftest import make_app
from tests.tui.fake_daemon import FakeDaemon
from tests.tui.screen import notices, wait_for_notice, wait_for_text, wait_until
from tests.tui.test_app import open_run
from tui.commands import Command, parse
from tui.screens.main import MainScreen

SIZE = (120, 40)


def test_a_line_parses_into_a_command_with_json_or_text_values() -> None:
    assert parse(":run nightly-etl days=3 source=s3 dry=true") == Command(
        "run", "nightly-etl", {"days": 3, "source": "s3", "dry": True}
    )
    assert parse("cancel") == Command("cancel")
    for bad, says in (
        ("fly", "no command 'fly'"),
        ("run", "needs a deployment"),
        ("run x days", "key=value"),
    ):
        with pytest.raises(ValueError, match=says):
            parse(bad)


async def test_colon_run_with_parameters_completed_by_tab(daemon: FakeDaemon) -> None:
    async with make_app(daemon).run_test(size=SIZE, notifications=True) as pilot:
        await wait_for_text(pilot, "brave-fox")
        await pilot.press("colon", *"run ni")
        await wait_for_text(pilot, "run nightly-etl")  # the suggestion shows
        await pilot.press("tab", *" days=3", "enter")
        await wait_until(
            pilot, lambda: ("create_run", ("nightly-etl", {"days": 3})) in daemon.calls, what="run"
        )
        screen = pilot.app.screen
        assert isinstance(screen, MainScreen) and screen.focused is not None
        assert screen.focused.id == "runs"  # the keys went back where they were


async def test_colon_deploy_selects_and_logs_opens_the_logs(daemon: FakeDaemon) -> None:
    async with make_app(daemon).run_test(size=SIZE, notifications=True) as pilot:
        await wait_for_text(pilot, "brave-fox")
        screen = pilot.app.screen
        assert isinstance(screen, MainScreen)
        await pilot.press("colon", *"deploy nightly-etl", "enter")
        await wait_until(
            pilot,
            lambda: screen.selection is not None and screen.selection.key == "nightly-etl",
            what="selected",
        )
        await open_run(pilot, "brave-fox")
        await pilot.press("colon", *"logs", "enter")
        await wait_for_text(pilot, "loaded 119,997")
        assert screen.focused is not None and screen.focused.id == "log-view"
        await pilot.press("colon", *"nonsense", "enter")
        await wait_for_notice(pilot, "no command 'nonsense'")
        await pilot.press("colon", *"run", "escape")
        assert not [n for n in notices(pilot.app) if "needs a deployment" in n]
