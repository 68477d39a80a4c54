"""Sort keys on every table: `o` the next key, `O` reversed, the order named in the pane's title."""

from __future__ import annotations

from typing import Any

from orchestrate.client.protocol import AutomationInfo
from tests.tui.conftest import make_app
from tests.tui.fake_daemon import NOW, FakeDaemon
from tests.tui.screen import screen_text, wait_for_text, wait_until
from tui.screens.events import EventsScreen

SIZE = (120, 40)


def order(pilot: Any, *names: str, left: bool = True) -> list[str]:
    """`names` in the order they show (first appearance), in the lists on the left or the whole screen."""
    lines = screen_text(pilot.app).splitlines()
    text = "\n".join(line[:50] if left else line for line in lines)
    return sorted((n for n in names if n in text), key=text.index)


async def test_o_sorts_the_runs_by_the_next_key_and_capital_o_reverses(
    daemon: FakeDaemon,
) -> None:
    runs = ("brave-fox", "calm-owl", "eager-yak", "quiet-elk")
    async with make_app(daemon).run_test(size=SIZE) as pilot:
        await wait_for_text(pilot, "Runs 2 · start ↑")
        assert order(pilot, *runs) == ["quiet-elk", "eager-yak", "brave-fox", "calm-owl"]
        await pilot.press("2", "o")  # by name
        await wait_for_text(pilot, "Runs 2 · name ↑")
        assert order(pilot, *runs) == sorted(runs)
        assert "upcoming" not in screen_text(pilot.app)  # one list, no sections
        await pilot.press("O")
        await wait_for_text(pilot, "Runs 2 · name ↓")
        assert order(pilot, *runs) == sorted(runs, reverse=True)


async def test_o_sorts_deployments_by_next_run(daemon: FakeDaemon) -> None:
    async with make_app(daemon).run_test(size=SIZE) as pilot:
        await wait_for_text(pilot, "Deployments 1 · name ↑")
        assert order(pilot, "cleanup ", "nightly-etl ") == ["cleanup ", "nightly-etl "]
        await pilot.press("1", "o")
        await wait_for_text(pilot, "Deployments 1 · next run ↑")
        assert order(pilot, "cleanup ", "nightly-etl ") == ["nightly-etl ", "cleanup "]


async def test_o_sorts_automations_by_when_and_how_often_they_fired() -> None:
    daemon = FakeDaemon.canned()
    daemon.automations.append(
        AutomationInfo(
            name="alert-on-crash", enabled=True, trigger_text="when orc.flow-run.Crashed",
            actions=["call webhook http://127.0.0.1:9000/hook"], last_fired=NOW - 60, fired_count=1,
        )
    )  # fmt: skip
    names = ("alert-on-crash", "cleanup-after-failure")
    async with make_app(daemon).run_test(size=SIZE) as pilot:
        await wait_for_text(pilot, "Automations 3 · name ↑")
        assert order(pilot, *names) == list(names)
        await pilot.press("3", "o")
        await wait_for_text(pilot, "last fired ↑")
        assert order(pilot, *names) == ["alert-on-crash", "cleanup-after-failure"]
        await pilot.press("o")
        await wait_for_text(pilot, "times fired ↑")
        await pilot.press("O")
        await wait_for_text(pilot, "times fired ↓")


async def test_o_sorts_the_event_stream_and_its_title_says_so(daemon: FakeDaemon) -> None:
    async with make_app(daemon).run_test(size=SIZE) as pilot:
        await wait_for_text(pilot, "brave-fox")
        await pilot.press("e")
        await wait_until(pilot, lambda: isinstance(pilot.app.screen, EventsScreen), what="events")
        await wait_for_text(pilot, "sorted by time ↑")
        events = ("orc.flow-run.Completed", "orc.flow-run.Failed")
        assert order(pilot, *events, left=False) == list(events)  # newest first
        await pilot.press("o")
        await wait_for_text(pilot, "sorted by event ↑")
        await pilot.press("O")
        await wait_for_text(pilot, "sorted by event ↓")
        assert order(pilot, *events, left=False) == [
            "orc.flow-run.Failed",
            "orc.flow-run.Completed",
        ]
